/* test_output.c — text for a terminal: control characters from case data
 * are shown as '?', everything else passes byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/output.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_text),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
