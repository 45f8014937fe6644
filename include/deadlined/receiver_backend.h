/* receiver_backend.h — what a receiver backend provides.
 *
 * receiver.c is the backend-neutral half of receiver.h: it finds the
 * operations table for a receiver's type and calls through it.  A backend
 * (smtp.c, webhook.c, maildir.c) fills a struct receiver_ops.  To add one:
 * write NAME.c with its ops, declare them below, list them in receiver.c's
 * table, and describe its settings in conf.c's receiver tables.
 */
#ifndef DEADLINED_RECEIVER_BACKEND_H
#define DEADLINED_RECEIVER_BACKEND_H

#include <curl/curl.h>
#include <stddef.h>

#include "deadlined/error.h"
#include "deadlined/receiver.h"

struct receiver_ops {
	const char *type;          /* the receiver's type setting */

	/* Check the configuration, load the secrets it names (see
	 * receiver_read_secret) and set *out to the backend's own sender.
	 * Errors say what is wrong; receiver.c prefixes the receiver's name. */
	int (*open)(const struct receiver_conf *conf, void **out, struct dl_error *err);
	/* Try each message, bounded by the receiver's timeouts; results[i]
	 * (zeroed) says what became of msgs[i]. */
	void (*send)(void *sender, const struct message *msgs, size_t n,
		     struct delivery_result *results);
	void (*close)(void *sender);
};

extern const struct receiver_ops smtp_receiver_ops, webhook_receiver_ops,
	maildir_receiver_ops;

/* Free a secret that receiver_read_secret returned, wiping it first. */
void receiver_free_secret(char *secret);

/* A libcurl progress callback (CURLOPT_XFERINFOFUNCTION) for every
 * transfer: it feeds systemd's watchdog during slow transfers and abandons
 * a transfer once a stop's grace period is over. */
int receiver_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
		      curl_off_t ultotal, curl_off_t ulnow);

#endif
