/* smtp.c — the SMTP receiver: libcurl, STARTTLS required on smtp://,
 * implicit TLS on smtps://, certificates always verified, one connection
 * for a batch and one recipient a transaction (curl 7.88 cannot let one
 * refused recipient fail alone).
 *
 * A batch is bounded: each message has the receiver's timeout, the batch
 * as a whole BATCH_TIMEOUTS of them, and the first failure that is not
 * about one message (connecting, TLS, login, a timeout) ends it, so a dead
 * server costs one timeout, not one a message.
 */
#include "deadlined/smtp.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deadlined/mailmsg.h"
#include "deadlined/receiver_backend.h"

#define BATCH_TIMEOUTS 2
#define MIN_TRY_MS 1000        /* not worth starting a message with less */

struct smtp_sender {
	const struct receiver_conf *conf;
	char *password;                /* NULL without AUTH; wiped on close */
};

/* Where the conversation got to, seen through curl's debug callback: the
 * stage comes from the verb of the last command sent (never anything
 * more: AUTH lines carry the credentials), the reply is the server's last
 * line before QUIT (curl quits after a failure; "221 Bye" says nothing). */
enum stage { STAGE_SETUP, STAGE_MAIL, STAGE_RCPT, STAGE_DATA, STAGE_QUIT };

struct trace {
	enum stage stage;
	bool quitting;
	char reply[200];
};

struct batch {
	const struct smtp_sender *s;
	CURL *curl;
	struct trace trace;
	char errbuf[CURL_ERROR_SIZE];
	long long deadline_ms;         /* CLOCK_MONOTONIC */
	char why[sizeof ((struct delivery_result *)0)->detail];  /* the rest not tried */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum stage stage_of(const char *line, size_t size, enum stage old)
{
	static const struct { const char *verb; enum stage stage; } verbs[] = {
		{ "EHLO", STAGE_SETUP }, { "HELO", STAGE_SETUP }, { "STARTTLS", STAGE_SETUP },
		{ "AUTH", STAGE_SETUP }, { "MAIL", STAGE_MAIL }, { "RCPT", STAGE_RCPT },
		{ "DATA", STAGE_DATA }, { "QUIT", STAGE_QUIT },
	};

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		size_t n = strlen(verbs[i].verb);

		if (size >= n && strncasecmp(line, verbs[i].verb, n) == 0)
			return verbs[i].stage;
	}
	return old;                    /* e.g. an AUTH LOGIN answer */
}

static void keep_reply(struct trace *t, const char *line, size_t size)
{
	size_t n = 0;

	for (; n < size && n + 1 < sizeof t->reply; n++) {
		unsigned char c = (unsigned char)line[n];

		t->reply[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	while (n > 0 && t->reply[n - 1] == ' ')
		n--;
	t->reply[n] = '\0';
}

static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *userp)
{
	struct trace *t = userp;

	(void)curl;
	if (t->quitting)
		return 0;
	if (type == CURLINFO_HEADER_OUT) {
		enum stage now = stage_of(data, size, t->stage);

		t->quitting = now == STAGE_QUIT;
		t->stage = t->quitting ? t->stage : now;
	} else if (type == CURLINFO_HEADER_IN) {
		keep_reply(t, data, size);
	}
	return 0;
}

static int reply_code(const struct trace *t)
{
	const char *r = t->reply;

	if (r[0] < '2' || r[0] > '5' || r[1] < '0' || r[1] > '9' || r[2] < '0' || r[2] > '9')
		return 0;
	return (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0');
}

static const char *curl_text(const struct batch *b, CURLcode rc)
{
	return b->errbuf[0] ? b->errbuf : curl_easy_strerror(rc);
}

/* A 4xx or 5xx answer to this message's MAIL, RCPT or DATA: about this
 * message, so the next may still go.  Returns false when it is not that. */
static bool refused(const struct batch *b, struct delivery_result *r)
{
	static const char *const what[] = { "", "sender", "recipient", "message", "" };
	int code = reply_code(&b->trace);

	if (b->trace.stage == STAGE_SETUP || code < 400)
		return false;
	/* 421: the server is closing; 530: it wants a login it did not get. */
	if (code == 421 || code == 530)
		return false;
	if (code >= 500)
		mailmsg_result(r, DELIVERY_PERMANENT, "%s refused: %s", what[b->trace.stage],
			       b->trace.reply);
	else
		mailmsg_result(r, DELIVERY_RETRY, "%s deferred: %s", what[b->trace.stage],
			       b->trace.reply);
	return true;
}

/* Whatever stopped the conversation itself; the batch stops too. */
static void failed(const struct batch *b, CURLcode rc, struct delivery_result *r)
{
	const char *ca = b->s->conf->ca_file;
	const char *reply = b->trace.reply;

	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		mailmsg_result(r, DELIVERY_RETRY, "TLS: the server's certificate did not verify "
			       "against %s: %s", ca ? ca : "the system CAs", curl_text(b, rc));
		break;
	case CURLE_SSL_CACERT_BADFILE:
		mailmsg_result(r, DELIVERY_RETRY, "TLS: cannot use ca_file %s: %s",
			       ca ? ca : "(system)", curl_text(b, rc));
		break;
	case CURLE_USE_SSL_FAILED:
		mailmsg_result(r, DELIVERY_RETRY, "the server does not offer STARTTLS; not "
			       "sending in clear (smtps:// is for implicit TLS)");
		break;
	case CURLE_LOGIN_DENIED:
		mailmsg_result(r, DELIVERY_RETRY, "login refused, check username and password: %s",
			       reply[0] ? reply : curl_text(b, rc));
		break;
	default:
		mailmsg_result(r, DELIVERY_RETRY, "%s%s%s", curl_text(b, rc),
			       reply[0] ? "; server's last reply: " : "", reply);
	}
}

static struct curl_slist *header_list(const struct mailmsg_headers *h)
{
	struct curl_slist *list = NULL, *more;

	for (size_t i = 0; i < h->n; i++) {
		if (!(more = curl_slist_append(list, h->line[i]))) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = more;
	}
	return list;
}

static bool add_part(curl_mime *mime, const struct mailmsg_part *part)
{
	/* curl's quoted-printable keeps only CRLF as a line break. */
	char *body = mailmsg_crlf(part->body);
	curl_mimepart *p = body ? curl_mime_addpart(mime) : NULL;
	bool ok = p && curl_mime_data(p, body, CURL_ZERO_TERMINATED) == CURLE_OK &&
		  curl_mime_type(p, part->type) == CURLE_OK &&
		  curl_mime_encoder(p, "quoted-printable") == CURLE_OK;

	free(body);
	return ok;
}

static curl_mime *mime_of(CURL *curl, const struct message *m)
{
	struct mailmsg_part parts[2];
	size_t n = mailmsg_parts(m, parts);
	curl_mime *mime = curl_mime_init(curl);

	for (size_t i = 0; mime && i < n; i++) {
		if (!add_part(mime, &parts[i])) {
			curl_mime_free(mime);
			return NULL;
		}
	}
	return mime;
}

/* The envelope and content of one message, owned until it is sent. */
struct outgoing {
	struct curl_slist *headers, *rcpt;
	curl_mime *mime;
};

static void outgoing_free(struct outgoing *o)
{
	curl_slist_free_all(o->headers);
	curl_slist_free_all(o->rcpt);
	curl_mime_free(o->mime);
}

/* Build m; on failure say why in r (refusing what must not become a
 * header). */
static int prepare(const struct batch *b, const struct message *m, struct outgoing *o,
		   struct delivery_result *r)
{
	struct mailmsg_headers h;
	struct dl_error err;

	memset(o, 0, sizeof *o);
	if (!m->to) {
		mailmsg_result(r, DELIVERY_PERMANENT, "the message has no recipient");
		return -1;
	}
	if (mailmsg_headers(m, b->s->conf->from, NULL, &h, &err) < 0) {
		mailmsg_result(r, DELIVERY_PERMANENT, "%s", err.msg);
		return -1;
	}
	o->headers = header_list(&h);
	mailmsg_headers_free(&h);
	o->rcpt = curl_slist_append(NULL, m->to);
	o->mime = mime_of(b->curl, m);
	if (!o->headers || !o->rcpt || !o->mime) {
		outgoing_free(o);
		mailmsg_result(r, DELIVERY_RETRY, "out of memory building the message");
		return -1;
	}
	return 0;
}

static CURLcode perform(struct batch *b, const struct outgoing *o, long long ms)
{
	CURLcode rc;

	b->trace = (struct trace){ STAGE_SETUP, false, "" };
	b->errbuf[0] = '\0';
	if (curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, o->headers) != CURLE_OK ||
	    curl_easy_setopt(b->curl, CURLOPT_MAIL_RCPT, o->rcpt) != CURLE_OK ||
	    curl_easy_setopt(b->curl, CURLOPT_MIMEPOST, o->mime) != CURLE_OK ||
	    curl_easy_setopt(b->curl, CURLOPT_TIMEOUT_MS, (long)ms) != CURLE_OK)
		return CURLE_FAILED_INIT;
	rc = curl_easy_perform(b->curl);
	/* The handle must not point at what the caller is about to free. */
	curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(b->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(b->curl, CURLOPT_MIMEPOST, NULL);
	return rc;
}

/* Send m within ms; false when the batch should stop. */
static bool send_one(struct batch *b, const struct message *m, struct delivery_result *r,
		     long long ms)
{
	struct outgoing o;
	CURLcode rc;

	if (prepare(b, m, &o, r) < 0)
		return true;
	rc = perform(b, &o, ms);
	outgoing_free(&o);
	if (rc == CURLE_OK) {
		mailmsg_result(r, DELIVERY_OK, "%s", b->trace.reply);
		return true;
	}
	if (refused(b, r))
		return true;
	failed(b, rc, r);
	return false;
}

static bool set_tls(CURL *curl, const struct receiver_conf *c)
{
	/* smtp:// must upgrade with STARTTLS or fail; never fall back to clear. */
	return curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
	       (!c->ca_file || curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file) == CURLE_OK);
}

static bool set_session(struct batch *b)
{
	const struct receiver_conf *c = b->s->conf;
	CURL *curl = b->curl;

	return curl_easy_setopt(curl, CURLOPT_URL, c->url) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK &&
	       set_tls(curl, c) &&
	       (!c->username ||
		(curl_easy_setopt(curl, CURLOPT_USERNAME, c->username) == CURLE_OK &&
		 curl_easy_setopt(curl, CURLOPT_PASSWORD, b->s->password) == CURLE_OK)) &&
	       curl_easy_setopt(curl, CURLOPT_MAIL_FROM, c->from) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, c->connect_timeout) == CURLE_OK &&
	       /* Also bounds the wait for QUIT when the handle is cleaned up. */
	       curl_easy_setopt(curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, c->timeout) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, receiver_progress) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, b->errbuf) == CURLE_OK &&
	       /* Verbose only feeds on_debug, which prints nothing. */
	       curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &b->trace) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L) == CURLE_OK;
}

static void not_tried(struct delivery_result *r, const char *why)
{
	mailmsg_result(r, DELIVERY_RETRY, "not tried: %s", why);
}

/* Send msgs[0..n) until done, out of time or the server fails us; returns
 * how many were tried. */
static size_t send_all(struct batch *b, const struct message *msgs, size_t n,
		       struct delivery_result *results)
{
	long long per_msg = b->s->conf->timeout * 1000LL;

	for (size_t i = 0; i < n; i++) {
		long long left = b->deadline_ms - now_ms();

		if (left < MIN_TRY_MS) {
			snprintf(b->why, sizeof b->why, "the batch used its %lld s",
				 per_msg * BATCH_TIMEOUTS / 1000);
			return i;
		}
		if (!send_one(b, &msgs[i], &results[i], left < per_msg ? left : per_msg)) {
			snprintf(b->why, sizeof b->why, "message %zu failed: %s", i,
				 results[i].detail);
			return i + 1;
		}
	}
	return n;
}

void smtp_send(struct smtp_sender *s, const struct message *msgs, size_t n,
	       struct delivery_result *results)
{
	/* One handle a batch: its connection is reused message to message and
	 * closed (QUIT) at the end, not left idle until the server drops it. */
	struct batch b = { .s = s };
	size_t tried = 0;

	if (n == 0)
		return;
	b.curl = curl_easy_init();
	b.deadline_ms = now_ms() + s->conf->timeout * 1000LL * BATCH_TIMEOUTS;
	if (!b.curl || !set_session(&b))
		snprintf(b.why, sizeof b.why, "cannot set up libcurl for SMTP");
	else
		tried = send_all(&b, msgs, n, results);
	for (size_t i = tried; i < n; i++)
		not_tried(&results[i], b.why);
	curl_easy_cleanup(b.curl);
}

int smtp_open(const struct receiver_conf *conf, const char *password,
	      struct smtp_sender **out, struct dl_error *err)
{
	struct smtp_sender *s;

	*out = NULL;
	if (!conf->url || !mailmsg_address_ok(conf->from)) {
		error_set(err, "needs a url, and from as a bare address such as "
			  "deadlines@council.example (no display name)");
		return -1;
	}
	if (conf->username && !password) {
		error_set(err, "username %s needs a password (password_file or "
			  "password_credential)", conf->username);
		return -1;
	}
	if (!(s = calloc(1, sizeof *s)) ||
	    (conf->username && !(s->password = strdup(password)))) {
		free(s);
		error_set(err, "out of memory");
		return -1;
	}
	s->conf = conf;
	*out = s;
	return 0;
}

void smtp_close(struct smtp_sender *s)
{
	if (!s)
		return;
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s);
}

/* The password, when there is a username, from its file or credential. */
static int smtp_op_open(const struct receiver_conf *conf, void **out, struct dl_error *err)
{
	struct smtp_sender *s = NULL;
	char *password = NULL;
	int rc = receiver_read_secret(conf->password_file, conf->password_credential, &password,
				      err);

	if (rc == 0)
		rc = smtp_open(conf, password, &s, err);
	receiver_free_secret(password);
	*out = s;
	return rc;
}

static void smtp_op_send(void *s, const struct message *msgs, size_t n,
			 struct delivery_result *results)
{
	smtp_send(s, msgs, n, results);
}

static void smtp_op_close(void *s)
{
	smtp_close(s);
}

const struct receiver_ops smtp_receiver_ops = {
	.type = "smtp",
	.open = smtp_op_open,
	.send = smtp_op_send,
	.close = smtp_op_close,
};
