/* lease.c — the leader lease with an epoch fence (see lease.h). */
#include "deadlined/lease.h"

#include "deadlined/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lease {
	struct lease_settings s;
	char *name, *holder, *conninfo, *password, *appname;
	PGconn *conn;
	bool leader, woken;
	int64_t epoch;            /* held, or last seen */
	int64_t trusted_until;    /* pgconn_now_ms() time */
	int64_t next_step;
	bool refused_said;        /* ending a lapsed holder's sessions was refused... */
	char refused[128];        /* ... this holder's (said once for each) */
	double since;
	char seen_holder[128];
};

/* Both tables are made by whichever daemon comes first (the PostgreSQL
 * state store's migration makes them too, as its fence joins the lease
 * row); the advisory lock keeps two first-comers from racing on CREATE. */
static const char create_sql[] =
	"BEGIN; SELECT pg_advisory_xact_lock(" PGCONN_SCHEMA_LOCK "); "
	LEASE_TABLES_SQL
	" COMMIT; LISTEN " LEASE_CHANNEL ";";

/* The first row starts out expired at the Unix epoch, so the first take is
 * an UPDATE like any other. */
static const char first_row_sql[] =
	"INSERT INTO deadlined_lease (name, holder, epoch, acquired_at, renewed_at, expires_at)"
	" VALUES ($1, '', 0, 'epoch', 'epoch', 'epoch') ON CONFLICT (name) DO NOTHING";

/* Take the lease if it has expired (database time), recording the new
 * epoch in the history; otherwise say who holds it and for how long. */
static const char take_sql[] =
	"WITH took AS ("
	"  UPDATE deadlined_lease SET holder = $2, epoch = epoch + 1, acquired_at = now(),"
	"         renewed_at = now(), expires_at = now() + $3::bigint * interval '1 millisecond'"
	"   WHERE name = $1 AND expires_at < now()"
	"  RETURNING name, epoch, holder, acquired_at, expires_at),"
	" hist AS ("
	"  INSERT INTO deadlined_lease_history (name, epoch, holder, acquired_at, renewed_at,"
	"         expires_at)"
	"  SELECT name, epoch, holder, acquired_at, acquired_at, expires_at FROM took)"
	"SELECT 't', epoch, holder, extract(epoch FROM acquired_at)::float8, 0::float8 FROM took "
	"UNION ALL "
	"SELECT 'f', epoch, holder, extract(epoch FROM acquired_at)::float8,"
	"       greatest(0, extract(epoch FROM expires_at - now()) * 1000)::float8"
	"  FROM deadlined_lease WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM took)";

/* The sessions of a holder whose lease lapsed (expired without being
 * resigned), which a standby ends before taking it: see lease.h.  $1 the
 * lease, $2 us. */
#define LAPSED_SESSIONS \
	"  FROM deadlined_lease l" \
	"  JOIN deadlined_lease_history h ON h.name = l.name AND h.epoch = l.epoch" \
	"  JOIN pg_stat_activity a ON a.application_name = " PGCONN_TAG_SQL("l.holder") \
	" WHERE l.name = $1 AND l.expires_at < now() AND NOT h.resigned AND l.holder <> $2" \
	"   AND a.pid <> pg_backend_pid()" \
	" GROUP BY l.holder"

/* Whose they are, and who we are: what a refusal must name. */
static const char find_lapsed_sql[] =
	"SELECT l.holder, string_agg(DISTINCT a.usename::text, ', '),"
	"       quote_ident(current_user)" LAPSED_SESSIONS;

static const char end_lapsed_sql[] =
	"SELECT l.holder, count(pg_terminate_backend(a.pid))" LAPSED_SESSIONS;

/* Renew only as the holder of this epoch, and only before it expired: an
 * epoch is one unbroken interval of database time. */
static const char renew_sql[] =
	"WITH r AS ("
	"  UPDATE deadlined_lease SET renewed_at = now(),"
	"         expires_at = now() + $4::bigint * interval '1 millisecond'"
	"   WHERE name = $1 AND epoch = $2 AND holder = $3 AND expires_at >= now()"
	"  RETURNING name, epoch, expires_at),"
	" h AS ("
	"  UPDATE deadlined_lease_history AS h SET renewed_at = now(), expires_at = r.expires_at"
	"    FROM r"
	"   WHERE h.name = r.name AND h.epoch = r.epoch)"
	"SELECT epoch FROM r";

static const char resign_sql[] =
	"WITH r AS ("
	"  UPDATE deadlined_lease SET expires_at = now()"
	"   WHERE name = $1 AND epoch = $2 AND holder = $3 AND expires_at >= now()"
	"  RETURNING name, epoch, expires_at),"
	" h AS ("
	"  UPDATE deadlined_lease_history AS h SET expires_at = r.expires_at, resigned = true"
	"    FROM r WHERE h.name = r.name AND h.epoch = r.epoch)"
	"SELECT pg_notify('" LEASE_CHANNEL "', name) FROM r";

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int lease_open(const struct lease_settings *s, struct lease **out, struct dl_error *err)
{
	struct lease *l;

	*out = NULL;
	if (!s->name || !*s->name || !s->holder || !*s->holder) {
		error_set(err, "lease: a lease name and a holder name are needed");
		return -1;
	}
	if (s->lease_ms < 100 || s->renew_ms < 10 || s->margin_ms < 0 ||
	    s->renew_ms + s->margin_ms >= s->lease_ms) {
		error_set(err, "lease: renew (%ld ms) + margin (%ld ms) must be less than "
			  "the lease (%ld ms)", s->renew_ms, s->margin_ms, s->lease_ms);
		return -1;
	}
	if (pgconn_check(s->pg.conninfo, err) < 0) {
		error_prefix(err, "lease");
		return -1;
	}
	l = calloc(1, sizeof *l);
	if (!l) {
		error_set(err, "lease: out of memory");
		return -1;
	}
	l->s = *s;
	l->name = strdup(s->name);
	l->holder = strdup(s->holder);
	l->conninfo = strdup(s->pg.conninfo ? s->pg.conninfo : "");
	l->password = dup_or_null(s->pg.password);
	l->appname = dup_or_null(s->pg.application_name);
	if (!l->name || !l->holder || !l->conninfo || (s->pg.password && !l->password) ||
	    (s->pg.application_name && !l->appname)) {
		lease_close(l);
		error_set(err, "lease: out of memory");
		return -1;
	}
	l->s.name = l->name;
	l->s.holder = l->holder;
	l->s.pg.conninfo = l->conninfo;
	l->s.pg.password = l->password;
	l->s.pg.application_name = l->appname;
	/* Each statement and the dead-peer probes must fit well inside the
	 * lease, so a renewal can be tried again before the trust runs out. */
	if (!l->s.pg.connect_ms)
		l->s.pg.connect_ms = s->renew_ms;
	if (!l->s.pg.statement_ms)
		l->s.pg.statement_ms = s->renew_ms;
	if (!l->s.pg.keepalive_ms)
		l->s.pg.keepalive_ms = s->lease_ms / 2;
	*out = l;
	return 0;
}

void lease_close(struct lease *l)
{
	if (!l)
		return;
	pgconn_close(&l->conn);
	if (l->password) {
		explicit_bzero(l->password, strlen(l->password));
		free(l->password);
	}
	free(l->name);
	free(l->holder);
	free(l->conninfo);
	free(l->appname);
	free(l);
}

static void become_standby(struct lease *l, const char *why)
{
	if (l->leader)
		log_msg(LOG_NOTICE, "lease %s: no longer leader of epoch %lld (%s)", l->name,
			(long long)l->epoch, why);
	l->leader = false;
	l->trusted_until = 0;
}

bool lease_leader(struct lease *l)
{
	if (l->leader && pgconn_now_ms() >= l->trusted_until)
		become_standby(l, "not renewed in time");
	return l->leader;
}

int64_t lease_epoch(struct lease *l)
{
	return lease_leader(l) ? l->epoch : 0;
}

int64_t lease_trusted_until(const struct lease *l)
{
	return l->leader ? l->trusted_until : 0;
}

void lease_info(struct lease *l, struct lease_info *out)
{
	memset(out, 0, sizeof *out);
	out->leader = lease_leader(l);
	out->epoch = l->epoch;
	out->since = l->since;
	out->connected = l->conn != NULL;
	snprintf(out->holder, sizeof out->holder, "%s", l->seen_holder);
}

long lease_wait_ms(const struct lease *l)
{
	int64_t now = pgconn_now_ms(), at = l->next_step;

	if (l->woken)
		return 0;
	if (l->leader && l->trusted_until < at)
		at = l->trusted_until;
	return at > now ? (long)(at - now) : 0;
}

int lease_fd(const struct lease *l)
{
	return l->conn ? PQsocket(l->conn) : -1;
}

/* A statement's deadline: a renewal, never past the trust it would extend. */
static int64_t deadline(const struct lease *l, int64_t now)
{
	int64_t d = now + l->s.pg.statement_ms;

	if (l->leader && l->trusted_until < d)
		d = l->trusted_until > now + 10 ? l->trusted_until : now + 10;
	return d;
}

static int connect_db(struct lease *l, struct dl_error *err)
{
	const char *params[] = { l->name };
	PGresult *r;

	l->conn = pgconn_connect(&l->s.pg, err);
	if (!l->conn)
		return -1;
	r = pgconn_exec(&l->conn, create_sql, 0, NULL, deadline(l, pgconn_now_ms()), err);
	PQclear(r);
	if (r)
		r = pgconn_exec(&l->conn, first_row_sql, 1, params,
				deadline(l, pgconn_now_ms()), err);
	PQclear(r);
	if (!r) {
		pgconn_close(&l->conn);
		return -1;
	}
	return 0;
}

/* Notifications on our channel name a lease that was resigned. */
static int read_notifies(struct lease *l, struct dl_error *err)
{
	PGnotify *n;

	if (pgconn_consume(&l->conn, err) < 0)
		return -1;
	while ((n = PQnotifies(l->conn))) {
		if (!strcmp(n->relname, LEASE_CHANNEL) && n->extra && !strcmp(n->extra, l->name))
			l->woken = true;
		PQfreemem(n);
	}
	return 0;
}

static void set_seen(struct lease *l, PGresult *r, int row)
{
	l->epoch = strtoll(PQgetvalue(r, row, 1), NULL, 10);
	snprintf(l->seen_holder, sizeof l->seen_holder, "%s", PQgetvalue(r, row, 2));
	l->since = strtod(PQgetvalue(r, row, 3), NULL);
}

/* Say once per lapsed holder that its sessions could not be ended: whose
 * (WHO, a row of find_lapsed_sql, or NULL if that failed too), why, and
 * what would let us. */
static void say_refused(struct lease *l, PGresult *who, const char *why)
{
	const char *holder = who ? PQgetvalue(who, 0, 0) : l->seen_holder;

	if (l->refused_said && !strcmp(l->refused, holder))
		return;
	l->refused_said = true;
	snprintf(l->refused, sizeof l->refused, "%s", holder);
	log_msg(LOG_WARNING, "lease %s: could not end a lapsed leader's sessions (%s%s%s): %s; "
		"its row locks stay until its connection drops (log every daemon of the pair "
		"in as one role, not a superuser, or GRANT pg_signal_backend TO %s)", l->name,
		holder, who ? ", role " : "", who ? PQgetvalue(who, 0, 1) : "", why,
		who ? PQgetvalue(who, 0, 2) : "the daemons' role");
}

/* Before each take: end the sessions of a holder whose lease lapsed, so
 * that its locks go before we take (its FOR SHARE on the lease row would
 * block the take itself) and poll.  Refused, the take goes on. */
static int end_lapsed(struct lease *l, struct dl_error *err)
{
	const char *params[] = { l->name, l->holder };
	PGresult *who, *r = NULL;

	who = pgconn_exec(&l->conn, find_lapsed_sql, 2, params, deadline(l, pgconn_now_ms()),
			  err);
	if (who && PQntuples(who) == 0) {
		PQclear(who);
		return 0;                  /* nobody's lease lapsed, or no sessions */
	}
	if (who)
		r = pgconn_exec(&l->conn, end_lapsed_sql, 2, params,
				deadline(l, pgconn_now_ms()), err);
	if (!r) {
		if (l->conn)               /* a refusal, not the link */
			say_refused(l, who, err->msg);
		PQclear(who);
		return l->conn ? 0 : -1;
	}
	PQclear(who);
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 1), "0"))
			log_msg(LOG_NOTICE, "lease %s: ended %s session(s) of %s, whose lease "
				"lapsed", l->name, PQgetvalue(r, i, 1), PQgetvalue(r, i, 0));
	PQclear(r);
	return 0;
}

static int take(struct lease *l, struct dl_error *err)
{
	char ms[24];
	const char *params[] = { l->name, l->holder, ms };
	int64_t sent = pgconn_now_ms();
	PGresult *r;

	snprintf(ms, sizeof ms, "%ld", l->s.lease_ms);
	/* Every time, not only when the lease looked due to lapse: a try
	 * scheduled a renewal interval on can land just after it did. */
	if (end_lapsed(l, err) < 0)
		return -1;
	sent = pgconn_now_ms();
	l->woken = false;
	r = pgconn_exec(&l->conn, take_sql, 3, params, deadline(l, sent), err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		error_set(err, "lease %s: its row is missing", l->name);
		return -1;
	}
	set_seen(l, r, 0);
	if (*PQgetvalue(r, 0, 0) == 't') {
		l->leader = true;
		l->trusted_until = sent + l->s.lease_ms - l->s.margin_ms;
		l->next_step = sent + l->s.renew_ms;
		log_msg(LOG_NOTICE, "lease %s: leader, epoch %lld", l->name, (long long)l->epoch);
	} else {
		/* Try again just after it would expire, but at least once a
		 * renewal interval (a resignation also wakes us by NOTIFY). */
		int64_t left = (int64_t)strtod(PQgetvalue(r, 0, 4), NULL) + 20;

		if (left > l->s.renew_ms)
			left = l->s.renew_ms;
		l->next_step = pgconn_now_ms() + (left < 20 ? 20 : left);
	}
	PQclear(r);
	return 0;
}

static int renew(struct lease *l, struct dl_error *err)
{
	char epoch[24], ms[24];
	const char *params[] = { l->name, epoch, l->holder, ms };
	int64_t sent = pgconn_now_ms();
	PGresult *r;

	snprintf(epoch, sizeof epoch, "%lld", (long long)l->epoch);
	snprintf(ms, sizeof ms, "%ld", l->s.lease_ms);
	r = pgconn_exec(&l->conn, renew_sql, 4, params, deadline(l, sent), err);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		/* Trust runs from when the renewal was sent, not answered. */
		l->trusted_until = sent + l->s.lease_ms - l->s.margin_ms;
		l->next_step = sent + l->s.renew_ms;
	} else {
		become_standby(l, "the lease expired in the database");
		l->next_step = 0;
	}
	PQclear(r);
	return 0;
}

int lease_step(struct lease *l, struct dl_error *err)
{
	int64_t now = pgconn_now_ms();
	int rc;

	lease_leader(l);
	if ((!l->conn && connect_db(l, err) < 0) || read_notifies(l, err) < 0) {
		rc = -1;
	} else if (l->leader) {
		rc = now >= l->next_step ? renew(l, err) : 0;
	} else {
		rc = now >= l->next_step || l->woken ? take(l, err) : 0;
	}
	if (rc < 0) {
		/* Unreachable: a leader tries again soon, within its trust. */
		long retry = l->leader ? l->s.renew_ms / 4 : l->s.renew_ms;

		l->next_step = pgconn_now_ms() + (retry < 10 ? 10 : retry);
		error_prefix(err, "lease %s", l->name);
	}
	return rc;
}

int lease_resign(struct lease *l, struct dl_error *err)
{
	char epoch[24];
	const char *params[] = { l->name, epoch, l->holder };
	PGresult *r;

	if (!lease_leader(l))
		return 0;
	snprintf(epoch, sizeof epoch, "%lld", (long long)l->epoch);
	become_standby(l, "resigned");
	r = pgconn_exec(&l->conn, resign_sql, 3, params,
			pgconn_now_ms() + l->s.pg.statement_ms, err);
	if (!r) {
		error_prefix(err, "lease %s: resigning", l->name);
		return -1;
	}
	PQclear(r);
	return 0;
}
