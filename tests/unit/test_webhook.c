/* test_webhook.c — the webhook receiver's pure pieces: Standard Webhooks
 * signatures (against the specification's published test vector), the
 * secret-to-key rule, the Teams and Slack bodies built from the generic
 * payload (valid JSON of the right shape whatever the case data holds),
 * and what an HTTP status means for delivery.  Sending over the network is
 * tested in tests/integration/test_webhook.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/webhook.h"

/* The Standard Webhooks specification's test vector (also in the svix and
 * standardwebhooks libraries' tests). */
#define VECTOR_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VECTOR_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VECTOR_TS 1614265330
#define VECTOR_BODY "{\"test\": 2432232314}"
#define VECTOR_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

#define HOSTILE_CASE "A<1>&\"x\"\nline2"
#define SUBJECT "3 overdue <urgent> & more \"now\""

static void test_signature_vector(void **state)
{
	char sig[WEBHOOK_SIGNATURE_BUF];
	struct dl_error err;
	unsigned char *key;
	size_t len;

	(void)state;
	assert_int_equal(webhook_key(VECTOR_SECRET, &key, &len, &err), 0);
	assert_int_equal(len, 24);
	assert_int_equal(webhook_signature(key, len, VECTOR_ID, VECTOR_TS, VECTOR_BODY,
					   strlen(VECTOR_BODY), sig), 0);
	assert_string_equal(sig, VECTOR_SIG);
	/* One byte of the body changed: another signature. */
	assert_int_equal(webhook_signature(key, len, VECTOR_ID, VECTOR_TS, "{\"test\": 2432232315}",
					   strlen(VECTOR_BODY), sig), 0);
	assert_string_not_equal(sig, VECTOR_SIG);
	free(key);
}

static void test_key_rules(void **state)
{
	struct dl_error err = { "" };
	unsigned char *key;
	size_t len;

	(void)state;
	/* Without the prefix the secret's bytes are the key. */
	assert_int_equal(webhook_key("plain secret", &key, &len, &err), 0);
	assert_int_equal(len, strlen("plain secret"));
	assert_memory_equal(key, "plain secret", len);
	free(key);
	/* "whsec_" + base64 with padding decodes to exactly its bytes. */
	assert_int_equal(webhook_key("whsec_c2hvcnQ=", &key, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(key, "short", 5);
	free(key);
	/* Not base64, or nothing after the prefix: refused, secret unshown. */
	assert_int_equal(webhook_key("whsec_not base64!", &key, &len, &err), -1);
	assert_null(key);
	assert_non_null(strstr(err.msg, "not base64"));
	assert_null(strstr(err.msg, "not base64!"));
	assert_int_equal(webhook_key("whsec_", &key, &len, &err), -1);
	assert_int_equal(webhook_key("", &key, &len, &err), -1);
}

static struct message message(const char *payload)
{
	return (struct message){ .id = 1, .msg_id = "m1@deadlined.test", .subject = SUBJECT,
		.text = "Line one.\nLine two.", .payload = payload, .created = 1767225600 };
}

static json_t *item(const char *case_ref, int days, int stage)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:{s:s, s:s}, "
			 "s:{s:s, s:s}}", "case_ref", case_ref, "child_ref", "C1",
			 "rule", "care-plan", "rule_title", "Care <b>plan</b> & review", "seq", 1,
			 "anchor", "2024-12-02", "due", "2024-12-16", "state", "overdue",
			 "stage", stage, "days_overdue", days,
			 "team", "ref", "T1", "name", "Duty & Assessment <DAT>",
			 "worker", "ref", "W1", "name", "O'Neil \"Sam\"");
}

/* A deadlined.alert/v1 document with n items, the first one hostile. */
static char *payload(size_t n)
{
	json_t *items = json_array(), *doc;
	char *s, ref[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(ref, sizeof ref, "A%zu", i);
		json_array_append_new(items, item(i ? ref : HOSTILE_CASE, (int)i, i ? 0 : 1));
	}
	doc = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o}", "schema", "deadlined.alert/v1",
			"type", "overdue", "id", "m1@deadlined.test", "created", (json_int_t)1767225600,
			"subject", SUBJECT, "audience", "Duty", "items", items);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_non_null(s);
	return s;
}

/* The body for format, which must parse as JSON. */
static json_t *body_json(enum webhook_format format, const struct message *m)
{
	struct dl_error err = { "" };
	char *body = webhook_body(format, m, &err);
	json_error_t jerr;
	json_t *j;

	if (!body)
		fail_msg("webhook_body: %s", err.msg);
	j = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("not JSON (%s): %s", jerr.text, body);
	free(body);
	return j;
}

static void test_generic_body(void **state)
{
	struct message m = message("{\"schema\":\"deadlined.alert/v1\",  \"x\": 1}");
	struct dl_error err;
	char *body;

	(void)state;
	body = webhook_body(WEBHOOK_GENERIC, &m, &err);
	assert_string_equal(body, m.payload);       /* byte for byte: it is signed */
	free(body);
	m.payload = NULL;
	assert_null(webhook_body(WEBHOOK_GENERIC, &m, &err));
	assert_non_null(strstr(err.msg, "no JSON payload"));
}

static json_t *teams_blocks(json_t *j)
{
	json_t *att = json_array_get(json_object_get(j, "attachments"), 0);
	json_t *card = json_object_get(att, "content");

	assert_string_equal(json_string_value(json_object_get(j, "type")), "message");
	assert_int_equal(json_array_size(json_object_get(j, "attachments")), 1);
	assert_string_equal(json_string_value(json_object_get(att, "contentType")),
			    "application/vnd.microsoft.card.adaptive");
	assert_true(json_is_null(json_object_get(att, "contentUrl")));
	assert_string_equal(json_string_value(json_object_get(card, "type")), "AdaptiveCard");
	assert_string_equal(json_string_value(json_object_get(card, "version")), "1.4");
	assert_string_equal(json_string_value(json_object_get(card, "$schema")),
			    "http://adaptivecards.io/schemas/adaptive-card.json");
	return json_object_get(card, "body");
}

static const char *fact(const json_t *factset, const char *title)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(factset, "facts"), i, f)
		if (strcmp(json_string_value(json_object_get(f, "title")), title) == 0)
			return json_string_value(json_object_get(f, "value"));
	return NULL;
}

static void test_teams_body(void **state)
{
	char *p = payload(2);
	struct message m = message(p);
	json_t *j = body_json(WEBHOOK_TEAMS, &m), *blocks = teams_blocks(j);
	json_t *head = json_array_get(blocks, 0), *first = json_array_get(blocks, 1);

	(void)state;
	assert_int_equal(json_array_size(blocks), 3);
	assert_string_equal(json_string_value(json_object_get(head, "type")), "TextBlock");
	assert_string_equal(json_string_value(json_object_get(head, "text")), SUBJECT);
	assert_string_equal(json_string_value(json_object_get(head, "weight")), "Bolder");
	assert_string_equal(json_string_value(json_object_get(head, "size")), "Large");
	assert_string_equal(json_string_value(json_object_get(first, "type")), "FactSet");
	/* Quotes and <>& arrive as themselves; the newline is a space. */
	assert_string_equal(fact(first, "Case"), "A<1>&\"x\" line2");
	assert_string_equal(fact(first, "Child"), "C1");
	assert_string_equal(fact(first, "Rule"), "Care <b>plan</b> & review");
	assert_string_equal(fact(first, "Due"), "2024-12-16");
	assert_string_equal(fact(first, "State"), "overdue, escalation stage 1");
	assert_string_equal(fact(first, "Team"), "Duty & Assessment <DAT>");
	assert_string_equal(fact(first, "Worker"), "O'Neil \"Sam\"");
	assert_null(fact(first, "Overdue"));        /* 0 days: not shown */
	assert_string_equal(fact(json_array_get(blocks, 2), "Overdue"), "1 working day");
	assert_string_equal(fact(json_array_get(blocks, 2), "State"), "overdue");
	json_decref(j);
	free(p);
}

/* Slack mrkdwn: &, < and > only as entities. */
static void assert_mrkdwn_safe(const char *s)
{
	assert_null(strchr(s, '<'));
	assert_null(strchr(s, '>'));
	for (const char *a = strchr(s, '&'); a; a = strchr(a + 1, '&'))
		assert_true(!strncmp(a, "&amp;", 5) || !strncmp(a, "&lt;", 4) || !strncmp(a, "&gt;", 4));
}

/* Adaptive Card markdown (TextBlock and FactSet values both render it):
 * is s inert?  Every *, _, [, ], (, ), `, ~, | is escaped with a
 * backslash, and no line starts a list (-, +, "1."), heading or quote. */
static bool md_inert(const char *s)
{
	bool line_start = true;

	for (const char *p = s; *p; p++) {
		if (*p == '\\' && p[1] && strchr("\\*_[]()`~#>|-+.!{}<&", p[1])) {
			p++;
			line_start = false;
			continue;
		}
		if (strchr("*_[]()`~|", *p))
			return false;
		if (line_start && strchr("-+#>", *p))
			return false;
		if (line_start && *p >= '0' && *p <= '9') {
			const char *q = p;

			while (*q >= '0' && *q <= '9')
				q++;
			if (*q == '.')
				return false;
		}
		if (*p != ' ')
			line_start = *p == '\n';
	}
	return true;
}

/* s with the escapes taken away: what a reader sees. */
static char *md_shown(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	for (const char *p = s; *p; p++) {
		if (*p == '\\' && p[1] && ispunct((unsigned char)p[1]))
			p++;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static void assert_md(const char *got, const char *shown)
{
	char *seen;

	if (!got)
		fail_msg("no text where '%s' should be", shown);
	if (!md_inert(got))
		fail_msg("live markdown reaches Teams: '%s'", got);
	seen = md_shown(got);
	if (strcmp(seen, shown) != 0)
		fail_msg("Teams shows '%s', want '%s'", seen, shown);
	free(seen);
}

#define EVIL_TEAM "**URGENT** [Click to verify](https://evil.example/x)"
#define EVIL_WORKER "_x_ `code` ~~s~~ # h > q | t \\*"
#define EVIL_SUBJECT "**3 overdue** [x](https://evil.example/y)"

/* Every field carrying case data, in a Teams card, is inert markdown that
 * shows the characters as they are (issue 14): the heading (the subject
 * names teams and cases), each FactSet value, and a message's own text. */
static void test_teams_markdown(void **state)
{
	json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:{s:s, s:s}, "
			       "s:{s:s, s:s}}", "case_ref", "- item", "child_ref", "1. first",
			       "rule", "r", "rule_title", "Care [plan](x)", "due", "2024-12-16",
			       "state", "overdue", "stage", 0, "days_overdue", 3,
			       "team", "ref", "T1", "name", EVIL_TEAM,
			       "worker", "ref", "W1", "name", EVIL_WORKER);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "schema", "deadlined.alert/v1",
				"type", "overdue", "subject", EVIL_SUBJECT, "items",
				json_pack("[o]", it));
	char *p = json_dumps(doc, JSON_COMPACT);
	struct message m = message(p);
	json_t *j, *blocks, *facts;

	(void)state;
	m.subject = EVIL_SUBJECT;
	j = body_json(WEBHOOK_TEAMS, &m);
	blocks = teams_blocks(j);
	assert_md(json_string_value(json_object_get(json_array_get(blocks, 0), "text")),
		  EVIL_SUBJECT);
	facts = json_array_get(blocks, 1);
	assert_md(fact(facts, "Team"), EVIL_TEAM);
	assert_md(fact(facts, "Worker"), EVIL_WORKER);
	assert_md(fact(facts, "Case"), "- item");
	assert_md(fact(facts, "Child"), "1. first");
	assert_md(fact(facts, "Rule"), "Care [plan](x)");
	assert_md(fact(facts, "Due"), "2024-12-16");
	assert_string_equal(fact(facts, "Due"), "2024-12-16");   /* nothing to escape */
	assert_md(fact(facts, "Overdue"), "3 working days");
	json_decref(j);
	/* A message without items shows its text, line by line. */
	m.payload = "{\"schema\": \"deadlined.alert/v1\", \"items\": []}";
	m.text = "Test from **deadlined**\n- not a list\n2. nor this\n[a](b)\n# no heading\n> no quote";
	j = body_json(WEBHOOK_TEAMS, &m);
	blocks = teams_blocks(j);
	assert_md(json_string_value(json_object_get(json_array_get(blocks, 1), "text")), m.text);
	json_decref(j);
	/* The generic document carries the values as data, byte for byte. */
	m.payload = p;
	j = body_json(WEBHOOK_GENERIC, &m);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_array_get(json_object_get(j, "items"), 0), "team"), "name")), EVIL_TEAM);
	json_decref(j);
	/* Slack: a markdown link is no Slack link; <, > and & only as entities. */
	j = body_json(WEBHOOK_SLACK, &m);
	assert_mrkdwn_safe(json_string_value(json_object_get(j, "text")));
	json_decref(j);
	json_decref(doc);
	free(p);
}

static void test_slack_body(void **state)
{
	char *p = payload(2);
	struct message m = message(p);
	json_t *j = body_json(WEBHOOK_SLACK, &m), *blocks = json_object_get(j, "blocks");
	json_t *head = json_array_get(blocks, 0), *fields, *f;
	size_t i;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(j, "text")),
			    "3 overdue &lt;urgent&gt; &amp; more \"now\"");
	assert_int_equal(json_array_size(blocks), 3);
	assert_string_equal(json_string_value(json_object_get(head, "type")), "header");
	/* plain_text shows characters as they are: no escaping there. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(head, "text"), "type")),
			    "plain_text");
	assert_string_equal(json_string_value(json_object_get(json_object_get(head, "text"), "text")),
			    SUBJECT);
	fields = json_object_get(json_array_get(blocks, 1), "fields");
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 1), "type")),
			    "section");
	assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 0), "text")),
			    "*Case*\nA&lt;1&gt;&amp;\"x\" line2");
	json_array_foreach(fields, i, f) {
		assert_string_equal(json_string_value(json_object_get(f, "type")), "mrkdwn");
		assert_mrkdwn_safe(json_string_value(json_object_get(f, "text")));
	}
	assert_true(json_array_size(fields) <= 10);  /* Slack's limit */
	json_decref(j);
	free(p);
}

static const char *block_text(const json_t *block)
{
	const json_t *t = json_object_get(block, "text");

	return json_is_string(t) ? json_string_value(t) : json_string_value(json_object_get(t, "text"));
}

/* 25 items: 20 shown, then "and 5 more"; within Slack's 50 blocks. */
static void test_items_limit(void **state)
{
	char *p = payload(25);
	struct message m = message(p);
	json_t *t = body_json(WEBHOOK_TEAMS, &m), *s = body_json(WEBHOOK_SLACK, &m);
	json_t *tb = teams_blocks(t), *sb = json_object_get(s, "blocks");

	(void)state;
	assert_int_equal(json_array_size(tb), 1 + WEBHOOK_ITEMS_SHOWN + 1);
	assert_int_equal(json_array_size(sb), 1 + WEBHOOK_ITEMS_SHOWN + 1);
	assert_non_null(strstr(block_text(json_array_get(tb, 21)), "and 5 more"));
	assert_non_null(strstr(block_text(json_array_get(sb, 21)), "and 5 more"));
	assert_string_equal(fact(json_array_get(tb, 20), "Case"), "A19");
	json_decref(t);
	json_decref(s);
	free(p);
}

/* A document that lists only the worst (notify.max_items) counts the rest
 * in items_not_listed: "and N more" counts them too. */
static void test_items_not_listed(void **state)
{
	char *p = payload(22), *q;
	json_t *doc = json_loads(p, 0, NULL), *t;
	struct message m;

	(void)state;
	json_object_set_new(doc, "items_not_listed", json_integer(478));
	q = json_dumps(doc, JSON_COMPACT);
	m = message(q);
	t = body_json(WEBHOOK_TEAMS, &m);
	assert_non_null(strstr(block_text(json_array_get(teams_blocks(t), 21)), "and 480 more"));
	json_decref(t);
	json_decref(doc);
	free(q);
	free(p);
}

/* Whatever the payload lacks, the message still goes, showing what there is. */
static void test_missing_fields(void **state)
{
	static const char *const payloads[] = {
		NULL, "not json", "[1,2]", "{\"items\": 7}",
		"{\"items\": [null, 3, {}, {\"case_ref\": \"B1\", \"worker\": null, \"team\": \"T9\","
		" \"days_overdue\": \"many\", \"stage\": 2}]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		struct message m = message(payloads[i]);
		json_t *t = body_json(WEBHOOK_TEAMS, &m), *s = body_json(WEBHOOK_SLACK, &m);
		json_t *tb = teams_blocks(t), *last = json_array_get(tb, json_array_size(tb) - 1);

		assert_string_equal(block_text(json_array_get(tb, 0)), SUBJECT);
		assert_string_equal(block_text(json_array_get(json_object_get(s, "blocks"), 0)), SUBJECT);
		if (i < 4) {    /* no items: the plain text, lines kept */
			assert_string_equal(block_text(last), "Line one.\nLine two.");
		} else {        /* {} has nothing to show; B1 shows what it has */
			assert_int_equal(json_array_size(tb), 3);
			assert_string_equal(fact(last, "Case"), "B1");
			assert_string_equal(fact(last, "Team"), "T9");
			assert_string_equal(fact(last, "Worker"), "unallocated");
			assert_null(fact(last, "State"));
			assert_null(fact(last, "Overdue"));
		}
		json_decref(t);
		json_decref(s);
	}
}

/* Bytes that are not UTF-8 and very long values still make valid JSON,
 * cut between characters with "…". */
static void test_bad_text(void **state)
{
	char subject[1200], *p;
	struct message m;
	json_t *s, *head;
	const char *text;

	(void)state;
	memset(subject, 'x', sizeof subject - 1);
	subject[sizeof subject - 1] = '\0';
	memcpy(subject, "bad \xff\xc3( \xed\xa0\x80 ", 12);
	memcpy(subject + 140, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 12);
	p = payload(1);
	m = message(p);
	m.subject = subject;
	s = body_json(WEBHOOK_SLACK, &m);
	head = json_array_get(json_object_get(s, "blocks"), 0);
	text = block_text(head);
	assert_true(strlen(text) <= 150 + 3);
	assert_memory_equal(text, "bad ?" "?( ??? ", 12);   /* split: not a trigraph */
	assert_string_equal(text + strlen(text) - 5, "\xc3\xa9\xe2\x80\xa6");
	json_decref(s);
	json_decref(body_json(WEBHOOK_TEAMS, &m));
	free(p);
}

static void test_http_result(void **state)
{
	static const struct {
		long status, retry_after;
		enum delivery_status want;
		long want_after;
		const char *detail;
	} cases[] = {
		{ 200, 0, DELIVERY_OK, 0, "HTTP 200: ok" },
		{ 204, 0, DELIVERY_OK, 0, "HTTP 204" },
		{ 301, 0, DELIVERY_PERMANENT, 0, "HTTP 301: redirects are not followed; give the final https:// URL" },
		{ 302, 0, DELIVERY_PERMANENT, 0, "HTTP 302: redirects are not followed; give the final https:// URL" },
		{ 400, 0, DELIVERY_PERMANENT, 0, "HTTP 400: ok" },
		{ 401, 0, DELIVERY_PERMANENT, 0, "HTTP 401: ok" },
		{ 404, 0, DELIVERY_PERMANENT, 0, "HTTP 404: ok" },
		{ 408, 0, DELIVERY_RETRY, 0, "HTTP 408: ok" },
		{ 429, 7, DELIVERY_RETRY, 7, "HTTP 429: ok" },
		{ 429, 999999, DELIVERY_RETRY, 86400, "HTTP 429: ok" },
		{ 500, 7, DELIVERY_RETRY, 0, "HTTP 500: ok" },    /* Retry-After only with 429, 503 */
		{ 503, 120, DELIVERY_RETRY, 120, "HTTP 503: ok" },
	};
	struct delivery_result r;
	char body[300];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		webhook_http_result(cases[i].status, cases[i].status == 204 ? "" : " ok\r\n",
				    cases[i].retry_after, &r);
		assert_int_equal(r.status, cases[i].want);
		assert_int_equal(r.retry_after, cases[i].want_after);
		assert_string_equal(r.detail, cases[i].detail);
	}
	/* The first 100 bytes of the body, on one line. */
	memset(body, 'e', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	memcpy(body, "line1\nline2\t", 12);
	webhook_http_result(500, body, 0, &r);
	assert_null(strchr(r.detail, '\n'));
	assert_null(strchr(r.detail, '\t'));
	assert_int_equal(strncmp(r.detail, "HTTP 500: line1 line2 eee", 25), 0);
	assert_int_equal(strlen(r.detail), strlen("HTTP 500: ") + 100 + strlen("…"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_vector),
		cmocka_unit_test(test_key_rules),
		cmocka_unit_test(test_generic_body),
		cmocka_unit_test(test_teams_body),
		cmocka_unit_test(test_slack_body),
		cmocka_unit_test(test_teams_markdown),
		cmocka_unit_test(test_items_limit),
		cmocka_unit_test(test_items_not_listed),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_http_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
