/* web_calendar.c — each person's due dates as an iCalendar feed (RFC 5545,
 * written by libical) at a secret URL, since calendar clients cannot sign
 * in; the page to make, replace and revoke that URL.  A feed carries case
 * references, rules and dates only: no names, no team names.  Only a
 * SHA-256 of each token is stored. */
#include "deadlined/web.h"

#include "deadlined/log.h"

#include <libical/ical.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define TOKEN_BYTES 32
#define HEX_BUF (2 * TOKEN_BYTES + 1)

static void hex(const unsigned char *v, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", v[i]);
}

static void token_hash(const char *token, char out[HEX_BUF])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) == 1 && n == 32)
		hex(md, 32, out);
}

int web_calendar_page(struct web_ctx *c)
{
	struct web_buf *b = &c->resp->body;
	struct dl_error err;
	int64_t since = 0;
	char day[DATE_BUF];

	if (state_web_token_since(c->sw, c->email, &since, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	web_page_begin(b, "Due dates in your calendar", c->email);
	web_html(b, "<p>Outlook and other calendar programs can show your open deadlines as "
		 "all-day events, from a private address. The events name the case reference and "
		 "the rule only. Anyone who has the address can read it, so keep it to yourself; "
		 "you can replace or revoke it here at any time.</p>\n");
	if (since)
		web_html(b, "<p>You have a calendar address, made on %s. It is shown only when "
			 "made; make a new one if you have lost it (the old one stops working).</p>\n",
			 date_format(date_local_day(since), day));
	web_html(b, "<form method=\"post\" action=\"/calendar/new\">\n");
	web_csrf_field(c);
	web_html(b, "<button type=\"submit\">%r</button>\n</form>\n",
		 since ? "Make a new calendar address" : "Make a calendar address");
	if (since) {
		web_html(b, "<form method=\"post\" action=\"/calendar/revoke\">\n");
		web_csrf_field(c);
		web_html(b, "<button type=\"submit\" class=\"secondary\">Revoke my calendar address"
			 "</button>\n</form>\n");
	}
	web_page_end(b);
	return 0;
}

int web_calendar_new(struct web_ctx *c)
{
	unsigned char raw[TOKEN_BYTES];
	char token[HEX_BUF], hash[HEX_BUF];
	const char *base = c->app->conf->web.base_url;
	struct web_buf *b = &c->resp->body;
	struct dl_error err;

	if (!web_csrf_check(c))
		return 0;
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	hex(raw, sizeof raw, token);
	token_hash(token, hash);
	if (!hash[0] || state_web_new_token(c->sw, c->email, hash, (int64_t)time(NULL),
					    &err) < 0 ||
	    state_web_audit(c->sw, c->email, c->origin, "calendar-new", NULL,
			    (int64_t)time(NULL), &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", hash[0] ? err.msg : "SHA-256 failed");
		return -1;
	}
	web_page_begin(b, "Your calendar address", c->email);
	web_html(b, "<p>Subscribe to this address in your calendar program (in Outlook: Add "
		 "calendar, Subscribe from web). It is shown only now. Any earlier address has "
		 "stopped working.</p>\n<p><code class=\"feed\">%s/calendar/%s.ics</code></p>\n"
		 "<p><a href=\"/calendar\">Back</a></p>\n", base ? base : "", token);
	web_page_end(b);
	return 0;
}

int web_calendar_revoke(struct web_ctx *c)
{
	struct dl_error err;
	bool done;

	if (!web_csrf_check(c))
		return 0;
	if (state_web_revoke_token(c->sw, c->email, (int64_t)time(NULL), &done, &err) < 0 ||
	    (done && state_web_audit(c->sw, c->email, c->origin, "calendar-revoke", NULL,
				     (int64_t)time(NULL), &err) < 0)) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	return web_redirect(c, "/calendar");
}

static int add_event(void *ctx, const struct state_web_item *it)
{
	icalcomponent *cal = ctx, *ev;
	struct icaltimetype start = icaltime_null_date(), end;
	char uid[400], summary[300];
	dl_day due;
	int y, m, d;

	if (!it->due || date_parse(it->due, &due, NULL) < 0)
		return 0;
	date_to_ymd(due, &y, &m, &d);
	start.year = y;
	start.month = m;
	start.day = d;
	end = start;
	icaltime_adjust(&end, 1, 0, 0, 0);
	snprintf(uid, sizeof uid, "%s/%s/%d@deadlined", it->case_ref, it->rule, it->seq);
	snprintf(summary, sizeof summary, "%s %s due (%s)", it->case_ref, it->rule,
		 it->state ? it->state : "open");
	ev = icalcomponent_vanew(ICAL_VEVENT_COMPONENT, icalproperty_new_uid(uid),
				 icalproperty_new_dtstamp(icaltime_current_time_with_zone(
					 icaltimezone_get_utc_timezone())),
				 icalproperty_new_dtstart(start), icalproperty_new_dtend(end),
				 icalproperty_new_summary(summary),
				 icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT), (void *)0);
	if (!ev)
		return -1;
	icalcomponent_add_component(cal, ev);
	return 0;
}

/* GET /calendar/TOKEN.ics: no sign-in (calendar clients cannot). */
int web_calendar_feed(struct web_ctx *c, const char *name)
{
	char token[HEX_BUF], hash[HEX_BUF], person[256];
	struct state_web_viewer v = { .email = person, .today = c->today };
	struct state_web_filter f = { .max = c->app->conf->web.max_items };
	struct dl_error err;
	icalcomponent *cal;
	char *text;
	int rc;

	if (strlen(name) != 2 * TOKEN_BYTES + 4 || strcmp(name + 2 * TOKEN_BYTES, ".ics") != 0 ||
	    strspn(name, "0123456789abcdef") != 2 * TOKEN_BYTES)
		return web_error_page(c, 404, "Page not found", "There is no calendar here.");
	snprintf(token, sizeof token, "%.*s", 2 * TOKEN_BYTES, name);
	token_hash(token, hash);
	if (state_web_token_person(c->sw, hash, person, sizeof person, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	if (!person[0])
		return web_error_page(c, 404, "Calendar not found",
				      "This calendar address has been revoked or replaced.");
	for (size_t i = 0; i < c->app->conf->web.admins.n; i++)
		if (strcasecmp(c->app->conf->web.admins.v[i], person) == 0)
			v.admin = true;
	cal = icalcomponent_vanew(ICAL_VCALENDAR_COMPONENT, icalproperty_new_version("2.0"),
				  icalproperty_new_prodid("-//deadlined//deadlined-web//EN"),
				  icalproperty_new_method(ICAL_METHOD_PUBLISH), (void *)0);
	if (!cal)
		return -1;
	rc = state_web_each_item(c->sw, &v, &f, add_event, cal, &err);
	if (rc < 0 || !(text = icalcomponent_as_ical_string_r(cal))) {
		icalcomponent_free(cal);
		log_msg(LOG_ERR, "deadlined-web: calendar for %s: %s", person,
			rc < 0 ? err.msg : "libical failed");
		return -1;
	}
	icalcomponent_free(cal);
	c->resp->content_type = "text/calendar; charset=utf-8";
	web_buf_add(&c->resp->body, text, strlen(text));
	free(text);
	return 0;
}
