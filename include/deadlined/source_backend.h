/* source_backend.h — what a case-database backend provides.
 *
 * source.c is the backend-neutral half of source.h: it picks a backend by
 * source.driver, builds teams, workers and expected dues from the rows a
 * backend reads, and looks them up.  A backend (source_sqlite.c, the first)
 * fills a struct source_ops and embeds struct source at the start of its
 * own connection struct.  To add one: write source_NAME.c with its ops,
 * declare them below and list them in source.c's table.
 *
 * Every op returns 0, or -1 with err naming the database and what failed.
 * Messages name the database by src->label, which must hold no secret.
 */
#ifndef DEADLINED_SOURCE_BACKEND_H
#define DEADLINED_SOURCE_BACKEND_H

#include <stdbool.h>

#include "deadlined/error.h"
#include "deadlined/source.h"

struct source_ops;

/* The first member of every backend's connection. */
struct source {
	const struct source_ops *ops;
	const char *label;          /* "the database" in messages: a path, a DSN name */
};

/* One row of a relation, its columns as text in the order asked for (NULL
 * stays NULL); the strings are valid only during the call. */
typedef int (*source_row_fn)(void *ctx, const char *const *values);

struct source_ops {
	const char *driver;         /* source.driver's value */

	/* Connect read-only (the driver's read-only mode and whatever guard
	 * the database adds) and set *out.  Nothing is read yet: source_open
	 * calls check_schema next. */
	int (*open)(const struct source_conf *conf, struct source **out, struct dl_error *err);
	/* Check that the four relations exist with the contract's columns
	 * (DESIGN.md), naming the first relation or column missing, and make
	 * ready to read them. */
	int (*check_schema)(struct source *src, struct dl_error *err);
	void (*close)(struct source *src);

	/* source_changed (source.h), except that fn may be called with NULL
	 * for "everything" (a change to teams or workers, a log that lost
	 * rows): source.c turns that into SOURCE_ALL.  A backend that cannot
	 * tell answers SOURCE_ALL. */
	int (*changed)(struct source *src, const struct source_mark *since,
		       source_change_fn fn, void *ctx, struct source_mark *next,
		       enum source_change *what, struct dl_error *err);

	/* source_each_case (source.h): cases in key order with their events,
	 * read as one snapshot. */
	int (*each_case)(struct source *src, const char *case_ref, source_case_fn fn,
			 source_orphan_fn orphan, void *ctx, struct dl_error *err);

	/* Call fn for each row of "SELECT columns FROM relation" (columns is
	 * a comma-separated list of ncolumns names).  When optional and the
	 * relation does not exist, return 1 without calling fn.  A non-zero
	 * return from fn stops the walk and is returned. */
	int (*rows)(struct source *src, const char *relation, const char *columns,
		    size_t ncolumns, bool optional, source_row_fn fn, void *ctx,
		    struct dl_error *err);

	/* source_set_tick (source.h).  May be NULL: the backend has no long
	 * waits of its own.  (Added after the table was frozen, optional.) */
	void (*set_tick)(struct source *src, int (*fn)(void *ctx), void *ctx);

	/* For tests (may be NULL): run one SQL statement on the connection. */
	int (*exec_for_test)(struct source *src, const char *sql, struct dl_error *err);
};

extern const struct source_ops source_sqlite_ops;
extern const struct source_ops source_odbc_ops;     /* source_odbc.c */

#endif
