/* webhook.h — the HTTPS webhook (libcurl multi, Standard Webhooks signatures) receiver (see receiver.h for the contract).
 *
 * Each message is one POST of JSON to the receiver's https:// URL with the
 * Standard Webhooks headers webhook-id (the message's msg_id, the same on
 * every retry, so a receiver can drop duplicates), webhook-timestamp (unix
 * seconds at this attempt) and, when a secret is configured,
 * webhook-signature.  TLS is always verified; redirects are never followed.
 */
#ifndef DEADLINED_WEBHOOK_H
#define DEADLINED_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "deadlined/receiver.h"

struct webhook_sender;

/* Check conf and keep copies of url (conf->url, or the one read from
 * url_file/url_credential) and of the signing key made from secret (NULL: no
 * signatures).  The caller has called curl_global_init(). */
int webhook_open(const struct receiver_conf *conf, const char *url, const char *secret,
		 struct webhook_sender **out, struct dl_error *err);

/* At most max_connections messages are in flight at once, each bounded by
 * connect_timeout and timeout; a message is started only when a connection
 * is free, so every message gets its whole timeout.  After a network or TLS
 * failure no further message of the batch is started (they would meet the
 * same fate): they are marked for retry.  So a batch takes at most about
 * 2 × timeout when the receiver is unreachable, and ceil(n / max_connections)
 * × timeout when it is slow but answering.  Connections stay open for the
 * next batch. */
void webhook_send(struct webhook_sender *s, const struct message *msgs, size_t n,
		  struct delivery_result *results);

/* Close connections and wipe the key. */
void webhook_close(struct webhook_sender *s);

/* The pure pieces, for tests. */

/* The request body for m, a new string the caller frees: generic sends
 * m->payload as it is; teams (an Adaptive Card for a Teams Workflow) and
 * slack (Block Kit) show m->subject and the payload's items, at most
 * WEBHOOK_ITEMS_SHOWN of them, then "and N more".  Missing or odd fields
 * of the payload are left out, never fatal.  NULL on error. */
#define WEBHOOK_ITEMS_SHOWN 20
char *webhook_body(enum webhook_format format, const struct message *m,
		   struct dl_error *err);

/* The HMAC key for a configured secret: "whsec_" + base64 is decoded (as
 * the Standard Webhooks libraries do); any other secret is used as raw
 * bytes.  *key is the caller's to wipe and free.  Errors never show the
 * secret. */
int webhook_key(const char *secret, unsigned char **key, size_t *key_len,
		struct dl_error *err);

/* "v1," + base64(HMAC-SHA256(key, id "." timestamp "." body)) into out. */
#define WEBHOOK_SIGNATURE_BUF 64
int webhook_signature(const unsigned char *key, size_t key_len, const char *id,
		      int64_t timestamp, const char *body, size_t body_len,
		      char out[WEBHOOK_SIGNATURE_BUF]);

/* What an HTTP status means for delivery: 2xx ok; 408, 429 and 5xx retry
 * (retry_after, the server's Retry-After in seconds, kept for 429 and 503);
 * 3xx and other 4xx permanent.  body is the start of the response; the
 * detail shows its first 100 bytes on one line. */
void webhook_http_result(long status, const char *body, long retry_after,
			 struct delivery_result *r);

#endif
