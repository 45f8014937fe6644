/* webhook.h — the HTTPS webhook (libcurl multi, Standard Webhooks signatures) receiver (see receiver.h for the contract). */
#ifndef DEADLINED_WEBHOOK_H
#define DEADLINED_WEBHOOK_H

#include "deadlined/receiver.h"

struct webhook_sender;

int webhook_open(const struct receiver_conf *conf, const char *secret,
		 struct webhook_sender **out, struct dl_error *err);
void webhook_send(struct webhook_sender *s, const struct message *msgs, size_t n,
		  struct delivery_result *results);
void webhook_close(struct webhook_sender *s);

#endif
