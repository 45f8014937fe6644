/* ssd.h — the Standard Safeguarding Dataset (SSD): a folder of CSV
 * extracts, one per SSD table, into an SQLite case database with the views
 * of conf/schema/ssd-views.sql (docs/SSD.md).
 *
 * Every DIR/NAME.csv becomes table NAME (lower-cased; NAME of letters,
 * digits and _), with the header's columns, unknown ones kept, every value
 * TEXT.  An empty field and an unquoted NULL are NULL.  Columns named
 * *_date, *_dob or *_due hold dates: YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS[.f]]
 * (a 'T' or a space) or DD/MM/YYYY [HH:MM[:SS]], stored as YYYY-MM-DD or
 * YYYY-MM-DDTHH:MM[:SS]; a time of exactly midnight is dropped, since SQL
 * Server writes date columns as datetimes.  The SSD tables the views read,
 * and the contact tables (deadlined_team_contacts, deadlined_worker_contacts)
 * and deadlined_extra_events, are created empty when their file is absent,
 * and a standard column a file lacks is added (NULL), so the views always
 * compile.
 *
 * A bad row (a malformed CSV record, a count of fields unlike the header's,
 * a date column that holds no date) is reported to note as
 * "FILE:LINE: what; expected what" and not loaded.  Without allow_bad_rows
 * any bad row refuses the whole import.
 *
 * The import is one transaction into a temporary file beside db_path,
 * synced and then renamed over db_path: a failed or refused import leaves
 * the old file as it was, and a reader that has the old file open keeps
 * reading the old data.  The new file keeps the old one's mode and group
 * (0640 for a first import).
 */
#ifndef DEADLINED_SSD_H
#define DEADLINED_SSD_H

#include <stdbool.h>

#include "deadlined/csv.h"
#include "deadlined/error.h"

struct sqlite3;

/* One line for the user: a bad row or a warning, without a newline. */
typedef void (*ssd_note_fn)(void *ctx, const char *msg);

struct ssd_summary {
	int files;             /* CSV files loaded */
	long rows, bad_rows;   /* rows loaded, rows refused */
};

/* Bad rows listed per file before the rest are only counted. */
#define SSD_MAX_LISTED 20

enum { SSD_OK = 0, SSD_FAILED = -1, SSD_BAD_INPUT = -2 };

/* Import the folder dir into db_path.  SSD_OK; SSD_BAD_INPUT (dir missing
 * or unreadable, a file that cannot be a table, bad rows without
 * allow_bad_rows: err says which); SSD_FAILED (writing failed: err). */
int ssd_import(const char *dir, const char *db_path, bool allow_bad_rows,
	       ssd_note_fn note, void *ctx, struct ssd_summary *sum, struct dl_error *err);

/* Load one CSV (its records from r; label names it in notes) into a new
 * table of db.  Bad rows are counted in sum->bad_rows and noted; a header
 * that cannot name a table's columns counts as one bad row.  -1 with err
 * on a database error. */
int ssd_load_table(struct sqlite3 *db, const char *table, const char *label,
		   struct csv_reader *r, ssd_note_fn note, void *ctx,
		   struct ssd_summary *sum, struct dl_error *err);

/* Create the standard tables and columns that are missing, then the views. */
int ssd_install_views(struct sqlite3 *db, struct dl_error *err);

/* A date column's value as stored: 0 and the canonical text in out
 * (DATE_MOMENT_BUF bytes), or -1 when text is not a date. */
int ssd_normalize_date(const char *text, char *out);

/* Is the column named name a date column (*_date, *_dob, *_due)? */
bool ssd_is_date_column(const char *name);

#endif
