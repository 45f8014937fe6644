/* fuzz_csv.c — CSV import as `deadlinectl import-ssd` does it: csv.c's
 * reader over the bytes, then ssd_load_table of the same bytes into an
 * in-memory SQLite database, then ssd_install_views and a read of every
 * view the daemon and check-data read.
 *
 * Input: a byte choosing the table's name (an SSD table the views read, the
 * extra events, or a stranger) in its low bits, and in its high bit whether
 * to install and read the views (slow: a tenth of the speed), then the CSV
 * file.
 *
 * Checked: every field is valid UTF-8 of its stated length; records start
 * on lines in order; writing the records out again in canonical CSV (every
 * field quoted, quotes doubled) and reading that gives the same records; the
 * table holds exactly the rows counted as loaded; every value of a date
 * column is a date the daemon parses and formats back the same; every
 * row read plus every bad row accounts for every record; the views always
 * install over whatever was loaded and read without a database error.
 */
#include "fuzz.h"

#include "deadlined/csv.h"
#include "deadlined/date.h"
#include "deadlined/ssd.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tables[] = {
	"ssd_cin_episodes", "ssd_cla_reviews", "ssd_cla_episodes", "ssd_cp_reviews",
	"ssd_initial_cp_conference", "deadlined_extra_events", "deadlined_team_contacts",
	"ssd_fuzz",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

struct text {
	char *s;
	size_t n, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		t->cap = (t->n + n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		FUZZ_CHECK(t->s != NULL);
	}
	memcpy(t->s + t->n, s, n);
	t->n += n;
	t->s[t->n] = '\0';
}

/* One record as canonical CSV: every field quoted, quotes doubled. */
static void write_record(struct text *t, const struct csv_record *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		const char *f = rec->field[i];

		put(t, i ? ",\"" : "\"", i ? 2 : 1);
		for (size_t k = 0; k < rec->len[i]; k++)
			put(t, f[k] == '"' ? "\"\"" : f + k, f[k] == '"' ? 2 : 1);
		put(t, "\"", 1);
	}
	put(t, "\r\n", 2);
}

/* Read everything; return the records (good ones) as canonical CSV and
 * count the good and bad records. */
static char *read_all(const uint8_t *data, size_t size, size_t *good, size_t *bad)
{
	struct csv_reader *r;
	struct csv_record rec;
	struct dl_error err;
	struct text out = { 0 };
	long last = 0;
	int rc;

	put(&out, "", 0);
	*good = *bad = 0;
	FUZZ_CHECK(csv_open_mem(data, size, &r, &err) == 0);
	while ((rc = csv_next(r, &rec, &err)) != CSV_EOF) {
		FUZZ_CHECK(rc == CSV_RECORD || rc == CSV_BAD);
		FUZZ_CHECK(rec.line > last);
		last = rec.line;
		if (rc == CSV_BAD) {
			FUZZ_CHECK(err.msg[0] != '\0');
			(*bad)++;
			continue;
		}
		FUZZ_CHECK(rec.n >= 1 && rec.n <= CSV_MAX_FIELDS);
		for (size_t i = 0; i < rec.n; i++) {
			FUZZ_CHECK(strlen(rec.field[i]) == rec.len[i]);
			FUZZ_CHECK(rec.len[i] <= CSV_MAX_FIELD);
			FUZZ_CHECK(csv_utf8_valid(rec.field[i], rec.len[i]));
		}
		/* A record of one empty unquoted field is a blank line, never
		 * returned: written back it would read as nothing. */
		FUZZ_CHECK(!(rec.n == 1 && rec.len[0] == 0 && !rec.quoted[0]));
		(*good)++;
		write_record(&out, &rec);
	}
	csv_close(r);
	return out.s;
}

static void check_round_trip(const uint8_t *data, size_t size)
{
	size_t good, bad, good2, bad2;
	char *canon = read_all(data, size, &good, &bad);
	char *again = read_all((const uint8_t *)canon, strlen(canon), &good2, &bad2);

	FUZZ_CHECK(good2 == good && bad2 == 0);
	FUZZ_CHECK(strcmp(canon, again) == 0);
	free(canon);
	free(again);
}

static void note(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(msg[0] != '\0');
	if (fuzz_verbose)
		fprintf(stderr, "note: %s\n", msg);
}

static long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long n = 0;
	int rc;

	FUZZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n++;
	if (rc != SQLITE_DONE)
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	FUZZ_CHECK(rc == SQLITE_DONE);
	sqlite3_finalize(st);
	return n;
}

/* Every value of a date column reads back as the daemon's own date. */
static void check_dates(sqlite3 *db, const char *table)
{
	char sql[128];
	sqlite3_stmt *st;

	snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
	FUZZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);
			struct dl_moment m;
			struct dl_error err;
			char back[DATE_MOMENT_BUF];

			if (!v || !ssd_is_date_column(sqlite3_column_name(st, i)))
				continue;
			FUZZ_CHECK(date_parse_moment(v, &m, &err) == 0);
			FUZZ_CHECK(strcmp(date_format_moment(m, back), v) == 0);
		}
	sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *table;
	struct csv_reader *r;
	struct ssd_summary sum = { 0 };
	struct dl_error err;
	sqlite3 *db;
	size_t good, bad;
	char *canon, sql[128];

	if (size < 1)
		return 0;
	table = tables[data[0] % (sizeof tables / sizeof tables[0])];
	data++, size--;
	check_round_trip(data, size);

	canon = read_all(data, size, &good, &bad);
	free(canon);
	FUZZ_CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	FUZZ_CHECK(csv_open_mem(data, size, &r, &err) == 0);
	FUZZ_CHECK(ssd_load_table(db, table, "fuzz.csv", r, note, NULL, &sum, &err) == 0);
	csv_close(r);
	snprintf(sql, sizeof sql, "SELECT 1 FROM sqlite_schema WHERE name = '%s'", table);
	if (count(db, sql)) {
		/* The header loaded: each later record is a row or a bad row. */
		snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
		FUZZ_CHECK(count(db, sql) == sum.rows);
		FUZZ_CHECK((size_t)(sum.rows + sum.bad_rows) == good + bad - 1);
		check_dates(db, table);
	} else {
		FUZZ_CHECK(sum.rows == 0 && sum.bad_rows == 1);
	}
	if (!(data[-1] & 0x80)) {
		sqlite3_close(db);
		return 0;
	}
	if (ssd_install_views(db, &err) != 0) {
		fprintf(stderr, "views: %s\n", err.msg);
		FUZZ_CHECK(!"the views install over any table loaded");
	}
	count(db, "SELECT case_ref, child_ref, date_of_birth, team_ref, worker_ref "
	      "FROM deadlined_cases ORDER BY case_ref");
	count(db, "SELECT case_ref, kind, occurred, event_ref FROM deadlined_events "
	      "ORDER BY case_ref, occurred");
	count(db, "SELECT team_ref, name, manager_email, service_manager_email "
	      "FROM deadlined_teams");
	count(db, "SELECT worker_ref, name, email, team_ref FROM deadlined_workers");
	count(db, "SELECT case_ref, rule, due, event_ref FROM deadlined_expected_due");
	sqlite3_close(db);
	return 0;
}
