/* smtp.h — the SMTP (libcurl, STARTTLS or SMTPS, one connection a batch) receiver (see receiver.h for the contract). */
#ifndef DEADLINED_SMTP_H
#define DEADLINED_SMTP_H

#include "deadlined/receiver.h"

struct smtp_sender;

int smtp_open(const struct receiver_conf *conf, const char *password,
	      struct smtp_sender **out, struct dl_error *err);
void smtp_send(struct smtp_sender *s, const struct message *msgs, size_t n,
		  struct delivery_result *results);
void smtp_close(struct smtp_sender *s);

#endif
