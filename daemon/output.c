/* output.c — rows as a table, CSV (RFC 4180 quoting) or JSON (jansson). */
#include "deadlined/output.h"

#include "deadlined/vec.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int output_name_index(const char *const *names, const char *text)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

int output_parse_format(const char *text, enum output_format *out)
{
	static const char *const names[] = { "table", "csv", "json", NULL };
	int i = output_name_index(names, text);

	if (i < 0)
		return -1;
	*out = (enum output_format)i;
	return 0;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int output_add_obligation(struct output_rows *rows, const struct source_case *c,
			  const struct obligation *ob)
{
	struct output_row *r;

	if (vec_reserve((void **)&rows->v, &rows->cap, rows->n, sizeof *rows->v) < 0)
		return -1;
	r = &rows->v[rows->n++];
	r->case_ref = dup_or_empty(c->case_ref);
	r->rule = dup_or_empty(ob->rule->id);
	r->team_ref = dup_or_empty(c->team_ref);
	r->worker_ref = dup_or_empty(c->worker_ref);
	r->state = dup_or_empty(rules_state_name(ob->state));
	r->seq = ob->seq;
	r->days_overdue = ob->days_overdue;
	r->stage = ob->stage;
	date_format_moment(ob->anchor, r->anchor);
	date_format_moment(ob->due, r->due);
	return r->case_ref && r->rule && r->team_ref && r->worker_ref && r->state ? 0 : -1;
}

int output_add_finding(struct output_rows *rows, const char *case_ref, const char *problem)
{
	if (vec_reserve((void **)&rows->f, &rows->capf, rows->nf, sizeof *rows->f) < 0)
		return -1;
	rows->f[rows->nf].case_ref = dup_or_empty(case_ref);
	rows->f[rows->nf++].problem = dup_or_empty(problem);
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct output_row *x = a, *y = b;
	int c;

	if (x->days_overdue != y->days_overdue)
		return x->days_overdue > y->days_overdue ? -1 : 1;
	if ((c = strcmp(x->due, y->due)) != 0)
		return c;
	if ((c = strcmp(x->case_ref, y->case_ref)) != 0)
		return c;
	return strcmp(x->rule, y->rule);
}

void output_sort(struct output_rows *rows)
{
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof *rows->v, cmp_rows);
}

void output_csv_field(FILE *out, const char *s, const char *sep)
{
	if (strpbrk(s, ",\"\r\n")) {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else {
		fputs(s, out);
	}
	fputs(sep, out);
}

void output_csv_text(FILE *out, const char *s, const char *sep)
{
	/* A spreadsheet runs a cell that starts with one of these as a formula
	 * (OWASP's CSV injection): a leading quote makes it text. */
	if (*s && strchr("=+-@\t\r", *s)) {
		char *quoted = NULL;

		if (asprintf(&quoted, "'%s", s) >= 0) {
			output_csv_field(out, quoted, sep);
			free(quoted);
			return;
		}
	}
	output_csv_field(out, s, sep);
}

/* The length of the valid UTF-8 sequence at s (1 for ASCII), or 0 when it
 * is not one (a stray continuation byte, an overlong form, a surrogate, a
 * code point past U+10FFFF, a sequence cut short). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 :
		   s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;

	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* s for a text listing, into buf: a control character (line feed and
 * carriage return included, so case data cannot forge a line), a C1
 * control, a byte of invalid UTF-8 and the backslash become visible
 * escapes (\n, \r, \t, \\, \xHH), so the row can still be found in the
 * case system; valid UTF-8 passes as it is.  Cut to fit buf. */
const char *output_visible(const char *s, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = 0;

	while (*p && n + 5 < size) {
		size_t len = utf8_len(p);
		const char *esc = *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" :
				  *p == '\\' ? "\\\\" : NULL;

		if (esc) {
			n += (size_t)snprintf(buf + n, size - n, "%s", esc);
		} else if (len == 0 || *p < 0x20 || *p == 0x7F || (p[0] == 0xC2 && p[1] < 0xA0)) {
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", *p);
			len = 1;
		} else {
			if (n + len >= size)
				break;
			memcpy(buf + n, p, len);
			n += len;
		}
		p += len ? len : 1;
	}
	buf[n] = '\0';
	return buf;
}

/* Cut s to width, marking the cut with '~' so nothing looks whole that is
 * not; case data is shown visibly (output_visible). */
static void cell(FILE *out, const char *raw, int width, bool last)
{
	char buf[256];
	const char *s = output_visible(raw, buf, sizeof buf);
	int len = (int)strlen(s);

	if (len > width)
		fprintf(out, "%.*s~", width - 1, s);
	else if (last)
		fputs(s, out);
	else
		fprintf(out, "%-*s", width, s);
	fputs(last ? "\n" : " ", out);
}

static void print_table(FILE *out, const struct output_rows *rows)
{
	char num[16];

	/* 16+20+3+10+9+4+12 and six spaces: 80 columns. */
	fprintf(out, "%-16s %-20s %3s %-10s %-9s %4s %s\n", "CASE", "RULE", "SEQ", "DUE",
		"STATE", "WD", "TEAM/WORKER");
	for (size_t i = 0; i < rows->n; i++) {
		const struct output_row *r = &rows->v[i];
		char who[64];

		cell(out, r->case_ref, 16, false);
		cell(out, r->rule, 20, false);
		fprintf(out, "%3d %-10.10s ", r->seq, r->due);   /* the day; CSV has the time */
		snprintf(num, sizeof num, "%s%s", r->state, r->stage ? "+" : "");
		cell(out, num, 9, false);
		snprintf(num, sizeof num, "%d", r->days_overdue);
		fprintf(out, "%4s ", r->days_overdue ? num : "");
		snprintf(who, sizeof who, "%s/%s", r->team_ref, r->worker_ref[0] ? r->worker_ref : "-");
		cell(out, who, 12, true);
	}
	fprintf(out, "%zu obligation%s\n", rows->n, rows->n == 1 ? "" : "s");
}

static void print_csv(FILE *out, const struct output_rows *rows)
{
	fputs("case_ref,rule,seq,anchor,due,state,days_overdue,team_ref,worker_ref,stage\n", out);
	for (size_t i = 0; i < rows->n; i++) {
		const struct output_row *r = &rows->v[i];

		output_csv_field(out, r->case_ref, ",");
		output_csv_field(out, r->rule, ",");
		fprintf(out, "%d,%s,%s,%s,%d,", r->seq, r->anchor, r->due, r->state, r->days_overdue);
		output_csv_field(out, r->team_ref, ",");
		output_csv_field(out, r->worker_ref, ",");
		fprintf(out, "%d\n", r->stage);
	}
}

static void print_json(FILE *out, json_t *array)
{
	char *text = json_dumps(array, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text) {
		fprintf(out, "%s\n", text);
		free(text);
	}
	json_decref(array);
}

static json_t *nullable(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

void output_print_obligations(FILE *out, const struct output_rows *rows,
			      enum output_format format)
{
	json_t *array;

	if (format == OUTPUT_TABLE) {
		print_table(out, rows);
		return;
	}
	if (format == OUTPUT_CSV) {
		print_csv(out, rows);
		return;
	}
	array = json_array();
	for (size_t i = 0; i < rows->n; i++) {
		const struct output_row *r = &rows->v[i];

		json_array_append_new(array, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:o, s:o, s:i}",
			"case_ref", r->case_ref, "rule", r->rule, "seq", r->seq,
			"anchor", r->anchor, "due", r->due, "state", r->state,
			"days_overdue", r->days_overdue, "team_ref", nullable(r->team_ref),
			"worker_ref", nullable(r->worker_ref), "stage", r->stage));
	}
	print_json(out, array);
}

void output_print_findings(FILE *out, const struct output_rows *rows,
			   enum output_format format)
{
	json_t *array;

	if (format == OUTPUT_JSON) {
		array = json_array();
		for (size_t i = 0; i < rows->nf; i++)
			json_array_append_new(array, json_pack("{s:s, s:s}", "case_ref",
				rows->f[i].case_ref, "problem", rows->f[i].problem));
		print_json(out, array);
		return;
	}
	if (format == OUTPUT_CSV)
		fputs("case_ref,problem\n", out);
	for (size_t i = 0; i < rows->nf; i++) {
		if (format == OUTPUT_CSV) {
			output_csv_field(out, rows->f[i].case_ref, ",");
			output_csv_field(out, rows->f[i].problem, "\n");
		} else {
			char ref[256], problem[2048];

			fprintf(out, "%-16s %s\n",
				output_visible(rows->f[i].case_ref, ref, sizeof ref),
				output_visible(rows->f[i].problem, problem, sizeof problem));
		}
	}
	if (format == OUTPUT_TABLE)
		fprintf(out, "%zu finding%s\n", rows->nf, rows->nf == 1 ? "" : "s");
}

void output_free(struct output_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		free(rows->v[i].case_ref);
		free(rows->v[i].rule);
		free(rows->v[i].team_ref);
		free(rows->v[i].worker_ref);
		free(rows->v[i].state);
	}
	for (size_t i = 0; i < rows->nf; i++) {
		free(rows->f[i].case_ref);
		free(rows->f[i].problem);
	}
	free(rows->v);
	free(rows->f);
	memset(rows, 0, sizeof *rows);
}

/* ---- text for a terminal ---------------------------------------------- */

struct safe_stream {
	FILE *to;
	bool after_c2;          /* the last byte written was 0xC2 (UTF-8 lead) */
};

/* C0 controls but newline and tab, DEL, and the C1 controls (UTF-8
 * C2 80..C2 9F) become '?': case data must not move a terminal's cursor,
 * retitle its window or forge a line. */
static ssize_t safe_write(void *cookie, const char *buf, size_t size)
{
	struct safe_stream *ss = cookie;

	for (size_t i = 0; i < size; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (ss->after_c2) {
			ss->after_c2 = false;
			if (c >= 0x80 && c <= 0x9F) {
				fputc('?', ss->to);
				continue;
			}
			fputc(0xC2, ss->to);
		}
		if (c == 0xC2)
			ss->after_c2 = true;
		else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
			fputc('?', ss->to);
		else
			fputc(c, ss->to);
	}
	return ferror(ss->to) ? -1 : (ssize_t)size;
}

static int safe_close(void *cookie)
{
	struct safe_stream *ss = cookie;

	if (ss->after_c2)
		fputc(0xC2, ss->to);
	free(ss);
	return 0;
}

FILE *output_terminal_safe(FILE *to)
{
	static const cookie_io_functions_t io = { .write = safe_write, .close = safe_close };
	struct safe_stream *ss = calloc(1, sizeof *ss);
	FILE *f;

	if (!ss)
		return NULL;
	ss->to = to;
	if (!(f = fopencookie(ss, "w", io)))
		free(ss);
	return f;
}

int output_write_atomic(const char *path, output_fill_fn fill, const void *ctx,
			struct dl_error *err)
{
	char *tmp = NULL;
	mode_t mask;
	FILE *f;
	int fd, rc;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		error_set(err, "out of memory");
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		error_set(err, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	/* mkstemp makes 0600; a file for sharing honours the umask. */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	rc = (f = fdopen(fd, "w")) ? fill(f, ctx) : -1;
	if (f && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		rc = -1;
	if (f ? fclose(f) != 0 : close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc < 0) {
		error_set(err, "%s", strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc < 0 ? -1 : 0;
}
