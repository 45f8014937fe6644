/* web_cover.c — a manager names a deputy for a date range; while it runs
 * the deputy's tray shows what the manager's does (see web.h). */
#include "deadlined/web.h"

#include "deadlined/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cover_row(void *ctx, const struct state_web_cover *cv)
{
	struct web_ctx *c = ctx;
	struct web_buf *b = &c->resp->body;

	web_html(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>", cv->manager,
		 cv->deputy, cv->from, cv->to);
	if (strcmp(cv->manager, c->email) == 0 || c->viewer.admin) {
		web_html(b, "<form method=\"post\" action=\"/cover/end\">");
		web_csrf_field(c);
		web_html(b, "<input type=\"hidden\" name=\"id\" value=\"%ld\"><button type=\"submit\" "
			 "class=\"secondary\">End now<span class=\"skip\"> cover by %s</span></button>"
			 "</form>", (long)cv->id, cv->deputy);
	}
	web_html(b, "</td></tr>\n");
	return 0;
}

static int page(struct web_ctx *c, const char *error, const struct web_form *f)
{
	struct web_buf *b = &c->resp->body;
	struct dl_error err;
	const char *dep = f ? web_form_get(f, "deputy") : NULL;
	const char *from = f ? web_form_get(f, "from") : NULL;
	const char *to = f ? web_form_get(f, "to") : NULL;

	web_page_begin(b, "Cover while you are away", c->email);
	if (error)
		web_html(b, "<div class=\"error-summary\" role=\"alert\"><h2>There is a problem</h2>"
			 "<p>%s</p></div>\n", error);
	web_html(b, "<p>While cover runs, your deputy sees your teams' deadlines in their tray "
		 "and can acknowledge them.</p>\n<div class=\"table-wrap\"><table><caption>Cover now "
		 "and to come</caption><thead><tr><th scope=\"col\">For</th><th scope=\"col\">Deputy"
		 "</th><th scope=\"col\">From</th><th scope=\"col\">To</th><th scope=\"col\">Action"
		 "</th></tr></thead><tbody>\n");
	if (state_web_each_cover(c->sw, c->viewer.admin ? NULL : c->email, c->today,
				 cover_row, c, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	web_html(b, "</tbody></table></div>\n<h2>Name a deputy</h2>\n<form method=\"post\" "
		 "action=\"/cover\">\n");
	web_csrf_field(c);
	web_html(b, "<label for=\"deputy\">Deputy's e-mail address</label>\n<input type=\"email\" "
		 "id=\"deputy\" name=\"deputy\" required autocomplete=\"off\" value=\"%s\">\n"
		 "<label for=\"from\">From</label>\n<input type=\"date\" id=\"from\" name=\"from\" "
		 "required value=\"%s\">\n<label for=\"to\">To</label>\n<input type=\"date\" "
		 "id=\"to\" name=\"to\" required value=\"%s\">\n<div><button type=\"submit\">"
		 "Save cover</button></div>\n</form>\n", dep ? dep : "", from ? from : c->today,
		 to ? to : "");
	web_page_end(b);
	return 0;
}

int web_cover_page(struct web_ctx *c)
{
	return page(c, NULL, NULL);
}

static const char *check(const char *dep, const char *from, const char *to)
{
	dl_day a, z;

	if (!dep || !strchr(dep, '@') || strlen(dep) > 254 || strpbrk(dep, " <>\"'"))
		return "Give the deputy's e-mail address.";
	if (!from || !to || strlen(from) != 10 || strlen(to) != 10 ||
	    date_parse(from, &a, NULL) < 0 || date_parse(to, &z, NULL) < 0)
		return "Give both dates as YYYY-MM-DD.";
	if (z < a)
		return "The end date is before the start date.";
	if (z - a > 366)
		return "Cover may run for a year at most.";
	return NULL;
}

int web_cover_post(struct web_ctx *c)
{
	const struct web_form *f = &c->req->form;
	const char *dep = web_form_get(f, "deputy"), *from = web_form_get(f, "from");
	const char *to = web_form_get(f, "to"), *why;
	struct state_web_cover cv;
	struct dl_error err;
	char detail[600];

	if (!web_csrf_check(c))
		return 0;
	if ((why = check(dep, from, to))) {
		if (page(c, why, f) < 0)
			return -1;
		c->resp->status = 400;
		return 0;
	}
	cv = (struct state_web_cover){ 0, c->email, dep, from, to, c->email, (int64_t)time(NULL) };
	snprintf(detail, sizeof detail, "%s covers %s from %s to %s", dep, c->email, from, to);
	if (state_web_add_cover(c->sw, &cv, &err) < 0 ||
	    state_web_audit(c->sw, c->email, c->origin, "cover", detail, cv.created, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	return web_redirect(c, "/cover");
}

int web_cover_end(struct web_ctx *c)
{
	const char *id = web_form_get(&c->req->form, "id");
	char *end = NULL, yesterday[DATE_BUF], detail[64];
	long long n = id ? strtoll(id, &end, 10) : 0;
	struct dl_error err;
	bool done = false;

	if (!web_csrf_check(c))
		return 0;
	if (!id || !*id || *end || n <= 0)
		return web_error_page(c, 400, "Which cover?", "The form did not say.");
	date_format(date_today() - 1, yesterday);
	if (state_web_end_cover(c->sw, n, c->viewer.admin ? NULL : c->email, yesterday,
				&done, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	snprintf(detail, sizeof detail, "cover %lld ended", n);
	if (done && state_web_audit(c->sw, c->email, c->origin, "cover-end", detail,
				    (int64_t)time(NULL), &err) < 0)
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
	return web_redirect(c, "/cover");
}
