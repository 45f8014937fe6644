/* test_render.c — the words of alerts: subjects, bodies, HTML escaping, the
 * JSON payload, and one-line cleaning of untrusted strings.  Expected
 * strings are written from the wording we want, not taken from output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/render.h"
#include "deadlined/text.h"

#define TEAM "Duty and Assessment Team"
#define MSG_ID "20261120.digest.t-dat@deadlined"
#define ACK "deadlinectl ack CASE_REF RULE --until DATE --reason TEXT"

/* An item of the Duty and Assessment Team; the test sets what it is about. */
static struct alert_item item(const char *case_ref, const char *rule, const char *title,
			      const char *state, int stage, int days, const char *due)
{
	struct alert_item it = {
		.case_ref = case_ref, .child_ref = "C-000456",
		.rule_id = rule, .rule_title = title,
		.team_ref = "T-DAT", .team_name = TEAM,
		.state = state, .seq = 1, .stage = stage, .days_overdue = days,
	};

	snprintf(it.anchor, sizeof it.anchor, "%s", "2026-10-27");
	snprintf(it.due, sizeof it.due, "%s", due);
	return it;
}

static struct alert_item initial(const char *state, int stage, int days, const char *due)
{
	return item("REF-2026-000123", "initial-assessment", "Initial assessment",
		    state, stage, days, due);
}

static int64_t created(void)
{
	return (int64_t)D("2026-11-20") * 86400 + 8 * 3600;   /* 08:00 UTC */
}

static struct rendered render(enum alert_kind kind, const char *audience,
			      const struct alert_item *items, size_t n)
{
	struct alert a = { kind, audience, MSG_ID, created(), items, n, NULL };
	struct rendered r;
	struct dl_error err;

	if (render_alert(&a, &r, &err) < 0)
		fail_msg("render_alert: %s", err.msg);
	return r;
}

static void assert_subject(enum alert_kind kind, const char *audience,
			   const struct alert_item *items, size_t n, const char *want)
{
	struct rendered r = render(kind, audience, items, n);

	if (strcmp(r.subject, want) != 0)
		fail_msg("%s subject:\n got  %s\n want %s", render_kind_name(kind), r.subject, want);
	render_free(&r);
}

static void assert_one_line(const char *in, const char *want)
{
	char *got = text_one_line(in);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("text_one_line: got \"%s\", want \"%s\"", got, want);
	free(got);
}

/* Where needle is in hay, failing when it is not there. */
static size_t at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
	return (size_t)(p - hay);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(render_kind_name(ALERT_DUE_SOON), "due-soon");
	assert_string_equal(render_kind_name(ALERT_OVERDUE), "overdue");
	assert_string_equal(render_kind_name(ALERT_ESCALATION), "escalation");
	assert_string_equal(render_kind_name(ALERT_REMINDER), "reminder");
	assert_string_equal(render_kind_name(ALERT_MET_LATE), "met-late");
	assert_string_equal(render_kind_name(ALERT_RESOLVED), "resolved");
	assert_string_equal(render_kind_name(ALERT_DIGEST), "digest");
	assert_string_equal(render_kind_name(ALERT_TEST), "test");
	assert_string_equal(render_kind_name((enum alert_kind)99), "unknown");
}

static void test_subject_single(void **state)
{
	struct alert_item it;

	(void)state;
	it = initial("overdue", 0, 4, "2026-11-10");
	assert_subject(ALERT_OVERDUE, TEAM, &it, 1, "Overdue 4 working days: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	it = initial("overdue", 0, 1, "2026-11-10");
	assert_subject(ALERT_OVERDUE, TEAM, &it, 1, "Overdue 1 working day: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	it = initial("due-soon", 0, 0, "2026-11-25");
	assert_subject(ALERT_DUE_SOON, TEAM, &it, 1, "Due 2026-11-25: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	it = initial("due-soon", 0, 0, "2026-11-25T09:30");
	assert_subject(ALERT_DUE_SOON, TEAM, &it, 1, "Due 2026-11-25 09:30: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	it = initial("overdue", 1, 9, "2026-11-10");
	assert_subject(ALERT_ESCALATION, TEAM, &it, 1, "Escalation (stage 1), overdue 9 working days:"
		       " Initial assessment — case REF-2026-000123 (Duty and Assessment Team)");
	it = initial("overdue", 0, 9, "2026-11-10");
	assert_subject(ALERT_REMINDER, TEAM, &it, 1, "Still overdue, 9 working days: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	it = initial("late", 0, 3, "2026-11-10");
	assert_subject(ALERT_MET_LATE, TEAM, &it, 1, "Met late by 3 working days: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	it = initial("met", 0, 0, "2026-11-10");
	assert_subject(ALERT_RESOLVED, TEAM, &it, 1, "Resolved: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	assert_subject(ALERT_TEST, TEAM, NULL, 0, "deadlined test message — Duty and Assessment Team");
	assert_subject(ALERT_TEST, NULL, NULL, 0, "deadlined test message");
}

static void test_subject_missing_parts(void **state)
{
	struct alert_item it = initial("overdue", 0, 4, "2026-11-10");

	(void)state;
	it.team_name = NULL;     /* the reference stands in for the name */
	assert_subject(ALERT_OVERDUE, TEAM, &it, 1,
		       "Overdue 4 working days: Initial assessment — case REF-2026-000123 (T-DAT)");
	it.team_ref = NULL;
	it.rule_title = NULL;
	assert_subject(ALERT_OVERDUE, TEAM, &it, 1,
		       "Overdue 4 working days: initial-assessment — case REF-2026-000123");
	it.case_ref = NULL;
	it.rule_id = NULL;
	assert_subject(ALERT_OVERDUE, TEAM, &it, 1, "Overdue 4 working days: Deadline — case -");
}

/* A subject of several items keeps what matters when it is cut (issue 14):
 * the worst item's headline and the count of the rest come first and are
 * never cut; names are (the rule's title first); the teams of all the items
 * are named, or counted when they do not fit. */
static void test_subject_several(void **state)
{
	static const char *const teams[] = { TEAM, "Child Protection North", "Children in Care",
		"Care Leavers and Missing", "SEND Assessment and Review", "School Improvement" };
	struct alert_item v[46];
	struct rendered r;
	char longtitle[240];

	(void)state;
	static const char *const short_names[] = { "Duty", "CP North", "In Care" };

	for (size_t i = 0; i < 46; i++) {
		v[i] = initial("overdue", 1, 9 - (int)(i % 5), "2026-11-10");
		v[i].team_name = short_names[i % 3];
		v[i].team_ref = teams[i % 3];
	}
	/* Three teams, worst first: all named, in the order they come. */
	assert_subject(ALERT_ESCALATION, NULL, v, 18, "Escalation (stage 1), overdue 9 working days"
		       " (+17 more): Initial assessment — case REF-2026-000123 (Duty, CP North,"
		       " In Care)");
	/* Three long names would pass 150 bytes: counted rather than cut. */
	for (size_t i = 0; i < 46; i++)
		v[i].team_name = teams[i % 3];
	assert_subject(ALERT_ESCALATION, NULL, v, 18, "Escalation (stage 1), overdue 9 working days"
		       " (+17 more): Initial assessment — case REF-2026-000123 (3 teams)");
	/* One team among several items: that team. */
	assert_subject(ALERT_OVERDUE, NULL, v, 1, "Overdue 9 working days: Initial assessment"
		       " — case REF-2026-000123 (Duty and Assessment Team)");
	for (size_t i = 0; i < 46; i++)
		v[i].team_name = v[i].team_ref = teams[i % 6];
	/* Six long team names do not fit: counted. */
	assert_subject(ALERT_ESCALATION, NULL, v, 46, "Escalation (stage 1), overdue 9 working days"
		       " (+45 more): Initial assessment — case REF-2026-000123 (6 teams)");
	/* A title too long for the subject: the title is cut, not the numbers. */
	memset(longtitle, 'x', sizeof longtitle - 1);
	longtitle[sizeof longtitle - 1] = '\0';
	for (size_t i = 0; i < 46; i++)
		v[i].rule_title = longtitle;
	r = render(ALERT_ESCALATION, NULL, v, 46);
	assert_true(strlen(r.subject) <= 150);
	if (strncmp(r.subject, "Escalation (stage 1), overdue 9 working days (+45 more): xxx", 60) != 0 ||
	    !strstr(r.subject, "x… — case REF-2026-000123 (6 teams)"))
		fail_msg("cut in the wrong place: %s", r.subject);
	render_free(&r);
}

static void test_subject_digest(void **state)
{
	struct alert_item v[] = {
		initial("due-soon", 0, 0, "2026-11-25"),
		initial("overdue", 0, 3, "2026-11-13"),
		initial("overdue", 1, 12, "2026-11-02"),
		initial("due-soon", 0, 0, "2026-11-24"),
		initial("overdue", 0, 5, "2026-11-11"),
	};

	(void)state;
	assert_subject(ALERT_DIGEST, TEAM, v, 5,
		       "3 overdue (1 escalated), 2 due soon — Duty and Assessment Team");
	assert_subject(ALERT_DIGEST, TEAM, v, 2, "1 overdue, 1 due soon — Duty and Assessment Team");
	assert_subject(ALERT_DIGEST, TEAM, v + 1, 1, "1 overdue — Duty and Assessment Team");
	assert_subject(ALERT_DIGEST, TEAM, v + 1, 2, "2 overdue (1 escalated) — Duty and Assessment Team");
	assert_subject(ALERT_DIGEST, TEAM, v + 3, 1, "1 due soon — Duty and Assessment Team");
	assert_subject(ALERT_DIGEST, TEAM, NULL, 0, "Nothing overdue or due soon — Duty and Assessment Team");
	assert_subject(ALERT_DIGEST, NULL, v + 1, 1, "1 overdue");
	assert_subject(ALERT_DIGEST, "  ", v + 1, 1, "1 overdue");
}

/* Items in scrambled order come out grouped by rule, the group with the
 * worst item first, and worst first (days overdue, then due) within. */
static void test_digest_order(void **state)
{
	struct alert_item v[] = {
		item("A2", "cp-visit", "Child protection visit", "due-soon", 0, 0, "2026-11-25"),
		item("B3", "initial-assessment", "Initial assessment", "due-soon", 0, 0, "2026-11-24"),
		item("C1", "rhi", "Return home interview", "due-soon", 0, 0, "2026-11-26"),
		item("B2", "initial-assessment", "Initial assessment", "overdue", 0, 3, "2026-11-13"),
		item("D1", "care-plan", "Care plan", "overdue", 0, 4, "2026-11-09"),
		item("A1", "cp-visit", "Child protection visit", "overdue", 0, 4, "2026-11-10"),
		item("B4", "initial-assessment", "Initial assessment", "due-soon", 0, 0, "2026-11-23"),
		item("B1", "initial-assessment", "Initial assessment", "overdue", 1, 12, "2026-11-02"),
	};
	static const char *const want[] = {
		"Initial assessment (rule initial-assessment)\n",
		"Case B1,", "Case B2,", "Case B4,", "Case B3,",
		"Care plan (rule care-plan)\n", "Case D1,",
		"Child protection visit (rule cp-visit)\n", "Case A1,", "Case A2,",
		"Return home interview (rule rhi)\n", "Case C1,",
	};
	static const char *const json_order[] = { "B1", "B2", "B4", "B3", "D1", "A1", "A2", "C1" };
	struct rendered r = render(ALERT_DIGEST, TEAM, v, 8);
	json_t *doc = json_loads(r.payload, 0, NULL), *items;
	size_t last = 0, pos;

	(void)state;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		pos = at(r.text, want[i]);
		if (i > 0 && pos <= last)
			fail_msg("\"%s\" is out of order in:\n%s", want[i], r.text);
		last = pos;
	}
	/* Each rule's heading appears once: the groups are not split. */
	pos = at(r.text, "Initial assessment (rule");
	assert_null(strstr(r.text + pos + 1, "Initial assessment (rule"));
	assert_true(at(r.html, ">Case B1,") < at(r.html, ">Case D1,"));
	assert_true(at(r.html, ">Case A2,") < at(r.html, ">Case C1,"));
	assert_non_null(doc);
	items = json_object_get(doc, "items");
	assert_int_equal(json_array_size(items), 8);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(items, i),
			"case_ref")), json_order[i]);
	json_decref(doc);
	render_free(&r);
}

/* With max_items, a message lists the worst few and counts the rest; the
 * subject and counts still cover every item. */
static void test_max_items(void **state)
{
	struct alert_item v[] = {
		item("A2", "cp-visit", "Child protection visit", "due-soon", 0, 0, "2026-11-25"),
		item("B2", "initial-assessment", "Initial assessment", "overdue", 0, 3, "2026-11-13"),
		item("D1", "care-plan", "Care plan", "overdue", 0, 4, "2026-11-09"),
		item("B1", "initial-assessment", "Initial assessment", "overdue", 1, 12, "2026-11-02"),
		item("C1", "rhi", "Return home interview", "due-soon", 0, 0, "2026-11-26"),
	};
	struct alert a = { ALERT_DIGEST, TEAM, MSG_ID, created(), v, 5, NULL, NULL, 0, 2 };
	struct rendered r;
	struct dl_error err;
	json_t *doc, *items;

	(void)state;
	if (render_alert(&a, &r, &err) < 0)
		fail_msg("render_alert: %s", err.msg);
	assert_string_equal(r.subject, "3 overdue (1 escalated), 2 due soon — " TEAM);
	/* The two worst: B1 and B2 (initial assessments, the worst group). */
	assert_non_null(strstr(r.text, "Case B1,"));
	assert_non_null(strstr(r.text, "Case B2,"));
	assert_null(strstr(r.text, "Case D1,"));
	assert_null(strstr(r.text, "Case A2,"));
	assert_non_null(strstr(r.text, "…and 3 more, not listed here"));
	assert_non_null(strstr(r.html, "…and 3 more, not listed here"));
	assert_null(strstr(r.html, "Case D1,"));
	doc = json_loads(r.payload, 0, NULL);
	assert_non_null(doc);
	items = json_object_get(doc, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_int_equal(json_integer_value(json_object_get(doc, "items_not_listed")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "counts"),
							    "overdue")), 3);
	json_decref(doc);
	render_free(&r);
	/* At or under the limit: everything, and no "more" line or field. */
	a.max_items = 5;
	if (render_alert(&a, &r, &err) < 0)
		fail_msg("render_alert: %s", err.msg);
	assert_null(strstr(r.text, "more, not listed"));
	assert_null(strstr(r.payload, "items_not_listed"));
	render_free(&r);
}

static void test_text_body(void **state)
{
	struct alert_item it = initial("overdue", 1, 4, "2026-11-10");
	struct rendered r;

	(void)state;
	it.worker_ref = "W-7";
	it.worker_name = "Sam Jones";
	r = render(ALERT_ESCALATION, TEAM, &it, 1);
	at(r.text, "Escalation (stage 1), overdue 4 working days: Initial assessment");
	at(r.text, "\nInitial assessment (rule initial-assessment)\n");
	at(r.text, "\n  Case REF-2026-000123, child C-000456\n");
	at(r.text, "\n  OVERDUE by 4 working days, escalation stage 1\n");
	at(r.text, "\n  Started 2026-10-27 → due 2026-11-10\n");
	at(r.text, "\n  Team: Duty and Assessment Team; worker: Sam Jones\n");
	at(r.text, "\n  " ACK "\n");
	at(r.text, "Sent by deadlined. Message id: " MSG_ID "\n");
	assert_null(strchr(r.text, '\r'));
	render_free(&r);

	it = initial("late", 0, 3, "2026-11-10");
	it.child_ref = NULL;
	snprintf(it.closed, sizeof it.closed, "%s", "2026-11-13");
	r = render(ALERT_MET_LATE, TEAM, &it, 1);
	at(r.text, "\n  Case REF-2026-000123, child -\n");
	at(r.text, "\n  MET LATE by 3 working days\n");
	at(r.text, "\n  Started 2026-10-27 → due 2026-11-10; met 2026-11-13\n");
	at(r.text, "; worker: unallocated\n");
	/* Nothing left to acknowledge once a deadline is met. */
	assert_null(strstr(r.text, "deadlinectl ack"));
	assert_null(strstr(r.html, "deadlinectl ack"));
	render_free(&r);
}

static void assert_lines_fit(const char *text)
{
	const char *line = text;

	while (*line) {
		const char *nl = strchrnul(line, '\n');
		size_t cols = 0;

		for (const char *p = line; p < nl; p++)
			cols += ((unsigned char)*p & 0xC0) != 0x80;
		if (cols > 78)
			fail_msg("line of %zu columns: %.*s", cols, (int)(nl - line), line);
		line = *nl ? nl + 1 : nl;
	}
}

static void test_text_width(void **state)
{
	struct alert_item v[] = {
		initial("overdue", 2, 23, "2026-10-16"),
		item("REF-2026-000999", "return-home-interview",
		     "Return home interview after a missing episode", "due-soon", 0, 0, "2026-11-24"),
	};
	struct rendered r;

	(void)state;
	v[0].team_name = "Children in Need and Child Protection Team (North and West Localities)";
	v[0].worker_name = "Alexandra Fitzgerald-Montgomery";
	r = render(ALERT_DIGEST, "Children in Need and Child Protection Team (North and West Localities),"
		   " Service Manager — Safeguarding", v, 2);
	assert_lines_fit(r.text);
	/* A long line is broken at a space, the rest indented under it. */
	at(r.text, "\n  Team: Children in Need and Child Protection Team (North and West\n"
	   "    Localities); worker: Alexandra Fitzgerald-Montgomery\n");
	/* Wrapping moves words, it does not lose them. */
	at(r.text, "Alexandra Fitzgerald-Montgomery");
	at(r.text, "\n  " ACK "\n");
	render_free(&r);
}

static void test_html_escaping(void **state)
{
	struct alert_item it = initial("overdue", 0, 4, "2026-11-10");
	struct rendered r;

	(void)state;
	it.case_ref = "<script>alert(1)</script>";
	it.team_name = "O'Brien & \"Sons\" <Team>";
	it.worker_name = "<img src=x onerror=alert(2)>";
	it.rule_title = "Visit \"weekly\"";
	r = render(ALERT_OVERDUE, "<b>Team</b>", &it, 1);
	at(r.html, "Case &lt;script&gt;alert(1)&lt;/script&gt;, child C-000456");
	at(r.html, "Team: O&#39;Brien &amp; &quot;Sons&quot; &lt;Team&gt;;");
	at(r.html, "worker: &lt;img src=x onerror=alert(2)&gt;");
	at(r.html, "Visit &quot;weekly&quot;");
	/* The subject, in the title and the lead, is escaped too. */
	at(r.html, "<title>Overdue 4 working days: Visit &quot;weekly&quot; — case "
	   "&lt;script&gt;alert(1)&lt;/script&gt; (O&#39;Brien");
	assert_null(strcasestr(r.html, "<script"));
	assert_null(strcasestr(r.html, "<img"));
	assert_null(strcasestr(r.html, "onerror=alert(2)>"));
	assert_null(strstr(r.html, "O'Brien"));
	assert_null(strstr(r.html, "\"Sons\""));
	/* A complete document with nothing fetched from elsewhere. */
	assert_int_equal(strncmp(r.html, "<!DOCTYPE html>\n<html lang=\"en\">", 32), 0);
	at(r.html, "<meta charset=\"utf-8\">");
	at(r.html, "<meta name=\"viewport\"");
	assert_string_equal(r.html + strlen(r.html) - 8, "</html>\n");
	assert_null(strcasestr(r.html, "http"));
	assert_null(strcasestr(r.html, "url("));
	assert_null(strcasestr(r.html, "<link"));
	assert_null(strcasestr(r.html, "<style"));
	/* The state is written out, not only coloured. */
	at(r.html, "OVERDUE by 4 working days</span>");
	/* The plain text is not HTML: it is left as written. */
	at(r.text, "Case <script>alert(1)</script>, child C-000456");
	render_free(&r);
}

static void test_header_injection(void **state)
{
	struct alert_item it = initial("overdue", 0, 4, "2026-11-10");
	struct rendered r;

	(void)state;
	it.team_name = "Duty\r\nBcc: x";
	it.case_ref = "REF-1\n\nSent by deadlined";
	r = render(ALERT_OVERDUE, TEAM, &it, 1);
	assert_string_equal(r.subject, "Overdue 4 working days: Initial assessment"
			    " — case REF-1 Sent by deadlined (Duty Bcc: x)");
	assert_null(strstr(r.text, "\nBcc:"));
	/* The case reference cannot fake a line of the body either. */
	at(r.text, "\n  Case REF-1 Sent by deadlined, child C-000456\n");
	assert_null(strchr(r.text, '\r'));
	render_free(&r);

	r = render(ALERT_DIGEST, "Duty\r\nBcc: victim@example.org\u2028X-Evil: 1", &it, 1);
	assert_string_equal(r.subject, "1 overdue — Duty Bcc: victim@example.org X-Evil: 1");
	render_free(&r);
}

static void test_subject_length(void **state)
{
	struct alert_item it = initial("overdue", 0, 4, "2026-11-10");
	char team[400] = "";
	struct rendered r;
	char *again;
	size_t n;

	(void)state;
	for (int i = 0; i < 100; i++)
		strcat(team, "é ");          /* two bytes and a space */
	it.team_name = team;
	r = render(ALERT_OVERDUE, TEAM, &it, 1);
	n = strlen(r.subject);
	assert_true(n <= 150);
	assert_true(n > 120);
	assert_string_equal(r.subject + n - strlen("…"), "…");
	/* Cut at a character boundary: cleaning finds nothing to repair. */
	again = text_one_line(r.subject);
	assert_string_equal(again, r.subject);
	free(again);
	render_free(&r);
}

static const char *jstring(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static void test_payload(void **state)
{
	struct alert_item v[] = {
		initial("overdue", 1, 12, "2026-11-02"),
		item("REF-2026-000124", "cp-visit", "Child protection visit", "late", 0, 2, "2026-11-10T14:00"),
	};
	struct rendered r;
	json_t *doc, *counts, *items, *a, *b;
	json_error_t jerr;

	(void)state;
	v[0].child_ref = NULL;
	v[0].seq = 3;
	v[1].worker_ref = "W-7";
	v[1].worker_name = "Sam Jones";
	snprintf(v[1].closed, sizeof v[1].closed, "%s", "2026-11-12");
	r = render(ALERT_DIGEST, TEAM, v, 2);
	doc = json_loads(r.payload, 0, &jerr);
	if (!doc)
		fail_msg("payload does not parse: %s\n%s", jerr.text, r.payload);
	assert_string_equal(jstring(doc, "schema"), "deadlined.alert/v1");
	assert_string_equal(jstring(doc, "type"), "digest");
	assert_string_equal(jstring(doc, "id"), MSG_ID);
	assert_string_equal(jstring(doc, "created"), "2026-11-20T08:00:00Z");
	assert_string_equal(jstring(doc, "subject"), r.subject);
	assert_string_equal(jstring(doc, "audience"), TEAM);
	assert_true(json_is_null(json_object_get(doc, "summary")));
	counts = json_object_get(doc, "counts");
	assert_int_equal(jint(counts, "overdue"), 1);
	assert_int_equal(jint(counts, "due_soon"), 0);
	assert_int_equal(jint(counts, "escalated"), 1);
	items = json_object_get(doc, "items");
	assert_int_equal(json_array_size(items), 2);

	a = json_array_get(items, 0);
	assert_string_equal(jstring(a, "case_ref"), "REF-2026-000123");
	assert_true(json_is_null(json_object_get(a, "child_ref")));
	assert_string_equal(jstring(a, "rule"), "initial-assessment");
	assert_string_equal(jstring(a, "rule_title"), "Initial assessment");
	assert_int_equal(jint(a, "seq"), 3);
	assert_string_equal(jstring(a, "anchor"), "2026-10-27");
	assert_string_equal(jstring(a, "due"), "2026-11-02");
	assert_null(json_object_get(a, "closed"));
	assert_string_equal(jstring(a, "state"), "overdue");
	assert_int_equal(jint(a, "stage"), 1);
	assert_int_equal(jint(a, "days_overdue"), 12);
	assert_string_equal(jstring(json_object_get(a, "team"), "ref"), "T-DAT");
	assert_string_equal(jstring(json_object_get(a, "team"), "name"), TEAM);
	assert_true(json_is_null(json_object_get(json_object_get(a, "worker"), "ref")));
	assert_true(json_is_null(json_object_get(json_object_get(a, "worker"), "name")));

	b = json_array_get(items, 1);
	assert_string_equal(jstring(b, "due"), "2026-11-10T14:00");
	assert_string_equal(jstring(b, "closed"), "2026-11-12");
	assert_string_equal(jstring(b, "state"), "late");
	assert_string_equal(jstring(json_object_get(b, "worker"), "ref"), "W-7");
	assert_string_equal(jstring(json_object_get(b, "worker"), "name"), "Sam Jones");
	json_decref(doc);
	render_free(&r);
}

static void assert_keys(json_t *o, const char *const *allowed, size_t n)
{
	const char *key;
	json_t *v;

	assert_true(json_is_object(o));
	json_object_foreach(o, key, v) {
		size_t i = 0;

		while (i < n && strcmp(key, allowed[i]) != 0)
			i++;
		if (i == n)
			fail_msg("unexpected field \"%s\"", key);
	}
}

/* The only names are a team's and a worker's: there is no child's name to
 * show, and no field where one could appear. */
static void test_no_child_name(void **state)
{
	static const char *const top[] = { "schema", "type", "id", "created", "subject",
		"audience", "summary", "counts", "items" };
	static const char *const fields[] = { "case_ref", "child_ref", "rule", "rule_title",
		"seq", "anchor", "due", "closed", "state", "stage", "days_overdue", "team", "worker" };
	static const char *const person[] = { "ref", "name" };
	struct alert_item it = initial("late", 0, 2, "2026-11-02");
	struct rendered r;
	json_t *doc, *items;

	(void)state;
	snprintf(it.closed, sizeof it.closed, "%s", "2026-11-04");
	r = render(ALERT_DIGEST, TEAM, &it, 1);
	doc = json_loads(r.payload, 0, NULL);
	assert_keys(doc, top, sizeof top / sizeof top[0]);
	items = json_object_get(doc, "items");
	assert_keys(json_array_get(items, 0), fields, sizeof fields / sizeof fields[0]);
	assert_keys(json_object_get(json_array_get(items, 0), "team"), person, 2);
	assert_keys(json_object_get(json_array_get(items, 0), "worker"), person, 2);
	assert_null(strcasestr(r.payload, "child_name"));
	assert_null(strcasestr(r.text, "child name"));
	json_decref(doc);
	render_free(&r);
}

static void test_payload_strings(void **state)
{
	struct alert_item it = initial("overdue", 0, 4, "2026-11-10");
	struct rendered r;
	json_t *doc, *first;

	(void)state;
	it.case_ref = "REF\xFF-1";             /* not UTF-8 */
	it.rule_title = "Line one\nline two";  /* JSON keeps it, escaped */
	r = render(ALERT_OVERDUE, NULL, &it, 1);
	doc = json_loads(r.payload, 0, NULL);
	assert_non_null(doc);
	first = json_array_get(json_object_get(doc, "items"), 0);
	assert_string_equal(jstring(first, "case_ref"), "REF\xEF\xBF\xBD-1");
	assert_string_equal(jstring(first, "rule_title"), "Line one\nline two");
	assert_true(json_is_null(json_object_get(doc, "audience")));
	assert_string_equal(jstring(doc, "type"), "overdue");
	at(r.subject, "case REF\xEF\xBF\xBD-1");
	json_decref(doc);
	render_free(&r);
}

static void test_test_message(void **state)
{
	struct alert a = { ALERT_TEST, "Duty & Assessment", "t-1@deadlined", created(), NULL, 0,
			   "Sent by deadlinectl test-notify to receiver \"mail\"." };
	struct rendered r;
	struct dl_error err;
	json_t *doc;

	(void)state;
	assert_int_equal(render_alert(&a, &r, &err), 0);
	assert_string_equal(r.subject, "deadlined test message — Duty & Assessment");
	at(r.text, "Sent by deadlinectl test-notify to receiver \"mail\".\n");
	at(r.html, "Sent by deadlinectl test-notify to receiver &quot;mail&quot;.");
	at(r.html, "<title>deadlined test message — Duty &amp; Assessment</title>");
	assert_null(strstr(r.text, "deadlinectl ack"));
	doc = json_loads(r.payload, 0, NULL);
	assert_string_equal(jstring(doc, "type"), "test");
	assert_string_equal(jstring(doc, "summary"), a.summary_line);
	assert_int_equal(json_array_size(json_object_get(doc, "items")), 0);
	json_decref(doc);
	render_free(&r);
}

static void test_errors(void **state)
{
	struct alert a = { ALERT_OVERDUE, TEAM, MSG_ID, 0, NULL, 0, NULL };
	struct rendered r;
	struct dl_error err;

	(void)state;
	assert_int_equal(render_alert(&a, &r, &err), -1);
	at(err.msg, "overdue alert needs an item");
	assert_null(r.subject);
	a.kind = (enum alert_kind)42;
	assert_int_equal(render_alert(&a, &r, &err), -1);
	at(err.msg, "unknown alert kind 42");
	a.kind = ALERT_DIGEST;
	a.n = 2;
	assert_int_equal(render_alert(&a, &r, &err), -1);
	render_free(&r);         /* harmless after a failure */
}

static void test_one_line(void **state)
{
	(void)state;
	assert_one_line("Duty — Assessment", "Duty — Assessment");
	assert_one_line("a\xE2\x80\xA8" "b\xE2\x80\xA9" "c", "a b c");   /* U+2028, U+2029 */
	assert_one_line("  a\r\n\tb\x7F c \x01 ", "a b c");
	assert_one_line("a\xC2\x85" "b", "a b");                         /* NEL, a C1 control */
	assert_one_line("a \r\n  \t b", "a b");
	assert_one_line("smile \xF0\x9F\x98\x80", "smile \xF0\x9F\x98\x80");
	assert_one_line("caf\xC3\xA9\n", "caf\xC3\xA9");
	/* Bytes that are not UTF-8 become U+FFFD, one each, and never half a
	 * character: a stray byte, a cut-short sequence, an overlong '/', a
	 * surrogate. */
	assert_one_line("a\xFF" "b", "a\xEF\xBF\xBD" "b");
	assert_one_line("ab\xE2\x80", "ab\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_one_line("\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_one_line("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_one_line("", "");
	assert_one_line(" \r\n ", "");
	assert_one_line(NULL, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_subject_single),
		cmocka_unit_test(test_subject_missing_parts),
		cmocka_unit_test(test_subject_several),
		cmocka_unit_test(test_subject_digest),
		cmocka_unit_test(test_digest_order),
		cmocka_unit_test(test_max_items),
		cmocka_unit_test(test_text_body),
		cmocka_unit_test(test_text_width),
		cmocka_unit_test(test_html_escaping),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_subject_length),
		cmocka_unit_test(test_payload),
		cmocka_unit_test(test_no_child_name),
		cmocka_unit_test(test_payload_strings),
		cmocka_unit_test(test_test_message),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
