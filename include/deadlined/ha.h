/* ha.h — the daemon's part in an active/standby pair.
 *
 * With state.driver "postgresql" every daemon sharing the store contends
 * for one lease (lease.h, settings in the `ha` group): the holder polls and
 * sends, the others wait, woken by a NOTIFY when a leader resigns.  Each
 * tick renews or tries to take the lease as it falls due and tells the
 * state store the epoch to fence its outbox by (state_set_fence), so that a
 * leader that was paused or cut off cannot claim or mark a message once its
 * epoch has passed.  With any other driver the daemon is alone: ha_open
 * gives NULL, and a NULL handle always leads.
 */
#ifndef DEADLINED_HA_H
#define DEADLINED_HA_H

#include <stdbool.h>
#include <stddef.h>

#include "deadlined/conf.h"
#include "deadlined/error.h"
#include "deadlined/state.h"

struct ha;

/* NULL in *out (and 0) when the store is not shared. */
int ha_open(const struct conf *conf, struct state *st, struct ha **out, struct dl_error *err);
/* Resign (if leading) and close. */
void ha_close(struct ha *h);
/* Resign now if leading (a stop was asked for and nothing is being sent):
 * a standby leads at once, and this daemon leads no more. */
void ha_resign(struct ha *h);

/* Renew or take the lease if due, reading any NOTIFY when look is set or
 * now and then (cheap otherwise: a long loop may call it on every step);
 * true when the role changed, so the caller can poll at once on becoming
 * leader. */
bool ha_tick(struct ha *h, bool look);
/* May we act as leader right now (the lease's local trust)? */
bool ha_leader(struct ha *h);
/* Milliseconds until the next tick is due, and the socket a resignation's
 * NOTIFY arrives on (-1: none); 0 and -1 when alone. */
long ha_wait_ms(struct ha *h);
int ha_fd(struct ha *h);

/* "leader, epoch 3 since 2026-12-06 10:04:05" or "standby (leader
 * host:1234, epoch 3)"; "" when alone. */
const char *ha_describe(struct ha *h, char *buf, size_t size);

#endif
