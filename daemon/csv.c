/* csv.c — RFC 4180 CSV, see csv.h.
 *
 * A byte-at-a-time state machine over a 64 KiB window of the input (a file
 * or memory).  A record's fields are appended, each NUL-terminated, to one
 * growing buffer; the field pointers are set once the record is complete,
 * because the buffer may move while it grows.
 */
#include "deadlined/csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/vec.h"

#define WINDOW 65536

struct csv_reader {
	FILE *file;                  /* NULL when reading memory */
	const unsigned char *mem;
	size_t mem_len, pos;         /* pos: next byte in mem or buf */
	unsigned char *buf;
	size_t buf_len;
	bool eof, io_error, started;
	long line;                   /* the line the next byte is on */

	char *text;                  /* the record's fields, NUL-terminated */
	size_t text_len, text_cap;
	size_t *start;               /* where each field starts in text */
	size_t nstart, start_cap;
	bool *quoted;
	size_t quoted_cap;
	char **field;
	size_t field_cap;
	size_t *len;
	size_t len_cap;
};

#define END (-1)

static int fill(struct csv_reader *r)
{
	if (!r->file || r->eof)
		return END;
	r->buf_len = fread(r->buf, 1, WINDOW, r->file);
	r->pos = 0;
	if (r->buf_len == 0) {
		r->eof = true;
		if (ferror(r->file))
			r->io_error = true;
		return END;
	}
	return 0;
}

static int peek(struct csv_reader *r)
{
	if (!r->file)
		return r->pos < r->mem_len ? r->mem[r->pos] : END;
	if (r->pos >= r->buf_len && fill(r) == END)
		return END;
	return r->buf[r->pos];
}

static int get(struct csv_reader *r)
{
	int c = peek(r);

	if (c != END)
		r->pos++;
	return c;
}

static struct csv_reader *reader_new(void)
{
	struct csv_reader *r = calloc(1, sizeof *r);

	if (r)
		r->line = 1;
	return r;
}

int csv_open_file(const char *path, struct csv_reader **out, struct dl_error *err)
{
	struct csv_reader *r = reader_new();

	*out = NULL;
	if (!r || !(r->buf = malloc(WINDOW))) {
		free(r);
		error_set(err, "%s: out of memory", path);
		return -1;
	}
	if (!(r->file = fopen(path, "rb"))) {
		error_set(err, "%s: %s", path, strerror(errno));
		csv_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

int csv_open_mem(const void *data, size_t len, struct csv_reader **out,
		 struct dl_error *err)
{
	struct csv_reader *r = reader_new();

	*out = NULL;
	if (!r) {
		error_set(err, "out of memory");
		return -1;
	}
	r->mem = data;
	r->mem_len = len;
	*out = r;
	return 0;
}

void csv_close(struct csv_reader *r)
{
	if (!r)
		return;
	if (r->file)
		fclose(r->file);
	free(r->buf);
	free(r->text);
	free(r->start);
	free(r->field);
	free(r->len);
	free(r->quoted);
	free(r);
}

bool csv_utf8_valid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and values past Unicode. */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

/* Why a record is bad; reading then skips the rest of the line. */
struct bad {
	char msg[200];
	bool set;
};

static void bad(struct bad *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct bad *b, const char *fmt, ...)
{
	va_list ap;

	if (b->set)
		return;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof b->msg, fmt, ap);
	va_end(ap);
	b->set = true;
}

/* Append one byte to the current field, within the limits. */
static int put(struct csv_reader *r, size_t field_start, int c, struct bad *b)
{
	if (b->set)
		return 0;
	if (r->text_len - field_start >= CSV_MAX_FIELD) {
		bad(b, "field %zu is longer than %d bytes", r->nstart, CSV_MAX_FIELD);
		return 0;
	}
	if (vec_reserve((void **)&r->text, &r->text_cap, r->text_len, 1) < 0)
		return -1;
	r->text[r->text_len++] = (char)c;
	return 0;
}

/* Start a field: remember where it begins. */
static int begin_field(struct csv_reader *r, struct bad *b)
{
	if (b->set)
		return 0;
	if (r->nstart >= CSV_MAX_FIELDS) {
		bad(b, "more than %d fields", CSV_MAX_FIELDS);
		return 0;
	}
	if (vec_reserve((void **)&r->start, &r->start_cap, r->nstart, sizeof *r->start) < 0 ||
	    vec_reserve((void **)&r->quoted, &r->quoted_cap, r->nstart, sizeof *r->quoted) < 0)
		return -1;
	r->start[r->nstart] = r->text_len;
	r->quoted[r->nstart++] = false;
	return 0;
}

/* A line break at c (CR, LF or CRLF): consume it and count the line. */
static void line_break(struct csv_reader *r, int c)
{
	if (c == '\r' && peek(r) == '\n')
		get(r);
	r->line++;
}

/* After a bad record: drop the rest of the physical line. */
static void skip_line(struct csv_reader *r)
{
	int c;

	while ((c = get(r)) != END)
		if (c == '\n' || c == '\r') {
			line_break(r, c);
			return;
		}
}

/* One quoted field, the opening quote read.  Returns the byte after the
 * closing quote, END, or -2 when out of memory. */
static int quoted_field(struct csv_reader *r, size_t fstart, long first, struct bad *b)
{
	for (;;) {
		int c = get(r);

		if (c == END) {
			bad(b, "a quoted field that starts on line %ld is not closed at the "
			    "end of the file; expected a closing \"", first);
			return END;
		}
		if (c == '"') {
			if (peek(r) != '"')
				return get(r);
			get(r);
		} else if (c == '\n' || (c == '\r' && peek(r) != '\n')) {
			r->line++;
		}
		if (put(r, fstart, c, b) < 0)
			return -2;
	}
}

/* Finish the record: field pointers, UTF-8 and NUL checks. */
static int finish(struct csv_reader *r, struct csv_record *rec, struct bad *b)
{
	size_t n = r->nstart;

	if (vec_reserve((void **)&r->field, &r->field_cap, n, sizeof *r->field) < 0 ||
	    vec_reserve((void **)&r->len, &r->len_cap, n, sizeof *r->len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t end = i + 1 < n ? r->start[i + 1] - 1 : r->text_len - 1;

		r->field[i] = r->text + r->start[i];
		r->len[i] = end - r->start[i];
		if (!csv_utf8_valid(r->field[i], r->len[i]))
			bad(b, "field %zu is not valid UTF-8 or holds a NUL byte; expected "
			    "the file saved as UTF-8", i + 1);
	}
	rec->field = r->field;
	rec->len = r->len;
	rec->quoted = r->quoted;
	rec->n = n;
	return 0;
}

/* Terminate the current field's text with a NUL. */
static int end_field(struct csv_reader *r, struct bad *b)
{
	if (b->set)
		return 0;
	if (vec_reserve((void **)&r->text, &r->text_cap, r->text_len, 1) < 0)
		return -1;
	r->text[r->text_len++] = '\0';
	return 0;
}

int csv_next(struct csv_reader *r, struct csv_record *rec, struct dl_error *err)
{
	struct bad b = { .set = false };
	int c;

	memset(rec, 0, sizeof *rec);
	if (!r->started) {
		r->started = true;
		if (peek(r) == 0xef) {
			/* The whole BOM or nothing: EF alone is a field's byte. */
			size_t save = r->pos;

			get(r);
			if (peek(r) == 0xbb) {
				get(r);
				if (peek(r) == 0xbf)
					get(r);
				else
					r->pos = save;
			} else {
				r->pos = save;
			}
		}
	}
	/* Blank lines between records are not records. */
	while ((c = peek(r)) == '\n' || c == '\r')
		line_break(r, get(r));
	rec->line = r->line;
	if (c == END)
		goto eof;
	r->text_len = 0;
	r->nstart = 0;
	for (;;) {
		size_t fstart;

		if (begin_field(r, &b) < 0)
			goto oom;
		fstart = r->text_len;
		c = get(r);
		if (c == '"') {
			if (!b.set)
				r->quoted[r->nstart - 1] = true;
			c = quoted_field(r, fstart, r->line, &b);
			if (c == -2)
				goto oom;
			if (c != END && c != ',' && c != '\n' && c != '\r') {
				bad(&b, "field %zu: '%c' after a closing quote; expected a comma "
				    "or the end of the line (a quote inside a quoted field is "
				    "written \"\")", r->nstart, c >= 0x20 && c < 0x7f ? c : '?');
				if (end_field(r, &b) < 0)
					goto oom;
				skip_line(r);
				break;
			}
		} else {
			while (c != END && c != ',' && c != '\n' && c != '\r') {
				if (c == '"')
					bad(&b, "field %zu: a quote inside an unquoted field; "
					    "expected the whole field in quotes, with each quote "
					    "inside it doubled", r->nstart);
				if (put(r, fstart, c, &b) < 0)
					goto oom;
				c = get(r);
			}
		}
		if (end_field(r, &b) < 0)
			goto oom;
		if (c == ',')
			continue;
		if (c == '\n' || c == '\r')
			line_break(r, c);
		break;
	}
	if (r->io_error)
		goto eof;
	if (!b.set && finish(r, rec, &b) < 0)
		goto oom;
	if (b.set) {
		error_set(err, "%s", b.msg);
		rec->n = 0;
		return CSV_BAD;
	}
	return CSV_RECORD;
eof:
	if (r->io_error) {
		error_set(err, "read error: %s", strerror(errno ? errno : EIO));
		return CSV_FAIL;
	}
	return CSV_EOF;
oom:
	error_set(err, "out of memory reading line %ld", rec->line);
	return CSV_FAIL;
}
