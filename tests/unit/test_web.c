/* test_web.c — deadlined-web's pure parts: escaping, form decoding, who
 * the identity header is believed from, CSRF tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "deadlined/date.h"
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
	struct web_key key = { .n = 32 }, other = { .n = 32 };
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_csrf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
