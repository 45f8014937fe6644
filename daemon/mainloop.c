/* mainloop.c — the service loop (see mainloop.h). */
#include "deadlined/mainloop.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/ha.h"
#include "deadlined/log.h"
#include "deadlined/outbox.h"
#include "deadlined/poll.h"
#include "deadlined/poller.h"
#include "deadlined/route.h"
#include "deadlined/service.h"
#include "deadlined/source.h"
#include "deadlined/state.h"

#define DELIVER_ROUNDS 20
#define DELIVER_MAX 200
#define DELIVER_MAX_HA 20          /* a pair asks the lease more often */

struct loop {
	const char *path, *db;
	struct conf *conf;
	struct state *st;
	struct route *route;        /* both made anew by a reload */
	struct outbox *outbox;
	uint64_t next_poll;         /* monotonic usec: a wall-clock step back
				       must not delay polls */
	char last_poll[16];         /* local HH:MM:SS, or "never" */
	char note[224];             /* the last poll's problem, for STATUS */
	char reload_note[200];      /* a rejected reload, until one succeeds */
	struct poller *poller;      /* keeps the case database open */
	int64_t meta_seq;           /* source_seq as last stored in meta */
	char down_since[24];        /* the case database unreadable since
				       (local time), or "" */
	uint64_t retry_usec;        /* the next retry's wait while it is */
	struct ha *ha;              /* NULL unless the store is shared by a pair */
	bool role_changed;          /* seen by the keepalive hook */
	bool delivering;            /* a batch may be in a receiver's hands */
};

/* The first retry after a failed read of the case database, doubled each
 * time up to service.poll_interval. */
#define RETRY_FIRST_USEC 5000000u

static int64_t now_unix(void)
{
	return (int64_t)time(NULL);
}

static void set_meta(struct loop *l, const char *key, const char *value)
{
	struct dl_error err;

	if (state_set_meta(l->st, key, value, &err) < 0)
		log_msg(LOG_WARNING, "%s", err.msg);
}

/* What deadlined -n warns of, in the log too: nobody runs -n on every
 * reload. */
static void log_warnings(const struct conf *conf)
{
	struct dl_errors w = { 0 };

	conf_warnings(conf, &w);
	for (size_t i = 0; i < w.n; i++)
		log_msg(LOG_WARNING, "configuration: %s", w.msg[i]);
	errors_clear(&w);
}

/* What deadlinectl status says of the daemon; in a pair, of the leader. */
static void record_start(struct loop *l)
{
	char buf[256];
	time_t t = time(NULL);
	struct tm tm;

	if (!ha_leader(l->ha)) {
		log_warnings(l->conf);
		return;
	}
	set_meta(l, "leader", ha_describe(l->ha, buf, sizeof buf));
	localtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	set_meta(l, "config_loaded", buf);
	set_meta(l, "config", l->path);
	snprintf(buf, sizeof buf, "%ld", (long)getpid());
	set_meta(l, "pid", buf);
	log_warnings(l->conf);
}

static void update_status(struct loop *l)
{
	struct state_status s;
	struct dl_error err;
	char role[200];

	ha_describe(l->ha, role, sizeof role);
	if (state_status(l->st, &s, &err) < 0) {
		service_status("%s%sstate database unreadable: %s", role, role[0] ? "; " : "",
			       err.msg);
		return;
	}
	service_status("%s%s%ld open, %ld overdue, %ld due soon; outbox %ld, dead %ld; "
		       "last poll %s%s%s%s%s", role, role[0] ? "; " : "",
		       s.open, s.overdue, s.due_soon, s.pending, s.dead, l->last_poll,
		       l->note[0] ? "; " : "", l->note, l->reload_note[0] ? "; " : "",
		       l->reload_note);
}

/* Between rounds of sending: feed the watchdog; a stop request, the
 * round's time budget spent, or the lease of a pair that is no longer ours
 * ends a drain. */
static int tick(void *ctx)
{
	struct loop *l = ctx;

	service_keepalive();
	return service_round_over() || !ha_leader(l->ha) ? 1 : 0;
}

/* An evaluation is not cut short by a stop request: a poll is one
 * transaction, and the stop grace allows for it.  The read of a remote
 * case database is (source_set_give_up, in mainloop_run). */
static int evaluate_tick(void *ctx)
{
	(void)ctx;
	service_keepalive();
	return 0;
}

/* Rounds of delivery within a time budget of one poll interval: receivers
 * that stall (a body trickled for ever, say) hold up at most the requests
 * in flight when it is spent, never the next poll or a stop. */
static void deliver(struct loop *l)
{
	struct outbox_result r;
	struct dl_error err;

	if (service_stop_requested || !ha_leader(l->ha))
		return;
	service_round_budget((uint64_t)l->conf->service.poll_interval * 1000000u);
	l->delivering = true;
	/* A pair asks its lease between smaller rounds; the store's fence and
	 * the gate before each batch stand behind that. */
	if (outbox_drain(l->outbox, DELIVER_ROUNDS, l->ha ? DELIVER_MAX_HA : DELIVER_MAX, tick,
			 l, &r, &err) < 0)
		log_msg(strncmp(err.msg, STATE_FENCED_PREFIX, strlen(STATE_FENCED_PREFIX)) ?
			LOG_ERR : LOG_NOTICE, "delivery: %s", err.msg);
	l->delivering = false;
	if (service_round_over() && !service_stop_requested)
		log_msg(LOG_INFO, "delivery: the round's %ld s were used; the rest waits for the "
			"next round", l->conf->service.poll_interval);
	service_round_budget(0);
}

/* Local time, with the date or without. */
static void local_time(int64_t t, bool date, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	if (date)
		strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	else
		strftime(buf, size, "%H:%M:%S", &tm);
}

/* The case database could not be read: say so in one log line a try, in
 * STATUS and in meta (deadlinectl status), and try again after 5 s, 10 s,
 * 20 s ... up to the poll interval: a server restarting is back soon, and
 * one that is down is not asked more often than it would be polled. */
static void source_down(struct loop *l, const char *msg)
{
	uint64_t most = (uint64_t)l->conf->service.poll_interval * 1000000u;

	if (!l->down_since[0]) {
		local_time(now_unix(), true, l->down_since, sizeof l->down_since);
		set_meta(l, "source_down_since", l->down_since);
	}
	set_meta(l, "source_down_reason", msg);
	l->retry_usec = l->retry_usec ? l->retry_usec * 2 : RETRY_FIRST_USEC;
	if (l->retry_usec > most)
		l->retry_usec = most;
	l->next_poll = service_now_usec() + l->retry_usec;
	log_msg(LOG_ERR, "poll failed: %s (case database unavailable since %s; next try in "
		"%llu s)", msg, l->down_since, (unsigned long long)(l->retry_usec / 1000000u));
	snprintf(l->note, sizeof l->note, "poll failed: %.120s; case database unavailable "
		 "since %s", msg, l->down_since);
}

static void source_up(struct loop *l)
{
	if (!l->down_since[0])
		return;
	log_msg(LOG_NOTICE, "case database readable again (unavailable since %s)",
		l->down_since);
	set_meta(l, "source_down_since", "");
	set_meta(l, "source_down_reason", "");
	l->down_since[0] = '\0';
	l->retry_usec = 0;
}

/* One poll; a failure (the case database missing, say) is logged and shown
 * in STATUS, and the next poll tries again.  A failed poll changed nothing
 * (its transaction was rolled back). */
static void poll_once(struct loop *l)
{
	struct poll_env env = { l->conf, l->st, l->route, l->outbox, evaluate_tick, NULL };
	struct poller_result res;
	struct dl_error err;
	char seq[32];
	int rc;

	rc = poller_poll(l->poller, &env, l->db, date_now(), now_unix(), &res, &err);
	l->next_poll = service_now_usec() + (uint64_t)l->conf->service.poll_interval * 1000000u;
	/* A read given up for a stop is no fault of the database. */
	if (rc < 0 && service_stop_pending()) {
		log_msg(LOG_NOTICE, "poll abandoned: stopping (nothing was changed)");
		return;
	}
	if (rc < 0 && res.source_failed) {
		source_down(l, err.msg);
		return;
	}
	if (rc < 0) {
		log_msg(LOG_ERR, "poll failed: %s", err.msg);
		snprintf(l->note, sizeof l->note, "poll failed: %.120s", err.msg);
		return;
	}
	source_up(l);
	l->note[0] = '\0';
	local_time(now_unix(), false, l->last_poll, sizeof l->last_poll);
	/* For a writer that prunes deadlined_changes: how far it was read. */
	if (res.change_seq != l->meta_seq) {
		snprintf(seq, sizeof seq, "%" PRId64, res.change_seq);
		set_meta(l, "source_seq", seq);
		l->meta_seq = res.change_seq;
	}
	log_msg(LOG_INFO, "poll: %ld cases, %ld overdue, %ld due soon, %ld messages made (%s)",
		res.poll.cases, res.poll.overdue, res.poll.due_soon, res.poll.enqueued,
		res.full ? "full evaluation" : "changed cases only");
}

static void log_errors(const struct dl_errors *errors)
{
	for (size_t i = 0; i < errors->n; i++)
		log_msg(LOG_ERR, "reload: %s", errors->msg[i]);
}

/* The outbox's gate: right before each batch goes to a receiver. */
static bool may_send(void *ctx)
{
	struct loop *l = ctx;

	return ha_leader(l->ha);
}

static bool same(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* SIGHUP: the new configuration replaces the old only when it is valid. */
static void reload(struct loop *l)
{
	struct dl_errors errors = { 0 };
	struct conf *fresh;
	struct route *route = NULL;
	struct outbox *outbox = NULL;
	struct dl_error err;

	service_reload_requested = 0;
	service_reloading();
	if (conf_load(l->path, &fresh, &errors) < 0) {
		log_errors(&errors);
		snprintf(l->reload_note, sizeof l->reload_note, "reload rejected: %zu error%s in %s "
			 "(old configuration kept)", errors.n, errors.n == 1 ? "" : "s", l->path);
		errors_clear(&errors);
	} else if (strcmp(fresh->state.database, l->conf->state.database) != 0 ||
		   strcmp(fresh->state.driver, l->conf->state.driver) != 0 ||
		   !same(fresh->state.conninfo, l->conf->state.conninfo) ||
		   memcmp(&fresh->ha.lease, &l->conf->ha.lease, 3 * sizeof(double)) ||
		   strcmp(fresh->ha.name, l->conf->ha.name)) {
		snprintf(l->reload_note, sizeof l->reload_note, "reload rejected: the state store "
			 "and the ha settings cannot change while running; restart instead");
		log_msg(LOG_ERR, "%s", l->reload_note);
		conf_free(fresh);
	} else if (route_open(fresh, &route, &err) < 0 ||
		   outbox_open(fresh, l->st, &outbox, &err) < 0) {
		snprintf(l->reload_note, sizeof l->reload_note, "reload rejected: %.150s", err.msg);
		route_close(route);
		conf_free(fresh);
	} else {
		route_close(l->route);
		outbox_close(l->outbox);
		conf_free(l->conf);
		l->conf = fresh;
		l->route = route;
		l->outbox = outbox;
		if (l->ha)
			outbox_set_gate(outbox, may_send, l);
		setenv("TZ", fresh->timezone, 1);
		tzset();
		log_set_level(fresh->service.log_priority);
		service_set_stop_grace((uint64_t)fresh->service.stop_grace * 1000000u);
		record_start(l);
		l->reload_note[0] = '\0';
		l->next_poll = 0;      /* evaluate with the new rules now */
		poller_want_full(l->poller);
		log_msg(LOG_NOTICE, "reloaded %s", l->path);
	}
	service_ready();
	update_status(l);
}

/* Sleep until the earliest thing that needs doing: the next poll
 * (monotonic), or a retry, digest time or local midnight (wall clock). */
static uint64_t sleep_usec(struct loop *l)
{
	uint64_t mono = service_now_usec();
	uint64_t sleep = l->next_poll > mono ? l->next_poll - mono : 0;
	int64_t now = now_unix(), wake = now + 86400, next_attempt = 0;
	const struct conf_notify *cn = &l->conf->notify;
	struct dl_error err;

	if (state_next_attempt(l->st, &next_attempt, &err) == 0 && next_attempt > 0 &&
	    next_attempt < wake)
		wake = next_attempt;
	/* Digests and the day's rollover are decided by a poll. */
	if (cn->digest_minute >= 0 && date_next_local(now, cn->digest_minute) < wake)
		wake = date_next_local(now, cn->digest_minute);
	if (date_next_local(now, 0) < wake)
		wake = date_next_local(now, 0);
	if (wake <= now)
		return 0;
	if ((uint64_t)(wake - now) * 1000000u < sleep)
		sleep = (uint64_t)(wake - now) * 1000000u;
	return sleep;
}

/* In a pair, on becoming leader: poll at once, with a full evaluation
 * (the other daemon's polls changed the store meanwhile). */
static void take_role(struct loop *l)
{
	char role[200];

	log_msg(LOG_NOTICE, "%s", ha_describe(l->ha, role, sizeof role));
	if (ha_leader(l->ha)) {
		l->next_poll = 0;
		poller_want_full(l->poller);
		record_start(l);
	}
}

/* The keepalive hook: the lease is renewed during long polls too.  What
 * a change of role asks for waits for loop_once, outside the poll. */
static void lease_tick(void *ctx)
{
	struct loop *l = ctx;

	/* A stop during a poll hands over at once; one during delivery waits
	 * for the batch in the receiver's hands, whose marks need the lease. */
	if (service_stop_requested && !l->delivering)
		ha_resign(l->ha);
	if (ha_tick(l->ha, false))
		l->role_changed = true;
}


static void loop_once(struct loop *l, int64_t *last_poll_at)
{
	int64_t now = now_unix();

	if (ha_tick(l->ha, true) || l->role_changed) {
		l->role_changed = false;
		take_role(l);
	}
	if (!ha_leader(l->ha)) {
		update_status(l);
		return;
	}
	/* A digest time or midnight that came before next_poll moves it. */
	if (service_now_usec() >= l->next_poll || now >= *last_poll_at + 86400 ||
	    date_next_local(*last_poll_at, 0) <= now ||
	    (l->conf->notify.digest_minute >= 0 &&
	     date_next_local(*last_poll_at, l->conf->notify.digest_minute) <= now)) {
		poll_once(l);
		*last_poll_at = now;
	}
	deliver(l);
	update_status(l);
}

int mainloop_run(const char *config_path, struct conf **conf, const char *db)
{
	struct loop l = { .path = config_path, .db = db, .conf = *conf, .meta_seq = -1 };
	struct dl_error err;
	int64_t last_poll_at = 0;

	snprintf(l.last_poll, sizeof l.last_poll, "never");
	if (service_init() < 0 || poller_open(&l.poller, &err) < 0 ||
	    state_open(&l.conf->state, &l.st, &err) < 0 ||
	    route_open(l.conf, &l.route, &err) < 0 ||
	    outbox_open(l.conf, l.st, &l.outbox, &err) < 0 ||
	    ha_open(l.conf, l.st, &l.ha, &err) < 0) {
		log_msg(LOG_ERR, "cannot start: %s", err.msg);
		outbox_close(l.outbox);
		route_close(l.route);
		state_close(l.st);
		poller_close(l.poller);
		return -1;
	}
	service_set_tick(lease_tick, &l);
	/* A stop is taken between the ranges of a long read of a remote
	 * case database (the poll then changes nothing), not at its end. */
	source_set_give_up(service_stop_pending);
	if (l.ha)
		outbox_set_gate(l.outbox, may_send, &l);
	ha_tick(l.ha, true);
	log_set_level(l.conf->service.log_priority);
	service_set_stop_grace((uint64_t)l.conf->service.stop_grace * 1000000u);
	record_start(&l);
	log_msg(LOG_NOTICE, "started with %s (%zu rules), polling every %ld s", config_path,
		l.conf->rules.n, l.conf->service.poll_interval);
	/* Ready once the first evaluation is stored (a standby: at once);
	 * delivery follows. */
	if (ha_leader(l.ha)) {
		if (l.ha)
			take_role(&l);
		poll_once(&l);
		last_poll_at = now_unix();
	}
	service_ready();
	update_status(&l);
	deliver(&l);
	update_status(&l);
	while (!service_stop_requested) {
		uint64_t sleep = sleep_usec(&l);

		if (l.ha && (uint64_t)ha_wait_ms(l.ha) * 1000u < sleep)
			sleep = (uint64_t)ha_wait_ms(l.ha) * 1000u;
		service_sleep_fd(sleep, ha_fd(l.ha));
		if (service_stop_requested)
			break;
		if (service_reload_requested)
			reload(&l);
		loop_once(&l, &last_poll_at);
	}
	service_stopping();
	log_msg(LOG_NOTICE, "stopping");
	if (ha_leader(l.ha))
		set_meta(&l, "pid", "");      /* deadlinectl status: not running */
	/* The last send is done: resign, so a standby takes over at once. */
	service_set_tick(NULL, NULL);
	source_set_give_up(NULL);
	ha_close(l.ha);
	outbox_close(l.outbox);
	route_close(l.route);
	poller_close(l.poller);
	state_close(l.st);
	*conf = l.conf;
	return 0;
}
