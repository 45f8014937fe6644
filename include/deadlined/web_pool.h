/* web_pool.h — deadlined-web's connections to the state store, one pair
 * (struct state for acknowledgements and status, struct state_web for
 * everything else) for each server thread.
 *
 * A connection is used by one thread at a time: a request takes one for
 * its whole run and gives it back.  With as many connections as server
 * threads nobody waits; web_pool_take still waits rather than share one
 * if that ever stops being so.  All are opened at start, so a store that
 * cannot be opened is reported then, not at the first request.
 */
#ifndef DEADLINED_WEB_POOL_H
#define DEADLINED_WEB_POOL_H

#include "deadlined/error.h"
#include "deadlined/state.h"
#include "deadlined/state_web.h"

struct web_pool;

struct web_conn {
	struct state *st;
	struct state_web *sw;
	bool busy;
};

int web_pool_open(const struct state_conf *conf, unsigned n, struct web_pool **out,
		  struct dl_error *err);
void web_pool_close(struct web_pool *p);
struct web_conn *web_pool_take(struct web_pool *p);
void web_pool_give(struct web_pool *p, struct web_conn *c);

#endif
