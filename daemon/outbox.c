/* outbox.c — the outbox: enqueue, schedule, send, settle (see outbox.h). */
#include "deadlined/outbox.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/link.h"
#include "deadlined/log.h"
#include "deadlined/receiver.h"
#include "deadlined/service.h"
#include "deadlined/vec.h"

#define BATCH 50

struct opened {
	const char *name;
	struct receiver *r;
};

struct outbox {
	const struct conf *conf;
	struct state *st;
	struct opened *recv;        /* opened on first use */
	size_t nrecv;
	char host[64];              /* the right side of a Message-ID */
	bool (*may_send)(void *ctx);   /* in a pair: the lease, asked per batch */
	void *gate_ctx;
	struct link_key key;        /* signs links in alerts (link.h); n 0: none */
	char *tray_url;             /* web.base_url + "/", or NULL */
};

void outbox_set_gate(struct outbox *o, bool (*may_send)(void *ctx), void *ctx)
{
	o->may_send = may_send;
	o->gate_ctx = ctx;
}

int outbox_open(const struct conf *conf, struct state *st, struct outbox **out,
		struct dl_error *err)
{
	struct outbox *o = calloc(1, sizeof *o);

	if (!o || !(o->recv = calloc(conf->receivers.n + 1, sizeof *o->recv))) {
		free(o);
		error_set(err, "out of memory");
		return -1;
	}
	o->conf = conf;
	o->st = st;
	if (link_key_load(&conf->web, &o->key, err) < 0 ||
	    (conf->web.base_url && !(o->tray_url = link_tray_url(conf->web.base_url)))) {
		error_prefix(err, "links in alerts");
		free(o->recv);
		free(o);
		return -1;
	}
	if (gethostname(o->host, sizeof o->host) != 0 || !o->host[0])
		snprintf(o->host, sizeof o->host, "localhost");
	o->host[sizeof o->host - 1] = '\0';
	/* A Message-ID's right side must be a plain domain-like word. */
	for (char *p = o->host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '-';
	*out = o;
	return 0;
}

void outbox_close(struct outbox *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nrecv; i++)
		receiver_close(o->recv[i].r);
	free(o->recv);
	free(o->tray_url);
	free(o);
}

/* The receiver called name, opened on first use; NULL with err if it is
 * not configured or cannot be opened (a missing secret, say). */
static struct receiver *get_receiver(struct outbox *o, const char *name, struct dl_error *err)
{
	const struct receiver_conf *rc;

	for (size_t i = 0; i < o->nrecv; i++)
		if (strcmp(o->recv[i].name, name) == 0)
			return o->recv[i].r;
	if (!(rc = conf_receiver(o->conf, name))) {
		error_set(err, "receiver %s is no longer configured", name);
		return NULL;
	}
	if (receiver_open(rc, &o->recv[o->nrecv].r, err) < 0)
		return NULL;
	o->recv[o->nrecv].name = rc->name;
	return o->recv[o->nrecv++].r;
}

static void make_msg_id(const struct outbox *o, char *buf, size_t size)
{
	unsigned char r[16];
	char hex[33];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)arc4random();
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(buf, size, "dl-%s@%s", hex, o->host);
}

/* ---- putting messages in ------------------------------------------------ */

/* The items with their links (link.h) for recipient `to` (NULL: a channel,
 * which gets no signed links), or NULL when there are none to add; *urls
 * holds what to free (3 a item). */
static struct alert_item *linked_items(const struct outbox *o, const char *to, int64_t now,
				       const struct alert_item *items, size_t n, char ***urls)
{
	const struct conf_web *w = &o->conf->web;
	bool sign = o->key.n && w->base_url && to;
	int64_t expires = now + (int64_t)w->link_days * 86400;
	struct alert_item *v;

	*urls = NULL;
	if ((!sign && !w->case_url) || !n)
		return NULL;
	if (!(v = malloc(n * sizeof *v)) || !(*urls = calloc(3 * n, sizeof **urls))) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct alert_item *it = &items[i];
		const char *state = it->state ? it->state : "";

		v[i] = *it;
		v[i].case_url = (*urls)[3 * i] = link_case_url(w->case_url, it->case_ref);
		if (!sign || !it->case_ref || !it->rule_id)
			continue;
		v[i].open_url = (*urls)[3 * i + 1] = link_make(&o->key, w->base_url, "open",
							      it->case_ref, it->rule_id, to, expires);
		if (strcmp(state, "overdue") == 0 || strcmp(state, "due-soon") == 0)
			v[i].ack_url = (*urls)[3 * i + 2] = link_make(&o->key, w->base_url, "ack",
								     it->case_ref, it->rule_id, to,
								     expires);
	}
	return v;
}

static void free_urls(char **urls, size_t n)
{
	for (size_t i = 0; urls && i < n; i++)
		free(urls[i]);
	free(urls);
}

/* Rendered with this recipient's links and the tray's address. */
static int render_linked(const struct outbox *o, struct alert *a, const char *to,
			 struct rendered *out, struct dl_error *err)
{
	char **urls;
	const struct alert_item *plain = a->items;
	struct alert_item *linked = linked_items(o, to, a->created, a->items, a->n, &urls);
	int rc;

	a->items = linked ? linked : plain;
	a->tray_url = o->tray_url;
	rc = render_alert(a, out, err);
	a->items = plain;
	free(linked);
	free_urls(urls, 3 * a->n);
	return rc;
}

int outbox_enqueue(struct outbox *o, struct alert *a, const struct outbox_entry *e,
		   const struct outbox_dry *dry, struct dl_error *err)
{
	char msg_id[128];
	struct rendered out = { 0 };
	struct state_message m;
	int64_t id;
	int rc;

	make_msg_id(o, msg_id, sizeof msg_id);
	a->msg_id = msg_id;
	rc = render_linked(o, a, e->recipient, &out, err);
	a->msg_id = NULL;
	if (rc < 0)
		return -1;
	if (dry) {
		if (dry->fn)
			dry->fn(dry->ctx, e->receiver, e->recipient, out.subject);
		render_free(&out);
		return 0;
	}
	m = (struct state_message){
		.msg_id = msg_id, .receiver = e->receiver, .recipient = e->recipient,
		.kind = render_kind_name(a->kind), .case_ref = e->case_ref, .rule = e->rule,
		.immediate = e->immediate, .subject = out.subject, .text = out.text,
		.html = out.html, .payload = out.payload, .created = a->created,
		.next_attempt = a->created,
	};
	rc = state_enqueue(o->st, &m, &id, err);
	render_free(&out);
	return rc;
}

/* ---- sending ------------------------------------------------------------ */

struct pending {
	struct state_message m;
	char *strings[11];
	bool taken;                /* already in a batch */
};

struct due {
	struct pending *v;
	size_t n, cap;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int collect_due(void *ctx, const struct state_message *m)
{
	struct due *d = ctx;
	struct pending *p;

	if (vec_reserve((void **)&d->v, &d->cap, d->n, sizeof *d->v) < 0)
		return -1;
	p = &d->v[d->n++];
	memset(p, 0, sizeof *p);
	p->m = *m;
	/* The row's text is valid only during the walk: keep copies. */
	p->m.msg_id = p->strings[0] = dup_or_null(m->msg_id);
	p->m.receiver = p->strings[1] = dup_or_null(m->receiver);
	p->m.recipient = p->strings[2] = dup_or_null(m->recipient);
	p->m.kind = p->strings[3] = dup_or_null(m->kind);
	p->m.case_ref = p->strings[4] = dup_or_null(m->case_ref);
	p->m.rule = p->strings[5] = dup_or_null(m->rule);
	p->m.subject = p->strings[6] = dup_or_null(m->subject);
	p->m.text = p->strings[7] = dup_or_null(m->text);
	p->m.html = p->strings[8] = dup_or_null(m->html);
	p->m.payload = p->strings[9] = dup_or_null(m->payload);
	p->m.status = NULL;
	p->m.last_error = p->strings[10] = dup_or_null(m->last_error);
	return 0;
}

static void free_due(struct due *d)
{
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < 11; k++)
			free(d->v[i].strings[k]);
	free(d->v);
}

static void local_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	localtime_r(&tt, tm);
}

bool outbox_quiet(const struct conf_notify *cn, int64_t now)
{
	struct tm tm;
	int m;

	if (cn->quiet_from < 0)
		return false;
	local_tm(now, &tm);
	m = tm.tm_hour * 60 + tm.tm_min;
	if (cn->quiet_from < cn->quiet_until)
		return m >= cn->quiet_from && m < cn->quiet_until;
	return m >= cn->quiet_from || m < cn->quiet_until;
}

/* When a message made at `created` becomes a dead letter. */
int64_t outbox_dead_at(const struct conf *conf, int64_t created)
{
	const struct duration *d = &conf->notify.dead_after.d;
	struct dl_moment start, end;
	struct dl_error err;
	struct tm tm;

	local_tm(created, &tm);
	if (!date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &start.day))
		return created;
	start.sec = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	if (duration_add(conf->cal, start, d, false, &end, &err) < 0)
		return created;
	if (end.sec == DATE_NO_TIME)      /* whole days: same time of day */
		end.sec = start.sec;
	return created + (int64_t)(end.day - start.day) * 86400 + (end.sec - start.sec);
}

/* Exponential backoff with jitter, capped, and never sooner than the
 * server asked (Retry-After). */
int64_t outbox_backoff(const struct conf_notify *cn, int attempts, long retry_after)
{
	int64_t delay = cn->retry_initial;

	for (int i = 1; i < attempts && delay < cn->retry_max; i++)
		delay *= 2;
	if (delay > cn->retry_max)
		delay = cn->retry_max;
	delay = delay / 2 + (int64_t)arc4random_uniform((uint32_t)(delay / 2 + 1));
	if (delay < 1)
		delay = 1;
	/* The schedule is in whole seconds and "now" was rounded down, so a
	 * server's Retry-After gets one second more to be sure of it. */
	return retry_after > 0 && delay <= retry_after ? retry_after + 1 : delay;
}

/* Hold a message for quiet hours or its recipient's daily cap; true when
 * held (its next_attempt moved on). */
static int hold(struct outbox *o, const struct state_message *m, struct pending **batch,
		size_t count, int64_t now, bool *held, struct dl_error *err)
{
	const struct conf_notify *cn = &o->conf->notify;
	char day[DATE_BUF];
	int sent = 0;
	int64_t until = 0;

	/* Those already in this batch count against the cap too. */
	for (size_t i = 0; m->recipient && i < count; i++)
		sent += batch[i]->m.recipient && strcmp(batch[i]->m.recipient, m->recipient) == 0;
	*held = false;
	if (m->immediate)
		return 0;
	if (outbox_quiet(cn, now)) {
		until = date_next_local(now, cn->quiet_until);
	} else if (m->recipient) {
		date_format(date_local_day(now), day);
		int before;

		if (state_count_sent(o->st, m->recipient, day, &before, err) < 0)
			return -1;
		if (sent + before >= cn->daily_cap)
			until = date_next_local(now, 0);
	}
	if (!until)
		return 0;
	*held = true;
	return state_mark_message(o->st, m->id, "pending", m->attempts, until,
				  outbox_quiet(cn, now) ? "held: quiet hours" :
				  "held: daily cap reached", 0, err);
}

/* A line about one outbox message, with its journal fields. */
static void log_outbox(int priority, const struct state_message *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void log_outbox(int priority, const struct state_message *m, const char *fmt, ...)
{
	char id[48], recv[160], kase[160], rule[160], msg[768];
	const char *fields[] = { id, recv, kase, rule, NULL };
	va_list ap;

	snprintf(id, sizeof id, "DEADLINED_OUTBOX_ID=%" PRId64, m->id);
	snprintf(recv, sizeof recv, "DEADLINED_RECEIVER=%s", m->receiver);
	snprintf(kase, sizeof kase, "DEADLINED_CASE=%s", m->case_ref ? m->case_ref : "");
	snprintf(rule, sizeof rule, "DEADLINED_RULE=%s", m->rule ? m->rule : "");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_fields(priority, fields, "%s", msg);
}

static int settle(struct outbox *o, const struct state_message *m,
		  const struct delivery_result *r, int64_t now, struct outbox_result *res,
		  struct dl_error *err)
{
	int attempts = m->attempts + 1;
	int64_t next;
	char day[DATE_BUF];

	if (r->status == DELIVERY_OK) {
		res->sent++;
		log_outbox(LOG_INFO, m, "sent %s %s via %s to %s", m->kind, m->msg_id, m->receiver,
			   m->recipient ? m->recipient : "(webhook)");
		date_format(date_local_day(now), day);
		if (m->recipient && state_add_sent(o->st, m->recipient, day, err) < 0)
			return -1;
		return state_mark_message(o->st, m->id, "sent", attempts, now, r->detail, now, err);
	}
	next = now + outbox_backoff(&o->conf->notify, attempts, r->retry_after);
	if (r->status == DELIVERY_PERMANENT || next > outbox_dead_at(o->conf, m->created)) {
		res->dead++;
		log_outbox(LOG_ERR, m, "dead letter %" PRId64 " (%s via %s): %s; retry with "
			   "'deadlinectl retry %" PRId64 "'", m->id, m->kind, m->receiver, r->detail,
			   m->id);
		return state_mark_message(o->st, m->id, "dead", attempts, next, r->detail, 0, err);
	}
	res->retried++;
	log_outbox(LOG_WARNING, m, "message %" PRId64 " via %s will be retried in %" PRId64
		   " s: %s", m->id, m->receiver, next - now, r->detail);
	return state_mark_message(o->st, m->id, "pending", attempts, next, r->detail, 0, err);
}

/* Now in whole seconds, rounded up: the schedule is in whole seconds, and
 * rounding down would let a retry fall due up to a second early. */
static int64_t now_rounded_up(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + (ts.tv_nsec > 0);
}

/* Send one receiver's messages from v (those not held) as one batch. */
static int send_batch(struct outbox *o, struct pending **v, size_t count, int64_t now,
		      struct outbox_result *res, struct dl_error *err)
{
	struct message msgs[BATCH];
	struct delivery_result results[BATCH];
	struct dl_error rerr;
	struct receiver *r = get_receiver(o, v[0]->m.receiver, &rerr);

	for (size_t i = 0; i < count; i++) {
		const struct state_message *m = &v[i]->m;

		msgs[i] = (struct message){ m->id, m->msg_id, m->recipient, m->subject, m->text,
					    m->html, m->payload, m->created };
		if (!r) {
			results[i] = (struct delivery_result){ DELIVERY_RETRY, 0, "" };
			snprintf(results[i].detail, sizeof results[i].detail, "%s", rerr.msg);
		}
	}
	/* A leader paused or cut off since the claim sends nothing. */
	if (o->may_send && !o->may_send(o->gate_ctx)) {
		error_set(err, STATE_FENCED_PREFIX "no longer the leader: %zu claimed message%s "
			  "left for the new one", count, count == 1 ? "" : "s");
		return -1;
	}
	if (r)
		receiver_send(r, msgs, count, results);
	/* Retries count from when the batch ended: a batch that timed out
	 * must not be due again at once, even when it ended late in a second. */
	if (now_rounded_up() > now)
		now = now_rounded_up();
	for (size_t i = 0; i < count; i++)
		if (settle(o, &v[i]->m, &results[i], now, res, err) < 0)
			return -1;
	return 0;
}

int outbox_deliver(struct outbox *o, int64_t now_unix, int max,
		   struct outbox_result *res, struct dl_error *err)
{
	struct due d = { 0 };
	struct pending *batch[BATCH];
	int rc;

	memset(res, 0, sizeof *res);
	rc = state_each_due(o->st, now_unix, max, collect_due, &d, err);
	/* One batch per receiver, in outbox order within it; none starts once
	 * the round's time budget is spent or a stop was asked for (the
	 * messages stay due, untouched, for the next round). */
	for (size_t i = 0; rc == 0 && i < d.n && !service_round_over(); i++) {
		size_t count = 0;

		for (size_t j = i; rc == 0 && j < d.n && count < BATCH; j++) {
			bool held;

			if (d.v[j].taken || strcmp(d.v[j].m.receiver, d.v[i].m.receiver) != 0)
				continue;
			d.v[j].taken = true;
			rc = hold(o, &d.v[j].m, batch, count, now_unix, &held, err);
			res->held += held;
			if (!held)
				batch[count++] = &d.v[j];
		}
		if (rc == 0 && count)
			rc = send_batch(o, batch, count, now_unix, res, err);
	}
	free_due(&d);
	return rc;
}


int outbox_drain(struct outbox *o, int rounds, int max, outbox_tick_fn tick, void *ctx,
		 struct outbox_result *total, struct dl_error *err)
{
	struct outbox_result r;

	memset(total, 0, sizeof *total);
	for (int round = 0; round < rounds; round++) {
		if (outbox_deliver(o, (int64_t)time(NULL), max, &r, err) < 0)
			return -1;
		total->sent += r.sent;
		total->retried += r.retried;
		total->dead += r.dead;
		total->held += r.held;
		if ((tick && tick(ctx) != 0) || r.sent + r.retried + r.dead == 0)
			break;
	}
	return 0;
}

int outbox_test(struct outbox *o, const char *receiver, const char *to,
		struct delivery_result *result, struct dl_error *err)
{
	const struct receiver_conf *rc = conf_receiver(o->conf, receiver);
	struct receiver *r;
	char msg_id[128], line[160];
	struct alert a = { ALERT_TEST, receiver, msg_id, (int64_t)time(NULL), NULL, 0, line };
	struct rendered out = { 0 };
	struct message m;

	if (!rc) {
		error_set(err, "no receiver '%s' in the configuration", receiver);
		return -1;
	}
	if (rc->kind != RECEIVER_WEBHOOK && !to && rc->to.n == 0) {
		error_set(err, "receiver %s has no fixed 'to' address; give --recipient ADDRESS", receiver);
		return -1;
	}
	if (!(r = get_receiver(o, receiver, err)))
		return -1;
	make_msg_id(o, msg_id, sizeof msg_id);
	snprintf(line, sizeof line, "This is a test message from deadlined on %s, sent to check "
		 "the receiver '%s'. No action is needed.", o->host, receiver);
	if (render_alert(&a, &out, err) < 0)
		return -1;
	m = (struct message){ 0, msg_id, rc->kind == RECEIVER_WEBHOOK ? NULL : to ? to : rc->to.v[0],
			      out.subject, out.text, out.html, out.payload, a.created };
	receiver_send(r, &m, 1, result);
	render_free(&out);
	return 0;
}
