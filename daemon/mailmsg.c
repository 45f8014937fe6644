/* mailmsg.c — header lines, RFC 2047 subjects, dates and quoted-printable
 * bodies for the smtp and maildir receivers. */
#include "deadlined/mailmsg.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/text.h"

#define LINE_MAX_CHARS 78      /* RFC 5322 2.1.1: SHOULD stay within 78 */
#define QP_LINE_MAX 76         /* RFC 2045 6.7 (5), counting the soft '=' */
#define WORD_BYTES 39          /* UTF-8 bytes an encoded-word carries: its
				  52 base64 characters keep "Subject: " +
				  the word within 76 */
#define ADDRESS_MAX 254
#define MSGID_MAX 200
#define MSGID_DOMAIN "@deadlined"

/* A quoted-printable part can never contain "=_", so this boundary never
 * occurs inside one (RFC 2045 6.7 and RFC 2046 5.1.1's own advice). */
#define BOUNDARY "=_deadlined_alt"

void mailmsg_date(int64_t t, char buf[MAILMSG_DATE_BUF])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	if (!localtime_r(&tt, &tm)) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	off = tm.tm_gmtoff / 60;
	snprintf(buf, MAILMSG_DATE_BUF, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		 labs(off) / 60, labs(off) % 60);
}

/* RFC 5322 atext, plus the dot of a dot-atom. */
static bool is_atom_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

/* Only atom characters, at most one '@' (not first or last); the count of
 * '@' in *ats. */
static bool atoms_ok(const char *s, size_t max, int *ats)
{
	size_t n = strlen(s);

	*ats = 0;
	if (n == 0 || n > max || s[0] == '@' || s[n - 1] == '@')
		return false;
	for (; *s; s++) {
		if (*s == '@')
			++*ats;
		else if (!is_atom_char((unsigned char)*s))
			return false;
	}
	return *ats <= 1;
}

bool mailmsg_address_ok(const char *addr)
{
	int ats;

	return addr && atoms_ok(addr, ADDRESS_MAX, &ats) && ats == 1;
}

/* A copy of s fit to quote in an error: printable ASCII, short. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	s = s ? s : "";
	for (; s[i] && i + 4 < size; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x7e ? s[i] : '?';
	snprintf(buf + i, size - i, "%s", s[i] ? "..." : "");
	return buf;
}

/* Any printable run longer than this is encoded, since only encoded-words
 * can be folded without white space. */
#define PLAIN_WORD_MAX (LINE_MAX_CHARS - 12)

static bool needs_encoding(const char *s)
{
	size_t run = 0;

	if (strstr(s, "=?"))          /* would read as an encoded-word */
		return true;
	for (; *s; s++) {
		if ((unsigned char)*s > 0x7e)
			return true;
		run = *s == ' ' ? 0 : run + 1;
		if (run > PLAIN_WORD_MAX)
			return true;
	}
	return false;
}

/* Plain words, each added to the line unless it would pass the limit. */
static void subject_plain(FILE *f, char *s)
{
	size_t col = strlen("Subject:");

	for (char *save = NULL, *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		size_t n = strlen(w);

		if (col + 1 + n > LINE_MAX_CHARS && col > strlen("Subject:")) {
			fputs("\r\n", f);
			col = 0;
		}
		fprintf(f, " %s", w);
		col += 1 + n;
	}
}

/* How many bytes of s (at most max) end on a character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	if (n == len)
		return n;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n > 0 ? n : max;       /* not UTF-8: cut anywhere */
}

/* RFC 2047 encoded-words, one a line, whole characters each. */
static void subject_encoded(FILE *f, const char *s)
{
	unsigned char b64[4 * ((WORD_BYTES + 2) / 3) + 1];
	size_t len = strlen(s);

	while (len > 0) {
		size_t n = utf8_cut(s, len, WORD_BYTES);

		EVP_EncodeBlock(b64, (const unsigned char *)s, (int)n);
		fprintf(f, " =?UTF-8?B?%s?=%s", b64, n < len ? "\r\n" : "");
		s += n;
		len -= n;
	}
}

char *mailmsg_subject(const char *subject)
{
	char *clean = text_one_line(subject), *buf = NULL;
	size_t size = 0;
	FILE *f = clean ? open_memstream(&buf, &size) : NULL;

	if (f) {
		fputs("Subject:", f);
		if (needs_encoding(clean))
			subject_encoded(f, clean);
		else
			subject_plain(f, clean);
		if (fclose(f) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	free(clean);
	return buf;
}

char *mailmsg_crlf(const char *s)
{
	size_t lfs = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		lfs += *p == '\n';
	if (!(out = o = malloc(strlen(s) + lfs + 1)))
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			*o++ = '\r';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

size_t mailmsg_parts(const struct message *m, struct mailmsg_part parts[2])
{
	size_t n = 0;

	if (m->text || !m->html)
		parts[n++] = (struct mailmsg_part){ "text/plain; charset=utf-8",
						    m->text ? m->text : "" };
	if (m->html)
		parts[n++] = (struct mailmsg_part){ "text/html; charset=utf-8", m->html };
	return n;
}

void mailmsg_result(struct delivery_result *r, enum delivery_status status,
		    const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	r->retry_after = 0;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
}

static int addf(struct mailmsg_headers *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int addf(struct mailmsg_headers *h, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (h->n == MAILMSG_MAX_HEADERS)
		return -1;
	va_start(ap, fmt);
	rc = vasprintf(&h->line[h->n], fmt, ap);
	va_end(ap);
	if (rc < 0) {
		h->line[h->n] = NULL;
		return -1;
	}
	h->n++;
	return 0;
}

/* The Message-ID without <>: msg_id as it is, with a domain added when it
 * has none (RFC 5322 3.6.4 wants one). */
static int message_id(const char *msg_id, char *buf, size_t size, struct dl_error *err)
{
	char show[72];
	int ats;

	if (!msg_id || !atoms_ok(msg_id, MSGID_MAX, &ats)) {
		error_set(err, "message id '%s' is not usable in a Message-ID header",
			  shown(msg_id, show, sizeof show));
		return -1;
	}
	snprintf(buf, size, "%s%s", msg_id, ats ? "" : MSGID_DOMAIN);
	return 0;
}

static int check_addresses(const char *from, const char *to, struct dl_error *err)
{
	char show[72];

	if (!mailmsg_address_ok(from)) {
		error_set(err, "from '%s' is not a bare address (local@domain)",
			  shown(from, show, sizeof show));
		return -1;
	}
	if (to && !mailmsg_address_ok(to)) {
		error_set(err, "recipient '%s' is not a bare address (local@domain)",
			  shown(to, show, sizeof show));
		return -1;
	}
	return 0;
}

static int add_all(struct mailmsg_headers *h, const struct message *m, const char *from,
		   const char *id, const char *boundary)
{
	char date[MAILMSG_DATE_BUF];
	char *subject = mailmsg_subject(m->subject);
	int rc;

	mailmsg_date(m->created ? m->created : (int64_t)time(NULL), date);
	/* One statement each: the order of the lines is the order of the calls. */
	rc = addf(h, "Date: %s", date);
	rc |= addf(h, "Message-ID: <%s>", id);
	rc |= addf(h, "From: %s", from);
	if (m->to)
		rc |= addf(h, "To: %s", m->to);
	rc |= subject ? addf(h, "%s", subject) : -1;
	rc |= addf(h, "MIME-Version: 1.0");
	/* RFC 3834: tells out-of-office responders not to answer. */
	rc |= addf(h, "Auto-Submitted: auto-generated");
	if (boundary)
		rc |= addf(h, "Content-Type: multipart/alternative; boundary=\"%s\"", boundary);
	else
		rc |= addf(h, "Content-Type: multipart/alternative");
	free(subject);
	return rc;
}

int mailmsg_headers(const struct message *m, const char *from, const char *boundary,
		    struct mailmsg_headers *out, struct dl_error *err)
{
	char id[MSGID_MAX + sizeof MSGID_DOMAIN];

	memset(out, 0, sizeof *out);
	if (check_addresses(from, m->to, err) < 0 ||
	    message_id(m->msg_id, id, sizeof id, err) < 0)
		return -1;
	if (add_all(out, m, from, id, boundary) != 0) {
		mailmsg_headers_free(out);
		error_set(err, "out of memory building the headers");
		return -1;
	}
	return 0;
}

void mailmsg_headers_free(struct mailmsg_headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->line[i]);
	h->n = 0;
}

static bool line_end_at(const char *s)
{
	return *s == '\0' || *s == '\n' || (s[0] == '\r' && s[1] == '\n');
}

/* One character of quoted-printable, with a soft break first when it
 * would not fit. */
static void qp_char(FILE *f, const char *s, size_t *col)
{
	unsigned char c = (unsigned char)*s;
	bool literal = (c >= 33 && c <= 126 && c != '=') ||
		       ((c == ' ' || c == '\t') && !line_end_at(s + 1));
	size_t w = literal ? 1 : 3;

	if (*col + w > QP_LINE_MAX - 1) {
		fputs("=\r\n", f);
		*col = 0;
	}
	if (literal)
		fputc(c, f);
	else
		fprintf(f, "=%02X", c);
	*col += w;
}

char *mailmsg_qp(const char *s)
{
	char *buf = NULL;
	size_t size = 0, col = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	for (; *s; s++) {
		if (s[0] == '\r' && s[1] == '\n')
			continue;             /* the LF makes the break */
		if (*s == '\n') {
			fputs("\r\n", f);
			col = 0;
		} else {
			qp_char(f, s, &col);
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int write_part(FILE *f, const struct mailmsg_part *p)
{
	char *qp = mailmsg_qp(p->body);

	if (!qp)
		return -1;
	fprintf(f, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: quoted-printable\r\n"
		"\r\n%s\r\n", BOUNDARY, p->type, qp);
	free(qp);
	return 0;
}

static char *build_text(const struct mailmsg_headers *h, const struct message *m)
{
	struct mailmsg_part parts[2];
	size_t n = mailmsg_parts(m, parts), size = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &size);
	int rc = 0;

	if (!f)
		return NULL;
	for (size_t i = 0; i < h->n; i++)
		fprintf(f, "%s\r\n", h->line[i]);
	fputs("\r\n", f);
	for (size_t i = 0; i < n; i++)
		rc |= write_part(f, &parts[i]);
	fprintf(f, "--%s--\r\n", BOUNDARY);
	if ((fclose(f) | rc) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *mailmsg_build(const struct message *m, const char *from, struct dl_error *err)
{
	struct mailmsg_headers h;
	char *text;

	if (mailmsg_headers(m, from, BOUNDARY, &h, err) < 0)
		return NULL;
	if (!(text = build_text(&h, m)))
		error_set(err, "out of memory building the message");
	mailmsg_headers_free(&h);
	return text;
}
