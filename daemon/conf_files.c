/* conf_files.c — check the files libconfig will read (see conf_files.h).
 *
 * Why check first rather than parse in a child process (as OpenBSD daemons
 * do): the check is one extra read of a few small files, the parse stays in
 * this process (so every setting keeps its FILE:LINE for messages, and a
 * reload needs no fork of a daemon holding curl and SQLite handles), and
 * the same walk finds the numbers libconfig would misread.  The window it
 * leaves -- a file replaced by a FIFO between this check and libconfig's
 * read -- needs someone who can write the configuration folder, and so
 * could stop the service anyway.
 *
 * The walk follows libconfig 1.5's scanner: "@include" counts only at the
 * start of a line outside comments and strings; its name takes the escapes
 * \\ and \"; the file opened is INCLUDE_DIR "/" NAME, even for an absolute
 * NAME; numbers are [+-]digits or 0x..., an L suffix making them 64-bit.
 */
#include "deadlined/conf_files.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/regfile.h"

#define NAME_MAX_LEN 64
#define NEST_MAX 32

struct walk {
	const char *dir;
	struct dl_errors *errors;
	size_t total;                     /* bytes read so far, every file */
	char nest[NEST_MAX][NAME_MAX_LEN]; /* enclosing group names */
	int depth_nest;
	char pending[NAME_MAX_LEN];       /* the name before '=' or ':' */
	bool named;                       /* pending is a setting's name */
};

/* Where in a file the scan is. */
struct pos {
	const char *file;
	const char *p, *end;
	int line;
};

static void walk_file(struct walk *w, const char *path, const struct pos *from, int depth,
		      const char *hint);

/* "source.busy_timeout_ms": the enclosing groups and the pending name. */
static void setting_path(const struct walk *w, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i <= w->depth_nest && i < NEST_MAX; i++) {
		const char *name = i < w->depth_nest ? w->nest[i] : w->named ? w->pending : "";

		if (*name && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "." : "", name);
	}
	if (!buf[0])
		snprintf(buf, size, "(top level)");
}

static bool is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '*';
}

static const char *skip_comment(struct pos *s)
{
	const char *p = s->p;

	if (*p == '#' || (p[0] == '/' && p + 1 < s->end && p[1] == '/')) {
		while (p < s->end && *p != '\n')
			p++;
		return p;
	}
	for (p += 2; p < s->end && !(p[0] == '*' && p + 1 < s->end && p[1] == '/'); p++)
		s->line += *p == '\n';
	return p + 2 > s->end ? s->end : p + 2;
}

/* A quoted string from the opening quote; its length goes to *len. */
static const char *skip_string(struct pos *s, size_t *len)
{
	const char *p = s->p + 1;

	while (p < s->end && *p != '"') {
		if (*p == '\\' && p + 1 < s->end)
			p++;
		s->line += *p == '\n';
		p++;
	}
	*len = (size_t)(p - s->p - 1);
	return p < s->end ? p + 1 : p;
}

/* A whole number libconfig would store as something else is reported as
 * written: 32 bits without an L suffix, 64 with. */
static const char *check_number(struct walk *w, struct pos *s)
{
	const char *p = s->p, *digits;
	bool neg = *p == '-', hex;
	unsigned long long v, lim;
	char where[NAME_MAX_LEN * NEST_MAX];

	if (*p == '-' || *p == '+')
		p++;
	digits = p;
	hex = p + 1 < s->end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	p += hex ? 2 : 0;
	while (p < s->end && (hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
		p++;
	if (!hex && p < s->end && (*p == '.' || *p == 'e' || *p == 'E')) {
		while (p < s->end && (isdigit((unsigned char)*p) || strchr(".eE+-", *p)))
			p++;
		return p;     /* a decimal number: libconfig reads it as a double */
	}
	errno = 0;
	v = strtoull(digits, NULL, hex ? 16 : 10);
	lim = p < s->end && *p == 'L' ? (neg ? 1ULL << 63 : INT64_MAX) :
					(neg ? 1ULL << 31 : INT32_MAX);
	if (errno == ERANGE || v > lim) {
		setting_path(w, where, sizeof where);
		errors_add(w->errors, "%s:%d: %s: %.*s is too big; a whole number here is "
			   "at %s %s%llu", s->file, s->line, where, (int)(p - s->p), s->p,
			   neg ? "least" : "most", neg ? "-" : "", lim);
	}
	return p;
}

/* An @include at the start of a line: check the file it names, then walk it. */
static const char *follow_include(struct walk *w, struct pos *s, int depth)
{
	const char *p = s->p + strlen("@include");
	char name[1024], path[2048];
	size_t n = 0;

	while (p < s->end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == s->p + strlen("@include") || p >= s->end || *p != '"')
		return p;     /* not an include to libconfig either: its syntax error */
	for (p++; p < s->end && *p != '"' && *p != '\n'; p++) {
		if (*p == '\\' && p + 1 < s->end && (p[1] == '\\' || p[1] == '"'))
			p++;
		if (n + 1 < sizeof name)
			name[n++] = *p;
	}
	name[n] = '\0';
	if (w->dir)
		snprintf(path, sizeof path, "%s/%s", w->dir, name);
	else
		snprintf(path, sizeof path, "%s", name);
	if (depth + 1 >= CONF_MAX_DEPTH)
		errors_add(w->errors, "%s:%d: @include \"%s\": includes nest more than %d deep",
			   s->file, s->line, name, CONF_MAX_DEPTH);
	else
		walk_file(w, path, s, depth + 1, name[0] == '/' && w->dir ?
			  " (@include names are relative to the main file's folder)" : "");
	return p < s->end ? p + 1 : p;
}

static void open_group(struct walk *w)
{
	if (w->depth_nest < NEST_MAX)
		snprintf(w->nest[w->depth_nest], NAME_MAX_LEN, "%s", w->named ? w->pending : "");
	w->depth_nest++;
	w->named = false;
}

/* Walk one file's text as libconfig's scanner would. */
static void walk_text(struct walk *w, struct pos *s, int depth)
{
	bool line_start = true;
	size_t run = 0;       /* bytes of adjacent strings: libconfig joins them */
	int run_line = 0;

	while (s->p < s->end) {
		char c = *s->p;
		const char *next = s->p + 1;

		if (c == '"') {
			size_t len;
			int line = s->line;

			next = skip_string(s, &len);
			run_line = run ? run_line : line;
			if ((run += len) > CONF_MAX_VALUE_BYTES) {
				errors_add(w->errors, "%s:%d: a string of more than %d bytes; a value "
					   "is at most %d bytes", s->file, run_line,
					   CONF_MAX_VALUE_BYTES, CONF_MAX_VALUE_BYTES);
				run = 0;
				next = s->end;   /* one message a file is enough */
			}
		} else if (c == '#' || (c == '/' && next < s->end && (*next == '/' || *next == '*'))) {
			next = skip_comment(s);
		} else if (c == '@' && line_start && (size_t)(s->end - s->p) > 8 &&
			   strncmp(s->p, "@include", 8) == 0) {
			next = follow_include(w, s, depth);
			run = 0;
		} else if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && next < s->end &&
							 isdigit((unsigned char)*next))) {
			next = check_number(w, s);
			run = 0;
		} else if (isalpha((unsigned char)c) || c == '*') {
			size_t n = 0;

			for (next = s->p; next < s->end && is_name_char(*next); next++)
				if (n + 1 < NAME_MAX_LEN)
					w->pending[n++] = *next;
			w->pending[n] = '\0';
			w->named = true;
			run = 0;
		} else if (c == '{' || c == '(' || c == '[') {
			open_group(w);
		} else if (c == '}' || c == ')' || c == ']') {
			w->depth_nest -= w->depth_nest > 0;
			w->named = false;
		} else if (c == ';' || c == ',') {
			w->named = false;
			run = 0;
		}
		/* Comments and strings may span lines; count the newline here. */
		if (c == '\n')
			s->line++;
		line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
		s->p = next;
	}
}

static void walk_file(struct walk *w, const char *path, const struct pos *from, int depth,
		      const char *hint)
{
	struct dl_error err;
	struct pos s = { .file = path, .line = 1 };
	char *text;
	size_t len;

	if (w->total > CONF_MAX_TOTAL_BYTES)
		return;       /* said once already */
	if (regfile_read(path, CONF_MAX_FILE_BYTES, &text, &len, &err) < 0) {
		if (from)
			errors_add(w->errors, "%s:%d: @include: %s%s", from->file, from->line,
				   err.msg, hint);
		else
			errors_add(w->errors, "%s", err.msg);
		return;
	}
	if ((w->total += len) > CONF_MAX_TOTAL_BYTES) {
		errors_add(w->errors, "%s: the configuration with its includes is more than %d "
			   "bytes", path, CONF_MAX_TOTAL_BYTES);
	} else {
		s.p = text;
		s.end = text + len;
		walk_text(w, &s, depth);
	}
	free(text);
}

int conf_files_check(const char *path, const char *include_dir, struct dl_errors *errors)
{
	struct walk w = { .dir = include_dir, .errors = errors };
	size_t before = errors->n;

	walk_file(&w, path, NULL, 0, "");
	return errors->n == before ? 0 : -1;
}
