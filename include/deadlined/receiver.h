/* receiver.h — where messages go: SMTP, webhooks, a Maildir.
 *
 * A receiver is configured in the `receivers` group of deadlined.conf.
 * The notify module hands a receiver a batch of messages from the outbox;
 * the receiver tries each (bounded by its timeouts) and says, per message,
 * whether it was delivered, should be retried, or can never be delivered.
 * Receivers never decide about retries or dead letters: notify does.
 * Each type is a backend behind an operations table (receiver_backend.h).
 */
#ifndef DEADLINED_RECEIVER_H
#define DEADLINED_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "deadlined/error.h"
#include "deadlined/schema_values.h"

enum receiver_type { RECEIVER_SMTP, RECEIVER_WEBHOOK, RECEIVER_MAILDIR };
enum webhook_format { WEBHOOK_GENERIC, WEBHOOK_TEAMS, WEBHOOK_SLACK };

/* One receiver as configured (conf.c fills it from its settings table). */
struct receiver_conf {
	const char *name;              /* the setting's name; first member */
	const char *type;              /* "smtp", "webhook" or "maildir": the
					  backend (receiver_backend.h) */
	const char *url;               /* smtp://host:587 (STARTTLS required),
					  smtps://host:465, or https://... */
	const char *url_file;          /* webhook: a file holding the URL, which
					  for Teams and Slack carries its own key */
	const char *url_credential;    /* webhook: the URL as a systemd credential */
	const char *from;              /* smtp, maildir: the From address */
	struct schema_strings to;      /* smtp, maildir: fixed recipients when the
					  receiver is named in a notify list */
	const char *username;          /* smtp AUTH user; NULL: no AUTH */
	const char *password_file;     /* smtp: the password, read at start-up */
	const char *password_credential;  /* smtp: a name under $CREDENTIALS_DIRECTORY */
	const char *ca_file;           /* smtp, webhook: CA bundle; NULL: system CAs */
	long connect_timeout;          /* seconds */
	long timeout;                  /* seconds for one message, all of it */
	const char *format;            /* webhook: "generic", "teams", "slack" */
	const char *secret_file;       /* webhook: HMAC secret */
	const char *secret_credential; /* webhook: a name under $CREDENTIALS_DIRECTORY */
	long max_connections;          /* webhook: concurrent connections */
	const char *path;              /* maildir: the Maildir folder */

	/* Resolved by conf.c: */
	enum receiver_type kind;
	enum webhook_format wformat;
};

/* One message of the outbox, as a receiver sees it. */
struct message {
	int64_t id;                    /* outbox id */
	const char *msg_id;            /* stable across retries: the Message-ID
					  (without <>) and the webhook-id */
	const char *to;                /* e-mail address; NULL for webhooks */
	const char *subject;           /* one line, already free of CR/LF */
	const char *text;              /* plain-text body */
	const char *html;              /* HTML body */
	const char *payload;           /* the generic JSON document (render.h) */
	int64_t created;               /* unix seconds: the Date header */
};

enum delivery_status {
	DELIVERY_OK,
	DELIVERY_RETRY,                /* network errors, 408, 429, 5xx, SMTP 4xx */
	DELIVERY_PERMANENT,            /* other 4xx, SMTP 5xx: straight to dead letters */
};

struct delivery_result {
	enum delivery_status status;
	long retry_after;              /* seconds the server asked for, or 0 */
	char detail[256];              /* what the server said, for logs and status;
					  never a secret */
};

struct receiver;

/* Check the configuration and load secrets (from the file, or from
 * $CREDENTIALS_DIRECTORY/<credential>); errors name the receiver. */
int receiver_open(const struct receiver_conf *conf, struct receiver **out,
		  struct dl_error *err);
void receiver_close(struct receiver *r);
const struct receiver_conf *receiver_conf(const struct receiver *r);

/* Deliver n messages; results[i] says what became of msgs[i].  An SMTP
 * batch reuses one connection; webhooks run concurrently up to the
 * receiver's max_connections. */
void receiver_send(struct receiver *r, const struct message *msgs, size_t n,
		   struct delivery_result *results);

/* Read a secret: from file when set, else $CREDENTIALS_DIRECTORY/credential.
 * A file (not a credential: systemd manages those) whose mode grants other
 * users anything is refused.  Trailing newlines are dropped.  The caller
 * frees *out (and should wipe it).  Errors name the file, never the
 * content. */
int receiver_read_secret(const char *file, const char *credential, char **out,
			 struct dl_error *err);

#endif
