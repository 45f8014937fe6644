/* test_output.c — text for a terminal: control characters from case data
 * are shown as '?', everything else passes byte for byte; a file written
 * atomically is whole or not there. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/output.h"
#include "testutil.h"

/* What the safe stream makes of the pieces, written with a flush between
 * each (so a UTF-8 sequence can be cut between two writes). */
static char *through(const char *const *pieces)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *to = open_memstream(&buf, &len);
	FILE *safe = output_terminal_safe(to);

	assert_non_null(safe);
	for (; *pieces; pieces++) {
		fputs(*pieces, safe);
		fflush(safe);
	}
	fclose(safe);
	fclose(to);
	return buf;
}

static void check(const char *const *pieces, const char *want)
{
	char *got = through(pieces);

	assert_string_equal(got, want);
	free(got);
}

static void test_controls(void **state)
{
	(void)state;
	check((const char *[]){ "a\x1b]0;title\x07" "b\r\n", NULL }, "a?]0;title?b?\n");
	check((const char *[]){ "tab\tkept\n", "\x7f\x01", NULL }, "tab\tkept\n??");
}

static void test_utf8(void **state)
{
	(void)state;
	/* é, a no-break space (C2 A0) and £ (C2 A3) pass; CSI (C2 9B) does not. */
	check((const char *[]){ "caf\xc3\xa9 \xc2\xa0\xc2\xa3 \xc2\x9b" "31m", NULL },
	      "caf\xc3\xa9 \xc2\xa0\xc2\xa3 ?31m");
	/* Cut between the two bytes of a C1 control, or of £. */
	check((const char *[]){ "x\xc2", "\x9b" "y", NULL }, "x?y");
	check((const char *[]){ "x\xc2", "\xa3", NULL }, "x\xc2\xa3");
	/* A lone lead byte at the very end is kept. */
	check((const char *[]){ "z\xc2", NULL }, "z\xc2");
}

/* A CSV cell for a spreadsheet never starts a formula. */
static void test_csv_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	output_csv_text(f, "=HYPERLINK(\"http://x.example\",\"y\")", ",");
	output_csv_text(f, "+1", ",");
	output_csv_text(f, "@SUM(A1)", ",");
	output_csv_text(f, "Duty, North", ",");
	output_csv_text(f, "", "\n");
	fclose(f);
	assert_string_equal(buf, "\"'=HYPERLINK(\"\"http://x.example\"\",\"\"y\"\")\",'+1,"
			    "'@SUM(A1),\"Duty, North\",\n");
	free(buf);
}

static int fill_text(FILE *f, const void *ctx)
{
	return fputs(ctx, f) < 0 ? -1 : 0;
}

static int fill_fails(FILE *f, const void *ctx)
{
	(void)ctx;
	fputs("half a rep", f);
	return -1;
}

static char *slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_write_atomic(void **state)
{
	char dir[256], path[300], missing[300];
	struct dl_error err;
	struct stat sb;
	mode_t old = umask(027);

	(void)state;
	assert_int_equal(test_tmpdir(dir, sizeof dir, "test_output"), 0);
	snprintf(path, sizeof path, "%s/report.txt", dir);
	assert_int_equal(output_write_atomic(path, fill_text, "first\n", &err), 0);
	assert_string_equal(slurp(path), "first\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);       /* the umask, not mkstemp's 0600 */
	/* A failed fill leaves the old file as it was, and no temporary. */
	assert_int_equal(output_write_atomic(path, fill_fails, NULL, &err), -1);
	assert_string_equal(slurp(path), "first\n");
	assert_int_equal(test_count_files(dir), 1);
	/* A folder that is not there: said, with the file it tried. */
	snprintf(missing, sizeof missing, "%s/none/report.txt", dir);
	assert_int_equal(output_write_atomic(missing, fill_text, "x", &err), -1);
	assert_non_null(strstr(err.msg, "cannot create"));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	umask(old);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_text),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_write_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
