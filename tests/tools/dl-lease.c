/* dl-lease — test driver: contend for a lease (lease.h) and, while leader,
 * "act" every few milliseconds, appending what it did and the trust it had
 * to a journal file shared by all contenders (O_APPEND, one write a line):
 *     WIN <epoch> <holder> <from_ms> <until_ms>   trust window, grows as renewed
 *     ACT <epoch> <holder> <at_ms>                 an action taken as leader
 *     RESIGNED <epoch> <holder> <at_ms>            stopped acting, then resigned
 * With CONF (a deadlined.conf naming a receiver "r") it is an outbox worker
 * instead: as leader it claims due messages from the PostgreSQL store under
 * its epoch (state_set_fence), and for each, right after asking lease_leader(),
 *     SEND <epoch> <holder> <at_ms> <msg_id>        then sends it through r,
 *     MARKED <epoch> <holder> <at_ms> <msg_id>      marked sent under the fence,
 *     FENCED <epoch> <holder> <at_ms> <msg_id>      or refused by the fence.
 * Times are CLOCK_BOOTTIME milliseconds (pgconn_now_ms), one clock for every
 * process on the machine, so tests/helpers/lease_check.py can prove that no
 * two epochs' windows overlap and that every action lies inside its own.
 *
 * usage: dl-lease CONNINFO NAME HOLDER LEASE_MS RENEW_MS MARGIN_MS JOURNAL [CONF]
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
#include <time.h>
#include <unistd.h>

#include "deadlined/conf.h"
#include "deadlined/lease.h"
#include "deadlined/log.h"
#include "deadlined/receiver.h"
#include "deadlined/state.h"

#define BATCH 5

/* A claimed message, copied out of the store's result. */
struct claimed {
	int64_t id;
	int attempts;
	char msg_id[64], payload[256], recipient[64];
};

struct claims {
	struct claimed v[BATCH];
	size_t n;
};

static volatile sig_atomic_t stop;
static const char *lease_name;

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

static int keep(void *ctx, const struct state_message *m)
{
	struct claims *c = ctx;
	struct claimed *k = &c->v[c->n++];

	k->id = m->id;
	k->attempts = m->attempts;
	snprintf(k->msg_id, sizeof k->msg_id, "%s", m->msg_id);
	snprintf(k->payload, sizeof k->payload, "%s", m->payload ? m->payload : "{}");
	snprintf(k->recipient, sizeof k->recipient, "%s", m->recipient ? m->recipient : "");
	return c->n < BATCH ? 0 : 1;
}

/* As leader: claim a batch under our epoch and send each message, asking
 * the lease right before each send, as the daemon's drain does. */
static void drain(struct lease *l, struct state *st, struct receiver *r, int fd,
		  const char *holder, int64_t *last_until)
{
	struct claims c = { .n = 0 };
	struct dl_error err;
	time_t now = time(NULL);
	char day[16];

	if (!lease_leader(l))
		return;
	act(l, fd, holder, last_until);
	state_set_fence(st, lease_name, lease_epoch(l));
	if (state_each_due(st, now, BATCH, keep, &c, &err) < 0) {
		log_msg(LOG_WARNING, "%s", err.msg);
		return;
	}
	strftime(day, sizeof day, "%Y-%m-%d", gmtime(&now));
	for (size_t i = 0; i < c.n; i++) {
		struct message m = { c.v[i].id, c.v[i].msg_id, NULL, "s", "t", NULL,
				     c.v[i].payload, now };
		struct delivery_result res;
		int64_t epoch = lease_epoch(l), at = pgconn_now_ms();
		int rc;

		if (!lease_leader(l))
			return;
		journal(fd, "SEND %lld %s %lld %s\n", (long long)epoch, holder, (long long)at,
			m.msg_id);
		receiver_send(r, &m, 1, &res);
		if (res.status != DELIVERY_OK) {
			state_mark_message(st, m.id, "pending", c.v[i].attempts + 1, now + 1,
					   res.detail, 0, &err);
			continue;
		}
		rc = state_add_sent(st, c.v[i].recipient, day, &err);
		if (rc == 0)
			rc = state_mark_message(st, m.id, "sent", c.v[i].attempts + 1, now,
						res.detail, now, &err);
		if (rc < 0)
			log_msg(LOG_WARNING, "%s", err.msg);
		journal(fd, "%s %lld %s %lld %s\n", rc == 0 ? "MARKED" : "FENCED",
			(long long)epoch, holder, (long long)pgconn_now_ms(), m.msg_id);
	}
}

/* The worker's receiver "r" and store, when CONF is given.  The store is
 * tagged with the worker's lease holder name, as the daemon's is with its
 * own, so that a standby ends a frozen worker's sessions. */
static int open_worker(const char *path, const struct pgconn_settings *pg, const char *holder,
		       struct conf **conf, struct receiver **r, struct state **st)
{
	struct dl_errors errors = { 0 };
	struct dl_error err;
	const struct receiver_conf *rc;
	struct state_conf sc = { .driver = "postgresql", .conninfo = pg->conninfo,
				 .holder = holder };

	if (conf_load(path, conf, &errors) < 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "dl-lease: %s\n", errors.msg[i]);
		errors_clear(&errors);
		return -1;
	}
	if (!(rc = conf_receiver(*conf, "r"))) {
		fprintf(stderr, "dl-lease: %s names no receiver \"r\"\n", path);
		return -1;
	}
	if (receiver_open(rc, r, &err) < 0 || state_open(&sc, st, &err) < 0) {
		fprintf(stderr, "dl-lease: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct lease_settings s = { 0 };
	struct lease *l;
	struct dl_error err = { "" };
	char *password = NULL;
	int64_t last_until = 0;
	struct conf *conf = NULL;
	struct receiver *r = NULL;
	struct state *st = NULL;
	int fd, rc = 0;

	if (argc != 8 && argc != 9) {
		fprintf(stderr, "usage: dl-lease CONNINFO NAME HOLDER LEASE_MS RENEW_MS "
			"MARGIN_MS JOURNAL [CONF]\n");
		return 2;
	}
	lease_name = argv[2];
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
	fd = open(argv[7], O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		perror(argv[7]);
	if (fd < 0 || (argc == 9 && open_worker(argv[8], &s.pg, s.holder, &conf, &r, &st) < 0))
		stop = rc = 1;
	free(password);
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
		if (st)
			drain(l, st, r, fd, argv[3], &last_until);
		else
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
	if (fd >= 0)
		close(fd);
	lease_close(l);
	state_close(st);
	receiver_close(r);
	conf_free(conf);
	return rc;
}
