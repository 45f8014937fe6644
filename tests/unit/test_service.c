/* test_service.c — the service's signals: a stop or a reload that arrives
 * before the handlers are installed (while the configuration is read) is
 * held, not fatal, and taken at the first sleep; one that arrives outside
 * a sleep is still pending for a long read to see (service_stop_pending).
 * Real signals sent to this process; no systemd (no $NOTIFY_SOCKET, so
 * the sd_notify calls are no-ops). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>

#include "deadlined/service.h"

/* A stop before service_init: without the hold, SIGTERM's default action
 * would end this test process here (session 6: a daemon stopped while
 * valgrind slowed its start died half started, and memcheck reported its
 * configuration as lost). */
static void test_stop_before_init_is_held(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(service_hold_signals(), 0);
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(raise(SIGHUP), 0);
	assert_int_equal(service_stop_requested, 0);
	assert_int_equal(service_init(), 0);
	/* Held until a sleep opens the mask, where the flags are read, and
	 * seen meanwhile by a long read. */
	assert_int_equal(service_stop_requested, 0);
	assert_true(service_stop_pending());
	service_sleep(2000000);
	assert_int_equal(service_stop_requested, 1);
	assert_int_equal(service_reload_requested, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_before_init_is_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
