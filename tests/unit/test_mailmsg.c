/* test_mailmsg.c — header lines, RFC 2047 subjects, dates, quoted-printable
 * and whole messages, as the smtp and maildir receivers send them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/mailmsg.h"
#include "deadlined/text.h"

#define EM_DASH "\xe2\x80\x94"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Every line of a folded header or body, CRLF-separated, within max. */
static void assert_lines_within(const char *s, size_t max)
{
	for (const char *line = s; line; ) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > max)
			fail_msg("line of %zu > %zu: %.*s", len, max, (int)len, line);
		line = end ? end + 2 : NULL;
	}
}

/* Decode one "=?UTF-8?B?...?=" word at s into out; returns its length. */
static size_t decode_word(const char *s, char *out, size_t *outlen)
{
	const char *start = s + strlen("=?UTF-8?B?"), *end = strstr(start, "?=");
	size_t n = (size_t)(end - start);
	int len;

	assert_non_null(end);
	assert_memory_equal(s, "=?UTF-8?B?", 10);
	len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)start, (int)n);
	assert_true(len >= 0);
	*outlen = (size_t)len - (n >= 1 && start[n - 1] == '=') - (n >= 2 && start[n - 2] == '=');
	/* Each word holds whole characters: it never starts mid-character. */
	assert_true(*outlen == 0 || ((unsigned char)out[0] & 0xc0) != 0x80);
	return (size_t)(end + 2 - s);
}

/* What a mail reader shows for a Subject header made of encoded-words. */
static char *decode_subject(const char *header)
{
	char *out = calloc(1, strlen(header) + 1), *o = out;
	const char *s = header + strlen("Subject:");

	while (*s) {
		size_t len;

		if (*s == '\r' || *s == '\n' || *s == ' ') {
			s++;
			continue;
		}
		assert_true(strncmp(s, "=?", 2) == 0);
		s += decode_word(s, o, &len);
		assert_true(strlen(s) == 0 || s[0] == '\r');
		o += len;
	}
	return out;
}

static void assert_subject(const char *in, const char *want)
{
	char *got = mailmsg_subject(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_subject_plain(void **state)
{
	(void)state;
	assert_subject("Test subject", "Subject: Test subject");
	assert_subject(NULL, "Subject:");
	assert_subject("   ", "Subject:");
}

static void test_subject_em_dash(void **state)
{
	const char *subject = "3 overdue " EM_DASH " Duty and Assessment Team";
	char *got = mailmsg_subject(subject), *back;

	(void)state;
	assert_string_equal(got, "Subject: =?UTF-8?B?MyBvdmVyZHVlIOKAlCBEdXR5IGFuZCBBc3Nlc3NtZW50IFRlYW0=?=");
	back = decode_subject(got);
	assert_string_equal(back, subject);
	free(back);
	free(got);
}

/* A long subject in many words, none splitting a character, all lines
 * within 76. */
static void test_subject_long_utf8(void **state)
{
	char subject[600] = "", *got, *back;

	(void)state;
	for (int i = 0; i < 20; i++)
		strcat(subject, i % 2 ? "caf\xc3\xa9 " EM_DASH " " : "\xe2\x82\xac\xf0\x9f\x93\x85 ");
	subject[strlen(subject) - 1] = '\0';
	got = mailmsg_subject(subject);
	assert_non_null(strstr(got, "\r\n =?UTF-8?B?"));
	assert_lines_within(got, 76);
	back = decode_subject(got);
	assert_string_equal(back, subject);
	free(back);
	free(got);
}

static void test_subject_fold_ascii(void **state)
{
	const char *subject = "12 overdue, 3 due soon, 2 escalated for the Duty and Assessment "
			      "Team and the Children in Care Team (North) this week";
	char *got = mailmsg_subject(subject), *unfolded, *o;

	(void)state;
	assert_non_null(strstr(got, "\r\n "));
	assert_lines_within(got, 78);
	unfolded = o = strdup(got);
	for (const char *p = got; *p; p++)          /* RFC 5322 unfolding */
		if (*p != '\r' && *p != '\n')
			*o++ = *p;
	*o = '\0';
	assert_string_equal(unfolded + strlen("Subject: "), subject);
	free(unfolded);
	free(got);
}

/* Printable ASCII that could not be folded or would read as an
 * encoded-word is encoded too. */
static void test_subject_encoded_when_needed(void **state)
{
	char longword[120], *got, *back;

	(void)state;
	memset(longword, 'x', sizeof longword - 1);
	longword[sizeof longword - 1] = '\0';
	got = mailmsg_subject(longword);
	assert_lines_within(got, 76);
	back = decode_subject(got);
	assert_string_equal(back, longword);
	free(back);
	free(got);
	got = mailmsg_subject("=?UTF-8?B?ZXZpbA==?=");
	back = decode_subject(got);
	assert_string_equal(back, "=?UTF-8?B?ZXZpbA==?=");
	free(back);
	free(got);
}

static void test_subject_no_injection(void **state)
{
	(void)state;
	assert_subject("Hello\r\nBcc: evil@x", "Subject: Hello Bcc: evil@x");
	assert_subject("a\nb\rc\td\x01" "e\x7f" "f", "Subject: a b c d e f");
	assert_subject("\r\n\r\nBody?", "Subject: Body?");
}

static void test_one_line(void **state)
{
	char *s = text_one_line("  two\r\n\r\n  lines \t ");

	(void)state;
	assert_string_equal(s, "two lines");
	free(s);
	s = text_one_line(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_address(void **state)
{
	static const char *const good[] = {
		"manager@council.example", "first.last+alerts@sub.council.gov.uk", "a@b",
		"o'brien@council.example", NULL,
	};
	static const char *const bad[] = {
		"", "nobody", "@council.example", "manager@", "a@b@c", "Team <tm@council.example>",
		"<tm@council.example>", "tm@council.example\r\nBcc: evil@x", "tm@council.example\n",
		"a b@c", "a@b,evil@x", "\"quoted\"@c", "caf\xc3\xa9@c", "a@b\x7f", "a@b>", NULL,
	};

	(void)state;
	for (size_t i = 0; good[i]; i++)
		if (!mailmsg_address_ok(good[i]))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; bad[i]; i++)
		if (mailmsg_address_ok(bad[i]))
			fail_msg("accepted %s", bad[i]);
	assert_false(mailmsg_address_ok(NULL));
}

static void assert_date(const char *tz, int64_t t, const char *want)
{
	char buf[MAILMSG_DATE_BUF];

	set_tz(tz);
	mailmsg_date(t, buf);
	assert_string_equal(buf, want);
}

static void test_date(void **state)
{
	(void)state;
	assert_date("UTC", 1767225600, "Thu, 01 Jan 2026 00:00:00 +0000");
	assert_date("Europe/London", 1751374800, "Tue, 01 Jul 2025 14:00:00 +0100");
	assert_date("America/St_Johns", 1767225600, "Wed, 31 Dec 2025 20:30:00 -0330");
	assert_date("Asia/Kolkata", 0, "Thu, 01 Jan 1970 05:30:00 +0530");
	set_tz("UTC");
}

static struct message sample(void)
{
	return (struct message){ .id = 1, .msg_id = "dl-7@deadlined.test",
		.to = "manager@council.example", .subject = "3 overdue " EM_DASH " Duty",
		.text = "Line one\nLine two\n", .html = "<p>Hi</p>", .created = 1767225600 };
}

static void test_headers(void **state)
{
	struct message m = sample();
	struct mailmsg_headers h;
	struct dl_error err;
	static const char *const want[] = {
		"Date: Thu, 01 Jan 2026 00:00:00 +0000",
		"Message-ID: <dl-7@deadlined.test>",
		"From: deadlines@council.example",
		"To: manager@council.example",
		"Subject: =?UTF-8?B?MyBvdmVyZHVlIOKAlCBEdXR5?=",
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
		"Content-Type: multipart/alternative",
	};

	(void)state;
	set_tz("UTC");
	assert_int_equal(mailmsg_headers(&m, "deadlines@council.example", NULL, &h, &err), 0);
	assert_int_equal(h.n, 8);
	for (size_t i = 0; i < h.n; i++)
		assert_string_equal(h.line[i], want[i]);
	mailmsg_headers_free(&h);

	m.to = NULL;                 /* maildir without a recipient: no To */
	m.msg_id = "no-domain";
	assert_int_equal(mailmsg_headers(&m, "d@c", "b", &h, &err), 0);
	assert_int_equal(h.n, 7);
	assert_string_equal(h.line[1], "Message-ID: <no-domain@deadlined>");
	assert_string_equal(h.line[5], "Auto-Submitted: auto-generated");
	assert_string_equal(h.line[6], "Content-Type: multipart/alternative; boundary=\"b\"");
	mailmsg_headers_free(&h);
}

static void assert_refused(struct message m, const char *from, const char *why)
{
	struct mailmsg_headers h;
	struct dl_error err;

	assert_int_equal(mailmsg_headers(&m, from, NULL, &h, &err), -1);
	assert_int_equal(h.n, 0);
	if (!strstr(err.msg, why))
		fail_msg("'%s' lacks '%s'", err.msg, why);
	/* The detail shows the bad value, but never its line breaks. */
	assert_null(strpbrk(err.msg, "\r\n"));
}

static void test_headers_refused(void **state)
{
	struct message m = sample();

	(void)state;
	m.to = "victim@council.example\r\nBcc: evil@x";
	assert_refused(m, "d@c", "recipient 'victim@council.example??Bcc: evil@x'");
	m = sample();
	m.to = "Evil <evil@x>";
	assert_refused(m, "d@c", "not a bare address");
	m = sample();
	assert_refused(m, "d@c\nBcc: evil@x", "from 'd@c?Bcc: evil@x'");
	assert_refused(m, "", "from ''");
	m.msg_id = "x@y>\r\nBcc: evil@x";
	assert_refused(m, "d@c", "message id 'x@y>??Bcc: evil@x'");
	m.msg_id = NULL;
	assert_refused(m, "d@c", "message id");
}

static void assert_qp(const char *in, const char *want)
{
	char *got = mailmsg_qp(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_qp(void **state)
{
	char long_line[201], *got;

	(void)state;
	assert_qp("plain\n", "plain\r\n");
	assert_qp("a=b caf\xc3\xa9", "a=3Db caf=C3=A9");
	assert_qp("trailing \nspace\t\r\nend ", "trailing=20\r\nspace=09\r\nend=20");
	assert_qp("bare\rcr", "bare=0Dcr");
	assert_qp(".dot\n", ".dot\r\n");      /* SMTP and Maildir need no stuffing here */
	memset(long_line, 'y', 200);
	long_line[200] = '\0';
	got = mailmsg_qp(long_line);
	assert_lines_within(got, 76);
	assert_non_null(strstr(got, "=\r\n"));
	free(got);
}

static void test_crlf(void **state)
{
	char *s = mailmsg_crlf("a\nb\r\nc\n\n");

	(void)state;
	assert_string_equal(s, "a\r\nb\r\nc\r\n\r\n");
	free(s);
}

static void test_parts(void **state)
{
	struct message m = sample();
	struct mailmsg_part p[2];

	(void)state;
	assert_int_equal(mailmsg_parts(&m, p), 2);
	assert_string_equal(p[0].type, "text/plain; charset=utf-8");
	assert_string_equal(p[1].type, "text/html; charset=utf-8");
	m.text = NULL;
	assert_int_equal(mailmsg_parts(&m, p), 1);
	assert_string_equal(p[0].body, "<p>Hi</p>");
	m.html = NULL;
	assert_int_equal(mailmsg_parts(&m, p), 1);
	assert_string_equal(p[0].body, "");
}

static void test_build(void **state)
{
	struct message m = sample();
	struct dl_error err;
	char *text;

	(void)state;
	set_tz("UTC");
	text = mailmsg_build(&m, "deadlines@council.example", &err);
	assert_non_null(text);
	assert_string_equal(text,
		"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
		"Message-ID: <dl-7@deadlined.test>\r\n"
		"From: deadlines@council.example\r\n"
		"To: manager@council.example\r\n"
		"Subject: =?UTF-8?B?MyBvdmVyZHVlIOKAlCBEdXR5?=\r\n"
		"MIME-Version: 1.0\r\n"
		"Auto-Submitted: auto-generated\r\n"
		"Content-Type: multipart/alternative; boundary=\"=_deadlined_alt\"\r\n"
		"\r\n"
		"--=_deadlined_alt\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"Line one\r\nLine two\r\n\r\n"
		"--=_deadlined_alt\r\n"
		"Content-Type: text/html; charset=utf-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"<p>Hi</p>\r\n"
		"--=_deadlined_alt--\r\n");
	free(text);
	m.to = "a@b\r\nBcc: evil@x";
	assert_null(mailmsg_build(&m, "deadlines@council.example", &err));
	assert_non_null(strstr(err.msg, "recipient"));
}

static void test_result(void **state)
{
	struct delivery_result r = { .retry_after = 9 };

	(void)state;
	mailmsg_result(&r, DELIVERY_PERMANENT, "recipient refused: %d", 550);
	assert_int_equal(r.status, DELIVERY_PERMANENT);
	assert_int_equal(r.retry_after, 0);
	assert_string_equal(r.detail, "recipient refused: 550");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_plain),
		cmocka_unit_test(test_subject_em_dash),
		cmocka_unit_test(test_subject_long_utf8),
		cmocka_unit_test(test_subject_fold_ascii),
		cmocka_unit_test(test_subject_encoded_when_needed),
		cmocka_unit_test(test_subject_no_injection),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_headers_refused),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
