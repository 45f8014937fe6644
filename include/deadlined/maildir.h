/* maildir.h — the Maildir (tmp/ then rename into new/) receiver (see receiver.h for the contract). */
#ifndef DEADLINED_MAILDIR_H
#define DEADLINED_MAILDIR_H

#include "deadlined/receiver.h"

struct maildir_sender;

int maildir_open(const struct receiver_conf *conf, struct maildir_sender **out,
		 struct dl_error *err);
void maildir_send(struct maildir_sender *s, const struct message *msgs, size_t n,
		  struct delivery_result *results);
void maildir_close(struct maildir_sender *s);

#endif
