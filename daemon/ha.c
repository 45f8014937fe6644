/* ha.c — the daemon's part in an active/standby pair (see ha.h). */
#include "deadlined/ha.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/lease.h"
#include "deadlined/log.h"
#include "deadlined/receiver.h"

#define QUIET_MS 30000       /* the same lease error is logged this seldom */
#define LOOK_MS 100          /* from long loops, look for news this often */

struct ha {
	struct lease *lease;
	struct state *st;
	char name[128];
	bool leader;
	int64_t epoch;           /* the epoch the store is fenced by */
	char said[2][256];       /* the last two lease errors logged, newest first */
	int64_t said_at[2], last_look;
	bool resigned;           /* for good: a stop is under way */
};

int ha_open(const struct conf *conf, struct state *st, struct ha **out, struct dl_error *err)
{
	struct lease_settings s = { 0 };
	char holder[300];
	char *password = NULL;
	struct ha *h;
	int rc;

	*out = NULL;
	if (strcmp(conf->state.driver, "postgresql"))
		return 0;
	if (!(h = calloc(1, sizeof *h))) {
		error_set(err, "out of memory");
		return -1;
	}
	pgconn_holder(holder, sizeof holder);
	snprintf(h->name, sizeof h->name, "%s", conf->ha.name);
	if (receiver_read_secret(conf->state.password_file, conf->state.password_credential,
				 &password, err) < 0) {
		free(h);
		error_prefix(err, "state database");
		return -1;
	}
	s.pg.conninfo = conf->state.conninfo;
	s.pg.password = password;
	s.pg.application_name = "deadlined-lease";
	s.name = conf->ha.name;
	s.holder = holder;
	s.lease_ms = (long)(conf->ha.lease * 1000);
	s.renew_ms = (long)(conf->ha.renew * 1000);
	s.margin_ms = (long)(conf->ha.margin * 1000);
	rc = lease_open(&s, &h->lease, err);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (rc < 0) {
		free(h);
		return -1;
	}
	h->st = st;
	state_set_fence(st, h->name, 0);     /* nothing is ours until taken */
	*out = h;
	return 0;
}

void ha_resign(struct ha *h)
{
	struct dl_error err;

	if (!h || h->resigned)
		return;
	h->resigned = true;
	if (lease_leader(h->lease) && lease_resign(h->lease, &err) < 0)
		log_msg(LOG_WARNING, "%s", err.msg);
	state_set_fence(h->st, h->name, 0);
}

void ha_close(struct ha *h)
{
	if (!h)
		return;
	ha_resign(h);
	lease_close(h->lease);
	free(h);
}

/* A database that stays unreachable is said once, then every QUIET_MS.
 * Two errors are remembered, not one: a take that waits on a lock fails by
 * the server's statement timeout or by our own deadline (the same length),
 * whichever comes first, and the two would otherwise take turns. */
static void log_error(struct ha *h, const char *msg)
{
	int64_t now = pgconn_now_ms();
	int i = strcmp(msg, h->said[0]) == 0 ? 0 : strcmp(msg, h->said[1]) == 0 ? 1 : -1;

	if (i >= 0 && now - h->said_at[i] < QUIET_MS)
		return;
	log_msg(LOG_WARNING, "%s", msg);
	if (i < 0) {
		memcpy(h->said[1], h->said[0], sizeof h->said[1]);
		h->said_at[1] = h->said_at[0];
		i = 0;
		snprintf(h->said[0], sizeof h->said[0], "%s", msg);
	}
	h->said_at[i] = now;
}

bool ha_tick(struct ha *h, bool look)
{
	struct dl_error err;
	int64_t now = pgconn_now_ms();
	bool was, due;

	if (!h || h->resigned)
		return false;
	was = h->leader;
	due = lease_wait_ms(h->lease) == 0;
	if (due || look || now - h->last_look >= LOOK_MS) {
		h->last_look = now;
		/* Only a step that was due and went well ends an error: a look
		 * in between does nothing, and would let each retry say it again. */
		if (lease_step(h->lease, &err) < 0)
			log_error(h, err.msg);
		else if (due)
			h->said[0][0] = h->said[1][0] = '\0';
	}
	h->leader = lease_leader(h->lease);
	if (lease_epoch(h->lease) != h->epoch) {
		h->epoch = lease_epoch(h->lease);
		state_set_fence(h->st, h->name, h->epoch);
	}
	return h->leader != was;
}

bool ha_leader(struct ha *h)
{
	return !h || (!h->resigned && lease_leader(h->lease));
}

long ha_wait_ms(struct ha *h)
{
	return h ? lease_wait_ms(h->lease) : 0;
}

int ha_fd(struct ha *h)
{
	return h ? lease_fd(h->lease) : -1;
}

const char *ha_describe(struct ha *h, char *buf, size_t size)
{
	struct lease_info i;
	char since[32] = "?";
	time_t t;
	struct tm tm;

	if (!h) {
		snprintf(buf, size, "%s", "");
		return buf;
	}
	lease_info(h->lease, &i);
	t = (time_t)i.since;
	if (i.since > 0 && localtime_r(&t, &tm))
		strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", &tm);
	if (i.leader)
		snprintf(buf, size, "leader, epoch %" PRId64 " since %s", i.epoch, since);
	else if (i.holder[0])
		snprintf(buf, size, "standby (last seen leader %s, epoch %" PRId64 ")", i.holder,
			 i.epoch);
	else
		snprintf(buf, size, "standby%s", i.connected ? "" : " (database unreachable)");
	return buf;
}
