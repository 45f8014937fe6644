/* source_sqlite.c — the case database as an SQLite file, read-only: the
 * first source backend (source_backend.h).
 *
 * Cases and events are read by two statements, each ordered by case_ref,
 * and merged here like two sorted files: the database sorts (with an index
 * when it has one) and we hold one case's events at a time.  Both
 * statements run inside one read transaction, so a writer committing
 * half-way through a walk cannot pair old cases with new events.
 *
 * The connection is opened read-only and additionally set query_only, so a
 * write fails twice over: once in SQLite's SQL layer, once at the file.
 *
 * "What changed" costs a stat and a PRAGMA when nothing did: SQLite's
 * data_version moves when another connection commits, and the optional
 * change log (deadlined_changes) or source.updated_column names the cases.
 */
#include <limits.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deadlined/source_backend.h"
#include "deadlined/regfile.h"

#define CASE_COLUMNS  "case_ref, child_ref, date_of_birth, team_ref, worker_ref"
#define EVENT_COLUMNS "case_ref, kind, occurred, event_ref"
#define TEAM_COLUMNS  "team_ref, name, manager_email, service_manager_email"
#define WORKER_COLUMNS "worker_ref, name, email, team_ref"

/* The merge compares case_refs in C, so it must order them exactly as
 * ORDER BY does; saying COLLATE BINARY keeps a view's NOCASE column from
 * changing that order behind our back.  An index on case_ref (BINARY, the
 * default) still serves these statements. */
static const char SQL_CASES[] =
	"SELECT " CASE_COLUMNS " FROM deadlined_cases"
	" ORDER BY case_ref COLLATE BINARY";
static const char SQL_EVENTS[] =
	"SELECT " EVENT_COLUMNS " FROM deadlined_events"
	" ORDER BY case_ref COLLATE BINARY, occurred";
static const char SQL_ONE_CASE[] =
	"SELECT " CASE_COLUMNS " FROM deadlined_cases"
	" WHERE case_ref = ?1 COLLATE BINARY";
static const char SQL_ONE_CASE_EVENTS[] =
	"SELECT " EVENT_COLUMNS " FROM deadlined_events"
	" WHERE case_ref = ?1 COLLATE BINARY ORDER BY occurred";
static const char SQL_CHANGES[] =
	"SELECT seq, case_ref FROM deadlined_changes WHERE seq > ?1 ORDER BY seq";
/* The highest seq ever given (AUTOINCREMENT keeps it in sqlite_sequence,
 * even when the rows have been pruned), else the highest there is. */
static const char SQL_CHANGE_TOP[] =
	"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence"
	" WHERE name = 'deadlined_changes'), 0),"
	" COALESCE((SELECT MAX(seq) FROM deadlined_changes), 0))";

static const struct {
	const char *name, *columns;
} relations[] = {
	{ "deadlined_cases", CASE_COLUMNS },
	{ "deadlined_events", EVENT_COLUMNS },
	{ "deadlined_teams", TEAM_COLUMNS },
	{ "deadlined_workers", WORKER_COLUMNS },
};

/* Passed to orphan for rows whose case_ref is NULL. */
static const char NULL_REF[] = "(null)";

/* A case_ref as SQLite sorts it: NULL < numbers < text < blobs, numbers by
 * value, text and blobs bytewise (the BINARY collation).  A council's view
 * may well give integer references, and those sort 2 before 10, which
 * strcmp on their text would not. */
enum { KEY_NULL, KEY_NUMBER, KEY_TEXT, KEY_BLOB };

struct key {
	int cls;
	int is_int;
	sqlite3_int64 i;
	double r;
	const char *s;           /* the value as text; NULL for KEY_NULL */
	size_t n;
};

/* A key that outlives the row it was read from. */
struct saved_key {
	struct key k;
	char *buf;
	size_t cap;
	int valid;
};

/* Where an event's strings start in the text buffer while it may still
 * move; NO_TEXT for NULL. */
#define NO_TEXT SIZE_MAX

struct event_at {
	size_t kind, occurred, event_ref;
};

struct sqlite_source {
	struct source base;
	sqlite3 *db;
	char *path;
	char *column;            /* source.updated_column, or NULL */
	long busy_ms;
	uint64_t conn;           /* this connection, among those opened here */
	dev_t dev;               /* the file it opened */
	ino_t ino;
	int64_t schema_version;  /* as the relations were checked */
	sqlite3_stmt *cases, *events, *one_case, *one_case_events;
	sqlite3_stmt *version, *schema;
	sqlite3_stmt *changes, *change_top;   /* NULL: no change log */

	/* The current case's events, reused from case to case: they grow to
	 * the largest case seen and are never shrunk. */
	struct source_event *ev;
	struct event_at *at;
	size_t nev, ev_cap;
	char *text;
	size_t text_len, text_cap;

	struct saved_key prev;   /* the last case delivered */
	struct saved_key group;  /* the orphan case_ref being counted */
};

static void db_error(struct sqlite_source *src, struct dl_error *err, const char *what)
{
	int code = sqlite3_errcode(src->db);
	const char *msg = sqlite3_errmsg(src->db);

	if (code == SQLITE_NOTADB)
		error_set(err, "case database %s: not an SQLite database (%s)", src->path, msg);
	else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		error_set(err, "case database %s: %s: %s (another connection held it "
			  "for more than %ld ms)", src->path, what, msg, src->busy_ms);
	else
		error_set(err, "case database %s: %s: %s", src->path, what, msg);
}

static int prepare(struct sqlite_source *src, const char *sql, sqlite3_stmt **st,
		   struct dl_error *err)
{
	if (sqlite3_prepare_v3(src->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) ==
	    SQLITE_OK)
		return 0;
	db_error(src, err, "preparing a query");
	return -1;
}

/* Compiling "SELECT <contract columns> FROM <relation>" is enough to know
 * the relation exists with every column, and names the first one missing. */
static int probe(struct sqlite_source *src, const char *name, const char *columns,
		 struct dl_error *err)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	int rc;

	snprintf(sql, sizeof sql, "SELECT %s FROM %s LIMIT 0", columns, name);
	rc = sqlite3_prepare_v2(src->db, sql, -1, &st, NULL);
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		return 0;
	rc = sqlite3_errcode(src->db);
	if (rc != SQLITE_ERROR) {
		db_error(src, err, "reading the schema");
		return -1;
	}
	if (strncmp(sqlite3_errmsg(src->db), "no such table", 13) == 0)
		error_set(err, "case database %s: relation %s: %s; expected a table or "
			  "view with columns %s", src->path, name, sqlite3_errmsg(src->db),
			  columns);
	else
		error_set(err, "case database %s: relation %s: %s; expected columns %s",
			  src->path, name, sqlite3_errmsg(src->db), columns);
	return -1;
}

static int open_db(struct sqlite_source *src, struct dl_error *err)
{
	int rc, ms = src->busy_ms > INT_MAX ? INT_MAX : (int)src->busy_ms;

	/* Without SQLITE_OPEN_CREATE a missing file is an error, not a new
	 * empty database that would then lack every relation. */
	rc = sqlite3_open_v2(src->path, &src->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		int e = src->db ? sqlite3_system_errno(src->db) : 0;

		if (!src->db)
			error_set(err, "case database %s: out of memory", src->path);
		else if (e)
			error_set(err, "case database %s: %s (%s)", src->path,
				  sqlite3_errmsg(src->db), strerror(e));
		else
			db_error(src, err, "opening");
		return -1;
	}
	sqlite3_busy_timeout(src->db, ms > 0 ? ms : 0);
	if (sqlite3_exec(src->db, "PRAGMA query_only = ON", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(src, err, "setting query_only");
		return -1;
	}
	return 0;
}

static struct sqlite_source *of(struct source *base)
{
	return (struct sqlite_source *)base;
}

static void sqlite_close(struct source *base)
{
	struct sqlite_source *src = of(base);

	if (!src)
		return;
	sqlite3_finalize(src->cases);
	sqlite3_finalize(src->events);
	sqlite3_finalize(src->one_case);
	sqlite3_finalize(src->one_case_events);
	sqlite3_finalize(src->version);
	sqlite3_finalize(src->schema);
	sqlite3_finalize(src->changes);
	sqlite3_finalize(src->change_top);
	sqlite3_close(src->db);
	free(src->ev);
	free(src->at);
	free(src->text);
	free(src->prev.buf);
	free(src->group.buf);
	free(src->path);
	free(src->column);
	free(src);
}

static int sqlite_open(const struct source_conf *conf, struct source **out,
		       struct dl_error *err)
{
	static uint64_t opened;
	const char *path = conf->database;
	struct sqlite_source *src;
	struct dl_error why;
	struct stat sb;

	*out = NULL;
	/* SQLite would take "" as a private temporary database. */
	if (!path || !*path) {
		error_set(err, "case database: no file name given");
		return -1;
	}
	/* SQLite's open of a FIFO blocks for ever, of a device reads it: only
	 * a regular file (or a path not there yet, which open_db reports). */
	if (regfile_check_path(path, &why) < 0) {
		error_set(err, "case database %s (a SQLite database file is expected)", why.msg);
		return -1;
	}
	src = calloc(1, sizeof *src);
	if (!src || !(src->path = strdup(path)) ||
	    (conf->updated_column && !(src->column = strdup(conf->updated_column)))) {
		sqlite_close((struct source *)src);
		error_set(err, "case database %s: out of memory", path);
		return -1;
	}
	src->base.ops = &source_sqlite_ops;
	src->base.label = src->path;
	src->busy_ms = conf->busy_timeout_ms > 0 ? conf->busy_timeout_ms : 0;
	src->conn = ++opened;
	/* The file as opened, so that another one renamed over the path
	 * (an import) is noticed; stat first, so a race opens the new one
	 * and notices nothing worse than a needless reopen. */
	if (stat(path, &sb) == 0) {
		src->dev = sb.st_dev;
		src->ino = sb.st_ino;
	}
	if (open_db(src, err) < 0) {
		sqlite_close(&src->base);
		return -1;
	}
	*out = &src->base;
	return 0;
}

static int pragma_int(struct sqlite_source *src, sqlite3_stmt *st, int64_t *out,
		      struct dl_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		db_error(src, err, "reading a PRAGMA");
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int sqlite_check_schema(struct source *base, struct dl_error *err)
{
	struct sqlite_source *src = of(base);

	for (size_t i = 0; i < sizeof relations / sizeof relations[0]; i++)
		if (probe(src, relations[i].name, relations[i].columns, err) < 0)
			return -1;
	if (prepare(src, SQL_CASES, &src->cases, err) < 0 ||
	    prepare(src, SQL_EVENTS, &src->events, err) < 0 ||
	    prepare(src, SQL_ONE_CASE, &src->one_case, err) < 0 ||
	    prepare(src, SQL_ONE_CASE_EVENTS, &src->one_case_events, err) < 0 ||
	    prepare(src, "PRAGMA data_version", &src->version, err) < 0 ||
	    prepare(src, "PRAGMA schema_version", &src->schema, err) < 0 ||
	    pragma_int(src, src->schema, &src->schema_version, err) < 0)
		return -1;
	/* The change log is optional: without it every change means a full
	 * evaluation. */
	if (sqlite3_prepare_v3(src->db, SQL_CHANGES, -1, SQLITE_PREPARE_PERSISTENT,
			       &src->changes, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(src->db, SQL_CHANGE_TOP, -1, SQLITE_PREPARE_PERSISTENT,
			       &src->change_top, NULL) != SQLITE_OK) {
		sqlite3_finalize(src->changes);
		src->changes = NULL;
		src->change_top = NULL;
	}
	return 0;
}

/* --- case_ref keys --- */

/* Read the type before the text: asking for the text of a number converts
 * it, after which sqlite3_column_type is undefined. */
static void key_read(sqlite3_stmt *st, int col, struct key *k)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		k->cls = KEY_NULL;
		k->s = NULL;
		k->n = 0;
		return;
	case SQLITE_INTEGER:
		k->cls = KEY_NUMBER;
		k->is_int = 1;
		k->i = sqlite3_column_int64(st, col);
		break;
	case SQLITE_FLOAT:
		k->cls = KEY_NUMBER;
		k->is_int = 0;
		k->r = sqlite3_column_double(st, col);
		break;
	case SQLITE_BLOB:
		k->cls = KEY_BLOB;
		break;
	default:
		k->cls = KEY_TEXT;
		break;
	}
	k->s = (const char *)sqlite3_column_text(st, col);
	k->n = (size_t)sqlite3_column_bytes(st, col);
	if (!k->s) {             /* out of memory converting: compare as empty */
		k->s = "";
		k->n = 0;
	}
}

/* An integer against a real, exactly, as SQLite does without long double. */
static int int_real_cmp(sqlite3_int64 i, double r)
{
	sqlite3_int64 y;
	double s;

	if (r < -9223372036854775808.0)
		return 1;
	if (r >= 9223372036854775808.0)
		return -1;
	y = (sqlite3_int64)r;
	if (i != y)
		return i < y ? -1 : 1;
	s = (double)i;
	return s < r ? -1 : s > r ? 1 : 0;
}

static int key_cmp(const struct key *a, const struct key *b)
{
	int c;

	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	switch (a->cls) {
	case KEY_NULL:
		return 0;
	case KEY_NUMBER:
		if (a->is_int && b->is_int)
			return a->i < b->i ? -1 : a->i > b->i;
		if (a->is_int)
			return int_real_cmp(a->i, b->r);
		if (b->is_int)
			return -int_real_cmp(b->i, a->r);
		return a->r < b->r ? -1 : a->r > b->r;
	default:
		c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
		if (c)
			return c;
		return a->n < b->n ? -1 : a->n > b->n;
	}
}

static int key_save(struct saved_key *dst, const struct key *k)
{
	if (k->n + 1 > dst->cap) {
		size_t cap = k->n + 1 > 64 ? k->n + 1 : 64;
		char *p = realloc(dst->buf, cap);

		if (!p)
			return -1;
		dst->buf = p;
		dst->cap = cap;
	}
	dst->k = *k;
	if (k->s) {
		memcpy(dst->buf, k->s, k->n);
		dst->buf[k->n] = '\0';
		dst->k.s = dst->buf;
	}
	dst->valid = 1;
	return 0;
}

static const char *key_text(const struct key *k)
{
	return k->cls == KEY_NULL ? NULL_REF : k->s;
}

/* --- the current case's events --- */

static int text_add(struct sqlite_source *src, sqlite3_stmt *st, int col, size_t *at)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	*at = NO_TEXT;
	if (!s)
		return 0;
	if (src->text_cap - src->text_len < n + 1) {
		size_t cap = src->text_cap ? src->text_cap : 4096;
		char *p;

		while (cap - src->text_len < n + 1)
			cap *= 2;
		p = realloc(src->text, cap);
		if (!p)
			return -1;
		src->text = p;
		src->text_cap = cap;
	}
	*at = src->text_len;
	memcpy(src->text + *at, s, n);
	src->text[*at + n] = '\0';
	src->text_len += n + 1;
	return 0;
}

/* Copy the events statement's current row.  Strings are kept as offsets
 * until the case is complete, because the buffer may move as it grows. */
static int event_add(struct sqlite_source *src, sqlite3_stmt *st)
{
	struct event_at *a;

	if (src->nev == src->ev_cap) {
		size_t cap = src->ev_cap ? src->ev_cap * 2 : 64;
		void *p = realloc(src->at, cap * sizeof *src->at);

		if (!p)
			return -1;
		src->at = p;
		p = realloc(src->ev, cap * sizeof *src->ev);
		if (!p)
			return -1;
		src->ev = p;
		src->ev_cap = cap;
	}
	a = &src->at[src->nev];
	if (text_add(src, st, 1, &a->kind) < 0 || text_add(src, st, 2, &a->occurred) < 0 ||
	    text_add(src, st, 3, &a->event_ref) < 0)
		return -1;
	src->nev++;
	return 0;
}

static const char *text_at(const struct sqlite_source *src, size_t at)
{
	return at == NO_TEXT ? NULL : src->text + at;
}

static void events_fix(struct sqlite_source *src)
{
	for (size_t i = 0; i < src->nev; i++) {
		src->ev[i].kind = text_at(src, src->at[i].kind);
		src->ev[i].occurred = text_at(src, src->at[i].occurred);
		src->ev[i].event_ref = text_at(src, src->at[i].event_ref);
	}
}

/* --- the walk --- */

struct walk {
	struct sqlite_source *src;
	sqlite3_stmt *cases, *events;
	int erc;                 /* the events statement's last step */
	struct key ek;           /* its row's case_ref, read once: reading a
				    BLOB as text converts it, and a second
				    read would see TEXT */
	source_case_fn fn;
	source_orphan_fn orphan;
	void *ctx;
	struct dl_error *err;
};

static int step_failed(struct walk *w, int rc, const char *what)
{
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	db_error(w->src, w->err, what);
	return 1;
}

static int out_of_memory(struct walk *w)
{
	error_set(w->err, "case database %s: out of memory reading events", w->src->path);
	return -1;
}

/* Consume every event with the same case_ref as the current one and
 * report them as one orphan. */
static void step_events(struct walk *w)
{
	w->erc = sqlite3_step(w->events);
	if (w->erc == SQLITE_ROW)
		key_read(w->events, 0, &w->ek);
}

static int orphan_group(struct walk *w, const struct key *first)
{
	struct saved_key *g = &w->src->group;
	size_t n = 0;

	if (key_save(g, first) < 0)
		return out_of_memory(w);
	do {
		n++;
		step_events(w);
	} while (w->erc == SQLITE_ROW && key_cmp(&w->ek, &g->k) == 0);
	if (step_failed(w, w->erc, "reading deadlined_events"))
		return -1;
	if (w->orphan)
		w->orphan(w->ctx, key_text(&g->k), n);
	return 0;
}

/* Report the events sorting before ck (all of them when ck is NULL) and
 * collect those belonging to ck. */
static int collect_events(struct walk *w, const struct key *ck)
{
	struct sqlite_source *src = w->src;
	int c;

	src->nev = 0;
	src->text_len = 0;
	while (w->erc == SQLITE_ROW) {
		c = ck ? key_cmp(&w->ek, ck) : -1;
		if (c > 0)
			break;
		if (c < 0) {
			if (orphan_group(w, &w->ek) < 0)
				return -1;
			continue;
		}
		if (event_add(src, w->events) < 0)
			return out_of_memory(w);
		step_events(w);
	}
	if (step_failed(w, w->erc, "reading deadlined_events"))
		return -1;
	events_fix(src);
	return 0;
}

/* A case row with a NULL case_ref cannot own events, and a case_ref given
 * twice (easy to do by accident in a view with a join) would make two
 * cases claim one set of events.  Only the first row of a case_ref is
 * delivered; the others are reported to orphan with no events, so the
 * evaluator can raise a data-quality finding naming them.  Which of the
 * duplicate rows comes first is up to the database. */
static int skip_case(struct walk *w, const struct key *ck)
{
	struct saved_key *prev = &w->src->prev;

	if (ck->cls != KEY_NULL && !(prev->valid && key_cmp(ck, &prev->k) == 0))
		return 0;
	if (w->orphan)
		w->orphan(w->ctx, key_text(ck), 0);
	return 1;
}

static const char *column(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* The case's own strings are not copied: the cases statement stays on its
 * row until fn has returned, so its column text stays valid. */
static int one_case(struct walk *w, const struct key *ck)
{
	struct source_case c;
	int rc;

	if (collect_events(w, ck) < 0)
		return -1;
	c.case_ref = ck->s;
	c.child_ref = column(w->cases, 1);
	c.date_of_birth = column(w->cases, 2);
	c.team_ref = column(w->cases, 3);
	c.worker_ref = column(w->cases, 4);
	c.events = w->src->nev ? w->src->ev : NULL;
	c.nevents = w->src->nev;
	rc = w->fn(w->ctx, &c);
	if (key_save(&w->src->prev, ck) < 0 && rc == 0)
		return out_of_memory(w);
	return rc;
}

static int walk(struct walk *w)
{
	struct key ck;
	int rc;

	w->src->prev.valid = 0;
	step_events(w);
	if (step_failed(w, w->erc, "reading deadlined_events"))
		return -1;
	for (;;) {
		rc = sqlite3_step(w->cases);
		if (rc == SQLITE_DONE)
			break;
		if (step_failed(w, rc, "reading deadlined_cases"))
			return -1;
		key_read(w->cases, 0, &ck);
		if (skip_case(w, &ck))
			continue;
		rc = one_case(w, &ck);
		if (rc)
			return rc;
	}
	return collect_events(w, NULL);
}

static int sqlite_each_case(struct source *base, const char *case_ref, source_case_fn fn,
			    source_orphan_fn orphan, void *ctx, struct dl_error *err)
{
	struct sqlite_source *src = of(base);
	struct walk w = { .src = src, .cases = src->cases, .events = src->events, .fn = fn,
			  .orphan = orphan, .ctx = ctx, .err = err };
	int rc = -1;

	/* BEGIN takes no lock; the first step does, waiting up to the busy
	 * timeout for a writer, and the snapshot then holds for both
	 * statements.  It also refuses a walk started from inside fn. */
	if (sqlite3_exec(src->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(src, err, "starting a read transaction");
		return -1;
	}
	if (case_ref) {
		w.cases = src->one_case;
		w.events = src->one_case_events;
		if (sqlite3_bind_text(w.cases, 1, case_ref, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
		    sqlite3_bind_text(w.events, 1, case_ref, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
			db_error(src, err, "binding case_ref");
			goto out;
		}
	}
	rc = walk(&w);
	sqlite3_reset(w.cases);
	sqlite3_reset(w.events);
out:
	/* Nothing was written, so ending the transaction only drops the lock. */
	sqlite3_exec(src->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* --- whole relations --- */

static int sqlite_rows(struct source *base, const char *relation, const char *columns,
		       size_t ncolumns, bool optional, source_row_fn fn, void *ctx,
		       struct dl_error *err)
{
	struct sqlite_source *src = of(base);
	const char *values[16];
	sqlite3_stmt *st = NULL;
	char sql[256];
	int rc = 0, step;

	if (ncolumns > sizeof values / sizeof values[0]) {
		error_set(err, "case database %s: %s: too many columns", src->path, relation);
		return -1;
	}
	snprintf(sql, sizeof sql, "SELECT %s FROM %s", columns, relation);
	if (sqlite3_prepare_v2(src->db, sql, -1, &st, NULL) != SQLITE_OK) {
		if (optional && strncmp(sqlite3_errmsg(src->db), "no such table", 13) == 0)
			return 1;
		if (sqlite3_errcode(src->db) == SQLITE_ERROR)
			error_set(err, "case database %s: relation %s: %s; expected columns %s",
				  src->path, relation, sqlite3_errmsg(src->db), columns);
		else
			db_error(src, err, relation);
		return -1;
	}
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t i = 0; i < ncolumns; i++)
			values[i] = column(st, (int)i);
		rc = fn(ctx, values);
	}
	if (rc == 0 && step != SQLITE_DONE) {
		db_error(src, err, relation);
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int sqlite_exec_for_test(struct source *base, const char *sql, struct dl_error *err)
{
	struct sqlite_source *src = of(base);
	char *msg = NULL;

	if (sqlite3_exec(src->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	error_set(err, "case database %s: %s", src->path, msg ? msg : sqlite3_errmsg(src->db));
	sqlite3_free(msg);
	return -1;
}

/* --- what changed --- */

/* The part of a mark only this backend reads. */
struct sqlite_mark {
	uint64_t conn;           /* the connection whose data_version this is */
	int64_t data_version;    /* as of the mark */
	int64_t mtime_sec, mtime_nsec, size;   /* the file as of the mark */
};

_Static_assert(sizeof(struct sqlite_mark) <= sizeof(((struct source_mark *)0)->priv),
	       "a mark has room for SQLite's part");

static int change_rows(struct sqlite_source *src, int64_t after, source_change_fn fn,
		       void *ctx, int64_t top, struct dl_error *err)
{
	int64_t expect = after + 1;
	int rc = 0, step;

	sqlite3_bind_int64(src->changes, 1, after);
	while (rc == 0 && (step = sqlite3_step(src->changes)) == SQLITE_ROW) {
		/* A gap: rows the daemon never read were pruned. */
		if (sqlite3_column_int64(src->changes, 0) != expect)
			return fn(ctx, NULL);
		expect++;
		rc = fn(ctx, (const char *)sqlite3_column_text(src->changes, 1));
	}
	if (rc == 0 && step != SQLITE_DONE) {
		db_error(src, err, "reading deadlined_changes");
		return -1;
	}
	/* The newest rows were pruned too. */
	if (rc == 0 && expect <= top)
		rc = fn(ctx, NULL);
	return rc;
}

/* The change log (deadlined_changes, see conf/schema/native.sql) after seq
 * `after` (with after < 0, only where it stands): fn gets each case_ref,
 * or NULL for "everything" (a change to teams or workers, a NULL case_ref,
 * rows pruned before they were read, a log that went backwards, as when
 * the file was replaced).  *top receives the highest seq given so far. */
static int changes(struct sqlite_source *src, int64_t after, source_change_fn fn, void *ctx,
		   int64_t *top, struct dl_error *err)
{
	int rc = -1, step;

	*top = 0;
	if (sqlite3_exec(src->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(src, err, "starting a read transaction");
		return -1;
	}
	step = sqlite3_step(src->change_top);
	if (step == SQLITE_ROW) {
		*top = sqlite3_column_int64(src->change_top, 0);
		rc = 0;
	} else {
		db_error(src, err, "reading deadlined_changes");
	}
	sqlite3_reset(src->change_top);
	if (rc == 0 && after >= 0 && *top < after)
		rc = fn(ctx, NULL);
	else if (rc == 0 && after >= 0 && *top > after)
		rc = change_rows(src, after, fn, ctx, *top, err);
	sqlite3_reset(src->changes);
	sqlite3_exec(src->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Each case whose updated_column is past *after (nothing when after->set
 * is false); *top receives the highest value seen. */
static int updated_since(struct sqlite_source *src, const struct source_hwm *after,
			 source_change_fn fn, void *ctx, struct source_hwm *top,
			 struct dl_error *err)
{
	const char *col = src->column;
	char sql[256];
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	*top = *after;
	/* The column is a plain identifier (conf.c checks it). */
	snprintf(sql, sizeof sql, after->set ?
		 "SELECT \"%s\", case_ref FROM deadlined_cases WHERE \"%s\" > ?1" :
		 "SELECT MAX(\"%s\") FROM deadlined_cases", col, col);
	if (sqlite3_prepare_v2(src->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(src, err, "reading source.updated_column");
		return -1;
	}
	/* Bound as the type it was read as. */
	if (after->set && after->is_number)
		sqlite3_bind_double(st, 1, after->number);
	else if (after->set)
		sqlite3_bind_text(st, 1, after->text, -1, SQLITE_STATIC);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		int type = sqlite3_column_type(st, 0);
		struct source_hwm m = { .set = true };

		if (type == SQLITE_NULL)
			continue;
		m.is_number = type == SQLITE_INTEGER || type == SQLITE_FLOAT;
		if (m.is_number)
			m.number = sqlite3_column_double(st, 0);
		else
			snprintf(m.text, sizeof m.text, "%s", (const char *)sqlite3_column_text(st, 0));
		if (source_hwm_after(&m, top))
			*top = m;
		if (after->set)
			rc = fn(ctx, (const char *)sqlite3_column_text(st, 1));
	}
	if (rc == 0 && step != SQLITE_DONE) {
		db_error(src, err, "reading source.updated_column");
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int ignore_change(void *ctx, const char *case_ref)
{
	(void)ctx;
	(void)case_ref;
	return 0;
}

/* Where the logs stand, before a full read. */
static int positions(struct sqlite_source *src, struct source_mark *next, struct dl_error *err)
{
	static const struct source_hwm none;

	next->change_seq = 0;
	next->updated = none;
	if (src->changes && changes(src, -1, ignore_change, NULL, &next->change_seq, err) < 0)
		return -1;
	if (src->column && updated_since(src, &none, ignore_change, NULL, &next->updated, err) < 0)
		return -1;
	return 0;
}

/* The cases named since the mark: by the change log when there is one,
 * else by updated_column, else all of them. */
static int cases_since(struct sqlite_source *src, const struct source_mark *since,
		       source_change_fn fn, void *ctx, struct source_mark *next,
		       enum source_change *what, struct dl_error *err)
{
	*what = SOURCE_CASES;
	if (src->changes)
		return changes(src, since->change_seq, fn, ctx, &next->change_seq, err);
	if (src->column)
		return updated_since(src, &since->updated, fn, ctx, &next->updated, err);
	*what = SOURCE_ALL;
	return 0;
}

static int sqlite_changed(struct source *base, const struct source_mark *since,
			  source_change_fn fn, void *ctx, struct source_mark *next,
			  enum source_change *what, struct dl_error *err)
{
	struct sqlite_source *src = of(base);
	struct sqlite_mark was, now = { .conn = src->conn };
	int64_t schema;
	struct stat sb;
	bool fresh;
	int rc = 0;

	memcpy(&was, since->priv, sizeof was);
	*next = *since;
	*what = SOURCE_REOPEN;
	/* Another file at the path (an import renamed over it): its change
	 * log says nothing of this one's. */
	if (stat(src->path, &sb) != 0 || sb.st_dev != src->dev || sb.st_ino != src->ino)
		return 0;
	now.mtime_sec = sb.st_mtim.tv_sec;
	now.mtime_nsec = sb.st_mtim.tv_nsec;
	now.size = sb.st_size;
	if (pragma_int(src, src->version, &now.data_version, err) < 0)
		return -1;
	/* data_version means something only on the connection that read it. */
	fresh = !since->set || was.conn != src->conn;
	if (!fresh && now.data_version == was.data_version) {
		/* Unchanged to SQLite, yet the file's time or size moved: it was
		 * rewritten behind SQLite's back (a copy over it, a fault). */
		if (now.mtime_sec != was.mtime_sec || now.mtime_nsec != was.mtime_nsec ||
		    now.size != was.size)
			return 0;
		*what = SOURCE_UNCHANGED;
	} else {
		/* A relation made, changed or dropped: the change log does not
		 * record that, so the relations are checked anew. */
		if (pragma_int(src, src->schema, &schema, err) < 0)
			return -1;
		if (schema != src->schema_version)
			return 0;
		if (fresh) {
			*what = SOURCE_ALL;
			if (positions(src, next, err) < 0)
				return -1;
		} else if ((rc = cases_since(src, since, fn, ctx, next, what, err)) < 0) {
			return -1;
		}
	}
	/* Also when fn stopped the walk: what it was told has been read. */
	next->set = true;
	memcpy(next->priv, &now, sizeof now);
	return rc;
}

const struct source_ops source_sqlite_ops = {
	.driver = "sqlite",
	.open = sqlite_open,
	.check_schema = sqlite_check_schema,
	.close = sqlite_close,
	.changed = sqlite_changed,
	.each_case = sqlite_each_case,
	.rows = sqlite_rows,
	.exec_for_test = sqlite_exec_for_test,
};
