/* web_tray.c — the tray (worst first, with filters) and a case's page
 * with the arithmetic of each due date (see web.h). */
#include "deadlined/web.h"

#include "deadlined/log.h"
#include "deadlined/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tray_states[] = { "overdue", "due-soon", "open", NULL };

struct tray {
	struct web_ctx *c;
	long rows;
	const char *rule, *state, *team;     /* the filters, as the page offered them */
};

/* A filter value is used only when it is one the page offered. */
static const char *pick(const char *v, const char *const *allowed)
{
	for (size_t i = 0; v && allowed[i]; i++)
		if (strcmp(v, allowed[i]) == 0)
			return allowed[i];
	return NULL;
}

static const char *pick_rule(const struct conf *conf, const char *v)
{
	const struct rule *r = v && *v ? conf_rule(conf, v) : NULL;

	return r ? r->id : NULL;
}

static int team_option(void *ctx, const char *ref, const char *name)
{
	struct tray *t = ctx;

	web_html(&t->c->resp->body, "<option value=\"%s\"%r>%s</option>\n", ref,
		 t->team && strcmp(t->team, ref) == 0 ? " selected" : "", name ? name : ref);
	return 0;
}

static void filters(struct tray *t, const char *rule, const char *state)
{
	struct web_buf *b = &t->c->resp->body;
	const struct rule *rules = t->c->app->conf->rules.v;
	struct dl_error err;

	web_html(b, "<form method=\"get\" action=\"/\" class=\"filters\">\n"
		 "<div><label for=\"f-rule\">Rule</label><select id=\"f-rule\" name=\"rule\">"
		 "<option value=\"\">Any rule</option>\n");
	for (size_t i = 0; i < t->c->app->conf->rules.n; i++)
		web_html(b, "<option value=\"%s\"%r>%s</option>\n", rules[i].id,
			 rule && strcmp(rule, rules[i].id) == 0 ? " selected" : "",
			 rules[i].title ? rules[i].title : rules[i].id);
	web_html(b, "</select></div>\n<div><label for=\"f-state\">State</label>"
		 "<select id=\"f-state\" name=\"state\"><option value=\"\">Any state</option>\n");
	for (size_t i = 0; tray_states[i]; i++)
		web_html(b, "<option%r>%s</option>\n",
			 state && strcmp(state, tray_states[i]) == 0 ? " selected" : "",
			 tray_states[i]);
	web_html(b, "</select></div>\n<div><label for=\"f-team\">Team</label>"
		 "<select id=\"f-team\" name=\"team\"><option value=\"\">Any team</option>\n");
	if (state_web_each_team(t->c->sw, &t->c->viewer, team_option, t, &err) < 0)
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
	web_html(b, "</select></div>\n<div><button type=\"submit\" class=\"secondary\">"
		 "Show</button></div>\n</form>\n");
}

static void ack_cell(struct web_buf *b, const struct state_web_item *it)
{
	if (it->ack_until)
		web_html(b, "Until %s by %s: %s", it->ack_until, it->ack_who, it->ack_reason);
	else
		web_html(b, "No");
}

static int tray_row(void *ctx, const struct state_web_item *it)
{
	struct tray *t = ctx;
	struct web_buf *b = &t->c->resp->body;
	long n = ++t->rows;

	web_html(b, "<tr><td><input type=\"checkbox\" name=\"item\" id=\"i%ld\" "
		 "value=\"%s|%s\" aria-label=\"Select %s %s\"></td>\n", n, it->case_ref, it->rule,
		 it->case_ref, it->rule);
	web_html(b, "<td><a href=\"/case?ref=%u\">%s</a></td><td>%s</td><td>%s</td><td>%s</td>"
		 "<td>%s</td><td>", it->case_ref, it->case_ref, it->rule,
		 it->team_name ? it->team_name : it->team_ref ? it->team_ref : "",
		 it->worker_name ? it->worker_name : "unallocated", it->due ? it->due : "");
	web_state_tag(b, it->state, it->stage);
	if (it->days_overdue)
		web_html(b, " %d working day%r", it->days_overdue, it->days_overdue == 1 ? "" : "s");
	web_html(b, "</td><td>");
	ack_cell(b, it);
	web_html(b, "</td></tr>\n");
	return 0;
}

/* The tray's address with these filters and page ("" leaves one out). */
static void tray_href(struct web_buf *b, const struct tray *t, const char *state, long page)
{
	web_html(b, "/?rule=%u&amp;state=%u&amp;team=%u", t->rule ? t->rule : "",
		 state ? state : "", t->team ? t->team : "");
	if (page > 1)
		web_html(b, "&amp;page=%ld", page);
}

/* The whole set by state (one aggregate query), each a link to it alone. */
static void counts(struct tray *t, const struct state_web_counts *n)
{
	struct web_buf *b = &t->c->resp->body;
	const struct { const char *state, *label; long n; } each[] = {
		{ "overdue", "Overdue", n->overdue },
		{ "due-soon", "Due soon", n->due_soon },
		{ "open", "Open", n->open },
	};

	web_html(b, "<h2 id=\"counts\">%ld open deadline%r</h2>\n<ul class=\"counts\" "
		 "aria-labelledby=\"counts\">\n", n->total, n->total == 1 ? "" : "s");
	for (size_t i = 0; i < sizeof each / sizeof each[0]; i++) {
		web_html(b, "<li><a href=\"");
		tray_href(b, t, each[i].state, 1);
		web_html(b, "\"%r>%s: %ld</a></li>\n", t->state && strcmp(t->state, each[i].state)
			 == 0 ? " aria-current=\"true\"" : "", each[i].label, each[i].n);
		if (i == 0 && n->escalated)
			web_html(b, "<li>Escalated (of the overdue): %ld</li>\n", n->escalated);
	}
	web_html(b, "</ul>\n");
}

static void page_link(struct web_buf *b, const struct tray *t, long page, long current)
{
	if (page == current) {
		web_html(b, "<li><span aria-current=\"page\"><span class=\"visually-hidden\">Page "
			 "</span>%ld</span></li>\n", page);
		return;
	}
	web_html(b, "<li><a href=\"");
	tray_href(b, t, t->state, page);
	web_html(b, "\" aria-label=\"Page %ld\">%ld</a></li>\n", page, page);
}

/* Previous, the first, last and nearest pages, Next (the GOV.UK
 * pagination component's pattern); nothing when one page holds it all. */
static void pagination(struct tray *t, long page, long pages)
{
	struct web_buf *b = &t->c->resp->body;
	long last_shown = 0;

	if (pages <= 1)
		return;
	web_html(b, "<nav class=\"pagination\" aria-label=\"Pages of the tray\">\n<ul>\n");
	if (page > 1) {
		web_html(b, "<li><a href=\"");
		tray_href(b, t, t->state, page - 1);
		web_html(b, "\" rel=\"prev\">Previous<span class=\"visually-hidden\"> page</span>"
			 "</a></li>\n");
	}
	for (long p = 1; p <= pages; p++) {
		if (p != 1 && p != pages && (p < page - 1 || p > page + 1))
			continue;
		if (p > last_shown + 1)
			web_html(b, "<li aria-hidden=\"true\">&hellip;</li>\n");
		page_link(b, t, p, page);
		last_shown = p;
	}
	if (page < pages) {
		web_html(b, "<li><a href=\"");
		tray_href(b, t, t->state, page + 1);
		web_html(b, "\" rel=\"next\">Next<span class=\"visually-hidden\"> page</span>"
			 "</a></li>\n");
	}
	web_html(b, "</ul>\n</nav>\n");
}

/* ?page=N, 1 when absent or not a number; the caller caps it. */
static long page_asked(const struct web_form *q)
{
	const char *v = web_form_get(q, "page");
	char *end;
	long n = v ? strtol(v, &end, 10) : 1;

	return v && (*end || end == v || n < 1) ? 1 : n;
}

/* Rows the filters choose: those in the chosen state. */
static long rows_chosen(const struct tray *t, const struct state_web_counts *n)
{
	return !t->state ? n->total : strcmp(t->state, "overdue") == 0 ? n->overdue :
	       strcmp(t->state, "due-soon") == 0 ? n->due_soon : n->open;
}

int web_tray_page(struct web_ctx *c)
{
	const struct web_form *q = &c->req->query;
	const struct conf_web *w = &c->app->conf->web;
	const char *acked = web_form_get(q, "acked");
	const char *team = web_form_get(q, "team");
	struct tray t = { .c = c, .rule = pick_rule(c->app->conf, web_form_get(q, "rule")),
			  .state = pick(web_form_get(q, "state"), tray_states),
			  .team = team && *team ? team : NULL };
	struct state_web_filter f = { .rule = t.rule, .state = t.state, .team = t.team,
				      .max = w->page_size };
	struct state_web_counts n;
	struct web_buf *b = &c->resp->body;
	struct dl_error err;
	long page = page_asked(q), pages, rows;

	if (state_web_count_items(c->sw, &c->viewer, &f, &n, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	rows = rows_chosen(&t, &n) < w->max_items ? rows_chosen(&t, &n) : w->max_items;
	pages = (rows + w->page_size - 1) / w->page_size;
	page = page > pages ? (pages ? pages : 1) : page;
	f.offset = (page - 1) * w->page_size;
	web_page_begin(b, "Your tray", c->email);
	if (acked && strspn(acked, "0123456789") == strlen(acked) && *acked)
		web_html(b, "<div class=\"notice\" role=\"status\"><p>%s item%r acknowledged. "
			 "Reminders for %r stop until the date you gave, or until %r worse.</p>"
			 "</div>\n", acked, strcmp(acked, "1") ? "s" : "",
			 strcmp(acked, "1") ? "them" : "it", strcmp(acked, "1") ? "they get" :
			 "it gets");
	web_html(b, "<p>Open deadlines you can see%r, worst first.</p>\n",
		 c->viewer.admin ? " (all teams: you are an administrator)" : "");
	filters(&t, t.rule, t.state);
	counts(&t, &n);
	web_html(b, "<form method=\"get\" action=\"/ack\">\n<div class=\"table-wrap\"><table>\n"
		 "<caption>Open deadlines%r", pages > 1 ? ", " : "");
	if (pages > 1)
		web_html(b, "page %ld of %ld", page, pages);
	web_html(b, "</caption>\n<thead><tr><th scope=\"col\">Select</th>"
		 "<th scope=\"col\">Case</th><th scope=\"col\">Rule</th><th scope=\"col\">Team</th>"
		 "<th scope=\"col\">Worker</th><th scope=\"col\">Due</th>"
		 "<th scope=\"col\">State</th><th scope=\"col\">Acknowledged</th></tr></thead>\n"
		 "<tbody>\n");
	if (state_web_each_item(c->sw, &c->viewer, &f, tray_row, &t, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	web_html(b, "</tbody></table></div>\n");
	if (t.rows)
		web_html(b, "<button type=\"submit\">Acknowledge selected</button>\n");
	else
		web_html(b, "<p>Nothing open matches.</p>\n");
	web_html(b, "</form>\n");
	pagination(&t, page, pages);
	if (rows < rows_chosen(&t, &n))
		web_html(b, "<p>The pages reach the worst %ld; narrow the filters to see others."
			 "</p>\n", w->max_items);
	web_page_end(b);
	return 0;
}

/* The arithmetic, from what is stored: anchor, due, and the days between
 * that did not count, as deadlinectl explain shows them. */
static void arithmetic(struct web_ctx *c, const struct state_web_item *it)
{
	struct web_buf *b = &c->resp->body;
	const struct calendar *cal = c->app->conf->cal;
	struct dl_moment a, d;
	int working = 0, weekends = 0, listed = 0;
	char day[DATE_BUF];

	if (!it->anchor || !it->due || date_parse_moment(it->anchor, &a, NULL) < 0 ||
	    date_parse_moment(it->due, &d, NULL) < 0)
		return;
	calendar_workdays_between(cal, a.day, d.day, &working, NULL);
	web_html(b, "<p>Started %s; due %s: %d working day%r later.", it->anchor, it->due,
		 working, working == 1 ? "" : "s");
	for (dl_day x = a.day + 1; x <= d.day && x - a.day < 400; x++) {
		const char *name = calendar_day_name(cal, x);

		if (name)
			web_html(b, "%r %s (%s)", listed++ ? "," : " Not counted:",
				 date_format(x, day), name);
		else if (date_weekday(x) >= 5)
			weekends++;
	}
	if (weekends)
		web_html(b, "%r%d weekend day%r not counted.", listed ? "; " : " ", weekends,
			 weekends == 1 ? "" : "s");
	web_html(b, "</p>\n");
}

static int case_obligation(void *ctx, const struct state_web_item *it)
{
	struct web_ctx *c = ctx;
	struct web_buf *b = &c->resp->body;
	const struct rule *r = conf_rule(c->app->conf, it->rule);

	web_html(b, "<section><h2>%s (#%d)</h2>\n", r && r->title ? r->title : it->rule, it->seq);
	web_html(b, "<p>");
	web_state_tag(b, it->state, it->stage);
	if (it->closed)
		web_html(b, " on %s", it->closed);
	if (it->days_overdue)
		web_html(b, ", %d working day%r past the due date", it->days_overdue,
			 it->days_overdue == 1 ? "" : "s");
	web_html(b, "</p>\n");
	arithmetic(c, it);
	web_html(b, "<p>Team %s; worker %s.</p>\n", it->team_name ? it->team_name : "unknown",
		 it->worker_name ? it->worker_name : "unallocated");
	if (it->ack_until) {
		web_html(b, "<p>Acknowledged until %s by %s: %s</p>\n<form method=\"post\" "
			 "action=\"/ack/withdraw\">", it->ack_until, it->ack_who, it->ack_reason);
		web_csrf_field(c);
		web_html(b, "<input type=\"hidden\" name=\"id\" value=\"%ld\">"
			 "<input type=\"hidden\" name=\"ref\" value=\"%s\">"
			 "<button type=\"submit\" class=\"secondary\">Withdraw this acknowledgement"
			 "</button></form>\n", (long)it->ack_id, it->case_ref);
	} else if (!it->closed) {
		web_html(b, "<p><a href=\"/ack?item=%u%%7C%u\">Acknowledge this deadline</a></p>\n",
			 it->case_ref, it->rule);
	}
	web_html(b, "</section>\n");
	return 0;
}

int web_case_page(struct web_ctx *c)
{
	const char *ref = web_form_get(&c->req->query, "ref");
	struct state_web_filter f = { .case_ref = ref, .max = 200 };
	struct web_buf *b = &c->resp->body;
	struct dl_error err;
	bool exists = false, visible = false;

	if (!ref || !*ref)
		return web_error_page(c, 400, "Which case?", "The link did not name a case.");
	if (state_web_case_access(c->sw, &c->viewer, ref, &exists, &visible, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	if (!exists)
		return web_error_page(c, 404, "Case not found",
				      "deadlined has no deadlines for a case with that reference.");
	if (!visible)
		return web_error_page(c, 403, "Not your case",
				      "This case belongs to a team you do not manage or cover, "
				      "and you are not its worker, so you cannot see it here.");
	web_page_begin(b, ref, c->email);
	web_html(b, "<p>");
	web_case_link(c, ref);
	web_html(b, "</p>\n");
	if (state_web_each_item(c->sw, &c->viewer, &f, case_obligation, c, &err) < 0) {
		log_msg(LOG_ERR, "deadlined-web: %s", err.msg);
		return -1;
	}
	web_page_end(b);
	return 0;
}
