/* dl-lease — test driver: contend for a lease (lease.h) and, while leader,
 * "act" every few milliseconds, appending what it did and the trust it had
 * to a journal file shared by all contenders (O_APPEND, one write a line):
 *     WIN <epoch> <holder> <from_ms> <until_ms>   trust window, grows as renewed
 *     ACT <epoch> <holder> <at_ms>                 an action taken as leader
 *     RESIGNED <epoch> <holder> <at_ms>            stopped acting, then resigned
 * Times are CLOCK_BOOTTIME milliseconds (pgconn_now_ms), one clock for every
 * process on the machine, so tests/helpers/lease_check.py can prove that no
 * two epochs' windows overlap and that every action lies inside its own.
 *
 * usage: dl-lease CONNINFO NAME HOLDER LEASE_MS RENEW_MS MARGIN_MS JOURNAL
 * The password, if any, comes from $DL_LEASE_PASSWORD_FILE.  SIGTERM or
 * SIGINT resigns and exits 0; exit 1 when the settings are refused, 2 on
 * bad usage. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadlined/lease.h"
#include "deadlined/log.h"
#include "deadlined/receiver.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void journal(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void journal(int fd, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, line, (size_t)n) != n)
		perror("dl-lease: journal");
}

/* While leader: note the window when it grew, then act. */
static void act(struct lease *l, int fd, const char *holder, int64_t *last_until)
{
	int64_t at = pgconn_now_ms();

	if (!lease_leader(l))
		return;
	if (lease_trusted_until(l) != *last_until) {
		*last_until = lease_trusted_until(l);
		journal(fd, "WIN %lld %s %lld %lld\n", (long long)lease_epoch(l), holder,
			(long long)at, (long long)*last_until);
	}
	journal(fd, "ACT %lld %s %lld\n", (long long)lease_epoch(l), holder, (long long)at);
}

int main(int argc, char **argv)
{
	struct lease_settings s = { 0 };
	struct lease *l;
	struct dl_error err = { "" };
	char *password = NULL;
	int64_t last_until = 0;
	int fd;

	if (argc != 8) {
		fprintf(stderr, "usage: dl-lease CONNINFO NAME HOLDER LEASE_MS RENEW_MS "
			"MARGIN_MS JOURNAL\n");
		return 2;
	}
	log_init();
	if (getenv("DL_LEASE_PASSWORD_FILE") &&
	    receiver_read_secret(getenv("DL_LEASE_PASSWORD_FILE"), NULL, &password, &err) < 0) {
		fprintf(stderr, "dl-lease: %s\n", err.msg);
		return 1;
	}
	s.pg.conninfo = argv[1];
	s.pg.password = password;
	s.pg.application_name = argv[3];
	s.name = argv[2];
	s.holder = argv[3];
	s.lease_ms = atol(argv[4]);
	s.renew_ms = atol(argv[5]);
	s.margin_ms = atol(argv[6]);
	if (lease_open(&s, &l, &err) < 0) {
		fprintf(stderr, "dl-lease: %s\n", err.msg);
		free(password);
		return 1;
	}
	free(password);
	fd = open(argv[7], O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0) {
		perror(argv[7]);
		lease_close(l);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop) {
		struct pollfd p = { .fd = lease_fd(l), .events = POLLIN };
		long wait = lease_wait_ms(l);

		if (lease_leader(l) && wait > 10)
			wait = 10;
		poll(&p, p.fd >= 0 ? 1 : 0, (int)wait);
		if (stop)
			break;
		if (lease_step(l, &err) < 0)
			log_msg(LOG_WARNING, "%s", err.msg);
		act(l, fd, argv[3], &last_until);
	}
	if (lease_leader(l)) {
		/* The moment it stopped acting: its window ends here. */
		int64_t epoch = lease_epoch(l), at = pgconn_now_ms();

		if (lease_resign(l, &err) < 0)
			log_msg(LOG_WARNING, "%s", err.msg);
		else
			journal(fd, "RESIGNED %lld %s %lld\n", (long long)epoch, argv[3],
				(long long)at);
	}
	close(fd);
	lease_close(l);
	return 0;
}
