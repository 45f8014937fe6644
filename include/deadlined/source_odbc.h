/* source_odbc.h — the case database live through ODBC (unixODBC).
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
 */
#ifndef DEADLINED_SOURCE_ODBC_H
#define DEADLINED_SOURCE_ODBC_H

#include <stdbool.h>

#include "deadlined/error.h"
#include "deadlined/source.h"

struct source_odbc;

struct source_odbc_config {
	const char *dsn;            /* a data source of odbc.ini, or NULL */
	const char *connection;     /* a connection string, or NULL */
	const char *user;           /* UID, or NULL (then the DSN's) */
	const char *credentials;    /* password file: absolute, or a name in
				       $CREDENTIALS_DIRECTORY; NULL: none */
	long login_timeout;         /* seconds */
	long query_timeout;         /* seconds */
	long fetch_rows;            /* rows a block */
};

/* Connect and check the four relations.  Errors name the data source (as
 * configured: a DSN, or the connection string, which holds no password)
 * and what the driver said, with the password removed. */
int source_odbc_open(const struct source_odbc_config *cfg, struct source_odbc **out,
		     struct dl_error *err);
void source_odbc_close(struct source_odbc *src);

/* As source_each_case (source.h). */
int source_odbc_each_case(struct source_odbc *src, const char *case_ref, source_case_fn fn,
			  source_orphan_fn orphan, void *ctx, struct dl_error *err);
int source_odbc_load_directory(struct source_odbc *src, struct source_directory *out,
			       struct dl_error *err);
int source_odbc_load_expected(struct source_odbc *src, struct source_expected_list *out,
			      bool *present, struct dl_error *err);
/* As source_updated_since (source.h). */
int source_odbc_updated_since(struct source_odbc *src, const char *column,
			      const struct source_mark *after, source_change_fn fn, void *ctx,
			      struct source_mark *top, struct dl_error *err);

/* The server's name as the driver gives it (SQL_DBMS_NAME). */
const char *source_odbc_dbms(const struct source_odbc *src);

/* For tests: run one statement; a write must fail. */
int source_odbc_exec_for_test(struct source_odbc *src, const char *sql, struct dl_error *err);

#endif
