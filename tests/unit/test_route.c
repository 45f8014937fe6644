/* test_route.c — who hears what: roles and receivers by level, routes by
 * rule, team and kind, one target once at its highest level, addresses
 * that fall back or are missing, and what waits for the daily digest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "testpipe.h"

#include "deadlined/route.h"

static char dir[512];

static const char CONF[] =
	"timezone = \"Europe/London\";\n"
	"defaults = {\n"
	"  notify_due_soon = [ \"worker\" ];\n"
	"  notify_overdue = [ \"worker\", \"team_manager\" ];\n"
	"  escalation = ( { after = \"5 working days\"; notify = [ \"service_manager\" ]; },\n"
	"                 { after = \"10 working days\"; notify = [ \"director\" ]; } );\n"
	"};\n"
	"rules = {\n"
	"  r = { title = \"R\"; start = [ \"referral\" ]; met = [ \"referral_decision\" ];"
	" due = ( \"1 working day\" ); };\n"
	"  s = { title = \"S\"; start = [ \"s47_started\" ]; met = [ \"icpc\" ];"
	" due = ( \"15 working days\" ); };\n"
	"};\n"
	"receivers = {\n"
	"  mail = { type = \"maildir\"; path = \"/nonexistent/mail\"; from = \"dl@test.invalid\"; };\n"
	"  director = { type = \"maildir\"; path = \"/nonexistent/dir\"; from = \"dl@test.invalid\";"
	" to = [ \"director@test.invalid\", \"pa@test.invalid\" ]; };\n"
	"  hook = { type = \"webhook\"; url = \"https://127.0.0.1:9/hook\"; };\n"
	"};\n"
	"routes = (\n"
	"  { rule = \"s\"; on = [ \"escalation\" ]; notify = [ \"hook\" ]; },\n"
	"  { team = \"T2\"; notify = [ \"service_manager\" ]; }\n"
	");\n"
	"notify = { mail_receiver = \"mail\"; %s };\n";

static struct conf *load(const char *notify_extra)
{
	char text[4096];

	snprintf(text, sizeof text, CONF, notify_extra);
	return pipe_conf(dir, text);
}

static struct state_obligation ob(const char *rule, const char *team, int level)
{
	return (struct state_obligation){
		.case_ref = "C1", .rule = rule, .seq = 1, .team_ref = team, .team_name = "Team",
		.worker_ref = "W1", .worker_name = "Wendy", .worker_email = "w@test.invalid",
		.manager_email = "tm@test.invalid", .service_manager_email = "sm@test.invalid",
		.state = level >= 2 ? "overdue" : "due-soon", .level = level,
	};
}

static const struct route_target *find(const struct route_target *t, size_t n,
				       const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return &t[i];
	fail_msg("no target %s among %zu", key, n);
	return NULL;
}

static struct route *open_route(const struct conf *conf)
{
	struct route *r;
	struct dl_error err;

	if (route_open(conf, &r, &err) < 0)
		fail_msg("route_open: %s", err.msg);
	return r;
}

static int setup(void **unused)
{
	(void)unused;
	return test_tmpdir(dir, sizeof dir, "test_route");
}

static int teardown(void **unused)
{
	(void)unused;
	pipe_rmdir(dir);
	return 0;
}

static void test_levels(void **unused)
{
	struct obligation o = { .state = OB_OPEN };

	(void)unused;
	assert_int_equal(route_level(&o), 0);
	o.state = OB_DUE_SOON;
	assert_int_equal(route_level(&o), 1);
	o.state = OB_OVERDUE;
	assert_int_equal(route_level(&o), 2);
	o.stage = 2;
	assert_int_equal(route_level(&o), 4);
	o.state = OB_MET;
	assert_int_equal(route_level(&o), -1);
	assert_int_equal(route_kind_of_level(1), ALERT_DUE_SOON);
	assert_int_equal(route_kind_of_level(2), ALERT_OVERDUE);
	assert_int_equal(route_kind_of_level(3), ALERT_ESCALATION);
}

static void test_due_soon_tells_the_worker(void **unused)
{
	struct conf *conf = load("");
	struct route *r = open_route(conf);
	struct state_obligation so = ob("r", "T1", 1);
	struct route_target t[ROUTE_MAX_TARGETS];
	size_t n = route_targets(r, &so, 1, 1, ALERT_DUE_SOON, t);

	(void)unused;
	assert_int_equal(n, 1);
	assert_string_equal(t[0].key, "mail:w@test.invalid");
	assert_string_equal(t[0].role, "worker");
	assert_int_equal(t[0].level, 1);
	route_close(r);
	conf_free(conf);
}

/* An obligation that jumped from nothing to the second escalation: each
 * person once, at the highest level that names them. */
static void test_jump_to_escalation(void **unused)
{
	struct conf *conf = load("");
	struct route *r = open_route(conf);
	struct state_obligation so = ob("s", "T1", 4);
	struct route_target t[ROUTE_MAX_TARGETS];
	size_t n = route_targets(r, &so, 1, 4, ALERT_ESCALATION, t);

	(void)unused;
	/* worker, team manager, service manager, the director's two fixed
	 * addresses, and the webhook by the route for rule s. */
	assert_int_equal(n, 6);
	assert_int_equal(find(t, n, "mail:w@test.invalid")->level, 2);
	assert_int_equal(find(t, n, "mail:tm@test.invalid")->level, 2);
	assert_int_equal(find(t, n, "mail:sm@test.invalid")->level, 3);
	assert_int_equal(find(t, n, "director:director@test.invalid")->level, 4);
	assert_int_equal(find(t, n, "director:pa@test.invalid")->level, 4);
	assert_null(find(t, n, "hook")->address);
	assert_null(find(t, n, "hook")->role);
	route_close(r);
	conf_free(conf);
}

static void test_routes_filter(void **unused)
{
	struct conf *conf = load("");
	struct route *r = open_route(conf);
	struct state_obligation so = ob("s", "T1", 2);
	struct route_target t[ROUTE_MAX_TARGETS];
	size_t n;

	(void)unused;
	/* Rule s, but overdue: the hook hears only of escalations. */
	n = route_targets(r, &so, 2, 2, ALERT_OVERDUE, t);
	assert_int_equal(n, 2);
	/* Team T2: its service manager hears of everything, due-soon too. */
	so = ob("r", "T2", 1);
	n = route_targets(r, &so, 1, 1, ALERT_DUE_SOON, t);
	assert_int_equal(n, 2);
	assert_string_equal(find(t, n, "mail:sm@test.invalid")->role, "service_manager");
	route_close(r);
	conf_free(conf);
}

/* A worker with no address is told through the team manager; the same
 * address reached twice is one target. */
static void test_addresses(void **unused)
{
	struct conf *conf = load("");
	struct route *r = open_route(conf);
	struct state_obligation so = ob("r", "T1", 2);
	struct route_target t[ROUTE_MAX_TARGETS];
	size_t n;

	(void)unused;
	so.worker_email = NULL;
	n = route_targets(r, &so, 2, 2, ALERT_OVERDUE, t);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].key, "mail:tm@test.invalid");
	/* No service manager address: nobody in that role, the rest still. */
	so = ob("r", "T1", 3);
	so.service_manager_email = NULL;
	n = route_targets(r, &so, 1, 3, ALERT_ESCALATION, t);
	assert_int_equal(n, 2);
	route_close(r);
	conf_free(conf);
}

static void test_no_mail_receiver_no_roles(void **unused)
{
	char text[4096];
	struct conf *conf;
	struct route *r;
	struct state_obligation so = ob("s", "T1", 3);
	struct route_target t[ROUTE_MAX_TARGETS];
	size_t n;

	(void)unused;
	snprintf(text, sizeof text, CONF, "");
	*strstr(text, "mail_receiver = \"mail\";") = '\0';
	strcat(text, "};\n");
	conf = pipe_conf(dir, text);
	r = open_route(conf);
	n = route_targets(r, &so, 1, 3, ALERT_ESCALATION, t);
	assert_int_equal(n, 1);             /* the webhook only */
	assert_string_equal(t[0].key, "hook");
	route_close(r);
	conf_free(conf);
}

static void test_by_digest(void **unused)
{
	struct conf *conf = load("digest_time = \"08:30\"; digest_roles = [ \"worker\" ];");
	struct route *r = open_route(conf);
	struct state_obligation so = ob("r", "T1", 3);
	struct route_target t[ROUTE_MAX_TARGETS];
	size_t n = route_targets(r, &so, 1, 3, ALERT_ESCALATION, t);
	const struct route_target *w = find(t, n, "mail:w@test.invalid");
	const struct route_target *tm = find(t, n, "mail:tm@test.invalid");

	(void)unused;
	assert_true(route_by_digest(r, w, ALERT_DUE_SOON));
	assert_true(route_by_digest(r, w, ALERT_OVERDUE));
	assert_true(route_by_digest(r, w, ALERT_REMINDER));
	/* Escalations go at once (immediate_escalations); news of a closing
	 * goes on its own; other roles are not digest roles. */
	assert_false(route_by_digest(r, w, ALERT_ESCALATION));
	assert_false(route_by_digest(r, w, ALERT_MET_LATE));
	assert_false(route_by_digest(r, w, ALERT_RESOLVED));
	assert_false(route_by_digest(r, tm, ALERT_OVERDUE));
	route_close(r);
	conf_free(conf);

	/* Without a digest time, nothing waits. */
	conf = load("");
	r = open_route(conf);
	n = route_targets(r, &so, 1, 3, ALERT_ESCALATION, t);
	assert_false(route_by_digest(r, find(t, n, "mail:w@test.invalid"), ALERT_OVERDUE));
	route_close(r);
	conf_free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_due_soon_tells_the_worker),
		cmocka_unit_test(test_jump_to_escalation),
		cmocka_unit_test(test_routes_filter),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_no_mail_receiver_no_roles),
		cmocka_unit_test(test_by_digest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
