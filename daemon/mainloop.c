/* mainloop.c — the service loop (see mainloop.h). */
#include "deadlined/mainloop.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/log.h"
#include "deadlined/notify.h"
#include "deadlined/service.h"
#include "deadlined/source.h"
#include "deadlined/state.h"

#define DELIVER_ROUNDS 20
#define DELIVER_MAX 200

struct loop {
	const char *path, *db;
	struct conf *conf;
	struct state *st;
	struct notify *n;
	uint64_t next_poll;         /* monotonic usec: a wall-clock step back
				       must not delay polls */
	char last_poll[16];         /* local HH:MM:SS, or "never" */
	char note[160];             /* the last poll's problem, for STATUS */
	char reload_note[200];      /* a rejected reload, until one succeeds */

	/* The case database stays open from poll to poll, so an unchanged
	 * source costs a stat and a PRAGMA (see poll_once). */
	struct source *src;
	dev_t src_dev;
	ino_t src_ino;
	int64_t data_version;       /* as of the last poll that succeeded */
	int64_t schema_version;     /* as the source was opened */
	struct timespec src_mtime;  /* the file as of the last poll */
	off_t src_size;
	int64_t change_seq;         /* deadlined_changes read up to here */
	int64_t last_full;          /* unix time of the last full evaluation */
	bool want_full;             /* start, reload, replaced file, failure */
};

/* The cases an incremental poll evaluates: changed or due a recheck. */
struct refs {
	char **v;
	size_t n, cap;
	bool all;                   /* a change that needs everything */
};

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

static void record_start(struct loop *l)
{
	char buf[64];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	set_meta(l, "config_loaded", buf);
	set_meta(l, "config", l->path);
	snprintf(buf, sizeof buf, "%ld", (long)getpid());
	set_meta(l, "pid", buf);
}

static void update_status(struct loop *l)
{
	struct state_status s;
	struct dl_error err;

	if (state_status(l->st, &s, &err) < 0) {
		service_status("state database unreadable: %s", err.msg);
		return;
	}
	service_status("%ld open, %ld overdue, %ld due soon; outbox %ld, dead %ld; last poll %s%s%s%s%s",
		       s.open, s.overdue, s.due_soon, s.pending, s.dead, l->last_poll,
		       l->note[0] ? "; " : "", l->note, l->reload_note[0] ? "; " : "",
		       l->reload_note);
}

static void deliver(struct loop *l)
{
	struct notify_deliver_result r;
	struct dl_error err;

	for (int round = 0; round < DELIVER_ROUNDS && !service_stop_requested; round++) {
		if (notify_deliver(l->n, now_unix(), DELIVER_MAX, &r, &err) < 0) {
			log_msg(LOG_ERR, "delivery: %s", err.msg);
			return;
		}
		service_keepalive();
		if (r.sent + r.retried + r.dead == 0)
			return;
	}
}

static int add_ref(void *ctx, const char *case_ref)
{
	struct refs *r = ctx;

	if (!case_ref) {
		r->all = true;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		char **v = realloc(r->v, cap * sizeof *v);

		if (!v)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	if (!(r->v[r->n] = strdup(case_ref)))
		return -1;
	r->n++;
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void unique_refs(struct refs *r)
{
	size_t k = 0;

	if (r->n > 1)
		qsort(r->v, r->n, sizeof *r->v, cmp_ref);
	for (size_t i = 0; i < r->n; i++) {
		if (k > 0 && strcmp(r->v[k - 1], r->v[i]) == 0)
			free(r->v[i]);
		else
			r->v[k++] = r->v[i];
	}
	r->n = k;
}

static void free_refs(struct refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

/* Open the case database, or reopen it when the file at its path is
 * another one (an import renamed over it): that calls for a full
 * evaluation, since the change log of one file says nothing of another. */
static int open_source(struct loop *l, const char *db, struct stat *sb, struct dl_error *err)
{
	bool known = stat(db, sb) == 0;

	if (l->src && (!known || sb->st_dev != l->src_dev || sb->st_ino != l->src_ino)) {
		source_close(l->src);
		l->src = NULL;
	}
	if (l->src)
		return 0;
	l->want_full = true;
	if (source_open(db, l->conf->source.busy_timeout_ms, &l->src, err) < 0 ||
	    source_schema_version(l->src, &l->schema_version, err) < 0)
		return -1;
	if (known) {
		l->src_dev = sb->st_dev;
		l->src_ino = sb->st_ino;
	}
	return 0;
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Has the source changed in a way the change log cannot tell?  Its schema
 * (a relation dropped or remade), or its file rewritten in place by
 * something other than SQLite (a copy over it, a fault): the file's time
 * or size moved while SQLite's change counter did not. */
static int changed_outside(struct loop *l, const struct stat *sb, int64_t version,
			   bool *outside, struct dl_error *err)
{
	int64_t schema = 0;

	*outside = false;
	if (version == l->data_version) {
		*outside = !same_time(sb->st_mtim, l->src_mtime) || sb->st_size != l->src_size;
		return 0;
	}
	if (source_schema_version(l->src, &schema, err) < 0)
		return -1;
	*outside = schema != l->schema_version;
	return 0;
}

/* What an incremental poll must evaluate: the cases in the change log
 * since the last poll (when the source changed at all) and those whose
 * recheck time has come.  r->all when only a full evaluation will do. */
static int find_changes(struct loop *l, struct dl_moment now, int64_t version, int64_t *seq,
			struct refs *r, struct dl_error *err)
{
	*seq = l->change_seq;
	if (version != l->data_version) {
		if (!source_has_change_log(l->src)) {
			r->all = true;
			return 0;
		}
		if (source_changes(l->src, l->change_seq, add_ref, r, seq, err) < 0)
			return -1;
		if (r->all)
			return 0;
	}
	if (state_each_recheck(l->st, evaluate_moment_key(now), add_ref, r, err) < 0)
		return -1;
	unique_refs(r);
	return 0;
}

static int poll_source(struct loop *l, const char *db, struct dl_moment now,
		       struct notify_poll_result *res, struct evaluate_summary *sum,
		       bool *full, struct dl_error *err)
{
	int64_t version = 0, seq = 0, t = now_unix();
	struct refs r = { 0 };
	int rc;

	struct stat sb;
	bool outside;

	if (open_source(l, db, &sb, err) < 0 || source_data_version(l->src, &version, err) < 0 ||
	    changed_outside(l, &sb, version, &outside, err) < 0)
		goto fail;
	/* Open again, which checks the relations anew, and read it all. */
	if (outside) {
		source_close(l->src);
		l->src = NULL;
		if (open_source(l, db, &sb, err) < 0 ||
		    source_data_version(l->src, &version, err) < 0)
			goto fail;
	}
	if (l->conf->service.reconcile_interval == 0 ||
	    t - l->last_full >= l->conf->service.reconcile_interval)
		l->want_full = true;
	rc = l->want_full ? source_changes(l->src, -1, add_ref, &r, &seq, err)
			  : find_changes(l, now, version, &seq, &r, err);
	*full = l->want_full || r.all;
	if (rc == 0)
		rc = *full ? notify_poll(l->n, l->src, now, t, false, NULL, NULL, res, sum, err)
			   : notify_poll_cases(l->n, l->src, (const char *const *)r.v, r.n, now, t,
					       res, sum, err);
	free_refs(&r);
	if (rc < 0)
		goto fail;
	l->data_version = version;
	l->src_mtime = sb.st_mtim;
	l->src_size = sb.st_size;
	l->change_seq = seq;
	if (*full) {
		l->want_full = false;
		l->last_full = t;
	}
	return 0;
fail:
	/* Start again from a fresh connection and a full evaluation. */
	source_close(l->src);
	l->src = NULL;
	return -1;
}

/* One poll; a failure (the case database missing, say) is logged and shown
 * in STATUS, and the next poll tries again. */
static void poll_once(struct loop *l)
{
	const char *db = l->db ? l->db : l->conf->source.database;
	struct evaluate_summary sum = { 0 };
	struct notify_poll_result res;
	struct dl_error err;
	time_t t = time(NULL);
	struct tm tm;
	bool full = true;
	char seq[32];
	int rc;

	rc = poll_source(l, db, date_now(), &res, &sum, &full, &err);
	evaluate_summary_free(&sum);
	l->next_poll = service_now_usec() + (uint64_t)l->conf->service.poll_interval * 1000000u;
	if (rc < 0) {
		log_msg(LOG_ERR, "poll failed: %s", err.msg);
		snprintf(l->note, sizeof l->note, "poll failed: %.120s", err.msg);
		return;
	}
	l->note[0] = '\0';
	localtime_r(&t, &tm);
	strftime(l->last_poll, sizeof l->last_poll, "%H:%M:%S", &tm);
	snprintf(seq, sizeof seq, "%" PRId64, l->change_seq);
	set_meta(l, "source_seq", seq);
	log_msg(LOG_INFO, "poll: %ld cases, %ld overdue, %ld due soon, %ld messages made (%s)",
		res.cases, res.overdue, res.due_soon, res.enqueued,
		full ? "full evaluation" : "changed cases only");
}

static void log_errors(const struct dl_errors *errors)
{
	for (size_t i = 0; i < errors->n; i++)
		log_msg(LOG_ERR, "reload: %s", errors->msg[i]);
}

/* SIGHUP: the new configuration replaces the old only when it is valid. */
static void reload(struct loop *l)
{
	struct dl_errors errors = { 0 };
	struct conf *fresh;
	struct notify *n;
	struct dl_error err;

	service_reload_requested = 0;
	service_reloading();
	if (conf_load(l->path, &fresh, &errors) < 0) {
		log_errors(&errors);
		snprintf(l->reload_note, sizeof l->reload_note, "reload rejected: %zu error%s in %s "
			 "(old configuration kept)", errors.n, errors.n == 1 ? "" : "s", l->path);
		errors_clear(&errors);
	} else if (strcmp(fresh->state.database, l->conf->state.database) != 0) {
		snprintf(l->reload_note, sizeof l->reload_note, "reload rejected: state.database "
			 "cannot change while running; restart instead");
		log_msg(LOG_ERR, "%s", l->reload_note);
		conf_free(fresh);
	} else if (notify_open(fresh, l->st, &n, &err) < 0) {
		snprintf(l->reload_note, sizeof l->reload_note, "reload rejected: %.150s", err.msg);
		conf_free(fresh);
	} else {
		notify_close(l->n);
		conf_free(l->conf);
		l->conf = fresh;
		l->n = n;
		setenv("TZ", fresh->timezone, 1);
		tzset();
		log_set_level(fresh->service.log_priority);
		service_set_stop_grace((uint64_t)fresh->service.stop_grace * 1000000u);
		record_start(l);
		l->reload_note[0] = '\0';
		l->next_poll = 0;      /* evaluate with the new rules now */
		l->want_full = true;
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

static void loop_once(struct loop *l, int64_t *last_poll_at)
{
	int64_t now = now_unix();

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
	struct loop l = { .path = config_path, .db = db, .conf = *conf, .want_full = true };
	struct dl_error err;
	int64_t last_poll_at = 0;

	snprintf(l.last_poll, sizeof l.last_poll, "never");
	if (service_init() < 0 || state_open(l.conf->state.database, &l.st, &err) < 0 ||
	    notify_open(l.conf, l.st, &l.n, &err) < 0) {
		log_msg(LOG_ERR, "cannot start: %s", err.msg);
		state_close(l.st);
		return -1;
	}
	log_set_level(l.conf->service.log_priority);
	service_set_stop_grace((uint64_t)l.conf->service.stop_grace * 1000000u);
	record_start(&l);
	log_msg(LOG_NOTICE, "started with %s (%zu rules), polling every %ld s", config_path,
		l.conf->rules.n, l.conf->service.poll_interval);
	/* Ready once the first evaluation is stored; delivery follows. */
	poll_once(&l);
	last_poll_at = now_unix();
	service_ready();
	update_status(&l);
	deliver(&l);
	update_status(&l);
	while (!service_stop_requested) {
		service_sleep(sleep_usec(&l));
		if (service_stop_requested)
			break;
		if (service_reload_requested)
			reload(&l);
		loop_once(&l, &last_poll_at);
	}
	service_stopping();
	log_msg(LOG_NOTICE, "stopping");
	notify_close(l.n);
	source_close(l.src);
	state_close(l.st);
	*conf = l.conf;
	return 0;
}
