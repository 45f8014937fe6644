/* output.h — obligations and findings as rows for people (an aligned table
 * for an 80-column terminal) and for programs (CSV with a header, JSON). */
#ifndef DEADLINED_OUTPUT_H
#define DEADLINED_OUTPUT_H

#include <stdio.h>

#include "deadlined/error.h"
#include "deadlined/rules.h"
#include "deadlined/source.h"

enum output_format { OUTPUT_TABLE, OUTPUT_CSV, OUTPUT_JSON };

/* The index of text in a NULL-terminated list of names, or -1. */
int output_name_index(const char *const *names, const char *text);

/* "table", "csv" or "json"; -1 otherwise. */
int output_parse_format(const char *text, enum output_format *out);

struct output_row {
	char *case_ref, *rule, *team_ref, *worker_ref, *state;
	int seq, days_overdue, stage;
	char anchor[DATE_MOMENT_BUF], due[DATE_MOMENT_BUF];
};

struct output_finding {
	char *case_ref, *problem;
};

struct output_rows {
	struct output_row *v;
	size_t n, cap;
	struct output_finding *f;
	size_t nf, capf;
};

int output_add_obligation(struct output_rows *rows, const struct source_case *c,
			  const struct obligation *ob);
int output_add_finding(struct output_rows *rows, const char *case_ref,
		       const char *problem);

/* Worst first: most working days overdue, then earliest due, then case. */
void output_sort(struct output_rows *rows);

void output_print_obligations(FILE *out, const struct output_rows *rows,
			      enum output_format format);
void output_print_findings(FILE *out, const struct output_rows *rows,
			   enum output_format format);
void output_free(struct output_rows *rows);

/* s for a text listing, in buf (cut to fit): control characters, the
 * backslash and invalid UTF-8 as visible escapes (\n, \\, \xff), valid
 * UTF-8 as it is.  Returns buf. */
const char *output_visible(const char *s, char *buf, size_t size);

/* A stream writing to `to` with control characters (but newline and tab)
 * shown as '?', for text meant for a terminal; NULL when out of memory.
 * Closing it does not close `to`. */
FILE *output_terminal_safe(FILE *to);

/* s as one CSV field (RFC 4180 quoting when needed), then sep. */
void output_csv_field(FILE *out, const char *s, const char *sep);
/* The same for text meant for a spreadsheet: a value starting with =, +, -,
 * @, tab or CR is prefixed with ' so that it is not run as a formula. */
void output_csv_text(FILE *out, const char *s, const char *sep);

/* Write path atomically: fill writes into a temporary file beside it
 * (honouring the umask), which is synced and renamed over path only when
 * fill returned 0 and every write succeeded; otherwise it is removed and
 * path is left as it was.  err says what failed ("cannot create ...", or
 * the system's reason). */
typedef int (*output_fill_fn)(FILE *f, const void *ctx);
int output_write_atomic(const char *path, output_fill_fn fill, const void *ctx,
			struct dl_error *err);

#endif
