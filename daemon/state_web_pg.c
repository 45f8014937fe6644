/* state_web_pg.c — deadlined-web's reads and writes of a PostgreSQL state
 * store (state_web_backend.h), through libpq (pgconn.h: bounded waits, the
 * password from a file or credential, never logged), one connection for
 * each server thread.
 *
 * The tables are state_pg.c's, at its schema version
 * STATE_PG_SCHEMA_VERSION (the web opens no other, and says which side to
 * upgrade): obligations (with indexes by address in lower case), acks,
 * cover, directory_teams, directory_workers, outbox, web_audit and
 * calendar_tokens.
 */
#include "deadlined/state_web_backend.h"

#include "deadlined/log.h"
#include "deadlined/pgconn.h"
#include "deadlined/receiver.h"
#include "deadlined/state.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREPARED 32
#define MAXPARAMS 10

struct pg_web {
	struct state_web base;
	struct pgconn_settings s;
	char *conninfo, *password;
	PGconn *conn;
	const char *prepared[PREPARED];  /* statements prepared on conn, by address */
	int nprepared;
};

static struct pg_web *pgw(struct state_web *sw)
{
	return (struct pg_web *)sw;
}

/* sql with parameters from fmt (s text, NULL stays NULL; b boolean; I
 * int64), prepared once a connection; connects again if the link was lost.
 * NULL with err on failure. */
static PGresult *run(struct state_web *base, struct dl_error *err, const char *sql,
		     const char *fmt, ...)
{
	struct pg_web *sw = pgw(base);
	const char *v[MAXPARAMS];
	char buf[MAXPARAMS][24], name[16];
	int n = 0, i;
	va_list ap;

	va_start(ap, fmt);
	for (; fmt[n] && n < MAXPARAMS; n++) {
		if (fmt[n] == 's') {
			v[n] = va_arg(ap, const char *);
		} else if (fmt[n] == 'b') {
			v[n] = va_arg(ap, int) ? "t" : "f";
		} else {
			snprintf(buf[n], sizeof buf[n], "%" PRId64, va_arg(ap, int64_t));
			v[n] = buf[n];
		}
	}
	va_end(ap);
	if (!sw->conn) {
		if (!(sw->conn = pgconn_connect(&sw->s, err))) {
			error_prefix(err, "state database");
			return NULL;
		}
		sw->nprepared = 0;
	}
	for (i = 0; i < sw->nprepared && sw->prepared[i] != sql; i++)
		;
	snprintf(name, sizeof name, "web%d", i);
	if (i == sw->nprepared && i < PREPARED) {
		if (pgconn_prepare(&sw->conn, name, sql, n, pgconn_now_ms() + sw->s.statement_ms,
				   err) < 0) {
			error_prefix(err, "state database");
			return NULL;
		}
		sw->prepared[sw->nprepared++] = sql;
	}
	PGresult *r = i < PREPARED ?
		pgconn_exec_prepared(&sw->conn, name, n, v, pgconn_now_ms() + sw->s.statement_ms, err) :
		pgconn_exec(&sw->conn, sql, n, v, pgconn_now_ms() + sw->s.statement_ms, err);
	if (!r)
		error_prefix(err, "state database");
	return r;
}

/* Run a statement whose rows do not matter; *changed (if given) says
 * whether it changed a row. */
static int run_done(PGresult *r, bool *changed)
{
	if (!r)
		return -1;
	if (changed)
		*changed = atol(PQcmdTuples(r)) > 0;
	PQclear(r);
	return 0;
}

static const char *col(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

static int64_t num(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? 0 : strtoll(PQgetvalue(r, row, c), NULL, 10);
}

/* One integer from the first row (0 when none). */
static int one_int(PGresult *r, int64_t *out)
{
	if (!r)
		return -1;
	*out = PQntuples(r) ? num(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

static void pg_web_close(struct state_web *base)
{
	struct pg_web *sw = pgw(base);

	if (!sw)
		return;
	pgconn_close(&sw->conn);
	if (sw->password)
		memset(sw->password, 0, strlen(sw->password));
	free(sw->password);
	free(sw->conninfo);
	free(sw);
}

static const char SQL_VERSION[] =
	"SELECT max(version) FROM deadlined_schema WHERE $1::text IS NOT NULL";

/* The web reads and writes this release's schema only: the daemon makes
 * and migrates it. */
static int check_version(struct pg_web *sw, struct dl_error *err)
{
	int64_t v = -1;

	if (one_int(run(&sw->base, err, SQL_VERSION, "s", "web"), &v) < 0) {
		error_prefix(err, "state database: no schema (has deadlined run yet?)");
		return -1;
	}
	if (v == STATE_PG_SCHEMA_VERSION)
		return 0;
	error_set(err, "state database has schema version %" PRId64 " and deadlined-web reads "
		  "version %d; %s", v, STATE_PG_SCHEMA_VERSION, v < STATE_PG_SCHEMA_VERSION ?
		  "start the new deadlined once (it migrates the store)" :
		  "this deadlined-web is older than the daemon: upgrade it");
	return -1;
}

static int pg_web_open(const struct state_conf *conf, struct state_web **out,
		       struct dl_error *err)
{
	struct pg_web *sw = calloc(1, sizeof *sw);

	*out = NULL;
	if (!sw || !(sw->conninfo = strdup(conf->conninfo ? conf->conninfo : ""))) {
		free(sw);
		error_set(err, "state database: out of memory");
		return -1;
	}
	sw->base.ops = &state_web_pg_ops;
	if (receiver_read_secret(conf->password_file, conf->password_credential, &sw->password,
				 err) < 0) {
		error_prefix(err, "state database");
		pg_web_close(&sw->base);
		return -1;
	}
	sw->s = (struct pgconn_settings){ .conninfo = sw->conninfo, .password = sw->password,
		.application_name = "deadlined-web", .connect_ms = 10000, .statement_ms = 30000,
		.keepalive_ms = 15000, .lock_ms = 5000 };
	if (check_version(sw, err) < 0) {
		pg_web_close(&sw->base);
		return -1;
	}
	*out = &sw->base;
	return 0;
}

/* Who may see obligation o: $1 the viewer's address, $2 admin, $3 today
 * (as state_web_sqlite.c's VISIBLE; cover keeps addresses in lower case). */
#define ME "lower($1::text)"
#define COVERED "(SELECT manager FROM cover WHERE deputy = " ME \
	" AND from_day <= $3::text AND to_day >= $3::text)"
#define NAMED "(lower(o.worker_email) = " ME " OR lower(o.manager_email) = " ME \
	" OR lower(o.service_manager_email) = " ME \
	" OR lower(o.manager_email) IN " COVERED " OR lower(o.service_manager_email) IN " COVERED ")"
#define VISIBLE "($2::boolean OR " NAMED ")"
#define WHY "CASE WHEN lower(o.worker_email) = " ME " THEN 'worker'" \
	" WHEN lower(o.manager_email) = " ME " THEN 'manager'" \
	" WHEN lower(o.service_manager_email) = " ME " THEN 'service manager'" \
	" WHEN NOT $2::boolean THEN 'deputy' ELSE 'admin' END"
/* $4 rule, $5 state, $6 team. */
#define FILTERS " AND ($4::text IS NULL OR o.rule = $4) AND ($5::text IS NULL OR o.state = $5)" \
	" AND ($6::text IS NULL OR o.team_ref = $6)"
#define ORDER " ORDER BY o.closed IS NOT NULL, o.level DESC, o.days_overdue DESC, o.due," \
	" o.case_ref, o.rule, o.seq"
#define ITEMS_FROM \
	"SELECT o.case_ref, o.rule, o.seq, o.team_ref, o.team_name, o.worker_name," \
	" o.worker_email, o.manager_email, o.service_manager_email, o.anchor, o.due, o.closed," \
	" o.state, o.stage, o.days_overdue, o.level, a.id, a.until, a.reason, a.who, " WHY \
	" FROM (SELECT * FROM obligations o WHERE "
/* $7 case, $8 limit (NULL: all), $9 offset. */
#define ITEMS_ACKED FILTERS ORDER " LIMIT $8::bigint OFFSET $9::bigint) o" \
	" LEFT JOIN acks a ON a.id = (SELECT max(id) FROM acks x" \
	"  WHERE x.case_ref = o.case_ref AND x.rule = o.rule AND x.seq = o.seq" \
	"  AND x.level = o.level AND x.until >= $3::text)" ORDER

static const char SQL_TRAY[] = ITEMS_FROM
	"o.closed IS NULL AND $7::text IS NULL AND " VISIBLE ITEMS_ACKED;
static const char SQL_CASE_ITEMS[] = ITEMS_FROM
	"o.case_ref = $7::text AND " VISIBLE ITEMS_ACKED;

static int pg_web_each_item(struct state_web *sw, const struct state_web_viewer *v,
			    const struct state_web_filter *f, state_web_item_fn fn, void *ctx,
			    struct dl_error *err)
{
	char max[24];
	PGresult *r;
	int rc = 0;

	snprintf(max, sizeof max, "%ld", f->max);
	r = run(sw, err, f->case_ref ? SQL_CASE_ITEMS : SQL_TRAY, "sbssssssI", v->email,
		v->admin, v->today, f->rule, f->state, f->team, f->case_ref,
		f->max > 0 ? max : NULL, (int64_t)(f->max > 0 && f->offset > 0 ? f->offset : 0));
	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_web_item it = {
			col(r, i, 0), col(r, i, 1), (int)num(r, i, 2), col(r, i, 3), col(r, i, 4),
			col(r, i, 5), col(r, i, 6), col(r, i, 7), col(r, i, 8), col(r, i, 9),
			col(r, i, 10), col(r, i, 11), col(r, i, 12), (int)num(r, i, 13),
			(int)num(r, i, 14), (int)num(r, i, 15), num(r, i, 16), col(r, i, 17),
			col(r, i, 18), col(r, i, 19), col(r, i, 20)
		};

		rc = fn(ctx, &it);
	}
	PQclear(r);
	return rc;
}

/* By level: 0 open, 1 due-soon, 2 overdue, above 2 escalated. */
static const char SQL_COUNTS[] =
	"SELECT count(*), count(*) FILTER (WHERE level = 0), count(*) FILTER (WHERE level = 1),"
	" count(*) FILTER (WHERE level >= 2), count(*) FILTER (WHERE level > 2)"
	" FROM obligations o WHERE o.closed IS NULL AND " VISIBLE FILTERS;

static int pg_web_count_items(struct state_web *sw, const struct state_web_viewer *v,
			      const struct state_web_filter *f, struct state_web_counts *out,
			      struct dl_error *err)
{
	PGresult *r = run(sw, err, SQL_COUNTS, "sbssss", v->email, v->admin, v->today, f->rule,
			  (const char *)NULL, f->team);

	if (!r)
		return -1;
	if (PQntuples(r) == 1)
		*out = (struct state_web_counts){ .total = num(r, 0, 0), .open = num(r, 0, 1),
			.due_soon = num(r, 0, 2), .overdue = num(r, 0, 3), .escalated = num(r, 0, 4) };
	PQclear(r);
	return 0;
}

static const char SQL_KNOWN[] =
	"SELECT $2::boolean OR EXISTS (SELECT 1 FROM obligations o WHERE o.closed IS NULL AND "
	NAMED ") OR EXISTS (SELECT 1 FROM directory_teams o WHERE lower(o.manager_email) = " ME
	"  OR lower(o.service_manager_email) = " ME " OR lower(o.manager_email) IN " COVERED
	"  OR lower(o.service_manager_email) IN " COVERED ")"
	" OR EXISTS (SELECT 1 FROM directory_workers WHERE lower(email) = " ME ")";

static int pg_web_known(struct state_web *sw, const struct state_web_viewer *v, bool *known,
			struct dl_error *err)
{
	PGresult *r = run(sw, err, SQL_KNOWN, "sbs", v->email, v->admin, v->today);

	if (!r)
		return -1;
	*known = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return 0;
}

static const char SQL_CASE_EXISTS[] = "SELECT count(*) FROM obligations WHERE case_ref = $1";
static const char SQL_CASE_VISIBLE[] =
	"SELECT count(*) FROM obligations o WHERE o.case_ref = $4::text AND " VISIBLE;

static int pg_web_case_access(struct state_web *sw, const struct state_web_viewer *v,
			      const char *case_ref, bool *exists, bool *visible,
			      struct dl_error *err)
{
	int64_t n = 0, m = 0;

	if (one_int(run(sw, err, SQL_CASE_EXISTS, "s", case_ref), &n) < 0 ||
	    one_int(run(sw, err, SQL_CASE_VISIBLE, "sbss", v->email, v->admin, v->today,
			case_ref), &m) < 0)
		return -1;
	*exists = n > 0;
	*visible = m > 0;
	return 0;
}

static const char SQL_IS_OPEN[] =
	"SELECT count(*) FROM obligations WHERE case_ref = $1 AND rule = $2 AND closed IS NULL";

static int pg_web_is_open(struct state_web *sw, const char *case_ref, const char *rule,
			  bool *open, struct dl_error *err)
{
	int64_t n = 0;
	int rc = one_int(run(sw, err, SQL_IS_OPEN, "ss", case_ref, rule), &n);

	*open = n > 0;
	return rc;
}

static const char SQL_TEAMS[] =
	"SELECT team_ref, name FROM directory_teams o WHERE NOT $2::boolean"
	" AND (lower(o.manager_email) = " ME " OR lower(o.service_manager_email) = " ME
	"  OR lower(o.manager_email) IN " COVERED " OR lower(o.service_manager_email) IN " COVERED
	"  OR team_ref IN (SELECT team_ref FROM directory_workers WHERE lower(email) = " ME "))"
	" ORDER BY 2, 1";
static const char SQL_TEAMS_ALL[] =
	"SELECT team_ref, name FROM directory_teams WHERE $1::text IS NOT NULL AND $2::boolean"
	" AND $3::text IS NOT NULL ORDER BY 2, 1";

static int pg_web_each_team(struct state_web *sw, const struct state_web_viewer *v,
			    state_web_team_fn fn, void *ctx, struct dl_error *err)
{
	PGresult *r = run(sw, err, v->admin ? SQL_TEAMS_ALL : SQL_TEAMS, "sbs", v->email,
			  v->admin, v->today);
	int rc = 0;

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = fn(ctx, col(r, i, 0), col(r, i, 1));
	PQclear(r);
	return rc;
}

static const char SQL_WITHDRAW[] =
	"DELETE FROM acks WHERE id = $4::bigint AND EXISTS (SELECT 1 FROM obligations o"
	" WHERE o.case_ref = acks.case_ref AND o.rule = acks.rule AND o.seq = acks.seq AND "
	VISIBLE ")";

static int pg_web_withdraw_ack(struct state_web *sw, const struct state_web_viewer *v,
			       int64_t id, bool *done, struct dl_error *err)
{
	*done = false;
	return run_done(run(sw, err, SQL_WITHDRAW, "sbsI", v->email, v->admin, v->today, id),
			done);
}

static const char SQL_ADD_COVER[] =
	"INSERT INTO cover (manager, deputy, from_day, to_day, who, created)"
	" VALUES (lower($1), lower($2), $3, $4, $5, $6::bigint)";

static int pg_web_add_cover(struct state_web *sw, const struct state_web_cover *c,
			    struct dl_error *err)
{
	return run_done(run(sw, err, SQL_ADD_COVER, "sssssI", c->manager, c->deputy, c->from,
			    c->to, c->who, c->created), NULL);
}

static const char SQL_END_COVER[] =
	"UPDATE cover SET to_day = $3 WHERE id = $1::bigint"
	" AND ($2::text IS NULL OR manager = lower($2)) AND to_day > $3";

static int pg_web_end_cover(struct state_web *sw, int64_t id, const char *manager,
			    const char *yesterday, bool *done, struct dl_error *err)
{
	*done = false;
	return run_done(run(sw, err, SQL_END_COVER, "Iss", id, manager, yesterday), done);
}

static const char SQL_EACH_COVER[] =
	"SELECT id, manager, deputy, from_day, to_day, who, created FROM cover"
	" WHERE to_day >= $2::text AND ($1::text IS NULL OR manager = lower($1)"
	" OR deputy = lower($1)) ORDER BY from_day, id";

static int pg_web_each_cover(struct state_web *sw, const char *person, const char *today,
			     state_web_cover_fn fn, void *ctx, struct dl_error *err)
{
	PGresult *r = run(sw, err, SQL_EACH_COVER, "ss", person, today);
	int rc = 0;

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_web_cover c = { num(r, i, 0), col(r, i, 1), col(r, i, 2), col(r, i, 3),
					     col(r, i, 4), col(r, i, 5), num(r, i, 6) };

		rc = fn(ctx, &c);
	}
	PQclear(r);
	return rc;
}

static const char SQL_REVOKE[] =
	"UPDATE calendar_tokens SET revoked = $2::bigint WHERE person = lower($1)"
	" AND revoked IS NULL";
static const char SQL_NEW_TOKEN[] =
	"INSERT INTO calendar_tokens (hash, person, created) VALUES ($1, lower($2), $3::bigint)";

static int pg_web_new_token(struct state_web *sw, const char *person, const char *hash,
			    int64_t now, struct dl_error *err)
{
	return run_done(run(sw, err, SQL_REVOKE, "sI", person, now), NULL) < 0 ||
	       run_done(run(sw, err, SQL_NEW_TOKEN, "ssI", hash, person, now), NULL) < 0 ? -1 : 0;
}

static int pg_web_revoke_token(struct state_web *sw, const char *person, int64_t now,
			       bool *done, struct dl_error *err)
{
	*done = false;
	return run_done(run(sw, err, SQL_REVOKE, "sI", person, now), done);
}

static const char SQL_TOKEN_PERSON[] =
	"SELECT person FROM calendar_tokens WHERE hash = $1 AND revoked IS NULL";

static int pg_web_token_person(struct state_web *sw, const char *hash, char *person,
			       size_t size, struct dl_error *err)
{
	PGresult *r;

	person[0] = '\0';
	if (!(r = run(sw, err, SQL_TOKEN_PERSON, "s", hash)))
		return -1;
	snprintf(person, size, "%s", PQntuples(r) && col(r, 0, 0) ? col(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

static const char SQL_TOKEN_SINCE[] =
	"SELECT max(created) FROM calendar_tokens WHERE person = lower($1) AND revoked IS NULL";

static int pg_web_token_since(struct state_web *sw, const char *person, int64_t *since,
			      struct dl_error *err)
{
	*since = 0;
	return one_int(run(sw, err, SQL_TOKEN_SINCE, "s", person), since);
}

static const char SQL_DELIVERIES[] =
	"SELECT receiver, status, count(*) FROM outbox WHERE $1::text IS NOT NULL"
	" GROUP BY receiver, status ORDER BY 1, 2";

static int pg_web_each_delivery_count(struct state_web *sw, state_web_count_fn fn, void *ctx,
				      struct dl_error *err)
{
	PGresult *r = run(sw, err, SQL_DELIVERIES, "s", "web");
	int rc = 0;

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = fn(ctx, col(r, i, 0), col(r, i, 1), (long)num(r, i, 2));
	PQclear(r);
	return rc;
}

static const char SQL_AUDIT[] =
	"INSERT INTO web_audit (at, who, origin, action, detail)"
	" VALUES ($1::bigint, $2, $3, $4, $5)";

static int pg_web_audit(struct state_web *sw, const char *who, const char *origin,
			const char *action, const char *detail, int64_t now, struct dl_error *err)
{
	return run_done(run(sw, err, SQL_AUDIT, "Issss", now, who, origin, action, detail), NULL);
}

static const char SQL_EACH_AUDIT[] =
	"SELECT at, who, origin, action, detail FROM web_audit WHERE $1::text IS NOT NULL"
	" ORDER BY id";

static int pg_web_each_audit(struct state_web *sw, state_web_audit_fn fn, void *ctx,
			     struct dl_error *err)
{
	PGresult *r;
	int rc = 0;

	if (!(r = run(sw, err, SQL_EACH_AUDIT, "s", "web")))
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_web_audit_row a = { num(r, i, 0), col(r, i, 1), col(r, i, 2),
						 col(r, i, 3), col(r, i, 4) };

		rc = fn(ctx, &a);
	}
	PQclear(r);
	return rc;
}

const struct state_web_ops state_web_pg_ops = {
	.driver = "postgresql",
	.open = pg_web_open,
	.close = pg_web_close,
	.each_item = pg_web_each_item,
	.count_items = pg_web_count_items,
	.known = pg_web_known,
	.case_access = pg_web_case_access,
	.is_open = pg_web_is_open,
	.each_team = pg_web_each_team,
	.withdraw_ack = pg_web_withdraw_ack,
	.add_cover = pg_web_add_cover,
	.end_cover = pg_web_end_cover,
	.each_cover = pg_web_each_cover,
	.new_token = pg_web_new_token,
	.revoke_token = pg_web_revoke_token,
	.token_person = pg_web_token_person,
	.token_since = pg_web_token_since,
	.each_delivery_count = pg_web_each_delivery_count,
	.audit = pg_web_audit,
	.each_audit = pg_web_each_audit,
};
