/* service.c — sd_notify, the watchdog and signal flags (see service.h). */
#include "deadlined/service.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

volatile sig_atomic_t service_reload_requested;
volatile sig_atomic_t service_stop_requested;

static uint64_t watchdog_every;   /* usec between pings; 0: no watchdog */
static uint64_t last_ping;
static bool starting = true;       /* until READY=1 */
static uint64_t stop_grace = 10000000u;
static uint64_t stop_seen;         /* when a transfer first saw the stop */
static uint64_t last_extend;
static uint64_t round_end;         /* the delivery round's budget; 0: none */

#define EXTEND_EVERY 5000000u      /* while starting, ask for more time ... */
#define EXTEND_BY 30000000u        /* ... this much, every 5 seconds */
static sigset_t run_mask;          /* the mask while sleeping: signals open */
static void (*tick_fn)(void *);
static void *tick_ctx;
static bool in_tick;               /* the hook may itself call keepalive */

uint64_t service_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		service_reload_requested = 1;
	else
		service_stop_requested = 1;
}

/* The three signals service_init takes. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int service_hold_signals(void)
{
	sigset_t block;

	stop_signals(&block);
	return sigprocmask(SIG_BLOCK, &block, NULL) == 0 ? 0 : -1;
}

int service_init(void)
{
	struct sigaction sa;
	sigset_t block;
	uint64_t usec = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGINT, &sa, NULL))
		return -1;
	/* A full disk or a file-size limit must be an error SQLite reports
	 * (EFBIG), not a signal that kills the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	stop_signals(&block);
	/* run_mask: the mask as it was, with the three open (they may be
	 * held already: service_hold_signals). */
	if (sigprocmask(SIG_BLOCK, &block, &run_mask) != 0)
		return -1;
	sigdelset(&run_mask, SIGHUP);
	sigdelset(&run_mask, SIGTERM);
	sigdelset(&run_mask, SIGINT);
	if (sd_watchdog_enabled(0, &usec) > 0)
		watchdog_every = usec / 2;
	last_ping = last_extend = service_now_usec();
	return 0;
}

uint64_t service_watchdog_interval(void)
{
	return watchdog_every;
}

void service_ready(void)
{
	starting = false;
	sd_notify(0, "READY=1");
}

void service_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void service_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void service_status(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", line);
}

void service_extend_timeout(uint64_t usec)
{
	sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)usec);
}

/* A long first evaluation keeps asking for more start-up time, so a big
 * council's first poll is not killed by TimeoutStartSec=. */
void service_keepalive(void)
{
	uint64_t now = service_now_usec();

	if (starting && now - last_extend >= EXTEND_EVERY) {
		service_extend_timeout(EXTEND_BY);
		last_extend = now;
	}
	if (watchdog_every && now - last_ping >= watchdog_every) {
		sd_notify(0, "WATCHDOG=1");
		last_ping = now;
	}
	/* After the ping: the hook may wait on a network for a while. */
	if (tick_fn && !in_tick) {
		in_tick = true;
		tick_fn(tick_ctx);
		in_tick = false;
	}
}

void service_set_tick(void (*fn)(void *ctx), void *ctx)
{
	tick_fn = fn;
	tick_ctx = ctx;
}

void service_sleep(uint64_t usec)
{
	service_sleep_fd(usec, -1);
}

void service_sleep_fd(uint64_t usec, int fd)
{
	uint64_t start = service_now_usec(), now = start;

	while (!service_stop_requested && !service_reload_requested && now - start < usec) {
		uint64_t left = usec - (now - start);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec ts;

		service_keepalive();
		/* Wake for the next ping, even in a long sleep. */
		if (watchdog_every && left > watchdog_every - (now - last_ping))
			left = watchdog_every - (now - last_ping);
		ts.tv_sec = (time_t)(left / 1000000u);
		ts.tv_nsec = (long)(left % 1000000u) * 1000;
		/* Signals are unblocked only inside ppoll: none is lost between
		 * the flag checks above and the sleep. */
		int rc = ppoll(fd >= 0 ? &p : NULL, fd >= 0 ? 1 : 0, &ts, &run_mask);

		if ((rc < 0 && errno != EINTR) || (rc > 0 && p.revents))
			break;
		now = service_now_usec();
	}
	service_keepalive();
}

/* Signals are blocked outside service_sleep, so a stop asked for during a
 * long read is still pending: look for it there too. */
bool service_stop_pending(void)
{
	sigset_t pending;

	if (service_stop_requested)
		return true;
	if (sigpending(&pending) < 0)
		return false;
	return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

void service_set_stop_grace(uint64_t usec)
{
	stop_grace = usec;
}

/* The signals are blocked outside service_sleep, so that none is lost
 * between a check and the sleep; during a long delivery a SIGTERM would
 * then wait for the delivery to end.  A pending one is taken here (its
 * handler sets the flag) by opening the mask for a moment. */
static void take_signals(void)
{
	sigset_t pending, old;

	if (sigpending(&pending) != 0 || !(sigismember(&pending, SIGTERM) ||
					   sigismember(&pending, SIGINT) ||
					   sigismember(&pending, SIGHUP)))
		return;
	if (sigprocmask(SIG_SETMASK, &run_mask, &old) == 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
}

void service_round_budget(uint64_t usec)
{
	round_end = usec ? service_now_usec() + usec : 0;
}

bool service_round_over(void)
{
	take_signals();
	return service_stop_requested || (round_end && service_now_usec() >= round_end);
}

bool service_give_up(void)
{
	uint64_t now;

	take_signals();
	if (!service_stop_requested)
		return false;
	now = service_now_usec();
	if (!stop_seen)
		stop_seen = now;
	return now - stop_seen >= stop_grace;
}
