/* source_odbc.c — the case database live through ODBC (unixODBC), a backend
 * of source.h (source_backend.h) for source.driver = "odbc".
 *
 * The same contract as the SQLite source (source.h): the four relations,
 * cases streamed in case_ref order with their events, teams and workers
 * whole, the optional deadlined_expected_due, and "what changed" through
 * source.updated_column.  Read-only in every way the driver offers:
 * SQL_ATTR_ACCESS_MODE read-only, and a read-only session where the server
 * has one (PostgreSQL, SQLite).  A login timeout and a query timeout bound
 * every wait; while rows come, the watchdog is fed and a stop is honoured.
 *
 * The password never comes from the main configuration: it is read from a
 * file (or a systemd credential) at each connect, passed to the driver
 * only, and scrubbed from every message the driver returns.
 *
 * Cases and events are read by one statement, a UNION ALL of the two
 * relations ordered by case_ref, so every server gives one consistent
 * snapshot and no driver needs two open result sets on one connection
 * (FreeTDS has no MARS).  Rows are fetched in blocks into bound columns, so
 * memory does not grow with the source.  case_refs must arrive in byte
 * order (SQLite's BINARY); the ORDER BY says so in each server's words, and
 * a server that breaks it anyway is reported, never merged wrongly.
 *
 * On PostgreSQL tables the statement is cut into ranges of case_ref, read
 * in one snapshot; source_odbc_ahead.c has readers fetch the next ranges
 * on connections of their own (source.read_ahead).
 *
 * Between blocks, ranges and statements the walk calls the tick hook it was
 * given (source_set_tick: evaluate's, which feeds the service's watchdog)
 * and asks source_giving_up (a stop); either cancels the statement and
 * fails the walk.
 */
#include "source_odbc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CASE_COLUMNS  "case_ref, child_ref, date_of_birth, team_ref, worker_ref"
#define EVENT_COLUMNS "case_ref, kind, occurred, event_ref"



static const struct dialect dialects[] = {
	/* Repeatable read: the walk's ranges share one snapshot. */
	{ "PostgreSQL", " COLLATE \"C\"",
	  "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
	  "SET statement_timeout = ", true },
	/* BIN2 orders nvarchar by UTF-16 code unit: as UTF-8 bytes except
	 * where characters beyond U+FFFF meet U+E000..U+FFFF, which the
	 * walk's order check would report. */
	{ "Microsoft SQL Server", " COLLATE Latin1_General_BIN2", NULL, NULL, false },
	{ "SQLite", " COLLATE BINARY", "PRAGMA query_only = ON", NULL, false },
	{ NULL, "", NULL, NULL, false },
};

/* A chunked walk reads the cases CHUNK_BLOCKS * source.fetch_rows at a
 * time, each range with its events by one statement.  Why: psqlODBC holds a whole result in
 * memory, and its cursor mode (UseDeclareFetch) makes the server wait
 * while the client reads each FETCH; whole results of bounded ranges
 * stream as fast as psql does and keep memory bounded. */
#define CHUNK_BLOCKS 4

static const struct {
	const char *name, *columns;
} relations[] = {
	{ "deadlined_cases", CASE_COLUMNS },
	{ "deadlined_events", EVENT_COLUMNS },
	{ "deadlined_teams", "team_ref, name, manager_email, service_manager_email" },
	{ "deadlined_workers", "worker_ref, name, email, team_ref" },
};

/* The one statement of a walk: cases (kind 0) and events (kind 1) as one
 * stream sorted by case_ref.  Within a case the rows may come in any order;
 * events are sorted here.  %s: the filter (or empty), then the dialect's
 * COLLATE.  PostgreSQL serves it with a merge of two index scans when the
 * indexes are "C" (native-pg.sql), streaming; the filter stands outside
 * the UNION so that it still does (inside, PostgreSQL 15 sorts instead). */
static const char SQL_WALK[] =
	"SELECT case_ref, k, a, b, c, d FROM ("
	"SELECT case_ref, 0 AS k, child_ref AS a, date_of_birth AS b, team_ref AS c,"
	" worker_ref AS d FROM deadlined_cases"
	" UNION ALL SELECT case_ref, 1, kind, occurred, event_ref, NULL"
	" FROM deadlined_events) w%s ORDER BY case_ref%s";

static const char NULL_REF[] = "(null)";


/* --- messages --- */

/* Remove every copy of the password from msg, in place. */
static void scrub(const struct source_odbc *src, char *msg)
{
	size_t n;
	char *p;

	if (!src->secret || !(n = strlen(src->secret)))
		return;
	while ((p = strstr(msg, src->secret))) {
		memset(p, '*', 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

/* The driver's diagnostics for handle, as "[SQLSTATE] text; ...". */
static void diag_text(struct source_odbc *src, SQLSMALLINT type, SQLHANDLE h, char *out,
		      size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (SQLSMALLINT i = 1; i <= 3 && len + 16 < size; i++) {
		SQLCHAR state[6], text[MSG_MAX];
		SQLINTEGER native;
		SQLSMALLINT tlen;

		if (!SQL_SUCCEEDED(SQLGetDiagRec(type, h, i, state, &native, text, sizeof text,
						 &tlen)))
			break;
		/* Drivers end messages with line breaks; a log line has none. */
		for (char *c = (char *)text; *c; c++)
			if (*c == '\n' || *c == '\r' || *c == '\t')
				*c = ' ';
		len += (size_t)snprintf(out + len, size - len, "%s[%s] %s", i > 1 ? "; " : "",
					(char *)state, (char *)text);
	}
	while (len && out[len - 1] == ' ')
		out[--len] = '\0';
	if (!out[0])
		snprintf(out, size, "no diagnostics from the driver");
	scrub(src, out);
}

/* The whole message is scrubbed: a password typed into the connection
 * string by mistake would otherwise come out with the label. */
int odbc_error(struct source_odbc *src, SQLSMALLINT type, SQLHANDLE h,
	       const char *what, struct dl_error *err)
{
	char text[MSG_MAX];

	diag_text(src, type, h, text, sizeof text);
	error_set(err, "case database %s: %s: %s", src->name, what, text);
	if (err)
		scrub(src, err->msg);
	return -1;
}

/* --- connecting --- */

/* The password: a file's first line.  A bare name is a systemd credential
 * (LoadCredential=), found in $CREDENTIALS_DIRECTORY. */
static int read_secret(const char *where, char **out, struct dl_error *err)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096], line[1024];
	FILE *f;

	*out = NULL;
	if (!where)
		return 0;
	if (where[0] == '/')
		snprintf(path, sizeof path, "%s", where);
	else if (dir && *dir)
		snprintf(path, sizeof path, "%s/%s", dir, where);
	else {
		error_set(err, "source.credentials: '%s' is not an absolute path and "
			  "$CREDENTIALS_DIRECTORY is not set (LoadCredential= in the unit)", where);
		return -1;
	}
	if (!(f = fopen(path, "r"))) {
		error_set(err, "source.credentials: %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0]) {
		error_set(err, "source.credentials: %s: empty; expected the password on its "
			  "first line", path);
		return -1;
	}
	*out = strdup(line);
	explicit_bzero(line, sizeof line);
	if (!*out) {
		error_set(err, "source.credentials: out of memory");
		return -1;
	}
	return 0;
}

/* Append ;KEY=value to a connection string.  A value with a character
 * the string's syntax gives a meaning to is quoted in braces (doubling a
 * closing one), as ODBC says; not every driver strips braces, so plain
 * values go as they are. */
static size_t append_attr(char *buf, size_t len, size_t size, const char *key,
			  const char *value)
{
	bool brace = value[strcspn(value, ";{}= ")] != '\0';

	len += (size_t)snprintf(buf + len, len < size ? size - len : 0, ";%s=%s", key,
				brace ? "{" : "");
	for (const char *p = value; brace && *p && len + 3 < size; p++) {
		buf[len++] = *p;
		if (*p == '}')
			buf[len++] = '}';
	}
	if (!brace)
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s", value);
	len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s",
				brace ? "}" : "");
	return len;
}

static bool has_keyword(const char *conn, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = conn; p && *p; p = strchr(p, ';'), p = p ? p + 1 : NULL) {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, key, n) == 0 && (p[n] == '=' || p[n] == ' '))
			return true;
	}
	return false;
}

/* How psqlODBC is told to read: nothing before it is known to be the
 * driver; through a cursor, `Fetch` rows at a time (else it holds a whole
 * result in memory); or whole results of the walk's ranges, without the
 * savepoint it would wrap each statement of a transaction in (two round
 * trips a statement: on an error the walk is given up anyway). */
enum psql_mode { PSQL_UNKNOWN, PSQL_CURSOR, PSQL_RANGES };

static size_t connection_string(const struct source_conf *cfg,
				const struct source_odbc *src, enum psql_mode mode, char *buf,
				size_t size)
{
	size_t len;

	if (cfg->connection)
		len = (size_t)snprintf(buf, size, "%s", cfg->connection);
	else
		len = (size_t)snprintf(buf, size, "DSN=%s", cfg->dsn);
	while (len && len < size && buf[len - 1] == ';')
		buf[--len] = '\0';
	if (cfg->user && len < size)
		len = append_attr(buf, len, size, "UID", cfg->user);
	if (src->secret && len < size)
		len = append_attr(buf, len, size, "PWD", src->secret);
	if (mode == PSQL_CURSOR && len < size && !has_keyword(cfg->connection, "UseDeclareFetch"))
		len += (size_t)snprintf(buf + len, size - len, ";UseDeclareFetch=1;Fetch=%zu",
					src->fetch_rows);
	if (mode == PSQL_RANGES && len < size && !has_keyword(cfg->connection, "Protocol"))
		len += (size_t)snprintf(buf + len, size - len, ";Protocol=7.4-1");
	return len;
}

/* Connect *dbc read-only by the connection string conn. */
int odbc_connect(struct source_odbc *src, const char *conn, SQLHDBC *dbc,
		 struct dl_error *err)
{
	SQLRETURN rc;

	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, src->env, dbc))) {
		*dbc = SQL_NULL_HDBC;
		return odbc_error(src, SQL_HANDLE_ENV, src->env, "allocating a connection", err);
	}
	SQLSetConnectAttr(*dbc, SQL_ATTR_LOGIN_TIMEOUT,
			  (SQLPOINTER)(uintptr_t)src->login_timeout, 0);
	SQLSetConnectAttr(*dbc, SQL_ATTR_CONNECTION_TIMEOUT,
			  (SQLPOINTER)(uintptr_t)src->query_timeout, 0);
	SQLSetConnectAttr(*dbc, SQL_ATTR_ACCESS_MODE, (SQLPOINTER)SQL_MODE_READ_ONLY, 0);
	rc = SQLDriverConnect(*dbc, NULL, (SQLCHAR *)conn, SQL_NTS, NULL, 0, NULL,
			      SQL_DRIVER_NOPROMPT);
	if (!SQL_SUCCEEDED(rc)) {
		odbc_error(src, SQL_HANDLE_DBC, *dbc, "connecting", err);
		SQLFreeHandle(SQL_HANDLE_DBC, *dbc);
		*dbc = SQL_NULL_HDBC;
		return -1;
	}
	/* Again after connecting: some drivers only honour it then. */
	SQLSetConnectAttr(*dbc, SQL_ATTR_ACCESS_MODE, (SQLPOINTER)SQL_MODE_READ_ONLY, 0);
	return 0;
}

/* Connect the source's own connection.  For ranges, the string is kept:
 * the walk's readers connect by it too. */
static int driver_connect(struct source_odbc *src, const struct source_conf *cfg,
			  enum psql_mode mode, struct dl_error *err)
{
	char conn[4096];
	size_t len = connection_string(cfg, src, mode, conn, sizeof conn);
	int rc;

	if (len >= sizeof conn) {
		error_set(err, "case database %s: connection string too long", src->name);
		return -1;
	}
	rc = odbc_connect(src, conn, &src->dbc, err);
	if (rc == 0 && mode == PSQL_RANGES && src->read_ahead && !(src->ranges_conn = strdup(conn)))
		src->read_ahead = 0;
	explicit_bzero(conn, sizeof conn);
	return rc;
}

void odbc_disconnect(SQLHDBC *dbc)
{
	if (*dbc == SQL_NULL_HDBC)
		return;
	SQLDisconnect(*dbc);
	SQLFreeHandle(SQL_HANDLE_DBC, *dbc);
	*dbc = SQL_NULL_HDBC;
}

static void disconnect(struct source_odbc *src)
{
	odbc_disconnect(&src->dbc);
}

int odbc_statement(struct source_odbc *src, SQLHDBC dbc, SQLHSTMT *st,
		   struct dl_error *err)
{
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, st))) {
		*st = SQL_NULL_HSTMT;
		return odbc_error(src, SQL_HANDLE_DBC, dbc, "allocating a statement", err);
	}
	SQLSetStmtAttr(*st, SQL_ATTR_QUERY_TIMEOUT, (SQLPOINTER)(uintptr_t)src->query_timeout, 0);
	return 0;
}

static int statement(struct source_odbc *src, SQLHSTMT *st, struct dl_error *err)
{
	return odbc_statement(src, src->dbc, st, err);
}

/* Run sql on dbc (no result wanted). */
int odbc_exec(struct source_odbc *src, SQLHDBC dbc, const char *sql, const char *what,
	      struct dl_error *err)
{
	SQLHSTMT st;
	SQLRETURN rc;

	if (odbc_statement(src, dbc, &st, err) < 0)
		return -1;
	rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
		odbc_error(src, SQL_HANDLE_STMT, st, what, err);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	return SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA ? 0 : -1;
}

static int exec(struct source_odbc *src, const char *sql, const char *what,
		struct dl_error *err)
{
	return odbc_exec(src, src->dbc, sql, what, err);
}

static void find_dialect(struct source_odbc *src)
{
	SQLSMALLINT len;

	if (!SQL_SUCCEEDED(SQLGetInfo(src->dbc, SQL_DBMS_NAME, src->dbms, sizeof src->dbms, &len)))
		snprintf(src->dbms, sizeof src->dbms, "unknown");
	for (src->d = dialects; src->d->dbms; src->d++)
		if (strncmp(src->dbms, src->d->dbms, strlen(src->d->dbms)) == 0)
			break;
}

static bool driver_is_psqlodbc(struct source_odbc *src)
{
	char name[128];
	SQLSMALLINT len;

	if (!SQL_SUCCEEDED(SQLGetInfo(src->dbc, SQL_DRIVER_NAME, name, sizeof name, &len)))
		return false;
	return strncmp(name, "psqlodbc", 8) == 0;
}

/* Is relation a table (not a view), as the driver's catalogue says? */
static bool is_table(struct source_odbc *src, const char *relation)
{
	char type[32];
	SQLLEN ind;
	SQLHSTMT st;
	bool table = false, other = false;

	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, src->dbc, &st)))
		return false;
	if (SQL_SUCCEEDED(SQLTables(st, NULL, 0, NULL, 0, (SQLCHAR *)relation, SQL_NTS, NULL, 0)) &&
	    SQL_SUCCEEDED(SQLBindCol(st, 4, SQL_C_CHAR, type, sizeof type, &ind)))
		while (SQL_SUCCEEDED(SQLFetch(st))) {
			if (ind != SQL_NULL_DATA && strcmp(type, "TABLE") == 0)
				table = true;
			else
				other = true;
		}
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	SQLEndTran(SQL_HANDLE_DBC, src->dbc, SQL_ROLLBACK);
	return table && !other;
}

/* The session: read-only, and the server's own statement timeout where
 * the driver's is only a client-side alarm. */
int odbc_setup_session(struct source_odbc *src, SQLHDBC dbc, struct dl_error *err)
{
	char sql[128];

	if (src->d->session &&
	    odbc_exec(src, dbc, src->d->session, "making the session read-only", err) < 0)
		return -1;
	if (src->d->statement_timeout && src->query_timeout > 0) {
		snprintf(sql, sizeof sql, "%s'%lds'", src->d->statement_timeout,
			 src->query_timeout);
		if (odbc_exec(src, dbc, sql, "setting the statement timeout", err) < 0)
			return -1;
	}
	return 0;
}

int odbc_block_alloc(struct block *b, size_t n)
{
	b->rows = n;
	b->status = calloc(n, sizeof *b->status);
	b->kind = calloc(n, sizeof *b->kind);
	for (int c = 0; c < NCOLS; c++) {
		b->ind[c] = calloc(n, sizeof *b->ind[c]);
		b->val[c] = c == 1 ? NULL : malloc(n * VALUE_MAX);
		if (!b->ind[c] || (c != 1 && !b->val[c]))
			return -1;
	}
	return b->status && b->kind ? 0 : -1;
}

void odbc_block_free(struct block *b)
{
	free(b->status);
	free(b->kind);
	for (int c = 0; c < NCOLS; c++) {
		free(b->val[c]);
		free(b->ind[c]);
	}
}

static struct source_odbc *of(struct source *base)
{
	return (struct source_odbc *)base;
}

static void odbc_close(struct source *base)
{
	struct source_odbc *src = of(base);

	if (!src)
		return;
	disconnect(src);
	if (src->env != SQL_NULL_HENV)
		SQLFreeHandle(SQL_HANDLE_ENV, src->env);
	odbc_block_free(&src->b);
	if (src->secret) {
		explicit_bzero(src->secret, strlen(src->secret));
		free(src->secret);
	}
	if (src->ranges_conn) {
		explicit_bzero(src->ranges_conn, strlen(src->ranges_conn));
		free(src->ranges_conn);
	}
	free(src->name);
	free(src->ev);
	free(src->out);
	free(src->text);
	free(src);
}

static int odbc_open(const struct source_conf *cfg, struct source **out, struct dl_error *err)
{
	struct source_odbc *src;
	const char *name = cfg->connection ? cfg->connection : cfg->dsn;

	*out = NULL;
	if (!name || !*name) {
		error_set(err, "case database: source.driver \"odbc\" needs source.dsn or "
			  "source.connection");
		return -1;
	}
	if (!(src = calloc(1, sizeof *src)))
		goto oom;
	src->base.ops = &source_odbc_ops;
	src->fetch_rows = cfg->fetch_rows > 0 ? (size_t)cfg->fetch_rows : 500;
	src->query_timeout = cfg->query_timeout;
	src->login_timeout = cfg->login_timeout;
	src->read_ahead = cfg->read_ahead > 0 ? (size_t)cfg->read_ahead : 0;
	src->updated_column = cfg->updated_column;
	src->env = SQL_NULL_HENV;
	src->dbc = SQL_NULL_HDBC;
	if (asprintf(&src->name, "%s%s", cfg->connection ? "" : "DSN=", name) < 0) {
		src->name = NULL;
		goto oom;
	}
	src->base.label = src->name;
	if (odbc_block_alloc(&src->b, src->fetch_rows) < 0)
		goto oom;
	if (read_secret(cfg->credentials, &src->secret, err) < 0)
		goto fail;
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &src->env)) ||
	    !SQL_SUCCEEDED(SQLSetEnvAttr(src->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3,
					 0))) {
		error_set(err, "case database %s: the ODBC driver manager would not start",
			  src->name);
		goto fail;
	}
	if (driver_connect(src, cfg, PSQL_UNKNOWN, err) < 0)
		goto fail;
	find_dialect(src);
	/* Ranges re-read a view once each: only tables are walked so. */
	src->chunked = src->d->chunked && is_table(src, "deadlined_cases") &&
		       is_table(src, "deadlined_events");
	if (driver_is_psqlodbc(src)) {
		disconnect(src);
		if (driver_connect(src, cfg, src->chunked ? PSQL_RANGES : PSQL_CURSOR, err) < 0)
			goto fail;
	}
	if (odbc_setup_session(src, src->dbc, err) < 0)
		goto fail;
	*out = &src->base;
	return 0;
oom:
	error_set(err, "case database %s: out of memory", name);
fail:
	odbc_close(src ? &src->base : NULL);
	return -1;
}

/* --- the walk --- */



static int text_add(struct source_odbc *src, const char *s, size_t *at)
{
	size_t n;

	if (!s) {
		*at = NO_TEXT;
		return 0;
	}
	n = strlen(s);
	if (src->text_len + n + 1 > src->text_cap) {
		size_t cap = src->text_cap ? src->text_cap * 2 : 4096;
		char *p;

		while (cap < src->text_len + n + 1)
			cap *= 2;
		if (!(p = realloc(src->text, cap)))
			return -1;
		src->text = p;
		src->text_cap = cap;
	}
	*at = src->text_len;
	memcpy(src->text + src->text_len, s, n + 1);
	src->text_len += n + 1;
	return 0;
}

static const char *text_at(const struct source_odbc *src, size_t at)
{
	return at == NO_TEXT ? NULL : src->text + at;
}

static int event_hold(struct source_odbc *src, const struct row_view *r)
{
	struct held_event *e;

	if (src->nev == src->ev_cap) {
		size_t cap = src->ev_cap ? src->ev_cap * 2 : 64;
		void *p = realloc(src->ev, cap * sizeof *src->ev);

		if (!p)
			return -1;
		src->ev = p;
		if (!(p = realloc(src->out, cap * sizeof *src->out)))
			return -1;
		src->out = p;
		src->ev_cap = cap;
	}
	e = &src->ev[src->nev];
	if (text_add(src, r->v[2], &e->kind) < 0 || text_add(src, r->v[3], &e->occurred) < 0 ||
	    text_add(src, r->v[4], &e->event_ref) < 0)
		return -1;
	src->nev++;
	return 0;
}

/* NULL first, then bytewise: SQLite's BINARY order. */
static int cmp_null(const char *a, const char *b)
{
	if (a && b)
		return strcmp(a, b);
	return (a != NULL) - (b != NULL);
}

/* Events by occurred, then kind and event_ref, so ties come out as the
 * SQLite source's covering index gives them. */
static int cmp_event(const void *pa, const void *pb)
{
	const struct source_event *a = pa, *b = pb;
	int c;

	if ((c = cmp_null(a->occurred, b->occurred)) || (c = cmp_null(a->kind, b->kind)))
		return c;
	return cmp_null(a->event_ref, b->event_ref);
}

static int case_hold(struct source_odbc *src, const struct row_view *r)
{
	if (src->have_case) {
		src->dup_cases++;
		return 0;
	}
	src->have_case = true;
	for (int i = 0; i < 4; i++)
		if (text_add(src, r->v[2 + i], &src->case_at[i]) < 0)
			return -1;
	return 0;
}

/* The gathered case_ref is complete: deliver it, or report its rows. */
static int case_finish(struct walk *w)
{
	struct source_odbc *src = w->src;
	const char *ref = src->ref_null ? NULL_REF : src->ref;
	struct source_case c;
	int rc = 0;

	if (!src->have_ref)
		return 0;
	for (size_t i = 0; i < src->nev; i++)
		src->out[i] = (struct source_event){ text_at(src, src->ev[i].kind),
						     text_at(src, src->ev[i].occurred),
						     text_at(src, src->ev[i].event_ref) };
	if (src->nev > 1)
		qsort(src->out, src->nev, sizeof *src->out, cmp_event);
	if (src->ref_null || !src->have_case) {
		if (w->orphan && src->have_case)
			w->orphan(w->ctx, ref, 0);
		if (w->orphan && src->nev)
			w->orphan(w->ctx, ref, src->nev);
	} else {
		c = (struct source_case){ ref, text_at(src, src->case_at[0]),
					  text_at(src, src->case_at[1]),
					  text_at(src, src->case_at[2]),
					  text_at(src, src->case_at[3]),
					  src->nev ? src->out : NULL, src->nev };
		rc = w->fn(w->ctx, &c);
	}
	for (size_t i = 0; w->orphan && i < src->dup_cases; i++)
		w->orphan(w->ctx, ref, 0);
	if (!src->ref_null) {
		memcpy(w->prev, src->ref, sizeof w->prev);
		w->have_prev = true;
	}
	src->have_ref = src->have_case = src->ref_null = false;
	src->dup_cases = src->nev = src->text_len = 0;
	return rc;
}

/* Is a value of the row longer than a buffer?  (With err set.) */
bool odbc_truncated(const struct source_odbc *src, const struct block *b, size_t row,
		    struct dl_error *err)
{
	const char *ref = odbc_cell(b, 0, row);

	for (int c = 0; c < NCOLS; c++)
		if (c != 1 && b->ind[c][row] != SQL_NULL_DATA && b->ind[c][row] >= VALUE_MAX) {
			error_set(err, "case database %s: case %.60s: a value of %ld bytes; at "
				  "most %d fit", src->name, ref ? ref : NULL_REF,
				  (long)b->ind[c][row], VALUE_MAX - 1);
			return true;
		}
	return false;
}

static void block_row(const struct block *b, size_t row, struct row_view *r)
{
	r->kind = (int)b->kind[row];
	for (int c = 0; c < NCOLS; c++)
		r->v[c] = c == 1 ? NULL : odbc_cell(b, c, row);
}

/* Rows arrive grouped by case_ref; a new case_ref finishes the last one. */
int odbc_walk_row(struct walk *w, const struct row_view *r)
{
	struct source_odbc *src = w->src;
	const char *ref = r->v[0];
	int rc;
	if (src->have_ref && (ref ? !src->ref_null && strcmp(ref, src->ref) == 0 : src->ref_null))
		goto hold;
	if ((rc = case_finish(w)))
		return rc;
	/* The order the merge needs: anything else would pair a case with
	 * another's events, or deliver a case twice. */
	if (ref && w->have_prev && strcmp(ref, w->prev) <= 0) {
		error_set(w->err, "case database %s: case_ref '%.60s' came after '%.60s': the "
			  "server (%s) does not sort case_ref bytewise; give deadlined_cases and "
			  "deadlined_events a binary collation", src->name, ref, w->prev, src->dbms);
		return -1;
	}
	src->have_ref = true;
	src->ref_null = !ref;
	if (ref)
		memcpy(src->ref, ref, strlen(ref) + 1);
hold:
	if ((r->kind == 0 ? case_hold(src, r) : event_hold(src, r)) < 0) {
		error_set(w->err, "case database %s: out of memory reading case %.60s", src->name,
			  ref ? ref : NULL_REF);
		return -1;
	}
	return 0;
}

static void bind_block(struct block *b, SQLHSTMT st)
{

	SQLSetStmtAttr(st, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER)SQL_BIND_BY_COLUMN, 0);
	SQLSetStmtAttr(st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)(uintptr_t)b->rows, 0);
	SQLSetStmtAttr(st, SQL_ATTR_ROW_STATUS_PTR, b->status, 0);
	SQLSetStmtAttr(st, SQL_ATTR_ROWS_FETCHED_PTR, &b->fetched, 0);
	for (int c = 0; c < NCOLS; c++) {
		if (c == 1)
			SQLBindCol(st, 2, SQL_C_SLONG, b->kind, 0, b->ind[1]);
		else
			SQLBindCol(st, (SQLUSMALLINT)(c + 1), SQL_C_CHAR, b->val[c], VALUE_MAX,
				   b->ind[c]);
	}
}

/* The tick hook before each block and statement: -1 (with err, the
 * statement cancelled) when it says to give up. */
int odbc_walk_tick(struct walk *w, SQLHSTMT st)
{
	struct source_odbc *src = w->src;

	if (!source_giving_up() && (!src->tick || src->tick(src->tick_ctx) >= 0))
		return 0;
	if (st != SQL_NULL_HSTMT)
		SQLCancel(st);
	error_set(w->err, "case database %s: read given up", src->name);
	return -1;
}

/* Fetch block after block, ticking between them. */
static int fetch_all(struct walk *w, SQLHSTMT st)
{
	struct block *b = &w->src->b;
	SQLRETURN rc;
	int r;

	for (;;) {
		if (odbc_walk_tick(w, st) < 0)
			return -1;
		rc = SQLFetch(st);
		if (rc == SQL_NO_DATA)
			break;
		if (!SQL_SUCCEEDED(rc))
			return odbc_error(w->src, SQL_HANDLE_STMT, st, "reading cases and events",
					  w->err);
		for (SQLULEN i = 0; i < b->fetched; i++) {
			struct row_view row;

			if (b->status[i] == SQL_ROW_ERROR)
				return odbc_error(w->src, SQL_HANDLE_STMT, st,
						  "reading cases and events", w->err);
			if (odbc_truncated(w->src, b, i, w->err))
				return -1;
			block_row(b, i, &row);
			if ((r = odbc_walk_row(w, &row)))
				return r;
		}
	}
	return 0;
}

static int bind_ref(struct source_odbc *src, SQLHSTMT st, SQLUSMALLINT n, const char *ref,
		    SQLLEN *len, struct dl_error *err)
{
	*len = SQL_NTS;
	if (SQL_SUCCEEDED(SQLBindParameter(st, n, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
					   VALUE_MAX, 0, (SQLPOINTER)ref, 0, len)))
		return 0;
	return odbc_error(src, SQL_HANDLE_STMT, st, "binding case_ref", err);
}


int odbc_walk_prepare(struct source_odbc *src, SQLHDBC dbc, struct block *b,
		      const char *filter, const char *const *refs, size_t nrefs,
		      struct walk_stmt *ws, struct dl_error *err)
{
	snprintf(ws->sql, sizeof ws->sql, SQL_WALK, filter, src->d->collate);
	if (odbc_statement(src, dbc, &ws->st, err) < 0)
		return -1;
	for (size_t i = 0; i < nrefs && i < 2; i++)
		if (bind_ref(src, ws->st, (SQLUSMALLINT)(i + 1), refs[i], &ws->len[i], err) < 0)
			return -1;
	bind_block(b, ws->st);
	return 0;
}

void odbc_walk_unprepare(struct walk_stmt *ws)
{
	if (ws->st == SQL_NULL_HSTMT)
		return;
	SQLCloseCursor(ws->st);
	SQLFreeHandle(SQL_HANDLE_STMT, ws->st);
	ws->st = SQL_NULL_HSTMT;
}

/* One statement of the walk on the source's own connection. */
static int walk_statement(struct walk *w, const char *filter, const char *const *refs,
			  size_t nrefs)
{
	struct source_odbc *src = w->src;
	struct walk_stmt ws = { .st = SQL_NULL_HSTMT };
	int rc = -1;

	if (odbc_walk_tick(w, SQL_NULL_HSTMT) < 0)
		return -1;
	if (odbc_walk_prepare(src, src->dbc, &src->b, filter, refs, nrefs, &ws, w->err) < 0)
		goto out;
	if (!SQL_SUCCEEDED(SQLExecDirect(ws.st, (SQLCHAR *)ws.sql, SQL_NTS))) {
		odbc_error(src, SQL_HANDLE_STMT, ws.st, "reading cases and events", w->err);
		goto out;
	}
	rc = fetch_all(w, ws.st);
out:
	odbc_walk_unprepare(&ws);
	return rc;
}

/* The last case_ref of the range that starts after lo (at the start when
 * lo is NULL) into hi: 1, or 0 when the rest is shorter than a range, or
 * -1.  OFFSET ... FETCH is SQL:2008's (PostgreSQL, SQL Server). */
static int chunk_end(struct source_odbc *src, SQLHDBC dbc, struct reader *rd, const char *lo,
		     char *hi, struct dl_error *err)
{
	const char *coll = src->d->collate;
	char sql[512], after[64] = "";
	SQLLEN len, ind;
	SQLHSTMT st;
	SQLRETURN r;

	if (lo)
		snprintf(after, sizeof after, " AND case_ref%s > ?", coll);
	snprintf(sql, sizeof sql, "SELECT case_ref FROM deadlined_cases WHERE case_ref IS NOT "
		 "NULL%s ORDER BY case_ref%s OFFSET %zu ROWS FETCH NEXT 1 ROWS ONLY", after, coll,
		 CHUNK_BLOCKS * src->fetch_rows - 1);
	if (odbc_statement(src, dbc, &st, err) < 0)
		return -1;
	r = lo ? SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, VALUE_MAX, 0,
				  (SQLPOINTER)lo, 0, (len = SQL_NTS, &len)) : SQL_SUCCESS;
	if (SQL_SUCCEEDED(r))
		r = SQLBindCol(st, 1, SQL_C_CHAR, hi, VALUE_MAX, &ind);
	if (SQL_SUCCEEDED(r))
		r = odbc_run_cancellable(rd, st, sql);
	if (SQL_SUCCEEDED(r))
		r = SQLFetch(st);
	if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
		odbc_error(src, SQL_HANDLE_STMT, st, "reading cases and events", err);
	else if (r != SQL_NO_DATA && ind >= VALUE_MAX)
		error_set(err, "case database %s: case %.60s: a case_ref of %ld bytes; at most "
			  "%d fit", src->name, hi, (long)ind, VALUE_MAX - 1);
	SQLCloseCursor(st);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	if (r == SQL_NO_DATA)
		return 0;
	return SQL_SUCCEEDED(r) && ind < VALUE_MAX ? 1 : -1;
}


/* The next range of c into *rs, its end found on dbc (a reader's when rd
 * is not NULL): 1, or 0 when the walk is done, or -1 (err set). */
int odbc_range_next(struct source_odbc *src, SQLHDBC dbc, struct reader *rd,
		    struct range_cursor *c, struct range_spec *rs, struct dl_error *err)
{
	const char *coll = src->d->collate;
	size_t len;
	int more;

	if (c->stage == RANGE_DONE)
		return 0;
	rs->nrefs = 0;
	rs->filter[0] = '\0';
	if (c->stage == RANGE_NULLS) {
		snprintf(rs->filter, sizeof rs->filter, " WHERE case_ref IS NULL");
		c->stage = RANGE_DONE;
		rs->index = c->claimed++;
		return 1;
	}
	if ((more = chunk_end(src, dbc, rd, c->stage == RANGE_NEXT ? c->lo : NULL, rs->hi,
			      err)) < 0)
		return -1;
	rs->index = c->claimed++;
	if (c->stage == RANGE_FIRST && !more) {
		c->stage = RANGE_DONE;          /* one range: all, NULLs too */
		return 1;
	}
	len = (size_t)snprintf(rs->filter, sizeof rs->filter, " WHERE ");
	if (c->stage == RANGE_NEXT) {
		memcpy(rs->lo, c->lo, sizeof rs->lo);
		len += (size_t)snprintf(rs->filter + len, sizeof rs->filter - len,
					"case_ref%s > ?%s", coll, more ? " AND " : "");
		rs->refs[rs->nrefs++] = rs->lo;
	}
	if (more) {
		snprintf(rs->filter + len, sizeof rs->filter - len, "case_ref%s <= ?", coll);
		rs->refs[rs->nrefs++] = rs->hi;
		memcpy(c->lo, rs->hi, sizeof c->lo);
		c->stage = RANGE_NEXT;
	} else {
		c->stage = RANGE_NULLS;
	}
	return 1;
}

/* The ranged walk on the source's own connection, one range after the
 * other.  The caller holds one transaction around it. */
int odbc_walk_chunks(struct walk *w)
{
	struct range_cursor c = { .stage = RANGE_FIRST };
	struct range_spec rs;
	int more, rc;

	while ((more = odbc_range_next(w->src, w->src->dbc, NULL, &c, &rs, w->err)) > 0)
		if ((rc = walk_statement(w, rs.filter, rs.refs, rs.nrefs)))
			return rc;
	return more;
}


static int odbc_each_case(struct source *base, const char *case_ref, source_case_fn fn,
			  source_orphan_fn orphan, void *ctx, struct dl_error *err)
{
	struct source_odbc *src = of(base);
	struct walk w = { .src = src, .fn = fn, .orphan = orphan, .ctx = ctx, .err = err };
	bool chunked = !case_ref && src->chunked;
	int rc;

	if (case_ref && strlen(case_ref) >= VALUE_MAX)
		return 0;       /* no case can have it */
	src->have_ref = src->have_case = false;
	src->nev = src->text_len = src->dup_cases = 0;
	if (chunked)
		SQLSetConnectAttr(src->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0);
	if (chunked)
		rc = odbc_walk_ranges(&w);
	else
		rc = walk_statement(&w, case_ref ? " WHERE case_ref = ?" : "", &case_ref,
				    case_ref ? 1 : 0);
	if (rc == 0)
		rc = case_finish(&w);
	/* Ends the walk's transaction, where the driver opened one. */
	SQLEndTran(SQL_HANDLE_DBC, src->dbc, SQL_ROLLBACK);
	if (chunked)
		SQLSetConnectAttr(src->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON, 0);
	return rc;
}

/* --- small relations, read whole --- */

#define MAX_COLUMNS 8

/* A whole number is bound as one, so that an index on an integer column
 * serves "column > ?" (compared with a double, PostgreSQL would cast the
 * column and read every row).  *whole must live until the execution. */
static SQLRETURN bind_mark(SQLHSTMT st, const struct source_hwm *m, int64_t *whole)
{
	static SQLLEN nts = SQL_NTS;

	if (m->is_number && m->number == (double)(int64_t)m->number) {
		*whole = (int64_t)m->number;
		return SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
					whole, 0, NULL);
	}
	if (m->is_number)
		return SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 0, 0,
					(SQLPOINTER)&m->number, 0, NULL);
	return SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
				sizeof m->text, 0, (SQLPOINTER)m->text, 0, &nts);
}

/* Call fn for each row of sql, its ncols columns as text; sql's one ? (if
 * mark is not NULL) is bound to the mark, as the type it was read as. */
static int each_row(struct source_odbc *src, const char *sql, size_t ncols, source_row_fn fn,
		    void *ctx, const char *what, const struct source_hwm *mark,
		    struct dl_error *err)
{
	char buf[MAX_COLUMNS][VALUE_MAX];
	const char *v[MAX_COLUMNS];
	SQLLEN ind[MAX_COLUMNS];
	int64_t whole;
	SQLHSTMT st;
	SQLRETURN r;
	int rc = 0;

	if (ncols > MAX_COLUMNS) {
		error_set(err, "case database %s: %s: more than %d columns", src->name, what,
			  MAX_COLUMNS);
		return -1;
	}
	if (statement(src, &st, err) < 0)
		return -1;
	for (size_t c = 0; c < ncols; c++)
		SQLBindCol(st, (SQLUSMALLINT)(c + 1), SQL_C_CHAR, buf[c], VALUE_MAX, &ind[c]);
	r = mark ? bind_mark(st, mark, &whole) : SQL_SUCCESS;
	if (SQL_SUCCEEDED(r))
		r = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	while (SQL_SUCCEEDED(r) && (r = SQLFetch(st)) != SQL_NO_DATA && SQL_SUCCEEDED(r)) {
		for (size_t c = 0; c < ncols; c++)
			v[c] = ind[c] == SQL_NULL_DATA ? NULL : buf[c];
		if ((rc = fn(ctx, v)))
			break;
	}
	if (rc == 0 && r != SQL_NO_DATA && !SQL_SUCCEEDED(r))
		rc = odbc_error(src, SQL_HANDLE_STMT, st, what, err);
	SQLCloseCursor(st);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	SQLEndTran(SQL_HANDLE_DBC, src->dbc, SQL_ROLLBACK);
	return rc;
}

/* Does the statement's error say the relation does not exist?  By
 * SQLSTATE (ODBC's 42S02, PostgreSQL's 42P01), else by the words SQLite's
 * driver uses. */
static bool no_such_relation(SQLHSTMT st)
{
	SQLCHAR state[6], text[MSG_MAX];
	SQLINTEGER native;
	SQLSMALLINT len;

	if (!SQL_SUCCEEDED(SQLGetDiagRec(SQL_HANDLE_STMT, st, 1, state, &native, text,
					 sizeof text, &len)))
		return false;
	return strcmp((char *)state, "42S02") == 0 || strcmp((char *)state, "42P01") == 0 ||
	       strstr((char *)text, "no such table") != NULL;
}

/* 1 when optional and the relation is absent, 0 when present, else -1. */
static int relation_present(struct source_odbc *src, const char *relation, const char *columns,
			    bool optional, struct dl_error *err)
{
	char sql[512], what[256];
	SQLHSTMT st;
	SQLRETURN r;
	int rc = 0;

	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE 1 = 0", columns, relation);
	if (statement(src, &st, err) < 0)
		return -1;
	r = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA) {
		if (optional && no_such_relation(st)) {
			rc = 1;
		} else {
			snprintf(what, sizeof what, "relation %s (expected a table or view with "
				 "columns %s)", relation, columns);
			rc = odbc_error(src, SQL_HANDLE_STMT, st, what, err);
		}
	}
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	/* PostgreSQL's transaction is aborted by the error: end it. */
	SQLEndTran(SQL_HANDLE_DBC, src->dbc, SQL_ROLLBACK);
	return rc;
}

/* Compiling "SELECT <columns> FROM <relation> WHERE 1 = 0" is enough to
 * know the relation is there with every column. */
static int odbc_check_schema(struct source *base, struct dl_error *err)
{
	for (size_t i = 0; i < sizeof relations / sizeof relations[0]; i++)
		if (relation_present(of(base), relations[i].name, relations[i].columns, false,
				     err) < 0)
			return -1;
	return 0;
}

static int odbc_rows(struct source *base, const char *relation, const char *columns,
		     size_t ncolumns, bool optional, source_row_fn fn, void *ctx,
		     struct dl_error *err)
{
	struct source_odbc *src = of(base);
	char sql[512], what[128];
	int rc;

	if (optional && (rc = relation_present(src, relation, columns, true, err)) != 0)
		return rc;
	snprintf(sql, sizeof sql, "SELECT %s FROM %s", columns, relation);
	snprintf(what, sizeof what, "reading %s", relation);
	return each_row(src, sql, ncolumns, fn, ctx, what, NULL, err);
}

/* --- what changed: source.updated_column --- */

struct since {
	const struct source_hwm *after;
	struct source_hwm *top;
	source_change_fn fn;
	void *ctx;
	bool number;             /* the column is a number: compare as one */
};

static int since_row(void *ctx, const char *const *v)
{
	struct since *s = ctx;
	struct source_hwm m = { .set = true, .is_number = s->number };

	if (!v[0])
		return 0;
	if (s->number)
		m.number = strtod(v[0], NULL);
	else
		snprintf(m.text, sizeof m.text, "%s", v[0]);
	if (source_hwm_after(&m, s->top))
		*s->top = m;
	return s->fn && v[1] ? s->fn(s->ctx, v[1]) : 0;
}

/* Is the column a number?  Asked of the server, since the value comes
 * back as text either way. */
static int column_is_number(struct source_odbc *src, const char *column, bool *number,
			    struct dl_error *err)
{
	char sql[256];
	SQLHSTMT st;
	SQLSMALLINT type = 0;
	SQLRETURN rc;

	snprintf(sql, sizeof sql, "SELECT %s FROM deadlined_cases WHERE 1 = 0", column);
	if (statement(src, &st, err) < 0)
		return -1;
	rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	if (SQL_SUCCEEDED(rc))
		rc = SQLDescribeCol(st, 1, NULL, 0, NULL, &type, NULL, NULL, NULL);
	if (!SQL_SUCCEEDED(rc))
		odbc_error(src, SQL_HANDLE_STMT, st, "reading source.updated_column", err);
	SQLCloseCursor(st);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	SQLEndTran(SQL_HANDLE_DBC, src->dbc, SQL_ROLLBACK);
	*number = type == SQL_INTEGER || type == SQL_BIGINT || type == SQL_SMALLINT ||
		  type == SQL_TINYINT || type == SQL_NUMERIC || type == SQL_DECIMAL ||
		  type == SQL_FLOAT || type == SQL_REAL || type == SQL_DOUBLE;
	return SQL_SUCCEEDED(rc) ? 0 : -1;
}

/* fn for each case past *after (all when after is unset: only *top is
 * wanted then, and fn is NULL). */
static int updated_since(struct source_odbc *src, const struct source_hwm *after,
			 source_change_fn fn, void *ctx, struct source_hwm *top,
			 struct dl_error *err)
{
	const char *column = src->updated_column;
	struct since s = { .after = after, .top = top, .fn = fn, .ctx = ctx };
	char sql[512];

	*top = *after;
	if (column_is_number(src, column, &s.number, err) < 0)
		return -1;
	/* column is a plain identifier (conf.c checks it); the mark is bound. */
	snprintf(sql, sizeof sql, after->set ?
		 "SELECT %s, case_ref FROM deadlined_cases WHERE %s > ?" :
		 "SELECT MAX(%s), NULL FROM deadlined_cases", column, column);
	return each_row(src, sql, 2, since_row, &s, "reading source.updated_column",
			after->set ? after : NULL, err);
}

/* Without updated_column nothing tells what changed: every poll reads
 * everything.  With it, a poll reads the cases past the last mark; what
 * the column cannot show (teams, workers, a deleted case) waits for the
 * full evaluation of service.reconcile_interval. */
static int odbc_changed(struct source *base, const struct source_mark *since,
			source_change_fn fn, void *ctx, struct source_mark *next,
			enum source_change *what, struct dl_error *err)
{
	static const struct source_hwm none;
	struct source_odbc *src = of(base);
	int rc;

	*next = *since;
	next->set = true;
	*what = SOURCE_ALL;
	if (!src->updated_column)
		return 0;
	if (!since->set || !since->updated.set)
		return updated_since(src, &none, NULL, NULL, &next->updated, err);
	rc = updated_since(src, &since->updated, fn, ctx, &next->updated, err);
	*what = source_hwm_after(&next->updated, &since->updated) ? SOURCE_CASES
								  : SOURCE_UNCHANGED;
	return rc;
}

static void odbc_set_tick(struct source *base, int (*fn)(void *ctx), void *ctx)
{
	of(base)->tick = fn;
	of(base)->tick_ctx = ctx;
}

static int odbc_exec_for_test(struct source *base, const char *sql, struct dl_error *err)
{
	struct source_odbc *src = of(base);
	int rc = exec(src, sql, "running a statement", err);

	SQLEndTran(SQL_HANDLE_DBC, src->dbc, SQL_ROLLBACK);
	return rc;
}

const struct source_ops source_odbc_ops = {
	.driver = "odbc",
	.open = odbc_open,
	.check_schema = odbc_check_schema,
	.close = odbc_close,
	.changed = odbc_changed,
	.each_case = odbc_each_case,
	.rows = odbc_rows,
	.set_tick = odbc_set_tick,
	.exec_for_test = odbc_exec_for_test,
};
