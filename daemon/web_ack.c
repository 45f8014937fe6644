/* web_ack.c — acknowledging one deadline or several, and withdrawing an
 * acknowledgement (see web.h).  The ack itself is state_ack, the call
 * deadlinectl ack makes, so the daemon treats both alike: reminders stop
 * until the date, or until the obligation's level rises. */
#include "deadlined/web.h"

#include "deadlined/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ACK_ITEMS 200

/* "CASE_REF|RULE", split at the last bar (rule ids have none). */
static bool split_item(const char *v, char *ref, size_t rsize, const char **rule)
{
	const char *bar = v ? strrchr(v, '|') : NULL;

	if (!bar || bar == v || !bar[1] || (size_t)(bar - v) >= rsize)
		return false;
	snprintf(ref, rsize, "%.*s", (int)(bar - v), v);
	*rule = bar + 1;
	return true;
}

/* Every item named, or 0 when one is malformed, unknown, or not the
 * viewer's; *why says which. */
static size_t checked_items(struct web_ctx *c, const struct web_form *f, const char **why)
{
	size_t n = 0;

	*why = NULL;
	for (size_t i = 0; i < f->n; i++) {
		char ref[200];
		const char *rule;
		bool exists, visible;
		struct dl_error err;

		if (strcmp(f->key[i], "item") != 0)
			continue;
		if (!split_item(f->value[i], ref, sizeof ref, &rule) ||
		    !conf_rule(c->app->conf, rule) || ++n > MAX_ACK_ITEMS) {
			*why = "The list of deadlines could not be read.";
			return 0;
		}
		if (state_web_case_access(c->sw, &c->viewer, ref, &exists, &visible, &err) < 0) {
			log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
			*why = "The state database could not be read; try again shortly.";
			return 0;
		}
		if (!visible) {
			*why = "One of the cases is not one you can see.";
			return 0;
		}
	}
	if (!n)
		*why = "Select at least one deadline to acknowledge.";
	return n;
}

static void last_day(struct web_ctx *c, char *buf)
{
	dl_day today;

	date_parse(c->today, &today, NULL);
	date_format(today + (int)c->app->conf->web.max_ack_days, buf);
}

static void form(struct web_ctx *c, const struct web_form *items, const char *error,
		 const char *reason, const char *until)
{
	struct web_buf *b = &c->resp->body;
	char max[DATE_BUF];

	last_day(c, max);
	web_page_begin(b, "Acknowledge deadlines", c->email);
	if (error)
		web_html(b, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\">"
			 "<h2>There is a problem</h2><p>%s</p></div>\n", error);
	web_html(b, "<p>Reminders for these stop until the date you give, or sooner if a "
		 "deadline gets worse. What counts as late does not change.</p>\n<ul>\n");
	for (size_t i = 0; i < items->n; i++)
		if (strcmp(items->key[i], "item") == 0)
			web_html(b, "<li>%s</li>\n", items->value[i]);
	web_html(b, "</ul>\n<form method=\"post\" action=\"/ack\">\n");
	web_csrf_field(c);
	for (size_t i = 0; i < items->n; i++)
		if (strcmp(items->key[i], "item") == 0)
			web_html(b, "<input type=\"hidden\" name=\"item\" value=\"%s\">\n",
				 items->value[i]);
	web_html(b, "<label for=\"reason\">Reason</label>\n<p class=\"hint\" id=\"reason-hint\">"
		 "Why reminders can stop for now, in 3 to 1000 characters. Do not name the "
		 "child.</p>\n<textarea id=\"reason\" name=\"reason\" rows=\"4\" required "
		 "minlength=\"3\" maxlength=\"1000\" aria-describedby=\"reason-hint\">%s"
		 "</textarea>\n", reason ? reason : "");
	web_html(b, "<label for=\"until\">Until</label>\n<p class=\"hint\" id=\"until-hint\">"
		 "A date from today to %s, as YYYY-MM-DD.</p>\n<input type=\"date\" id=\"until\" "
		 "name=\"until\" required min=\"%s\" max=\"%s\" value=\"%s\" "
		 "aria-describedby=\"until-hint\">\n<div><button type=\"submit\">Acknowledge"
		 "</button></div>\n</form>\n", max, c->today, max, until ? until : "");
	web_page_end(b);
}

int web_ack_form_for(struct web_ctx *c, const char *case_ref, const char *rule)
{
	struct web_form f = { 0 };
	struct web_buf item = { 0 };
	const char *why;
	int rc = -1;

	web_html(&item, "%r|%r", case_ref, rule);
	if (!item.oom && web_form_parse(&f, "item=", 5) == 0) {
		free(f.value[0]);
		f.value[0] = item.p;
		item.p = NULL;
		rc = 0;
		if (!checked_items(c, &f, &why))
			web_error_page(c, 400, "Nothing to acknowledge", why);
		else
			form(c, &f, NULL, NULL, NULL);
	}
	web_buf_free(&item);
	web_form_free(&f);
	return rc;
}

int web_ack_form(struct web_ctx *c)
{
	const char *why;

	if (!checked_items(c, &c->req->query, &why))
		return web_error_page(c, 400, "Nothing to acknowledge", why);
	form(c, &c->req->query, NULL, NULL, NULL);
	return 0;
}

/* The reason and date as the form asks, or what is wrong with them. */
static const char *check_input(struct web_ctx *c, const char *reason, const char *until)
{
	char max[DATE_BUF];
	dl_day d;

	last_day(c, max);
	if (!reason || strlen(reason) < 3 || strlen(reason) > 1000)
		return "Give a reason, in 3 to 1000 characters.";
	if (!until || strlen(until) != 10 || date_parse(until, &d, NULL) < 0)
		return "Give the until date as YYYY-MM-DD.";
	if (strcmp(until, c->today) < 0)
		return "The until date is in the past.";
	if (strcmp(until, max) > 0)
		return "The until date is further ahead than acknowledgements may run "
		       "(web.max_ack_days).";
	return NULL;
}

/* Acknowledge each item; *count says how many.  An item closed since the
 * form was drawn is passed over (nothing is left to silence); -1 when the
 * state database would not take one (busy with a poll, say). */
static int ack_all(struct web_ctx *c, const char *reason, const char *until, int *count)
{
	const struct web_form *f = &c->req->form;
	struct dl_error err;
	bool open;

	*count = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct state_ack ack;
		char ref[200], detail[1400];
		const char *rule;

		if (strcmp(f->key[i], "item") != 0 || !split_item(f->value[i], ref, sizeof ref, &rule))
			continue;
		if (state_ack(c->st, ref, rule, until, reason, c->email, (int64_t)time(NULL),
			      &ack, &err) < 0) {
			struct dl_error why = err;

			if (state_web_is_open(c->sw, ref, rule, &open, &err) < 0 || open) {
				log_msg(LOG_ERR, "deadlined-web: ack by %s: %s", c->email, why.msg);
				return -1;
			}
			log_msg(LOG_INFO, "deadlined-web: ack by %s: %s", c->email, why.msg);
			continue;
		}
		snprintf(detail, sizeof detail, "%s %s #%d until %s: %s", ref, rule, ack.seq, until,
			 reason);
		if (state_web_audit(c->sw, c->email, c->origin, "ack", detail,
				    (int64_t)time(NULL), &err) < 0)
			log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		(*count)++;
	}
	return 0;
}

int web_ack_post(struct web_ctx *c)
{
	const char *reason = web_form_get(&c->req->form, "reason");
	const char *until = web_form_get(&c->req->form, "until");
	const char *why;
	char where[64];
	int count;

	if (!web_csrf_check(c))
		return 0;
	if (!checked_items(c, &c->req->form, &why))
		return web_error_page(c, 400, "Nothing to acknowledge", why);
	if ((why = check_input(c, reason, until))) {
		form(c, &c->req->form, why, reason, until);
		c->resp->status = 400;
		return 0;
	}
	if (ack_all(c, reason, until, &count) < 0) {
		web_error_page(c, 503, "Not all acknowledged: try again",
			       "The state database is busy (the deadline service is writing a "
			       "poll), so not every item could be acknowledged. Go back and send "
			       "the form again in a minute; items already acknowledged are shown "
			       "in your tray.");
		return 0;
	}
	snprintf(where, sizeof where, "/?acked=%d", count);
	return web_redirect(c, where);
}

int web_ack_withdraw(struct web_ctx *c)
{
	const char *id = web_form_get(&c->req->form, "id");
	const char *ref = web_form_get(&c->req->form, "ref");
	struct dl_error err;
	struct web_buf where = { 0 };
	char detail[64];
	int rc;
	bool done = false;
	char *end = NULL;
	long long n = id ? strtoll(id, &end, 10) : 0;

	if (!web_csrf_check(c))
		return 0;
	if (!id || !*id || *end || n <= 0)
		return web_error_page(c, 400, "Which acknowledgement?", "The form did not say.");
	if (state_web_withdraw_ack(c->sw, &c->viewer, n, &done, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	if (!done)
		return web_error_page(c, 404, "Already gone",
				      "That acknowledgement has been withdrawn already, or is not "
				      "one you can see.");
	snprintf(detail, sizeof detail, "ack %lld", n);
	if (state_web_audit(c->sw, c->email, c->origin, "withdraw", detail,
			    (int64_t)time(NULL), &err) < 0)
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
	if (!ref || strlen(ref) > 200)
		return web_redirect(c, "/");
	web_html(&where, "/case?ref=%u", ref);
	rc = web_redirect(c, where.oom ? "/" : where.p);
	web_buf_free(&where);
	return rc;
}
