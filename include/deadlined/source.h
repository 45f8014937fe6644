/* source.h — reading the case database.
 *
 * The daemon reads exactly four relations (tables or views): deadlined_cases,
 * deadlined_events, deadlined_teams and deadlined_workers (DESIGN.md, "The
 * case-database contract").  The database is opened read-only, so a bug can
 * never alter a case record.  Cases are streamed one at a time with their
 * events, so memory does not grow with the size of the source.
 *
 * The database is reached through a backend (source_backend.h): the
 * SQLite file (source_sqlite.c) or another that source.driver names.
 *
 * Values are handed over as the text the database holds (NULL stays NULL);
 * judging them (dates, kinds, missing teams) is the evaluator's job, so a
 * bad row becomes a data-quality finding instead of stopping the read.
 */
#ifndef DEADLINED_SOURCE_H
#define DEADLINED_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadlined/error.h"

struct source;

struct source_event {
	const char *kind;        /* may be NULL */
	const char *occurred;    /* may be NULL; not yet parsed */
	const char *event_ref;   /* may be NULL */
};

struct source_case {
	const char *case_ref;
	const char *child_ref;      /* may be NULL */
	const char *date_of_birth;  /* may be NULL; not yet parsed */
	const char *team_ref;       /* may be NULL */
	const char *worker_ref;     /* may be NULL */
	const struct source_event *events;   /* in the order of occurred (as text) */
	size_t nevents;
};

struct source_team {
	const char *team_ref, *name, *manager_email, *service_manager_email;
};

struct source_worker {
	const char *worker_ref, *name, *email, *team_ref;
};

/* Teams and workers, loaded whole (hundreds of rows), sorted by ref. */
struct source_directory {
	struct source_team *teams;
	size_t nteams;
	struct source_worker *workers;
	size_t nworkers;
};

/* Where the case database is and how to read it: the settings of the
 * `source` group (deadlined.conf(5)).  driver picks the backend. */
struct source_conf {
	const char *driver;          /* "sqlite" or "odbc" (NULL: "sqlite") */
	const char *database;        /* sqlite: the file's path */
	long busy_timeout_ms;        /* sqlite: how long to wait for a writer's lock */
	const char *updated_column;  /* NULL: none (see deadlined.conf(5)) */
	const char *dsn;             /* odbc: a data source of odbc.ini, or NULL */
	const char *connection;      /* odbc: a connection string, or NULL */
	const char *user;            /* odbc: UID, or NULL (the DSN's) */
	const char *credentials;     /* odbc: the password's file, absolute or a
					systemd credential's name; NULL: none */
	long login_timeout;          /* odbc: seconds */
	long query_timeout;          /* odbc: seconds */
	long fetch_rows;             /* odbc: rows a block */
	long read_ahead;             /* odbc: extra connections reading ranges
					ahead of the walk (0: none) */
};

/* Is there a backend of this name? */
bool source_driver_known(const char *driver);
/* The backends' names, comma-separated, for messages. */
const char *source_driver_names(void);

/* Open the case database read-only and check that the four relations
 * exist with the contract's columns.  Errors name the database (never a
 * password) and the missing relation or column. */
int source_open(const struct source_conf *conf, struct source **out, struct dl_error *err);
void source_close(struct source *src);

/* Call fn for every case in case_ref order (or only for case_ref when not
 * NULL), with its events; the pointers are valid only during the call.
 * Events whose case_ref matches no case are reported to orphan (may be
 * NULL) once per such case_ref.  A case row that is not delivered, because
 * its case_ref is NULL or repeats an earlier row's, is reported to orphan
 * with nevents 0; a NULL case_ref is passed as "(null)".  case_refs match
 * and sort as the database's binary order does (SQLite: the BINARY
 * collation).  fn must not start another walk on src.  A non-zero return
 * from fn stops the walk and is returned.  Returns -1 with err on a
 * database error. */
typedef int (*source_case_fn)(void *ctx, const struct source_case *c);
typedef void (*source_orphan_fn)(void *ctx, const char *case_ref, size_t nevents);
int source_each_case(struct source *src, const char *case_ref, source_case_fn fn,
		     source_orphan_fn orphan, void *ctx, struct dl_error *err);

/* A long read of a remote server (the ODBC source) calls fn(ctx) between
 * blocks of rows and between statements, as evaluate calls its tick hook
 * (evaluate.h), so that the service can feed its watchdog; a negative
 * return gives the read up, and the walk fails with err saying so.  Set
 * for the duration of a walk by evaluate, with its own tick hook; NULL
 * removes it.  A backend whose reads are local (SQLite) ignores it. */
void source_set_tick(struct source *src, int (*fn)(void *ctx), void *ctx);

/* Should a long read be given up now?  A process-wide question (the
 * daemon's answer: a stop was asked for) that a remote source asks
 * between ranges and blocks of rows, where its tick hook is asked; the
 * walk then fails ("read given up"), so a poll cut short changes nothing.
 * Only the read: evaluate's tick hook, which the store's apply is also
 * given, never cuts an apply short.  NULL (the default): never. */
void source_set_give_up(bool (*fn)(void));
bool source_giving_up(void);

int source_load_directory(struct source *src, struct source_directory *out,
			  struct dl_error *err);
void source_free_directory(struct source_directory *dir);
const struct source_team *source_find_team(const struct source_directory *dir,
					   const char *team_ref);
const struct source_worker *source_find_worker(const struct source_directory *dir,
					       const char *worker_ref);

/* The case system's own due dates, from the optional fifth relation
 * deadlined_expected_due (case_ref, rule, due, event_ref): for
 * `deadlinectl check-data` to compare with the daemon's.  event_ref names
 * the event that met the obligation; NULL, or an event not (yet) in
 * deadlined_events, means the open one. */
struct source_expected {
	const char *case_ref, *rule, *due, *event_ref;   /* all but case_ref may be NULL */
};

struct source_expected_list {
	struct source_expected *v;   /* sorted by case_ref (strcmp) */
	size_t n;
};

/* Load every row with a case_ref.  *present is false (and the list empty)
 * when the database has no such relation; a relation without the columns
 * is an error. */
int source_load_expected(struct source *src, struct source_expected_list *out,
			 bool *present, struct dl_error *err);
void source_free_expected(struct source_expected_list *list);

/* source.updated_column's high-water mark: the highest value seen, as
 * SQL orders values (every number before every text). */
struct source_hwm {
	bool set, is_number;
	double number;
	char text[64];
};
/* Is a after b?  Anything is after an unset mark. */
bool source_hwm_after(const struct source_hwm *a, const struct source_hwm *b);

/* Where a reader of the source stood after a poll: the answer to "what
 * changed since?" is relative to one.  A zeroed mark (set false) stands
 * before everything.  change_seq and updated may be shown (change_seq is
 * stored as the state's source_seq for a writer that prunes its change
 * log); priv is the backend's own and only it reads it. */
struct source_mark {
	bool set;
	int64_t change_seq;          /* a change log read up to here; 0: none */
	struct source_hwm updated;   /* source.updated_column read up to here */
	unsigned char priv[64];
};

enum source_change {
	SOURCE_UNCHANGED,   /* nothing changed since the mark */
	SOURCE_CASES,       /* these cases changed (given to fn) */
	SOURCE_ALL,         /* anything may have changed: read everything */
	SOURCE_REOPEN,      /* this connection no longer reads what the
			       configuration names (another file at the
			       path, another schema): close it, open again
			       and read everything */
};

/* What changed since *since?  fn receives the case_ref of each changed
 * case (a case may come more than once) when *what is SOURCE_CASES; a
 * non-zero return from fn stops the walk and is returned.  *next receives
 * the mark to pass next time, to be kept only when the poll that used
 * the answer succeeded.  From a zeroed mark the answer is SOURCE_ALL (or
 * SOURCE_REOPEN) and *next is where the source stands before it is read,
 * so what changes during the read is seen next time.  Returns -1 with err
 * on a database error. */
typedef int (*source_change_fn)(void *ctx, const char *case_ref);
int source_changed(struct source *src, const struct source_mark *since, source_change_fn fn,
		   void *ctx, struct source_mark *next, enum source_change *what,
		   struct dl_error *err);

/* For tests: run one SQL statement through the source's own connection;
 * a write must fail because the connection is read-only.  -1 with err
 * from a backend that cannot run SQL text. */
int source_exec_for_test(struct source *src, const char *sql, struct dl_error *err);

#endif
