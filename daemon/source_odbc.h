/* source_odbc.h — inside the ODBC source, shared by its two files; not
 * for any other module (source_backend.h is the source's interface).
 *
 *   source_odbc.c        connecting, the walk on the source's own
 *                        connection (one statement, or ranges of case_ref),
 *                        the small relations, what changed
 *   source_odbc_ahead.c  a ranged walk whose next ranges readers fetch on
 *                        connections of their own (source.read_ahead)
 *
 * Functions return 0 or -1 with err set, as source_backend.h's ops do,
 * unless said otherwise.
 */
#ifndef DEADLINED_SOURCE_ODBC_H
#define DEADLINED_SOURCE_ODBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sql.h>
#include <sqlext.h>

#include "deadlined/source_backend.h"

/* Each value of the walk lands in a buffer this wide; a longer one is an
 * error naming its case, never a silent truncation (a case_ref cut short
 * could merge two cases). */
#define VALUE_MAX 512
#define NCOLS 6           /* case_ref, row kind, four values */
#define MSG_MAX 400

/* What differs between servers: how to ask for bytewise order, and how to
 * make the session itself read-only.  Found by SQL_DBMS_NAME. */
struct dialect {
	const char *dbms;            /* prefix of SQL_DBMS_NAME; NULL: any */
	const char *collate;         /* appended to ORDER BY case_ref */
	const char *session;         /* run once after connecting, or NULL */
	const char *statement_timeout;   /* followed by 'Ns', or NULL */
	bool chunked;                /* walk in ranges of CHUNK_BLOCKS blocks' cases */
};

/* One block of rows, column-wise. */
struct block {
	SQLULEN fetched;
	SQLUSMALLINT *status;
	SQLINTEGER *kind;
	char *val[NCOLS];        /* [row * VALUE_MAX]; val[1] unused */
	SQLLEN *ind[NCOLS];
	size_t rows;
};

/* One row of the walk: its kind (0 case, 1 event) and values (v[0] the
 * case_ref, v[2..5] the rest; NULL stays NULL). */
struct row_view {
	int kind;
	const char *v[NCOLS];
};

/* A row copied out of a block: the walk keeps a case's rows until the
 * next case_ref shows it is complete. */
struct held_event {
	size_t kind, occurred, event_ref;   /* offsets in text, or NO_TEXT */
};
#define NO_TEXT SIZE_MAX

struct source_odbc {
	struct source base;      /* first: source.c sees only this */
	SQLHENV env;
	SQLHDBC dbc;
	char *name;              /* for messages: DSN=... or the string */
	char *secret;            /* the password, to scrub from messages */
	char dbms[64];
	const struct dialect *d;
	bool chunked;            /* the walk goes in ranges (d->chunked, tables) */
	const char *updated_column;   /* conf's; NULL: none */
	long login_timeout, query_timeout;
	size_t fetch_rows;
	size_t read_ahead;       /* source.read_ahead: readers of a ranged walk */
	char *ranges_conn;       /* their connection string (holds the password) */
	struct block b;
	int (*tick)(void *ctx);  /* source_set_tick's; NULL: none */
	void *tick_ctx;

	/* The case being gathered. */
	char ref[VALUE_MAX];
	bool have_ref, ref_null;
	bool have_case;
	size_t dup_cases;        /* further case rows with this ref */
	size_t case_at[4];       /* child, dob, team, worker */
	struct held_event *ev;
	struct source_event *out;
	size_t nev, ev_cap;
	char *text;
	size_t text_len, text_cap;
};

struct walk {
	struct source_odbc *src;
	source_case_fn fn;
	source_orphan_fn orphan;
	void *ctx;
	struct dl_error *err;
	char prev[VALUE_MAX];    /* the last case_ref finished */
	bool have_prev;
};

/* A statement of the walk, made ready to run: SQL_WALK with filter on
 * dbc, its parameters bound to refs and its columns to b. */
struct walk_stmt {
	SQLHSTMT st;
	SQLLEN len[2];
	char sql[1024];
};

/* Where a ranged walk stands: ranges (lo, hi] of case_ref one after the
 * other, then the rows whose case_ref is NULL (PostgreSQL sorts them last,
 * so the one statement would give them last too). */
enum range_stage { RANGE_FIRST, RANGE_NEXT, RANGE_NULLS, RANGE_DONE };

struct range_cursor {
	enum range_stage stage;
	char lo[VALUE_MAX];      /* RANGE_NEXT: the last range's end */
	size_t claimed;          /* ranges handed out */
};

/* One range: its number, its filter and the values bound to it. */
struct range_spec {
	size_t index;
	char filter[128];
	char lo[VALUE_MAX], hi[VALUE_MAX];
	const char *refs[2];     /* into lo and hi */
	size_t nrefs;
};

struct reader;

static inline const char *odbc_cell(const struct block *b, int col, size_t row)
{
	return b->ind[col][row] == SQL_NULL_DATA ? NULL : b->val[col] + row * VALUE_MAX;
}

/* source_odbc.c */
/* err: "case database NAME: WHAT: the driver's diagnostics", scrubbed. */
int odbc_error(struct source_odbc *src, SQLSMALLINT type, SQLHANDLE h, const char *what,
	       struct dl_error *err);
/* Connect *dbc read-only by the connection string conn. */
int odbc_connect(struct source_odbc *src, const char *conn, SQLHDBC *dbc, struct dl_error *err);
void odbc_disconnect(SQLHDBC *dbc);
/* The session on dbc read-only, with the server's statement timeout. */
int odbc_setup_session(struct source_odbc *src, SQLHDBC dbc, struct dl_error *err);
/* A statement on dbc, with the query timeout. */
int odbc_statement(struct source_odbc *src, SQLHDBC dbc, SQLHSTMT *st, struct dl_error *err);
/* Run sql on dbc, no result wanted; what names it in err. */
int odbc_exec(struct source_odbc *src, SQLHDBC dbc, const char *sql, const char *what,
	      struct dl_error *err);
int odbc_block_alloc(struct block *b, size_t n);
void odbc_block_free(struct block *b);
/* Is a value of b's row longer than its buffer?  (true with err set) */
bool odbc_truncated(const struct source_odbc *src, const struct block *b, size_t row,
		    struct dl_error *err);
/* The walk's tick (source_set_tick's hook, source_giving_up): -1 with
 * err, and st cancelled, when the read is to be given up. */
int odbc_walk_tick(struct walk *w, SQLHSTMT st);
/* One row of the walk, in key order: non-zero stops the walk. */
int odbc_walk_row(struct walk *w, const struct row_view *r);
int odbc_walk_prepare(struct source_odbc *src, SQLHDBC dbc, struct block *b, const char *filter,
		      const char *const *refs, size_t nrefs, struct walk_stmt *ws,
		      struct dl_error *err);
void odbc_walk_unprepare(struct walk_stmt *ws);
/* The next range of c (its end found on dbc, by reader rd or NULL): 1, 0
 * when none is left, or -1. */
int odbc_range_next(struct source_odbc *src, SQLHDBC dbc, struct reader *rd,
		    struct range_cursor *c, struct range_spec *rs, struct dl_error *err);
/* A ranged walk on the source's own connection. */
int odbc_walk_chunks(struct walk *w);

/* source_odbc_ahead.c */
/* A ranged walk, by readers when any can be set up (else
 * odbc_walk_chunks).  The caller holds the walk's transaction. */
int odbc_walk_ranges(struct walk *w);
/* Execute st (prepared with sql) for reader rd, cancellable while it
 * runs; rd NULL: simply execute it. */
SQLRETURN odbc_run_cancellable(struct reader *rd, SQLHSTMT st, const char *sql);

#endif
