/* csv.h — reading RFC 4180 CSV record by record.
 *
 * Fields are separated by commas and records by CRLF, LF or a lone CR.  A
 * field in double quotes may hold commas, line breaks and doubled quotes
 * (""), which stand for one quote.  A UTF-8 byte-order mark at the start of
 * the input is skipped.  Blank lines between records are skipped.  Every
 * field must be valid UTF-8 and hold no NUL byte.
 *
 * A malformed record (a quote inside an unquoted field, text after a
 * closing quote, a quoted field still open at the end of the input, bad
 * UTF-8, a field or record over the limits below) is reported as CSV_BAD
 * with the line it starts on and what was wrong; the reader has then
 * skipped to the end of that line, so the caller may count it and go on.
 * Memory is bounded by the limits, whatever the input.
 */
#ifndef DEADLINED_CSV_H
#define DEADLINED_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "deadlined/error.h"

#define CSV_MAX_FIELD  (1024 * 1024)   /* bytes in one field */
#define CSV_MAX_FIELDS 4096            /* fields in one record */

enum {
	CSV_FAIL = -2,     /* reading failed (I/O, memory): stop */
	CSV_BAD = -1,      /* a malformed record, skipped: err says why */
	CSV_EOF = 0,
	CSV_RECORD = 1,
};

struct csv_reader;

/* One record; the strings are valid until the next csv_next or csv_close. */
struct csv_record {
	char **field;      /* NUL-terminated */
	size_t *len;       /* bytes in each field */
	bool *quoted;      /* was the field in quotes */
	size_t n;
	long line;         /* the line (from 1) the record starts on */
};

/* Read the file at path (errors name it and the reason). */
int csv_open_file(const char *path, struct csv_reader **out, struct dl_error *err);
/* Read len bytes at data; data must outlive the reader. */
int csv_open_mem(const void *data, size_t len, struct csv_reader **out,
		 struct dl_error *err);
void csv_close(struct csv_reader *r);

/* The next record: CSV_RECORD, CSV_EOF, CSV_BAD (rec->line and err say
 * where and what; reading may go on) or CSV_FAIL (err says why). */
int csv_next(struct csv_reader *r, struct csv_record *rec, struct dl_error *err);

/* Is text (len bytes) valid UTF-8 with no NUL?  For callers checking
 * strings from elsewhere as the reader checks fields. */
bool csv_utf8_valid(const char *text, size_t len);

#endif
