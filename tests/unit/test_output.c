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
#include "deadlined/rules.h"
#include "deadlined/source.h"
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

/* What a text listing prints for rows. */
static char *printed(const struct output_rows *rows, bool findings)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *to = open_memstream(&buf, &len);

	if (findings)
		output_print_findings(to, rows, OUTPUT_TABLE);
	else
		output_print_obligations(to, rows, OUTPUT_TABLE);
	fclose(to);
	return buf;
}

/* Case data in text listings: a line feed or carriage return cannot forge a
 * line, invalid UTF-8 cannot reach the terminal raw; both are shown as
 * visible escapes, so the row can still be found (issue 14). */
static void test_text_fields_visible(void **state)
{
	struct output_rows rows = { 0 };
	struct source_case c = { .case_ref = "A1\nFORGED", .team_ref = "T\xff" "1",
				 .worker_ref = "W\r1" };
	struct obligation ob = { .seq = 1, .state = OB_OVERDUE };
	char *text;

	(void)state;
	assert_int_equal(output_add_finding(&rows, "A1\nFORGED line", "event 'x\x80y': bad"), 0);
	assert_int_equal(output_add_finding(&rows, "back\\slash", "caf\xc3\xa9 ok"), 0);
	text = printed(&rows, true);
	assert_non_null(strstr(text, "A1\\nFORGED line  event 'x\\x80y': bad\n"));
	assert_non_null(strstr(text, "back\\\\slash"));
	assert_non_null(strstr(text, "caf\xc3\xa9 ok\n"));      /* valid UTF-8 stays */
	assert_null(strstr(text, "\nFORGED"));
	assert_null(strchr(text, '\x80'));
	free(text);
	output_free(&rows);

	ob.rule = &(struct rule){ .id = "r" };
	assert_int_equal(output_add_obligation(&rows, &c, &ob), 0);
	text = printed(&rows, false);
	assert_non_null(strstr(text, "A1\\nFORGED"));
	assert_non_null(strstr(text, "T\\xff1/W\\r1"));
	assert_null(strstr(text, "\nFORGED"));
	assert_null(strchr(text, '\xff'));
	assert_null(strchr(text, '\r'));
	free(text);
	output_free(&rows);
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
		cmocka_unit_test(test_text_fields_visible),
		cmocka_unit_test(test_write_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
