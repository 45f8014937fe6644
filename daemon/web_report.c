/* web_report.c — the timeliness report for a chosen period: the figures
 * of `deadlinectl report` (report.c, from the state database), as a page
 * and as CSV.  Administrators may report on every team; anyone else on one
 * team they can see. */
#include "deadlined/web.h"

#include "deadlined/log.h"
#include "deadlined/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct teams {
	struct web_ctx *c;
	const char *want;        /* the team asked for */
	bool allowed;
	bool draw;               /* also draw the options */
	char first_buf[128];
};

static int team_seen(void *ctx, const char *ref, const char *name)
{
	struct teams *t = ctx;

	if (!t->first_buf[0])
		snprintf(t->first_buf, sizeof t->first_buf, "%s", ref);
	if (t->want && strcmp(t->want, ref) == 0)
		t->allowed = true;
	if (t->draw)
		web_html(&t->c->resp->body, "<option value=\"%s\"%r>%s</option>\n", ref,
		 t->want && strcmp(t->want, ref) == 0 ? " selected" : "", name ? name : ref);
	return 0;
}

static void form(struct web_ctx *c, struct teams *t, const char *from, const char *to)
{
	struct web_buf *b = &c->resp->body;
	struct dl_error err;

	web_html(b, "<form method=\"get\" action=\"/report\" class=\"filters\">\n"
		 "<div><label for=\"from\">From</label><input type=\"date\" id=\"from\" name=\"from\" "
		 "required value=\"%s\"></div>\n<div><label for=\"to\">To</label><input type=\"date\" "
		 "id=\"to\" name=\"to\" required value=\"%s\"></div>\n<div><label for=\"team\">Team"
		 "</label><select id=\"team\" name=\"team\">\n", from, to);
	if (c->viewer.admin)
		web_html(b, "<option value=\"\">All teams</option>\n");
	t->draw = true;
	if (state_web_each_team(c->sw, &c->viewer, team_seen, t, &err) < 0)
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
	web_html(b, "</select></div>\n<div><button type=\"submit\" class=\"secondary\">Show"
		 "</button></div>\n</form>\n");
}

static void stats_row(struct web_buf *b, const struct rule *r, const struct report_stats *s)
{
	double pct = 0;
	char p[32] = "none met", tgt[32] = "none";

	if (report_percent(s, &pct))
		snprintf(p, sizeof p, "%.1f%%", pct);
	if (!isnan(r->target.value))
		snprintf(tgt, sizeof tgt, "%.1f", r->target.value);
	web_html(b, "<tr><th scope=\"row\">%s</th><td>%ld of %ld</td><td>%s</td><td>%s</td>"
		 "<td>%ld</td><td>%ld</td></tr>\n", r->title ? r->title : r->id, (long)s->on_time,
		 (long)(s->on_time + s->late), p, tgt, (long)s->cancelled, (long)s->overdue);
}

static int page(struct web_ctx *c, const struct report *r, struct teams *t, const char *from,
		const char *to)
{
	struct web_buf *b = &c->resp->body;
	struct web_buf csv = { 0 };

	web_page_begin(b, "Timeliness report", c->email);
	form(c, t, from, to);
	web_html(b, "<div class=\"table-wrap\"><table><caption>Met on time, %s to %s%r%s</caption>\n"
		 "<thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">On time</th>"
		 "<th scope=\"col\">Per cent</th><th scope=\"col\">Target</th>"
		 "<th scope=\"col\">Cancelled</th><th scope=\"col\">Overdue at the end</th></tr>"
		 "</thead><tbody>\n", from, to, r->team ? ", team " : "", r->team ? r->team : "");
	for (size_t i = 0; i < r->nrules; i++)
		stats_row(b, r->rules[i], &r->by_rule[i]);
	web_html(&csv, "/report?from=%u&to=%u&team=%u&format=csv", from, to, r->team ? r->team : "");
	web_html(b, "</tbody></table></div>\n<p>%s</p>\n<p><a href=\"%s\">Download as CSV</a></p>\n",
		 r->source, csv.oom ? "/report" : csv.p);
	web_buf_free(&csv);
	web_page_end(b);
	return 0;
}

static int csv(struct web_ctx *c, const struct report *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc = f ? report_write(r, REPORT_CSV, f) : -1;

	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0) {
		free(text);
		return -1;
	}
	c->resp->content_type = "text/csv; charset=utf-8";
	c->resp->disposition = "attachment; filename=\"timeliness.csv\"";
	web_buf_add(&c->resp->body, text, len);
	free(text);
	return 0;
}

int web_report_page(struct web_ctx *c)
{
	const struct web_form *q = &c->req->query;
	const char *from = web_form_get(q, "from"), *to = web_form_get(q, "to");
	const char *team = web_form_get(q, "team"), *format = web_form_get(q, "format");
	struct teams t = { .c = c, .want = team && *team ? team : NULL };
	char first[DATE_BUF], today[DATE_BUF];
	struct report r;
	struct dl_error err;
	dl_day a, z, now = date_today();
	int rc;

	date_format(now - 30, first);
	date_format(now, today);
	if (!from || !to || date_parse(from, &a, NULL) < 0 || date_parse(to, &z, NULL) < 0 ||
	    a > z || !calendar_covers(c->app->conf->cal, a) || !calendar_covers(c->app->conf->cal, z)) {
		from = from && *from ? from : first;
		to = to && *to ? to : today;
		if (date_parse(from, &a, NULL) < 0 || date_parse(to, &z, NULL) < 0 || a > z)
			return web_error_page(c, 400, "Which period?",
					      "Give the period as two dates, the first on or before "
					      "the second.");
	}
	/* A team must be one the viewer sees; without one, the first. */
	if (state_web_each_team(c->sw, &c->viewer, team_seen, &t, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	if (!c->viewer.admin && !t.want && t.first_buf[0]) {
		t.want = t.first_buf;
		t.allowed = true;
	}
	if (!c->viewer.admin && !t.allowed)
		return web_error_page(c, 403, "Not your team",
				      "You can report only on the teams you can see in your tray.");
	if (report_init(&r, c->app->conf, a, z, t.want, NULL, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: report: %s", err.msg);
		return -1;
	}
	rc = report_load_state(&r, c->st, c->app->conf->state.database, &err) < 0 ||
	     report_compute(&r, &err) < 0 ? -1 : 0;
	if (rc < 0)
		log_msg(LOG_ERR, "deadlined-web: report: %s", err.msg);
	else
		rc = format && strcmp(format, "csv") == 0 ? csv(c, &r) : page(c, &r, &t, from, to);
	report_free(&r);
	return rc;
}
