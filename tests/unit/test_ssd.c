/* test_ssd.c — import-ssd's pieces: date columns and their spellings, one
 * table loaded from CSV into SQLite, the views over an empty extract. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <sqlite3.h>
#include <string.h>

#include "deadlined/ssd.h"

static void expect_date(const char *in, const char *want)
{
	char out[DATE_MOMENT_BUF];

	if (!want) {
		if (ssd_normalize_date(in, out) == 0)
			fail_msg("'%s' taken as %s", in, out);
		return;
	}
	if (ssd_normalize_date(in, out) < 0)
		fail_msg("'%s' refused", in);
	assert_string_equal(out, want);
}

static void test_dates(void **state)
{
	(void)state;
	expect_date("2024-01-05", "2024-01-05");
	expect_date("2024-01-05 00:00:00.000", "2024-01-05");   /* SQL Server datetime */
	expect_date("2024-01-05T00:00", "2024-01-05");
	expect_date("2024-01-05 14:30:00.000", "2024-01-05T14:30");
	expect_date("2024-01-05T14:30:15", "2024-01-05T14:30:15");
	expect_date("05/01/2024", "2024-01-05");                 /* DD/MM/YYYY */
	expect_date("29/02/2024 09:05", "2024-02-29T09:05");
	expect_date("2024-02-30", NULL);
	expect_date("29/02/2023", NULL);
	expect_date("05/13/2024", NULL);                         /* US order */
	expect_date("2024-1-5", NULL);
	expect_date("2024-01-05 24:00", NULL);
	expect_date("2024-01-05 12:60", NULL);
	expect_date("2024-01-05 12:00:00.", NULL);
	expect_date("2024-01-05Z", NULL);
	expect_date("0000-01-01", NULL);
	expect_date("", NULL);
	expect_date("5/1/2024", NULL);
	assert_true(ssd_is_date_column("cine_referral_date"));
	assert_true(ssd_is_date_column("PERS_DOB"));
	assert_true(ssd_is_date_column("cppr_cp_review_due"));
	assert_true(ssd_is_date_column("occurred"));
	assert_false(ssd_is_date_column("clea_care_leaver_latest_contact"));
	assert_false(ssd_is_date_column("_date"));
	assert_false(ssd_is_date_column("date_of_birth"));
}

struct notes {
	char text[2048];
	int n;
};

static void note(void *ctx, const char *msg)
{
	struct notes *n = ctx;
	size_t used = strlen(n->text);

	snprintf(n->text + used, sizeof n->text - used, "%s\n", msg);
	n->n++;
}

static char *query(sqlite3 *db, const char *sql)
{
	static char out[1024];
	sqlite3_stmt *st;

	out[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);

			strcat(out, i ? "|" : "");
			strcat(out, v ? v : "<null>");
		}
		strcat(out, ";");
	}
	sqlite3_finalize(st);
	return out;
}

static void load(sqlite3 *db, const char *table, const char *csv, struct notes *n,
		 struct ssd_summary *sum)
{
	struct csv_reader *r;
	struct dl_error err;

	assert_int_equal(csv_open_mem(csv, strlen(csv), &r, &err), 0);
	assert_int_equal(ssd_load_table(db, table, "t.csv", r, note, n, sum, &err), 0);
	csv_close(r);
}

static void test_load_table(void **state)
{
	struct ssd_summary sum = { 0 };
	struct notes n = { .n = 0 };
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	load(db, "ssd_cla_reviews",
	     " clar_cla_id , clar_cla_review_due_date,Local_Note\r\n"
	     "1,05/01/2024,\"a, \"\"b\"\"\"\r\n"
	     "2,NULL,\"NULL\"\r\n"
	     "3,,\r\n"
	     "4,2024-13-01,x\r\n"
	     "5\r\n", &n, &sum);
	assert_int_equal(sum.rows, 3);
	assert_int_equal(sum.bad_rows, 2);
	assert_string_equal(n.text,
		"t.csv:5: column clar_cla_review_due_date: '2024-13-01' is not a date; expected "
		"YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY\n"
		"t.csv:6: 1 field; expected 3 as in the header\n");
	assert_string_equal(query(db, "SELECT clar_cla_id, clar_cla_review_due_date, local_note "
				  "FROM ssd_cla_reviews ORDER BY 1"),
			    "1|2024-01-05|a, \"b\";2|<null>|NULL;3|<null>|<null>;");
	/* The views install over it: the missing standard columns are added. */
	{
		struct dl_error err;

		assert_int_equal(ssd_install_views(db, &err), 0);
	}
	assert_string_equal(query(db, "SELECT count(*) FROM pragma_table_info('ssd_cla_reviews')"),
			    "7;");
	assert_string_equal(query(db, "SELECT * FROM deadlined_expected_due"),
			    "CLA-1|cla-review|2024-01-05|<null>;");
	/* A header that cannot name columns is one bad row; nothing is made. */
	memset(&sum, 0, sizeof sum);
	n.text[0] = '\0';
	load(db, "ssd_x", "a,A\n1,2\n", &n, &sum);
	assert_int_equal(sum.bad_rows, 1);
	assert_string_equal(n.text, "t.csv:1: column 'A' appears twice in the header "
			    "(file not loaded)\n");
	assert_string_equal(query(db, "SELECT name FROM sqlite_schema WHERE name = 'ssd_x'"), "");
	sqlite3_close(db);
}

/* More than SSD_MAX_LISTED bad rows: the rest are counted, not listed. */
static void test_many_bad_rows(void **state)
{
	char csv[4096] = "a,b\n";
	struct ssd_summary sum = { 0 };
	struct notes n = { .n = 0 };
	sqlite3 *db;

	(void)state;
	for (int i = 0; i < 25; i++)
		strcat(csv, "1\n");
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	load(db, "t", csv, &n, &sum);
	assert_int_equal(sum.bad_rows, 25);
	assert_int_equal(n.n, SSD_MAX_LISTED + 1);
	assert_non_null(strstr(n.text, "t.csv: 5 more bad rows not listed"));
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_load_table),
		cmocka_unit_test(test_many_bad_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
