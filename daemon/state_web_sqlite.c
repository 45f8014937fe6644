/* state_web_sqlite.c — deadlined-web's reads and writes of a SQLite state
 * store (state_web_backend.h): its own connection to the file that
 * state_sqlite.c keeps, one for each server thread. */
#include "deadlined/state_web_backend.h"

#include "deadlined/state.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements are prepared once per connection and kept: the tray's is
 * long, and parsing it each time cost more than running it. */
#define KEPT 32

struct sqlite_web {
	struct state_web base;
	sqlite3 *db;
	char *path;
	struct {
		const char *sql;         /* one of this file's constants */
		sqlite3_stmt *s;
	} kept[KEPT];
	char *counts_key;                /* the last counts read, and for whom */
	int64_t counts_version;
	struct state_web_counts counts;
};

static struct sqlite_web *lite(struct state_web *sw)
{
	return (struct sqlite_web *)sw;
}

static int fail(struct state_web *sw, struct dl_error *err, const char *what)
{
	error_set(err, "state database %s: %s: %s", lite(sw)->path, what,
		  sqlite3_errmsg(lite(sw)->db));
	return -1;
}

static void sqlite_web_close(struct state_web *base)
{
	struct sqlite_web *sw = lite(base);

	if (!sw)
		return;
	for (size_t i = 0; i < KEPT; i++)
		sqlite3_finalize(sw->kept[i].s);
	sqlite3_close(sw->db);
	free(sw->path);
	free(sw->counts_key);
	free(sw);
}

static int sqlite_web_open(const struct state_conf *conf, struct state_web **out,
			   struct dl_error *err)
{
	const char *path = conf->database;
	struct sqlite_web *sw;
	sqlite3_stmt *s = NULL;
	int v = -1;

	*out = NULL;
	sw = calloc(1, sizeof *sw);
	if (!sw || !(sw->path = strdup(path))) {
		free(sw);
		error_set(err, "out of memory");
		return -1;
	}
	sw->base.ops = &state_web_sqlite_ops;
	/* Before SQLite starts (else a harmless SQLITE_MISUSE): its memory
	 * statistics take a process-wide mutex on every allocation, which the
	 * server's threads would fight over. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &sw->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)) {
		error_set(err, "state database %s: cannot open: %s (has deadlined run yet, and "
			  "may this user write it?)", path, sw->db ? sqlite3_errmsg(sw->db) : "no memory");
		sqlite_web_close(&sw->base);
		return -1;
	}
	sqlite3_busy_timeout(sw->db, 5000);
	if (sqlite3_prepare_v2(sw->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (v != STATE_SCHEMA_VERSION) {
		error_set(err, "state database %s has schema version %d and deadlined-web reads "
			  "version %d; %s", path, v, STATE_SCHEMA_VERSION, v < STATE_SCHEMA_VERSION ?
			  "start the new deadlined once (it migrates the database)" :
			  "upgrade deadlined-web to the daemon's release");
		sqlite_web_close(&sw->base);
		return -1;
	}
	*out = &sw->base;
	return 0;
}

/* sql's statement, prepared now or kept from before. */
static sqlite3_stmt *prepared(struct sqlite_web *sw, const char *sql)
{
	sqlite3_stmt *s = NULL;
	size_t i;

	for (i = 0; i < KEPT && sw->kept[i].sql; i++)
		if (sw->kept[i].sql == sql)
			return sw->kept[i].s;
	if (sqlite3_prepare_v3(sw->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return NULL;
	if (i < KEPT) {
		sw->kept[i].sql = sql;
		sw->kept[i].s = s;
	}
	return s;
}

/* Done with s: a kept statement is reset (ending its read) and unbound,
 * any other finalized. */
static void release(struct state_web *base, sqlite3_stmt *s)
{
	struct sqlite_web *sw = lite(base);

	for (size_t i = 0; s && i < KEPT && sw->kept[i].sql; i++)
		if (sw->kept[i].s == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return;
		}
	sqlite3_finalize(s);
}

/* A statement with bindings from fmt: s text (NULL binds NULL), i int,
 * I int64.  The caller finalizes it. */
static sqlite3_stmt *query(struct state_web *sw, struct dl_error *err, const char *sql,
			   const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	if (!(s = prepared(lite(sw), sql))) {
		fail(sw, err, "prepare");
		return NULL;
	}
	va_start(ap, fmt);
	for (int k = 1; fmt[k - 1]; k++) {
		if (fmt[k - 1] == 's') {
			const char *v = va_arg(ap, const char *);

			if (v)
				sqlite3_bind_text(s, k, v, -1, SQLITE_TRANSIENT);
		} else if (fmt[k - 1] == 'i') {
			sqlite3_bind_int(s, k, va_arg(ap, int));
		} else {
			sqlite3_bind_int64(s, k, va_arg(ap, int64_t));
		}
	}
	va_end(ap);
	return s;
}

/* Step s to its end, finalizing it; a row or done is success. */
static int finish(struct state_web *sw, sqlite3_stmt *s, struct dl_error *err, const char *what)
{
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	release(sw, s);
	/* This connection's own writes (cover) leave data_version as it was:
	 * forget the counts it kept. */
	lite(sw)->counts_version = -1;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(sw, err, what);
}

static const char *text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Who may see obligation o: ?1 the viewer's address, ?2 admin (0/1), ?3
 * today.  A deputy sees what the manager (team or service) they cover sees. */
#define COVERED "(SELECT manager FROM cover WHERE deputy = ?1 COLLATE NOCASE" \
	" AND from_day <= ?3 AND to_day >= ?3)"
#define VISIBLE "(?2 OR o.worker_email = ?1 COLLATE NOCASE" \
	" OR o.manager_email = ?1 COLLATE NOCASE" \
	" OR o.service_manager_email = ?1 COLLATE NOCASE" \
	" OR o.manager_email COLLATE NOCASE IN " COVERED \
	" OR o.service_manager_email COLLATE NOCASE IN " COVERED ")"
#define WHY "CASE WHEN o.worker_email = ?1 COLLATE NOCASE THEN 'worker'" \
	" WHEN o.manager_email = ?1 COLLATE NOCASE THEN 'manager'" \
	" WHEN o.service_manager_email = ?1 COLLATE NOCASE THEN 'service manager'" \
	" WHEN NOT ?2 THEN 'deputy' ELSE 'admin' END"

#define ITEM_FILTERS \
	" AND (?4 IS NULL OR o.rule = ?4) AND (?5 IS NULL OR o.state = ?5)" \
	" AND (?6 IS NULL OR o.team_ref = ?6)"
#define ORDER \
	" ORDER BY o.closed IS NOT NULL, o.level DESC, o.days_overdue DESC, o.due, o.case_ref," \
	" o.rule, o.seq"
/* A page: ?8 rows after the worst ?9. */
#define WORST_FIRST ORDER " LIMIT ?8 OFFSET ?9"
/* ITEMS_FROM (rows chosen, ordered and cut first) ITEMS_ACKED: only the
 * rows shown are looked up in acks. */
#define ITEMS_FROM \
	"SELECT o.case_ref, o.rule, o.seq, o.team_ref, o.team_name, o.worker_name," \
	" o.worker_email, o.manager_email, o.service_manager_email, o.anchor, o.due, o.closed," \
	" o.state, o.stage, o.days_overdue, o.level, a.id, a.until, a.reason, a.who, " WHY \
	" FROM ("
#define ITEMS_ACKED \
	") o LEFT JOIN acks a ON a.id = (SELECT MAX(id) FROM acks x" \
	"  WHERE x.case_ref = o.case_ref AND x.rule = o.rule AND x.seq = o.seq" \
	"  AND x.level = o.level AND x.until >= ?3)" ORDER
/* The viewer's worst open obligations, each way they may be the viewer's
 * read from its own index (schema 4: address, level, days overdue, due,
 * open ones only) in worst-first order and cut at the limit, so a tray of
 * the worst 5,000 never reads a manager's other 150,000.  By key: since
 * schema 5 the table has no rowid. */
#define TOP_FROM \
	"SELECT case_ref, rule, seq FROM (SELECT o.case_ref, o.rule, o.seq FROM obligations o" \
	" WHERE o.closed IS NULL AND "
#define TOP_CUT \
	ITEM_FILTERS " ORDER BY o.level DESC, o.days_overdue DESC, o.due LIMIT ?8 + ?9)"
#define MINE_TOP \
	"(" TOP_FROM "o.worker_email = ?1 COLLATE NOCASE" TOP_CUT \
	" UNION " TOP_FROM "o.manager_email = ?1 COLLATE NOCASE" TOP_CUT \
	" UNION " TOP_FROM "o.service_manager_email = ?1 COLLATE NOCASE" TOP_CUT \
	" UNION " TOP_FROM "o.manager_email COLLATE NOCASE IN " COVERED TOP_CUT \
	" UNION " TOP_FROM "o.service_manager_email COLLATE NOCASE IN " COVERED TOP_CUT ")"
/* Whether the viewer has any open obligation at all. */
#define MINE_OPEN \
	"(SELECT 1 FROM obligations WHERE closed IS NULL AND worker_email = ?1 COLLATE NOCASE" \
	" UNION ALL SELECT 1 FROM obligations WHERE closed IS NULL" \
	"  AND manager_email = ?1 COLLATE NOCASE" \
	" UNION ALL SELECT 1 FROM obligations WHERE closed IS NULL" \
	"  AND service_manager_email = ?1 COLLATE NOCASE" \
	" UNION ALL SELECT 1 FROM obligations WHERE closed IS NULL" \
	"  AND manager_email COLLATE NOCASE IN " COVERED \
	" UNION ALL SELECT 1 FROM obligations WHERE closed IS NULL" \
	"  AND service_manager_email COLLATE NOCASE IN " COVERED ")"

/* ?1 viewer, ?2 admin, ?3 today, ?4 rule, ?5 state, ?6 team, ?7 case, ?8 limit,
 * ?9 offset. */
/* The chosen keys first, then each row by its primary key (CROSS JOIN
 * keeps that order: "key IN (...)" on this rowless table made SQLite scan
 * it all). */
static const char SQL_TRAY[] = ITEMS_FROM
	"SELECT o.* FROM " MINE_TOP " k CROSS JOIN obligations o ON o.case_ref = k.case_ref"
	" AND o.rule = k.rule AND o.seq = k.seq WHERE ?7 IS NULL" WORST_FIRST
	ITEMS_ACKED;
static const char SQL_TRAY_ALL[] = ITEMS_FROM
	"SELECT * FROM obligations o WHERE o.closed IS NULL AND ?2 AND ?1 IS NOT NULL"
	" AND ?7 IS NULL" ITEM_FILTERS WORST_FIRST ITEMS_ACKED;
/* A case's obligations, closed ones too: found by the primary key. */
static const char SQL_CASE_ITEMS[] = ITEMS_FROM
	"SELECT * FROM obligations o WHERE o.case_ref = ?7 AND " VISIBLE ITEM_FILTERS WORST_FIRST
	ITEMS_ACKED;

static sqlite3_stmt *items_query(struct state_web *sw, const char *sql,
				 const struct state_web_viewer *v, const struct state_web_filter *f,
				 struct dl_error *err)
{
	return query(sw, err, sql, "sisssssII", v->email, v->admin, v->today, f->rule, f->state,
		     f->team, f->case_ref, (int64_t)(f->max > 0 ? f->max : -1),
		     (int64_t)(f->max > 0 && f->offset > 0 ? f->offset : 0));
}

static int sqlite_web_each_item(struct state_web *sw, const struct state_web_viewer *v,
				const struct state_web_filter *f, state_web_item_fn fn,
				void *ctx, struct dl_error *err)
{
	sqlite3_stmt *s = f->case_ref ? items_query(sw, SQL_CASE_ITEMS, v, f, err) :
			  v->admin ? items_query(sw, SQL_TRAY_ALL, v, f, err) :
			  items_query(sw, SQL_TRAY, v, f, err);
	int rc = 0, step = SQLITE_DONE;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_web_item it = {
			text(s, 0), text(s, 1), sqlite3_column_int(s, 2), text(s, 3), text(s, 4),
			text(s, 5), text(s, 6), text(s, 7), text(s, 8), text(s, 9), text(s, 10),
			text(s, 11), text(s, 12), sqlite3_column_int(s, 13),
			sqlite3_column_int(s, 14), sqlite3_column_int(s, 15),
			sqlite3_column_int64(s, 16), text(s, 17), text(s, 18), text(s, 19),
			text(s, 20)
		};

		rc = fn(ctx, &it);
	}
	release(sw, s);
	if (rc == 0 && step != SQLITE_DONE)
		return fail(sw, err, "read obligations");
	return rc;
}

/* One integer from the first row (0 when none). */
static int one_int(struct state_web *sw, sqlite3_stmt *s, int64_t *out, struct dl_error *err)
{
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	release(sw, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(sw, err, "read");
}

/* The viewer's open obligations by level (0 open, 1 due-soon, 2 overdue,
 * above 2 escalated), each way they may be the viewer's read from its own
 * index, the state filter ignored (?5 NULL).  UNION: once each. */
#define COUNTS_FROM \
	"SELECT COUNT(*), SUM(level = 0), SUM(level = 1), SUM(level >= 2), SUM(level > 2) FROM "
#define LEVEL_FROM \
	"SELECT o.case_ref, o.rule, o.seq, o.level FROM obligations o WHERE o.closed IS NULL AND "
static const char SQL_COUNTS[] = COUNTS_FROM
	"(" LEVEL_FROM "o.worker_email = ?1 COLLATE NOCASE" ITEM_FILTERS
	" UNION " LEVEL_FROM "o.manager_email = ?1 COLLATE NOCASE" ITEM_FILTERS
	" UNION " LEVEL_FROM "o.service_manager_email = ?1 COLLATE NOCASE" ITEM_FILTERS
	" UNION " LEVEL_FROM "o.manager_email COLLATE NOCASE IN " COVERED ITEM_FILTERS
	" UNION " LEVEL_FROM "o.service_manager_email COLLATE NOCASE IN " COVERED ITEM_FILTERS ")";
static const char SQL_COUNTS_ALL[] = COUNTS_FROM
	"(" LEVEL_FROM "?2 AND ?1 IS NOT NULL AND ?3 IS NOT NULL" ITEM_FILTERS ")";

/* The same viewer and filter as last time, and nothing committed since
 * (PRAGMA data_version for other connections; finish() for this one's
 * writes): the counts this connection last read.  Counting
 * a manager's 5,000 open rows costs milliseconds (the partial indexes do
 * not hold closed, so SQLite reads each row); a tray is read many times
 * between polls. */
static bool counts_cached(struct sqlite_web *sw, const char *key, int64_t version,
			  struct state_web_counts *out)
{
	if (!sw->counts_key || version != sw->counts_version || strcmp(key, sw->counts_key) != 0)
		return false;
	*out = sw->counts;
	return true;
}

static void counts_keep(struct sqlite_web *sw, char *key, int64_t version,
			const struct state_web_counts *c)
{
	free(sw->counts_key);
	sw->counts_key = key;
	sw->counts_version = version;
	sw->counts = *c;
}

/* ?5, the state, NULL: every state is counted. */
static sqlite3_stmt *counts_query(struct state_web *sw, const char *sql,
				  const struct state_web_viewer *v, const struct state_web_filter *f,
				  struct dl_error *err)
{
	return query(sw, err, sql, "sissss", v->email, v->admin, v->today, f->rule,
		     (const char *)NULL, f->team);
}

static int sqlite_web_count_items(struct state_web *base, const struct state_web_viewer *v,
				  const struct state_web_filter *f, struct state_web_counts *out,
				  struct dl_error *err)
{
	struct sqlite_web *sw = lite(base);
	sqlite3_stmt *s;
	int64_t version = -1;
	char *key = NULL;
	int rc;

	if (one_int(base, query(base, err, "PRAGMA data_version", ""), &version, err) < 0)
		return -1;
	if (asprintf(&key, "%s\n%d\n%s\n%s\n%s", v->email, v->admin, v->today,
		     f->rule ? f->rule : "", f->team ? f->team : "") < 0)
		key = NULL;
	if (key && counts_cached(sw, key, version, out)) {
		free(key);
		return 0;
	}
	s = v->admin ? counts_query(base, SQL_COUNTS_ALL, v, f, err) :
	    counts_query(base, SQL_COUNTS, v, f, err);
	if (!s || (rc = sqlite3_step(s)) != SQLITE_ROW) {
		release(base, s);
		free(key);
		return s ? fail(base, err, "count obligations") : -1;
	}
	out->total = sqlite3_column_int64(s, 0);
	out->open = sqlite3_column_int64(s, 1);
	out->due_soon = sqlite3_column_int64(s, 2);
	out->overdue = sqlite3_column_int64(s, 3);
	out->escalated = sqlite3_column_int64(s, 4);
	release(base, s);
	if (key)
		counts_keep(sw, key, version, out);
	return 0;
}

/* Known: named on an open obligation, or in the directory the last poll
 * read (a manager whose team has nothing open), or covering for either. */
static const char SQL_KNOWN[] =
	"SELECT ?2 OR EXISTS " MINE_OPEN
	" OR EXISTS (SELECT 1 FROM directory_teams WHERE manager_email = ?1 COLLATE NOCASE"
	"  OR service_manager_email = ?1 COLLATE NOCASE"
	"  OR manager_email COLLATE NOCASE IN " COVERED
	"  OR service_manager_email COLLATE NOCASE IN " COVERED ")"
	" OR EXISTS (SELECT 1 FROM directory_workers WHERE email = ?1 COLLATE NOCASE)";

static int sqlite_web_known(struct state_web *sw, const struct state_web_viewer *v, bool *known,
			    struct dl_error *err)
{
	int64_t n;
	int rc = one_int(sw, query(sw, err, SQL_KNOWN, "sis", v->email, v->admin, v->today), &n,
			 err);

	*known = n != 0;
	return rc;
}

static const char SQL_CASE_EXISTS[] = "SELECT COUNT(*) FROM obligations WHERE case_ref = ?1";
static const char SQL_CASE_VISIBLE[] =
	"SELECT COUNT(*) FROM obligations o WHERE o.case_ref = ?4 AND " VISIBLE;

static int sqlite_web_case_access(struct state_web *sw, const struct state_web_viewer *v,
				  const char *case_ref, bool *exists, bool *visible,
				  struct dl_error *err)
{
	int64_t n = 0, m = 0;

	if (one_int(sw, query(sw, err, SQL_CASE_EXISTS, "s", case_ref), &n, err) < 0 ||
	    one_int(sw, query(sw, err, SQL_CASE_VISIBLE, "siss", v->email, v->admin, v->today,
			      case_ref), &m, err) < 0)
		return -1;
	*exists = n > 0;
	*visible = m > 0;
	return 0;
}

static const char SQL_IS_OPEN[] =
	"SELECT COUNT(*) FROM obligations WHERE case_ref = ?1 AND rule = ?2 AND closed IS NULL";

static int sqlite_web_is_open(struct state_web *sw, const char *case_ref, const char *rule,
			      bool *open, struct dl_error *err)
{
	int64_t n = 0;
	int rc = one_int(sw, query(sw, err, SQL_IS_OPEN, "ss", case_ref, rule), &n, err);

	*open = n > 0;
	return rc;
}

/* From the directory the last poll saved: small, and names a manager's
 * teams even when they have nothing open. */
static const char SQL_TEAMS[] =
	"SELECT team_ref, name FROM directory_teams WHERE ?2 = 0"
	" AND (manager_email = ?1 COLLATE NOCASE OR service_manager_email = ?1 COLLATE NOCASE"
	"  OR manager_email COLLATE NOCASE IN " COVERED
	"  OR service_manager_email COLLATE NOCASE IN " COVERED
	"  OR team_ref IN (SELECT team_ref FROM directory_workers WHERE email = ?1 COLLATE NOCASE))"
	" ORDER BY 2, 1";
static const char SQL_TEAMS_ALL[] =
	"SELECT team_ref, name FROM directory_teams WHERE ?1 IS NOT NULL AND ?2 AND ?3 IS NOT NULL"
	" ORDER BY 2, 1";

static int sqlite_web_each_team(struct state_web *sw, const struct state_web_viewer *v,
				state_web_team_fn fn, void *ctx, struct dl_error *err)
{
	sqlite3_stmt *s = v->admin ? query(sw, err, SQL_TEAMS_ALL, "sis", v->email, 1, v->today) :
			  query(sw, err, SQL_TEAMS, "sis", v->email, 0, v->today);
	int rc = 0, step = SQLITE_DONE;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = fn(ctx, text(s, 0), text(s, 1));
	release(sw, s);
	if (rc == 0 && step != SQLITE_DONE)
		return fail(sw, err, "read teams");
	return rc;
}

static const char SQL_WITHDRAW[] =
	"DELETE FROM acks WHERE id = ?4 AND EXISTS (SELECT 1 FROM obligations o"
	" WHERE o.case_ref = acks.case_ref AND o.rule = acks.rule AND o.seq = acks.seq AND "
	VISIBLE ")";

static int sqlite_web_withdraw_ack(struct state_web *sw, const struct state_web_viewer *v,
				   int64_t id, bool *done, struct dl_error *err)
{
	int rc = finish(sw, query(sw, err, SQL_WITHDRAW, "sisI", v->email, v->admin, v->today, id),
			err, "withdraw ack");

	*done = rc == 0 && sqlite3_changes(lite(sw)->db) > 0;
	return rc;
}

static const char SQL_ADD_COVER[] =
	"INSERT INTO cover (manager, deputy, from_day, to_day, who, created)"
	" VALUES (lower(?1), lower(?2), ?3, ?4, ?5, ?6)";

static int sqlite_web_add_cover(struct state_web *sw, const struct state_web_cover *c,
				struct dl_error *err)
{
	return finish(sw, query(sw, err, SQL_ADD_COVER, "sssssI", c->manager, c->deputy, c->from,
				c->to, c->who, c->created), err, "record cover");
}

static const char SQL_END_COVER[] =
	"UPDATE cover SET to_day = ?3 WHERE id = ?1 AND (?2 IS NULL OR manager = lower(?2))"
	" AND to_day > ?3";

static int sqlite_web_end_cover(struct state_web *sw, int64_t id, const char *manager,
				const char *yesterday, bool *done, struct dl_error *err)
{
	int rc = finish(sw, query(sw, err, SQL_END_COVER, "Iss", id, manager, yesterday), err,
			"end cover");

	*done = rc == 0 && sqlite3_changes(lite(sw)->db) > 0;
	return rc;
}

static const char SQL_EACH_COVER[] =
	"SELECT id, manager, deputy, from_day, to_day, who, created FROM cover"
	" WHERE to_day >= ?2 AND (?1 IS NULL OR manager = lower(?1) OR deputy = lower(?1))"
	" ORDER BY from_day, id";

static int sqlite_web_each_cover(struct state_web *sw, const char *person, const char *today,
				 state_web_cover_fn fn, void *ctx, struct dl_error *err)
{
	sqlite3_stmt *s = query(sw, err, SQL_EACH_COVER, "ss", person, today);
	int rc = 0, step = SQLITE_DONE;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_web_cover c = { sqlite3_column_int64(s, 0), text(s, 1), text(s, 2),
					     text(s, 3), text(s, 4), text(s, 5),
					     sqlite3_column_int64(s, 6) };

		rc = fn(ctx, &c);
	}
	release(sw, s);
	if (rc == 0 && step != SQLITE_DONE)
		return fail(sw, err, "read cover");
	return rc;
}

static const char SQL_REVOKE[] =
	"UPDATE calendar_tokens SET revoked = ?2 WHERE person = lower(?1) AND revoked IS NULL";
static const char SQL_NEW_TOKEN[] =
	"INSERT INTO calendar_tokens (hash, person, created) VALUES (?1, lower(?2), ?3)";

static int sqlite_web_new_token(struct state_web *sw, const char *person, const char *hash,
				int64_t now, struct dl_error *err)
{
	return finish(sw, query(sw, err, SQL_REVOKE, "sI", person, now), err, "revoke token") < 0 ||
	       finish(sw, query(sw, err, SQL_NEW_TOKEN, "ssI", hash, person, now), err,
		      "record token") < 0 ? -1 : 0;
}

static int sqlite_web_revoke_token(struct state_web *sw, const char *person, int64_t now,
				   bool *done, struct dl_error *err)
{
	int rc = finish(sw, query(sw, err, SQL_REVOKE, "sI", person, now), err, "revoke token");

	*done = rc == 0 && sqlite3_changes(lite(sw)->db) > 0;
	return rc;
}

static const char SQL_TOKEN_PERSON[] =
	"SELECT person FROM calendar_tokens WHERE hash = ?1 AND revoked IS NULL";

static int sqlite_web_token_person(struct state_web *sw, const char *hash, char *person,
				   size_t size, struct dl_error *err)
{
	sqlite3_stmt *s = query(sw, err, SQL_TOKEN_PERSON, "s", hash);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	snprintf(person, size, "%s", rc == SQLITE_ROW && text(s, 0) ? text(s, 0) : "");
	release(sw, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(sw, err, "read token");
}

static const char SQL_TOKEN_SINCE[] =
	"SELECT MAX(created) FROM calendar_tokens WHERE person = lower(?1) AND revoked IS NULL";

static int sqlite_web_token_since(struct state_web *sw, const char *person, int64_t *since,
				  struct dl_error *err)
{
	return one_int(sw, query(sw, err, SQL_TOKEN_SINCE, "s", person), since, err);
}

static const char SQL_DELIVERIES[] =
	"SELECT receiver, status, COUNT(*) FROM outbox GROUP BY receiver, status ORDER BY 1, 2";

static int sqlite_web_each_delivery_count(struct state_web *sw, state_web_count_fn fn,
					  void *ctx, struct dl_error *err)
{
	sqlite3_stmt *s = query(sw, err, SQL_DELIVERIES, "");
	int rc = 0, step = SQLITE_DONE;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = fn(ctx, text(s, 0), text(s, 1), (long)sqlite3_column_int64(s, 2));
	release(sw, s);
	if (rc == 0 && step != SQLITE_DONE)
		return fail(sw, err, "read outbox");
	return rc;
}

static const char SQL_AUDIT[] =
	"INSERT INTO web_audit (at, who, origin, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)";

static int sqlite_web_audit(struct state_web *sw, const char *who, const char *origin,
			    const char *action, const char *detail, int64_t now,
			    struct dl_error *err)
{
	return finish(sw, query(sw, err, SQL_AUDIT, "Issss", now, who, origin, action, detail), err,
		      "record audit");
}

static const char SQL_EACH_AUDIT[] =
	"SELECT at, who, origin, action, detail FROM web_audit ORDER BY id";

static int sqlite_web_each_audit(struct state_web *sw, state_web_audit_fn fn, void *ctx,
				 struct dl_error *err)
{
	sqlite3_stmt *s = query(sw, err, SQL_EACH_AUDIT, "");
	int rc = 0, step = SQLITE_DONE;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_web_audit_row r = { sqlite3_column_int64(s, 0), text(s, 1), text(s, 2),
						 text(s, 3), text(s, 4) };

		rc = fn(ctx, &r);
	}
	release(sw, s);
	if (rc == 0 && step != SQLITE_DONE)
		return fail(sw, err, "read audit");
	return rc;
}

const struct state_web_ops state_web_sqlite_ops = {
	.driver = "sqlite",
	.open = sqlite_web_open,
	.close = sqlite_web_close,
	.each_item = sqlite_web_each_item,
	.count_items = sqlite_web_count_items,
	.known = sqlite_web_known,
	.case_access = sqlite_web_case_access,
	.is_open = sqlite_web_is_open,
	.each_team = sqlite_web_each_team,
	.withdraw_ack = sqlite_web_withdraw_ack,
	.add_cover = sqlite_web_add_cover,
	.end_cover = sqlite_web_end_cover,
	.each_cover = sqlite_web_each_cover,
	.new_token = sqlite_web_new_token,
	.revoke_token = sqlite_web_revoke_token,
	.token_person = sqlite_web_token_person,
	.token_since = sqlite_web_token_since,
	.each_delivery_count = sqlite_web_each_delivery_count,
	.audit = sqlite_web_audit,
	.each_audit = sqlite_web_each_audit,
};
