/* web_ops.c — /healthz and /metrics (Prometheus text), for the addresses
 * in web.metrics_allow only (see web.h). */
#include "deadlined/web.h"

#include "deadlined/log.h"

#include <stdio.h>
#include <time.h>

static bool allowed(struct web_ctx *c)
{
	if (web_auth_addr_in(&c->app->conf->web.metrics_allow, c->req->peer))
		return true;
	c->resp->status = 403;
	c->resp->content_type = "text/plain; charset=utf-8";
	web_html(&c->resp->body, "Not from this address: see web.metrics_allow.\n");
	return false;
}

int web_ops_healthz(struct web_ctx *c)
{
	struct state_status s;
	struct dl_error err;

	if (!allowed(c))
		return 0;
	c->resp->content_type = "text/plain; charset=utf-8";
	if (state_status(c->st, &s, &err) < 0) {
		c->resp->status = 503;
		web_html(&c->resp->body, "state database unreadable\n");
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return 0;
	}
	web_html(&c->resp->body, "ok\n");
	return 0;
}

static void metric(struct web_buf *b, const char *name, const char *type, const char *help,
		   const char *labels, long value)
{
	web_html(b, "# HELP %r %r\n# TYPE %r %r\n%r%r %ld\n", name, help, name, type, name,
		 labels, value);
}

/* Receiver names are configuration (letters, digits, - and _), and
 * statuses the outbox's three words: nothing to escape in a label. */
static int delivery_line(void *ctx, const char *receiver, const char *status, long n)
{
	web_html(ctx, "deadlined_messages{receiver=\"%r\",status=\"%r\"} %ld\n",
		 receiver ? receiver : "", status ? status : "", n);
	return 0;
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(struct web_buf *b, const char *v)
{
	for (; v && *v; v++) {
		const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;

		web_buf_add(b, esc ? esc : v, esc ? 2 : 1);
	}
}

/* The pair's state as the shared store's lease says: the leader and its
 * epoch while a lease runs, "none" when it ran out or was never taken,
 * "single" for a store no pair shares (SQLite), with nothing else. */
static int pair_role(struct web_ctx *c, struct web_buf *b)
{
	struct state_leader l = { 0 };
	struct dl_error err;
	const char *role;
	char left[32];

	if (state_leader(c->st, &l, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	role = !l.shared ? "single" : l.found && l.expires_in_ms > 0 ? "leader" : "none";
	web_html(b, "# HELP deadlined_ha_role The active/standby pair as the shared store's lease "
		 "says: leader (with its holder), none (the lease ran out), single (a store no pair "
		 "shares).\n# TYPE deadlined_ha_role gauge\ndeadlined_ha_role{role=\"%r\"", role);
	if (l.found && l.shared) {
		web_html(b, ",holder=\"");
		label_value(b, l.holder);
		web_html(b, "\"");
	}
	web_html(b, "} 1\n");
	if (!l.shared || !l.found)
		return 0;
	metric(b, "deadlined_ha_epoch", "gauge", "The lease's epoch (it rises at each takeover).",
	       "", (long)l.epoch);
	metric(b, "deadlined_ha_leader_since_seconds", "gauge",
	       "When the present epoch began (unix time, the database's clock).", "",
	       (long)l.since);
	snprintf(left, sizeof left, "%.3f", (double)l.expires_in_ms / 1000);
	web_html(b, "# HELP deadlined_ha_lease_remaining_seconds How long the lease runs "
		 "unrenewed (negative: ran out that long ago).\n"
		 "# TYPE deadlined_ha_lease_remaining_seconds gauge\n"
		 "deadlined_ha_lease_remaining_seconds %r\n", left);
	return 0;
}

int web_ops_metrics(struct web_ctx *c)
{
	struct web_buf *b = &c->resp->body;
	struct state_status s;
	struct dl_error err;

	if (!allowed(c))
		return 0;
	if (state_status(c->st, &s, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metric(b, "deadlined_last_poll_id", "counter", "Polls run so far.", "", (long)s.last.id);
	metric(b, "deadlined_last_poll_finished_seconds", "gauge",
	       "When the last poll finished (unix time).", "", (long)s.last.finished);
	metric(b, "deadlined_last_poll_duration_seconds", "gauge", "How long the last poll took.",
	       "", s.last.finished ? (long)(s.last.finished - s.last.started) : 0);
	web_html(b, "# HELP deadlined_obligations Open obligations by state.\n"
		 "# TYPE deadlined_obligations gauge\n"
		 "deadlined_obligations{state=\"open\"} %ld\n"
		 "deadlined_obligations{state=\"due-soon\"} %ld\n"
		 "deadlined_obligations{state=\"overdue\"} %ld\n"
		 "deadlined_obligations{state=\"escalated\"} %ld\n",
		 s.open, s.due_soon, s.overdue, s.escalated);
	web_html(b, "# HELP deadlined_outbox Messages in the outbox by status.\n"
		 "# TYPE deadlined_outbox gauge\n"
		 "deadlined_outbox{status=\"pending\"} %ld\n"
		 "deadlined_outbox{status=\"sent\"} %ld\n"
		 "deadlined_outbox{status=\"dead\"} %ld\n", s.pending, s.sent, s.dead);
	web_html(b, "# HELP deadlined_messages Messages by receiver and result (sent, pending, "
		 "dead).\n# TYPE deadlined_messages gauge\n");
	if (state_web_each_delivery_count(c->sw, delivery_line, b, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	return pair_role(c, b);
}
