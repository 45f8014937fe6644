/* mailmsg.h — the parts of an RFC 5322 e-mail that the smtp and maildir
 * receivers share: header lines safe from injection, the RFC 2047 Subject,
 * the Date, (for maildir) the whole multipart/alternative text, and filling
 * a delivery result.
 *
 * Everything that becomes a header is checked or cleaned here, so no string
 * from a case or a message can add a header or a recipient: addresses and
 * message ids with control characters, spaces, angle brackets or commas are
 * refused; the subject has its control characters replaced by spaces.
 * Header lines are in wire form: lines folded with CRLF + space, no CRLF at
 * the end.
 */
#ifndef DEADLINED_MAILMSG_H
#define DEADLINED_MAILMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadlined/error.h"
#include "deadlined/receiver.h"

/* "Thu, 01 Jan 2026 00:00:00 +0000" plus NUL, with room to spare. */
#define MAILMSG_DATE_BUF 40

/* The header lines of one message: Date, Message-ID, From, To (when the
 * message has one), Subject, MIME-Version, Content-Type. */
#define MAILMSG_MAX_HEADERS 8

struct mailmsg_headers {
	char *line[MAILMSG_MAX_HEADERS];
	size_t n;
};

/* RFC 5322 date of unix time t in the local time zone, in English whatever
 * the locale. */
void mailmsg_date(int64_t t, char buf[MAILMSG_DATE_BUF]);

/* True when addr is a bare ASCII address, local@domain, with nothing that
 * could end a header or add a recipient: no display name, angle brackets,
 * white space, control characters, commas or quotes. */
bool mailmsg_address_ok(const char *addr);

/* "Subject: ..." for subject (NULL: empty): plain when it is printable
 * ASCII, else RFC 2047 encoded-words (UTF-8, base64) that never split a
 * character; folded so lines stay under 78 characters.  NULL when out of
 * memory. */
char *mailmsg_subject(const char *subject);

/* s with every LF that lacks a CR made CRLF: the canonical form text parts
 * must have before quoted-printable encoding.  NULL when out of memory. */
char *mailmsg_crlf(const char *s);

/* The body parts of a message, plain text first (clients show the last
 * part they can).  A message with neither text nor HTML gets an empty text
 * part. */
struct mailmsg_part {
	const char *type;      /* Content-Type, with charset */
	const char *body;      /* LF or CRLF line ends */
};

size_t mailmsg_parts(const struct message *m, struct mailmsg_part parts[2]);

/* Build the header lines for m sent from `from`.  The Content-Type is
 * multipart/alternative, with `boundary` as its parameter unless NULL
 * (curl adds its own).  Fails, saying why (the detail for a permanent
 * failure), when from, m->to or m->msg_id is not usable in a header. */
int mailmsg_headers(const struct message *m, const char *from, const char *boundary,
		    struct mailmsg_headers *out, struct dl_error *err);
void mailmsg_headers_free(struct mailmsg_headers *h);

/* The whole message, CRLF line ends: the headers, then the text and HTML
 * parts in quoted-printable.  Same message, same bytes.  NULL on failure
 * (err says why). */
char *mailmsg_build(const struct message *m, const char *from, struct dl_error *err);

/* Quoted-printable (RFC 2045) of s: LF or CRLF are line breaks, lines stay
 * within 76 characters.  NULL when out of memory. */
char *mailmsg_qp(const char *s);

/* Fill r: status, no retry_after, and the detail from fmt. */
void mailmsg_result(struct delivery_result *r, enum delivery_status status,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
