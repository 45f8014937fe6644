/* test_csv.c — the RFC 4180 reader: quoting, line ends, BOM, line numbers,
 * malformed records and recovery, limits, files across the read window. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadlined/csv.h"

/* The records of text as "a|b|c" lines (bad ones as "BAD@LINE: msg"),
 * each followed by "@LINE", joined by newlines. */
static char *records(const char *text, size_t len)
{
	struct csv_reader *r;
	struct csv_record rec;
	struct dl_error err;
	size_t cap = 8192, used = 0;
	char *out = calloc(1, cap);
	int rc;

	assert_non_null(out);
	assert_int_equal(csv_open_mem(text, len, &r, &err), 0);
	while ((rc = csv_next(r, &rec, &err)) != CSV_EOF) {
		assert_int_not_equal(rc, CSV_FAIL);
		if (rc == CSV_BAD) {
			used += (size_t)snprintf(out + used, cap - used, "BAD@%ld: %s\n", rec.line,
						 err.msg);
			continue;
		}
		for (size_t i = 0; i < rec.n; i++) {
			assert_int_equal(strlen(rec.field[i]), rec.len[i]);
			used += (size_t)snprintf(out + used, cap - used, "%s%s%s%s", i ? "|" : "",
						 rec.quoted[i] ? "'" : "", rec.field[i],
						 rec.quoted[i] ? "'" : "");
		}
		used += (size_t)snprintf(out + used, cap - used, "@%ld\n", rec.line);
		assert_true(used < cap);
	}
	csv_close(r);
	return out;
}

#define EXPECT(text, want) \
	do { \
		char *got_ = records(text, sizeof(text) - 1); \
		assert_string_equal(got_, want); \
		free(got_); \
	} while (0)

static void test_plain(void **state)
{
	(void)state;
	EXPECT("a,b,c\n1,2,3\n", "a|b|c@1\n1|2|3@2\n");
	EXPECT("a,b\n1,2", "a|b@1\n1|2@2\n");           /* no final line break */
	EXPECT(",,\n", "||@1\n");                         /* empty fields */
	EXPECT("", "");
	EXPECT(" x , y \n", " x | y @1\n");               /* spaces are data */
}

static void test_quotes(void **state)
{
	(void)state;
	EXPECT("\"a,b\",c\n", "'a,b'|c@1\n");
	EXPECT("\"say \"\"hi\"\"\",x\n", "'say \"hi\"'|x@1\n");
	EXPECT("\"\",x\n", "''|x@1\n");
	EXPECT("\"two\nlines\",x\nnext,y\n", "'two\nlines'|x@1\nnext|y@3\n");
	EXPECT("\"crlf\r\ninside\",x\r\nnext,y\r\n", "'crlf\r\ninside'|x@1\nnext|y@3\n");
	EXPECT("x,\"\"\"\"\n", "x|'\"'@1\n");
}

static void test_line_ends_bom_blank(void **state)
{
	(void)state;
	EXPECT("a,b\r\n1,2\r\n", "a|b@1\n1|2@2\n");
	EXPECT("a,b\r1,2\r", "a|b@1\n1|2@2\n");           /* old Mac line ends */
	EXPECT("\xef\xbb\xbf" "a,b\n1,2\n", "a|b@1\n1|2@2\n");
	EXPECT("\xef\xbb\xbf\"a\",b\n", "'a'|b@1\n");
	EXPECT("a\n\n\r\n3\n\n", "a@1\n3@4\n");           /* blank lines skipped */
	/* A BOM anywhere else is data. */
	EXPECT("a,\xef\xbb\xbf" "b\n", "a|\xef\xbb\xbf" "b@1\n");
}

static void test_bad_records(void **state)
{
	(void)state;
	EXPECT("a,b\n1,x\"y\n3,4\n",
	       "a|b@1\nBAD@2: field 2: a quote inside an unquoted field; expected the whole "
	       "field in quotes, with each quote inside it doubled\n3|4@3\n");
	EXPECT("a,b\n\"1\"x,2\n3,4\n",
	       "a|b@1\nBAD@2: field 1: 'x' after a closing quote; expected a comma or the end "
	       "of the line (a quote inside a quoted field is written \"\")\n3|4@3\n");
	EXPECT("a,b\n1,\"open\n2,3\n",
	       "a|b@1\nBAD@2: a quoted field that starts on line 2 is not closed at the end "
	       "of the file; expected a closing \"\n");
	EXPECT("a,\xff\nb,c\n",
	       "BAD@1: field 2 is not valid UTF-8 or holds a NUL byte; expected the file "
	       "saved as UTF-8\nb|c@2\n");
	EXPECT("a,\xc0\x80\n", "BAD@1: field 2 is not valid UTF-8 or holds a NUL byte; "
	       "expected the file saved as UTF-8\n");    /* overlong NUL */
	EXPECT("a,b\0c\n", "BAD@1: field 2 is not valid UTF-8 or holds a NUL byte; "
	       "expected the file saved as UTF-8\n");
	EXPECT("a,\xed\xa0\x80\n", "BAD@1: field 2 is not valid UTF-8 or holds a NUL byte; "
	       "expected the file saved as UTF-8\n");    /* a surrogate */
	EXPECT("\xc2\xa3" "5,\xe2\x82\xac,\xf0\x9f\x98\x80\n",
	       "\xc2\xa3" "5|\xe2\x82\xac|\xf0\x9f\x98\x80@1\n");
}

static void test_limits(void **state)
{
	size_t n = CSV_MAX_FIELD + 10;
	char *big = malloc(n + 8);
	char *many = malloc(CSV_MAX_FIELDS * 2 + 8);
	char *got;

	(void)state;
	assert_non_null(big);
	assert_non_null(many);
	memset(big, 'x', n);
	memcpy(big + n, "\nok\n", 4);
	got = records(big, n + 4);
	assert_string_equal(got, "BAD@1: field 1 is longer than 1048576 bytes\nok@2\n");
	free(got);
	for (size_t i = 0; i <= CSV_MAX_FIELDS; i++)
		many[2 * i] = 'a', many[2 * i + 1] = ',';
	memcpy(many + 2 * CSV_MAX_FIELDS + 1, "\nok\n", 4);
	got = records(many, 2 * CSV_MAX_FIELDS + 5);
	assert_string_equal(got, "BAD@1: more than 4096 fields\nok@2\n");
	free(got);
	free(big);
	free(many);
}

/* A file over the 64 KiB read window, with a quoted field across its edge,
 * reads as the same text does from memory. */
static void test_file(void **state)
{
	char dir[4096], path[4200];
	FILE *f;
	struct csv_reader *r;
	struct csv_record rec;
	struct dl_error err;
	long rows = 0, last_line = 0;
	int rc;

	(void)state;
	assert_int_equal(test_tmpdir(dir, sizeof dir, "test_csv"), 0);
	snprintf(path, sizeof path, "%s/big.csv", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("\xef\xbb\xbfid,note\r\n", f);
	for (int i = 0; i < 5000; i++)
		fprintf(f, "%d,\"note %d, with \"\"quotes\"\"\nand a second line\"\r\n", i, i);
	fclose(f);
	assert_int_equal(csv_open_file(path, &r, &err), 0);
	while ((rc = csv_next(r, &rec, &err)) == CSV_RECORD) {
		if (rows > 0) {
			char want[80];

			snprintf(want, sizeof want, "note %ld, with \"quotes\"\nand a second line",
				 rows - 1);
			assert_string_equal(rec.field[1], want);
		}
		rows++;
		last_line = rec.line;
	}
	assert_int_equal(rc, CSV_EOF);
	assert_int_equal(rows, 5001);
	assert_int_equal(last_line, 2 + 2 * 4999);
	csv_close(r);
	unlink(path);
	assert_int_equal(csv_open_file(path, &r, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_non_null(strstr(err.msg, path));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_line_ends_bom_blank),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
