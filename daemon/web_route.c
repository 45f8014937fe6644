/* web_route.c — who is asking, then which page (see web.h). */
#include "deadlined/web.h"

#include "deadlined/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int web_error_page(struct web_ctx *c, int status, const char *title, const char *text)
{
	struct web_buf *b = &c->resp->body;

	c->resp->status = status;
	web_page_begin(b, title, c->email[0] ? c->email : NULL);
	web_html(b, "<p>%s</p>\n", text);
	if (c->email[0])
		web_html(b, "<p><a href=\"/\">Go to your tray</a></p>\n");
	web_page_end(b);
	return 0;
}

int web_redirect(struct web_ctx *c, const char *path)
{
	c->resp->status = 303;
	snprintf(c->resp->location, sizeof c->resp->location, "%s", path);
	web_html(&c->resp->body, "<!DOCTYPE html><html lang=\"en-GB\"><title>Done</title>"
		 "<p><a href=\"%s\">Continue</a></p></html>\n", path);
	return 0;
}

void web_csrf_field(struct web_ctx *c)
{
	web_html(&c->resp->body, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n", c->csrf);
}

bool web_csrf_check(struct web_ctx *c)
{
	if (web_auth_csrf_ok(&c->app->key, c->email, web_form_get(&c->req->form, "csrf")))
		return true;
	log_msg(LOG_WARNING, "deadlined-web: %s from %s: %s without a valid form token; refused",
		c->email, c->origin, c->req->path);
	web_error_page(c, 403, "This form has expired",
		       "The form was missing its security token, or the token was out of date "
		       "or for someone else. Nothing has been changed. Go back, reload the page "
		       "and try again.");
	return false;
}

void web_state_tag(struct web_buf *b, const char *state, int stage)
{
	const char *cls = !state ? "other" : stage > 0 ? "escalated" :
			  strcmp(state, "overdue") == 0 ? "overdue" :
			  strcmp(state, "due-soon") == 0 ? "due-soon" :
			  strcmp(state, "open") == 0 ? "open" : "other";

	web_html(b, "<strong class=\"tag tag-%r\">%s", cls, state ? state : "?");
	if (stage > 0)
		web_html(b, ", stage %d", stage);
	web_html(b, "</strong>");
}

void web_case_link(struct web_ctx *c, const char *case_ref)
{
	char *url = link_case_url(c->app->conf->web.case_url, case_ref);

	if (url)
		web_html(&c->resp->body, "<a href=\"%s\">%s in the case system</a>", url, case_ref);
	free(url);
}

/* The person's address as the proxy vouches for it, or a refusal page. */
static int sign_in(struct web_ctx *c)
{
	const struct conf_web *w = &c->app->conf->web;
	const char *hdr = web_request_header(c->req, w->identity_header);
	char name[sizeof c->email];

	switch (web_auth_identify(w, c->req->peer, c->req->unix_socket, hdr, name, sizeof name)) {
	case WEB_AUTH_OK:
		break;
	case WEB_AUTH_NONE:
		return web_error_page(c, 401, "Sign in first",
				      "deadlined-web is reached through the council's single "
				      "sign-on. Open it from the usual link so that you are "
				      "signed in.") - 1;
	case WEB_AUTH_UNTRUSTED:
		log_msg(LOG_WARNING, "deadlined-web: identity header from %s, which is not in "
			"web.trusted_proxies; refused", c->origin);
		return web_error_page(c, 403, "Not through the sign-on proxy",
				      "This request named a person but did not come through the "
				      "council's sign-on proxy, so it has been refused.") - 1;
	case WEB_AUTH_BAD:
		return web_error_page(c, 400, "Sign-in not understood",
				      "The sign-on proxy did not give an e-mail address.") - 1;
	}
	snprintf(c->email, sizeof c->email, "%s", name);
	c->viewer.email = c->email;
	c->viewer.today = c->today;
	for (size_t i = 0; i < w->admins.n; i++)
		if (strcasecmp(w->admins.v[i], c->email) == 0)
			c->viewer.admin = true;
	web_auth_csrf(&c->app->key, c->email, c->today, c->csrf);
	return 0;
}

/* Where it came from: behind a trusted proxy, what the proxy says. */
static void note_origin(struct web_ctx *c)
{
	const char *fwd = web_request_header(c->req, "X-Forwarded-For");

	web_auth_peer_text(c->req->peer, c->origin, sizeof c->origin);
	if (fwd && (c->req->unix_socket ||
		    web_auth_addr_in(&c->app->conf->web.trusted_proxies, c->req->peer)))
		snprintf(c->origin, sizeof c->origin, "%.60s via proxy", fwd);
}

static const struct {
	const char *method, *path;
	int (*fn)(struct web_ctx *c);
} pages[] = {
	{ "GET", "/", web_tray_page },
	{ "GET", "/case", web_case_page },
	{ "GET", "/ack", web_ack_form },
	{ "GET", "/l", web_link_page },
	{ "POST", "/ack", web_ack_post },
	{ "POST", "/ack/withdraw", web_ack_withdraw },
	{ "GET", "/cover", web_cover_page },
	{ "POST", "/cover", web_cover_post },
	{ "POST", "/cover/end", web_cover_end },
	{ "GET", "/calendar", web_calendar_page },
	{ "GET", "/report", web_report_page },
	{ "POST", "/calendar/new", web_calendar_new },
	{ "POST", "/calendar/revoke", web_calendar_revoke },
};

static int signed_in_page(struct web_ctx *c, int (*fn)(struct web_ctx *c))
{
	struct dl_error err;
	bool known;

	if (sign_in(c) < 0)
		return 0;
	if (state_web_known(c->sw, &c->viewer, &known, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	if (!known)
		return web_error_page(c, 403, "No deadlines for you here",
				      "You are signed in, but no open case names you as its "
				      "worker, team manager or service manager, and you are not "
				      "covering for anyone. If you think you should see a team's "
				      "cases, ask the deadlined administrator.");
	return fn(c);
}

static int route(struct web_ctx *c)
{
	const struct web_request *req = c->req;
	bool head = strcmp(req->method, "HEAD") == 0;

	if (strcmp(req->path, "/healthz") == 0)
		return web_ops_healthz(c);
	if (strcmp(req->path, "/metrics") == 0)
		return web_ops_metrics(c);
	if (strncmp(req->path, "/calendar/", 10) == 0 && strcmp(req->method, "GET") == 0)
		return web_calendar_feed(c, req->path + 10);
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
		if (strcmp(req->path, pages[i].path) == 0 &&
		    (strcmp(req->method, pages[i].method) == 0 ||
		     (head && strcmp(pages[i].method, "GET") == 0)))
			return signed_in_page(c, pages[i].fn);
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
		if (strcmp(req->path, pages[i].path) == 0)
			return web_error_page(c, 405, "Not allowed",
					      "That address does not take this kind of request.");
	return web_error_page(c, 404, "Page not found",
			      "There is no page at this address. Check it, or start from the tray.");
}

/* Called on any of the server's threads: the request has this thread's
 * state connections to itself while it runs. */
int web_route(void *app, const struct web_request *req, struct web_response *resp)
{
	struct web_ctx c = { .app = app, .req = req, .resp = resp };
	struct web_conn *conn;
	int rc;

	date_format(date_today(), c.today);
	note_origin(&c);
	if (strcmp(req->path, "/style.css") == 0) {
		resp->content_type = "text/css; charset=utf-8";
		web_html(&resp->body, "%r", web_page_css);
		return 0;
	}
	conn = web_pool_take(c.app->pool);
	c.st = conn->st;
	c.sw = conn->sw;
	rc = route(&c);
	web_pool_give(c.app->pool, conn);
	return rc;
}
