/* source.h — reading the case database.
 *
 * The daemon reads exactly four relations (tables or views): deadlined_cases,
 * deadlined_events, deadlined_teams and deadlined_workers (DESIGN.md, "The
 * case-database contract").  The database is opened read-only, so a bug can
 * never alter a case record.  Cases are streamed one at a time with their
 * events, so memory does not grow with the size of the source.
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

/* Open path read-only, waiting up to busy_timeout_ms for a writer's lock,
 * and check that the four relations exist with the contract's columns.
 * Errors name the file and the missing relation or column. */
int source_open(const char *path, long busy_timeout_ms, struct source **out,
		struct dl_error *err);
void source_close(struct source *src);

/* Call fn for every case in case_ref order (or only for case_ref when not
 * NULL), with its events; the pointers are valid only during the call.
 * Events whose case_ref matches no case are reported to orphan (may be
 * NULL) once per such case_ref.  A case row that is not delivered, because
 * its case_ref is NULL or repeats an earlier row's, is reported to orphan
 * with nevents 0; a NULL case_ref is passed as "(null)".  case_refs match
 * and sort as SQLite's BINARY collation does.  fn must not start another
 * walk on src.  A non-zero return from fn stops the walk and is returned.
 * Returns -1 with err on a database error. */
typedef int (*source_case_fn)(void *ctx, const struct source_case *c);
typedef void (*source_orphan_fn)(void *ctx, const char *case_ref, size_t nevents);
int source_each_case(struct source *src, const char *case_ref, source_case_fn fn,
		     source_orphan_fn orphan, void *ctx, struct dl_error *err);

int source_load_directory(struct source *src, struct source_directory *out,
			  struct dl_error *err);
void source_free_directory(struct source_directory *dir);
/* For other backends: sort rows read in any order (each string malloc'd)
 * and keep the first of each ref, as source_load_directory and
 * source_load_expected do. */
void source_sort_directory(struct source_directory *dir);
struct source_expected_list;
void source_sort_expected(struct source_expected_list *list);
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

/* SQLite's change counter for this connection (PRAGMA data_version): it
 * changes when another connection has committed a change. */
int source_data_version(struct source *src, int64_t *out, struct dl_error *err);

/* The change log (deadlined_changes, see conf/schema/native.sql): does
 * this source have one? */
bool source_has_change_log(const struct source *src);

/* Call fn with the case_ref of every change after seq `after` (a case may
 * come more than once; NULL means "everything": a change to teams or
 * workers, a NULL case_ref, rows pruned before they were read, or a log
 * that went backwards, as when the file was replaced).  With after < 0,
 * fn is not called.  *top receives the highest seq given so far (0 without
 * a log).  A non-zero return from fn stops the walk and is returned. */
typedef int (*source_change_fn)(void *ctx, const char *case_ref);
int source_changes(struct source *src, int64_t after, source_change_fn fn, void *ctx,
		   int64_t *top, struct dl_error *err);

/* The schema cookie (PRAGMA schema_version): it changes when a table,
 * view or trigger is made, changed or dropped, which the change log does
 * not record, so the caller opens the source again (checking the four
 * relations) and evaluates in full. */
int source_schema_version(struct source *src, int64_t *out, struct dl_error *err);

/* source.updated_column: a column of deadlined_cases that the council's
 * system moves forward (a timestamp, a counter) whenever a case or one of
 * its events changes.  A mark is the highest value seen. */
struct source_mark {
	bool set, is_number;
	double number;
	char text[64];
};
/* Call fn for each case whose column is past *after (nothing when
 * after->set is false); *top receives the highest value seen. */
int source_updated_since(struct source *src, const char *column,
			 const struct source_mark *after, source_change_fn fn, void *ctx,
			 struct source_mark *top, struct dl_error *err);

/* For tests: run one SQL statement through the source's own connection;
 * a write must fail because the connection is read-only. */
int source_exec_for_test(struct source *src, const char *sql, struct dl_error *err);

#endif
