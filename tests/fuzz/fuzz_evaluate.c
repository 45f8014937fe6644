/* fuzz_evaluate.c — evaluate_run over a case database made from the fuzz
 * bytes: source.c's merge of cases and events, evaluate.c's judging of bad
 * rows, and every rule of conf/deadlined.conf's pack over what survives.
 *
 * The four relations live in in-memory SQLite databases ("memdb"), one per
 * schema: native.sql's TEXT columns; untyped columns, so case_refs may be
 * integers, reals or blobs; views over NOCASE tables, as a council might
 * define them; and one missing a column, which source_open must refuse.
 *
 * Input: a flags byte (schema, one case or all), "now" (3 bytes), then rows
 * until the bytes run out: a byte picks the relation, and each column a
 * value: NULL, a number, a blob, raw bytes, or a likely value (a case_ref
 * from a few, a kind of the pack or a stranger, a date from bytes that may
 * be impossible or malformed).
 *
 * Checked: no database error; every case row is delivered or reported as
 * ignored, every event row is delivered with its case or reported as an
 * orphan; each case's events are sorted and not after now; every
 * obligation is well formed (fuzzcheck.c) and the summary adds up.
 */
#include "fuzz.h"

#include "deadlined/conf.h"
#include "deadlined/evaluate.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { VARIANTS = 4, MAX_ROWS = 256 };
enum role { ROLE_CASE, ROLE_TEAM, ROLE_WORKER, ROLE_KIND, ROLE_DATE, ROLE_TEXT };

struct variant {
	const char *schema;          /* NULL: conf/schema/native.sql */
	const char *tables[4];       /* where cases, events, teams, workers go */
	sqlite3 *db;
	sqlite3_stmt *ins[4];
};

static const char UNTYPED[] =
	"CREATE TABLE deadlined_cases (case_ref, child_ref, date_of_birth, team_ref, worker_ref);"
	"CREATE TABLE deadlined_events (case_ref, kind, occurred, event_ref);"
	"CREATE TABLE deadlined_teams (team_ref, name, manager_email, service_manager_email);"
	"CREATE TABLE deadlined_workers (worker_ref, name, email, team_ref);";

static const char VIEWS[] =
	"CREATE TABLE c (case_ref TEXT COLLATE NOCASE, child_ref, date_of_birth, team_ref,"
	" worker_ref);"
	"CREATE TABLE e (case_ref TEXT COLLATE NOCASE, kind, occurred, event_ref);"
	"CREATE TABLE t (team_ref, name, manager_email, service_manager_email);"
	"CREATE TABLE w (worker_ref, name, email, team_ref);"
	"CREATE VIEW deadlined_cases AS SELECT * FROM c;"
	"CREATE VIEW deadlined_events AS SELECT * FROM e;"
	"CREATE VIEW deadlined_teams AS SELECT * FROM t;"
	"CREATE VIEW deadlined_workers AS SELECT * FROM w;";

static const char BROKEN[] =
	"CREATE TABLE deadlined_cases (case_ref, child_ref, date_of_birth, team_ref, worker_ref);"
	"CREATE TABLE deadlined_events (case_ref, kind, occurred, event_ref);"
	"CREATE TABLE deadlined_teams (team_ref, name, manager_email, service_manager_email);"
	"CREATE TABLE deadlined_workers (worker_ref, name, team_ref);";

#define CONTRACT { "deadlined_cases", "deadlined_events", "deadlined_teams", "deadlined_workers" }

/* native.sql, untyped, views over NOCASE tables, workers.email missing. */
static struct variant variants[VARIANTS] = {
	{ NULL, CONTRACT }, { UNTYPED, CONTRACT }, { VIEWS, { "c", "e", "t", "w" } },
	{ BROKEN, CONTRACT },
};

/* The contract's columns, by name: native.sql's events have one more. */
static const char *const columns[4] = {
	"case_ref, child_ref, date_of_birth, team_ref, worker_ref",
	"case_ref, kind, occurred, event_ref",
	"team_ref, name, manager_email, service_manager_email",
	"worker_ref, name, email, team_ref",
};

static const enum role roles[4][5] = {
	{ ROLE_CASE, ROLE_TEXT, ROLE_DATE, ROLE_TEAM, ROLE_WORKER },
	{ ROLE_CASE, ROLE_KIND, ROLE_DATE, ROLE_TEXT },
	{ ROLE_TEAM, ROLE_TEXT, ROLE_TEXT, ROLE_TEXT },
	{ ROLE_WORKER, ROLE_TEXT, ROLE_TEXT, ROLE_TEAM },
};

static const char *const case_refs[] = { "C0", "C1", "C2", "C3", "c1", "C1 ", "1", "" };
static const char *const team_refs[] = { "T1", "T2", "t1", "TX" };
static const char *const worker_refs[] = { "W1", "W2", "w1", "WX" };
static const char *const texts[] = { "x", "Name", "a@b.example", "" };
static const char *const kinds[] = {
	"referral", "referral_decision", "referral_nfa", "assessment_started",
	"assessment_completed", "initial_assessment_completed", "core_assessment_started",
	"core_assessment_completed", "strategy_discussion", "s47_started", "s47_nfa", "icpc",
	"icpc_not_required", "cp_plan_started", "cp_plan_ended", "cp_review_conference",
	"cla_started", "cla_ended", "placement_started", "cla_review", "cla_visit", "care_plan",
	"health_part_a_sent", "initial_health_assessment", "review_health_assessment", "pep",
	"missing_returned", "return_home_interview", "proceedings_issued",
	"proceedings_concluded", "ehc_request", "ehc_plan_issued", "observation",
	"oral_feedback", "written_feedback", "case_closed", "Referral", "family_group_conference",
	"", "cla review",
};
static const int odd_years[] = { 0, 1, 1899, 1900, 2199, 2200, 9999, 1970 };

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

static struct conf *conf;

static void setup_variant(struct variant *v, int i, const char *native)
{
	char uri[64];

	snprintf(uri, sizeof uri, "file:/fuzz-evaluate-%d?vfs=memdb", i);
	if (sqlite3_open_v2(uri, &v->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_URI, NULL) != SQLITE_OK ||
	    sqlite3_exec(v->db, v->schema ? v->schema : native, NULL, NULL, NULL) != SQLITE_OK)
		fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(v->db));
	for (int t = 0; t < 4; t++) {
		char sql[160];

		snprintf(sql, sizeof sql, "INSERT INTO %s (%s) VALUES (?, ?, ?, ?%s)",
			 v->tables[t], columns[t], t == 0 ? ", ?" : "");
		/* The broken variant's workers lack email: insert what it has. */
		if (v == &variants[3] && t == 3)
			snprintf(sql, sizeof sql, "INSERT INTO %s (worker_ref, name, team_ref) "
				 "VALUES (?, ?, ?)", v->tables[t]);
		if (sqlite3_prepare_v2(v->db, sql, -1, &v->ins[t], NULL) != SQLITE_OK)
			fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(v->db));
	}
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	if (!f || !buf)
		fuzz_fail(__FILE__, __LINE__, path);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void teardown(void)
{
	for (int i = 0; i < VARIANTS; i++) {
		for (int t = 0; t < 4; t++)
			sqlite3_finalize(variants[i].ins[t]);
		sqlite3_close(variants[i].db);
	}
	conf_free(conf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dl_errors errors = { 0 };
	char *native = read_text(FUZZ_CONF_DIR "/schema/native.sql");

	(void)argc;
	(void)argv;
	fuzz_init();
	if (conf_load(FUZZ_CONF_DIR "/deadlined.conf", &conf, &errors) < 0)
		fuzz_fail(__FILE__, __LINE__, errors.n ? errors.msg[0] : "conf_load");
	errors_clear(&errors);
	for (int i = 0; i < VARIANTS; i++)
		setup_variant(&variants[i], i, native);
	free(native);
	atexit(teardown);
	return 0;
}

/* A date or time from bytes: mostly real, sometimes impossible (2023-02-30,
 * 25:61) or malformed (slashes, no padding, a year out of range). */
static int date_text(struct fuzz_bytes *b, char *buf, size_t size)
{
	unsigned yb = fuzz_u8(b), form = fuzz_u8(b) % 8;
	int y = yb < 232 ? 2008 + (int)(yb % 24) : odd_years[yb % COUNT(odd_years)];
	int m = (int)(fuzz_u8(b) % 13), d = 1 + (int)(fuzz_u8(b) % 31);
	int hh = (int)(fuzz_u8(b) % 26), mm = (int)(fuzz_u8(b) % 61);

	switch (form) {
	case 1: return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d", y, m + 1, d, hh, mm);
	case 2: return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", y, m + 1, d, hh, mm,
				mm);
	case 3: return snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", y, m + 1, d, hh, mm);
	case 4: return snprintf(buf, size, "%d/%d/%d", d, m, y);
	case 5: return snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
	default: return snprintf(buf, size, "%04d-%02d-%02d", y, m + 1, d);
	}
}

static int likely_text(struct fuzz_bytes *b, enum role role, char *buf, size_t size)
{
	switch (role) {
	case ROLE_CASE: return snprintf(buf, size, "%s", fuzz_pick(b, case_refs, COUNT(case_refs)));
	case ROLE_TEAM: return snprintf(buf, size, "%s", fuzz_pick(b, team_refs, COUNT(team_refs)));
	case ROLE_WORKER:
		return snprintf(buf, size, "%s", fuzz_pick(b, worker_refs, COUNT(worker_refs)));
	case ROLE_KIND: return snprintf(buf, size, "%s", fuzz_pick(b, kinds, COUNT(kinds)));
	case ROLE_DATE: return date_text(b, buf, size);
	case ROLE_TEXT: break;
	}
	return snprintf(buf, size, "%s", fuzz_pick(b, texts, COUNT(texts)));
}

/* Up to 23 raw bytes, NULs and all. */
static int raw_text(struct fuzz_bytes *b, char *buf)
{
	size_t n = fuzz_u8(b) % 24;

	if (n > b->n)
		n = b->n;
	memcpy(buf, b->p, n);
	b->p += n;
	b->n -= n;
	return (int)n;
}

static void bind_value(struct fuzz_bytes *b, sqlite3_stmt *st, int col, enum role role)
{
	char buf[64];
	unsigned sel = fuzz_u8(b) % 10;
	int n;

	switch (sel) {
	case 0:
		sqlite3_bind_null(st, col);
		return;
	case 1:
		sqlite3_bind_int64(st, col, (sqlite3_int64)(fuzz_u8(b) % 4));
		return;
	case 2:
		sqlite3_bind_double(st, col, (fuzz_u8(b) % 4) / 2.0);
		return;
	case 3:
		n = likely_text(b, role, buf, sizeof buf);
		sqlite3_bind_blob(st, col, buf, n, SQLITE_TRANSIENT);
		return;
	case 4:
		n = raw_text(b, buf);
		sqlite3_bind_text(st, col, buf, n, SQLITE_TRANSIENT);
		return;
	default:
		n = likely_text(b, role, buf, sizeof buf);
		sqlite3_bind_text(st, col, buf, n, SQLITE_TRANSIENT);
		return;
	}
}

struct fill {
	size_t cases, events;        /* rows stored */
	size_t distinct_cases;       /* non-NULL case_refs, as SQLite tells them apart */
	size_t owned_events;         /* events whose case_ref is some case's */
};

/* What the walk should deliver, by SQLite's own comparisons. */
static const char EXPECTED[] =
	"SELECT (SELECT count(DISTINCT case_ref COLLATE BINARY) FROM deadlined_cases),"
	" (SELECT count(*) FROM deadlined_events e WHERE EXISTS (SELECT 1 FROM deadlined_cases c"
	"  WHERE c.case_ref = e.case_ref COLLATE BINARY))";

static void expect(struct variant *v, struct fill *f)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(v->db, EXPECTED, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(v->db));
	f->distinct_cases = (size_t)sqlite3_column_int64(st, 0);
	f->owned_events = (size_t)sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
}

/* Empty the variant's tables and store the rows the bytes describe. */
static void fill(struct variant *v, struct fuzz_bytes *b, struct fill *f)
{
	static const int table_of[8] = { 0, 0, 1, 1, 1, 1, 2, 3 };

	if (sqlite3_exec(v->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(v->db));
	for (int t = 0; t < 4; t++) {
		char sql[64];

		snprintf(sql, sizeof sql, "DELETE FROM %s", v->tables[t]);
		if (sqlite3_exec(v->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(v->db));
	}
	for (int row = 0; b->n && row < MAX_ROWS; row++) {
		int t = table_of[fuzz_u8(b) % 8];
		sqlite3_stmt *st = v->ins[t];

		for (int col = 0; col < sqlite3_bind_parameter_count(st); col++)
			bind_value(b, st, col + 1, roles[t][col]);
		/* A repeated PRIMARY KEY (native.sql) is refused: not stored. */
		if (sqlite3_step(st) == SQLITE_DONE) {
			f->cases += t == 0;
			f->events += t == 1;
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	if (sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(v->db));
}

struct tally {
	struct dl_moment now;
	struct rules_case rc;        /* the current case's valid events */
	const struct rule *rule;
	int seq;
	size_t obligations, findings, ignored, orphans;
};

static int on_case_events(void *ctx, const struct source_case *c,
			  const struct rules_event *events, size_t n)
{
	struct tally *t = ctx;

	FUZZ_CHECK(c->case_ref != NULL);
	FUZZ_CHECK(n <= c->nevents);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(conf_knows_kind(conf, events[i].kind));
		FUZZ_CHECK(!rules_passed(events[i].when, t->now));
		FUZZ_CHECK(i == 0 || date_moment_cmp(events[i - 1].when, events[i].when) <= 0);
	}
	if (fuzz_verbose)
		fprintf(stderr, "  case %s: %zu events, %zu valid up to now\n", c->case_ref,
			c->nevents, n);
	t->rc = (struct rules_case){ c->case_ref, DATE_NONE, events, n };
	t->rule = NULL;
	return 0;
}

static int on_obligation(void *ctx, const struct source_case *c, const struct obligation *ob)
{
	struct tally *t = ctx;
	const struct rule *rules = conf->rules.v;

	FUZZ_CHECK(c->case_ref == t->rc.case_ref);
	FUZZ_CHECK(ob->rule >= rules && ob->rule < rules + conf->rules.n);
	if (ob->rule != t->rule)
		t->seq = 0;
	FUZZ_CHECK(ob->seq > t->seq);
	t->rule = ob->rule;
	t->seq = ob->seq;
	fuzz_check_obligation(ob->rule, &t->rc, t->now, ob);
	if (fuzz_verbose)
		fprintf(stderr, "  %s: %s #%d %s\n", c->case_ref, ob->rule->id, ob->seq,
			rules_state_name(ob->state));
	t->obligations++;
	return 0;
}

/* Counts the rows the walk reported instead of delivering. */
static int on_finding(void *ctx, const char *case_ref, const char *problem)
{
	struct tally *t = ctx;
	size_t n;

	FUZZ_CHECK(case_ref && problem && *problem);
	if (fuzz_verbose)
		fprintf(stderr, "  finding: %s: %s\n", case_ref, problem);
	t->findings++;
	if (strncmp(problem, "case row ignored", 16) == 0)
		t->ignored++;
	else if (strstr(problem, " for a case that is not in deadlined_cases") &&
		 sscanf(problem, "%zu event", &n) == 1)
		t->orphans += n;
	return 0;
}

static void check_summary(const struct evaluate_summary *sum, const struct tally *t,
			  const struct fill *f, int one_case)
{
	size_t total = 0, by_rule = 0;

	for (int s = 0; s < OB_NSTATES; s++) {
		total += sum->total[s];
		for (size_t r = 0; r < conf->rules.n; r++)
			by_rule += sum->by_rule[r][s];
	}
	FUZZ_CHECK(total == t->obligations && by_rule == total);
	FUZZ_CHECK(sum->findings == t->findings);
	FUZZ_CHECK(sum->escalated <= sum->total[OB_OVERDUE]);
	if (one_case) {
		FUZZ_CHECK(sum->cases <= 1);
		return;
	}
	FUZZ_CHECK(sum->cases + t->ignored == f->cases);
	FUZZ_CHECK(sum->events + t->orphans == f->events);
	FUZZ_CHECK(sum->cases == f->distinct_cases);
	FUZZ_CHECK(sum->events == f->owned_events);
}

static struct dl_moment now_from(struct fuzz_bytes *b)
{
	struct dl_moment now;
	unsigned sec = fuzz_u8(b);

	date_from_ymd(2008, 1, 1, &now.day);
	now.day += (dl_day)(fuzz_u16(b) % (24 * 366));
	now.sec = sec == 255 ? DATE_NO_TIME : (int32_t)(sec * 339 % 86400);
	return now;
}

static void evaluate(struct variant *v, const char *case_ref, struct tally *t,
		     struct fill *f)
{
	char uri[64];
	struct source *src;
	struct dl_error err;
	struct evaluate_summary sum;
	struct evaluate_hooks hooks = { on_obligation, on_finding, on_case_events, t };

	snprintf(uri, sizeof uri, "file:/fuzz-evaluate-%d?vfs=memdb", (int)(v - variants));
	if (source_open(&(struct source_conf){ .database = uri }, &src, &err) < 0) {
		/* Only the variant without workers.email is refused. */
		FUZZ_CHECK(v == &variants[3] && strstr(err.msg, "email"));
		return;
	}
	FUZZ_CHECK(v != &variants[3]);
	expect(v, f);
	if (evaluate_run(conf, src, case_ref, t->now, &hooks, &sum, &err) < 0)
		fuzz_fail(__FILE__, __LINE__, err.msg);
	if (fuzz_verbose)
		fprintf(stderr, "  %zu of %zu case rows, %zu of %zu event rows, %zu findings, "
			"%zu obligations\n", sum.cases, f->cases, sum.events, f->events,
			sum.findings, t->obligations);
	check_summary(&sum, t, f, case_ref != NULL);
	evaluate_summary_free(&sum);
	source_close(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_bytes b = { data, size };
	unsigned flags = fuzz_u8(&b);
	static const int variant_of[8] = { 0, 0, 0, 1, 1, 2, 2, 3 };
	struct variant *v = &variants[variant_of[flags % 8]];
	const char *one = flags & 8 ? case_refs[(flags >> 4) % COUNT(case_refs)] : NULL;
	struct tally t = { .now = now_from(&b) };
	struct fill f = { 0 };

	fill(v, &b, &f);
	evaluate(v, one, &t, &f);
	return 0;
}
