/* test_web.c — deadlined-web's pure parts: escaping, form decoding, who
 * the identity header is believed from, CSRF tokens; and that state_web.c
 * opens only the sqlite store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "deadlined/date.h"
#include "deadlined/link.h"
#include "deadlined/render.h"
#include "deadlined/state.h"
#include "deadlined/state_web.h"
#include "deadlined/webhook.h"
#include "deadlined/web_auth.h"
#include "deadlined/web_http.h"
#include "deadlined/web_page.h"

static void test_escaping(void **state)
{
	struct web_buf b = { 0 };

	(void)state;
	web_html(&b, "<p title=\"%s\">%s %d %ld %r %u 100%%</p>", "a\"b'c", "<script>&",
		 -3, 42L, "<em>", "A/B c&d");
	assert_false(b.oom);
	assert_string_equal(b.p, "<p title=\"a&quot;b&#39;c\">&lt;script&gt;&amp; -3 42 <em> "
			    "A%2FB%20c%26d 100%</p>");
	web_buf_free(&b);
	web_html(&b, "%s|%u", (const char *)NULL, (const char *)NULL);
	assert_string_equal(b.p, "|");
	web_buf_free(&b);
}

static void test_form(void **state)
{
	struct web_form f = { 0 };
	static const char body[] = "item=A1%7Cdecision&item=A2%7Cx&reason=Family+moved%2C+ok&empty=&flag";

	(void)state;
	assert_int_equal(web_form_parse(&f, body, strlen(body)), 0);
	assert_int_equal(f.n, 5);
	assert_string_equal(web_form_get(&f, "item"), "A1|decision");
	assert_string_equal(f.value[1], "A2|x");
	assert_string_equal(web_form_get(&f, "reason"), "Family moved, ok");
	assert_string_equal(web_form_get(&f, "empty"), "");
	assert_string_equal(web_form_get(&f, "flag"), "");
	assert_null(web_form_get(&f, "nope"));
	web_form_free(&f);
	/* A broken escape, or a NUL smuggled in, is refused. */
	assert_int_equal(web_form_parse(&f, "a=%zz", 5), -1);
	web_form_free(&f);
	assert_int_equal(web_form_parse(&f, "a=%00b", 6), -1);
	web_form_free(&f);
	assert_int_equal(web_form_parse(&f, "a=%4", 4), -1);
	web_form_free(&f);
}

static void test_identify(void **state)
{
	const char *proxies[] = { "127.0.0.2", "::1" };
	struct conf_web w = { .trusted_proxies = { proxies, 2 } };
	struct sockaddr_in proxy = { .sin_family = AF_INET }, other = { .sin_family = AF_INET };
	struct sockaddr_in6 six = { .sin6_family = AF_INET6 };
	char email[256];

	(void)state;
	inet_pton(AF_INET, "127.0.0.2", &proxy.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &other.sin_addr);
	inet_pton(AF_INET6, "0:0::1", &six.sin6_addr);
	assert_int_equal(web_auth_identify(&w, (struct sockaddr *)&proxy, false, "TM@Council.Example",
					   email, sizeof email), WEB_AUTH_OK);
	assert_string_equal(email, "tm@council.example");
	assert_int_equal(web_auth_identify(&w, (struct sockaddr *)&six, false, "a@b.c", email,
					   sizeof email), WEB_AUTH_OK);
	assert_int_equal(web_auth_identify(&w, (struct sockaddr *)&other, false, "tm@council.example",
					   email, sizeof email), WEB_AUTH_UNTRUSTED);
	assert_int_equal(web_auth_identify(&w, NULL, true, "tm@council.example", email, sizeof email),
			 WEB_AUTH_OK);
	assert_int_equal(web_auth_identify(&w, (struct sockaddr *)&other, false, NULL, email,
					   sizeof email), WEB_AUTH_NONE);
	assert_int_equal(web_auth_identify(&w, (struct sockaddr *)&proxy, false, "<b>@x", email,
					   sizeof email), WEB_AUTH_BAD);
	assert_int_equal(web_auth_identify(&w, (struct sockaddr *)&proxy, false, "nobody", email,
					   sizeof email), WEB_AUTH_BAD);
}

static void test_csrf(void **state)
{
	struct link_key key = { .n = 32 }, other = { .n = 32 };
	char t[WEB_TOKEN_BUF], day[DATE_BUF];

	(void)state;
	memset(key.v, 7, 32);
	memset(other.v, 8, 32);
	web_auth_csrf(&key, "tm@x.example", date_format(date_today(), day), t);
	assert_int_equal(strlen(t), 64);
	assert_true(web_auth_csrf_ok(&key, "tm@x.example", t));
	assert_false(web_auth_csrf_ok(&key, "w@x.example", t));
	assert_false(web_auth_csrf_ok(&other, "tm@x.example", t));
	assert_false(web_auth_csrf_ok(&key, "tm@x.example", NULL));
	assert_false(web_auth_csrf_ok(&key, "tm@x.example", ""));
	t[10] = t[10] == 'a' ? 'b' : 'a';
	assert_false(web_auth_csrf_ok(&key, "tm@x.example", t));
	/* Yesterday's form still works; last week's does not. */
	web_auth_csrf(&key, "tm@x.example", date_format(date_today() - 1, day), t);
	assert_true(web_auth_csrf_ok(&key, "tm@x.example", t));
	web_auth_csrf(&key, "tm@x.example", date_format(date_today() - 7, day), t);
	assert_false(web_auth_csrf_ok(&key, "tm@x.example", t));
}

/* A link's fields as deadlined-web gets them, from link_make's URL. */
static enum link_check check_url(const struct link_key *key, const char *url, const char *who,
				 int64_t now)
{
	struct web_form f = { 0 };
	const char *q = strchr(url, '?');
	enum link_check rc;

	assert_non_null(q);
	assert_int_equal(web_form_parse(&f, q + 1, strlen(q + 1)), 0);
	rc = link_verify(key, web_form_get(&f, "k"), web_form_get(&f, "c"), web_form_get(&f, "r"),
			 web_form_get(&f, "to"), web_form_get(&f, "e"), web_form_get(&f, "s"), who,
			 now);
	web_form_free(&f);
	return rc;
}

static void test_links(void **state)
{
	struct link_key key = { .n = 32 }, other = { .n = 32 };
	char *url, *bad, *p;

	(void)state;
	memset(key.v, 1, 32);
	memset(other.v, 2, 32);
	url = link_make(&key, "https://tray.example/", "ack", "A 1&x", "decision", "tm@x.example",
			2000000000);
	assert_non_null(url);
	assert_non_null(strstr(url, "https://tray.example/l?k=ack&c=A%201%26x&r=decision&"));
	assert_int_equal(check_url(&key, url, "TM@x.example", 1999999999), LINK_OK);
	assert_int_equal(check_url(&key, url, "tm@x.example", 2000000001), LINK_EXPIRED);
	assert_int_equal(check_url(&key, url, "w@x.example", 1999999999), LINK_NOT_YOURS);
	assert_int_equal(check_url(&other, url, "tm@x.example", 1999999999), LINK_TAMPERED);
	/* Another case, or a later expiry, breaks the signature. */
	bad = strdup(url);
	p = strstr(bad, "c=A%201");
	p[2] = 'B';
	assert_int_equal(check_url(&key, bad, "tm@x.example", 1999999999), LINK_TAMPERED);
	strcpy(bad, url);
	p = strstr(bad, "e=2");
	p[2] = '3';
	assert_int_equal(check_url(&key, bad, "tm@x.example", 1999999999), LINK_TAMPERED);
	free(bad);
	free(url);
	url = link_case_url("https://mosaic.example/case/{case_ref}?tab=1", "R/1 <x>");
	assert_string_equal(url, "https://mosaic.example/case/R%2F1%20%3Cx%3E?tab=1");
	free(url);
	assert_null(link_case_url(NULL, "R1"));
}

/* Links reach the e-mail's text and HTML, the JSON, and Teams and Slack
 * as buttons. */
static void test_alert_links(void **state)
{
	struct alert_item it = { .case_ref = "A1", .rule_id = "decision", .state = "overdue",
				 .case_url = "https://mosaic.example/case/A1",
				 .open_url = "https://tray.example/l?k=open&c=A1&s=1",
				 .ack_url = "https://tray.example/l?k=ack&c=A1&s=2" };
	struct alert a = { .kind = ALERT_OVERDUE, .audience = "Duty", .msg_id = "m@x",
			   .created = 1767225600, .items = &it, .n = 1,
			   .tray_url = "https://tray.example/" };
	struct rendered r = { 0 };
	struct message m;
	struct dl_error err;
	char *body;

	(void)state;
	assert_int_equal(render_alert(&a, &r, &err), 0);
	assert_non_null(strstr(r.text, "Acknowledge: https://tray.example/l?k=ack&c=A1&s=2"));
	assert_non_null(strstr(r.text, "Open in tray: https://tray.example/l?k=open&c=A1&s=1"));
	assert_non_null(strstr(r.html, "href=\"https://tray.example/l?k=ack&amp;c=A1&amp;s=2\""));
	assert_non_null(strstr(r.payload, "\"acknowledge\":\"https://tray.example/l?k=ack&c=A1&s=2\""));
	m = (struct message){ .msg_id = "m@x", .subject = r.subject, .text = r.text,
			      .payload = r.payload, .created = 1767225600 };
	body = webhook_body(WEBHOOK_TEAMS, &m, &err);
	assert_non_null(body);
	assert_non_null(strstr(body, "\"type\":\"ActionSet\""));
	assert_non_null(strstr(body, "{\"type\":\"Action.OpenUrl\",\"title\":\"Acknowledge\","
			       "\"url\":\"https://tray.example/l?k=ack&c=A1&s=2\"}"));
	free(body);
	body = webhook_body(WEBHOOK_SLACK, &m, &err);
	assert_non_null(body);
	assert_non_null(strstr(body, "\"type\":\"actions\""));
	assert_non_null(strstr(body, "\"url\":\"https://tray.example/l?k=open&c=A1&s=1\""));
	free(body);
	render_free(&r);
}

/* state_web.c picks the backend state.driver names: it opens a store the
 * sqlite backend made (schema STATE_SCHEMA_VERSION), and refuses a driver
 * it has no backend for, naming it and those it has.  (The PostgreSQL
 * backend is tested against a real server: test_web_pg.sh.) */
static void test_store_driver(void **state)
{
	char dir[] = "/tmp/test_web_XXXXXX", path[64];
	struct state_conf sqlite = { "sqlite", path }, other = { "oracle", path };
	struct state_web *sw = NULL;
	struct state *st = NULL;
	struct dl_error err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/state.db", dir);
	assert_int_equal(state_open(&sqlite, &st, &err), 0);
	state_close(st);
	assert_int_equal(state_web_open(&sqlite, &sw, &err), 0);
	state_web_close(sw);
	sw = NULL;
	assert_int_equal(state_web_open(&other, &sw, &err), -1);
	assert_null(sw);
	assert_non_null(strstr(err.msg, "\"oracle\""));
	assert_non_null(strstr(err.msg, "sqlite, postgresql"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_alert_links),
		cmocka_unit_test(test_store_driver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
