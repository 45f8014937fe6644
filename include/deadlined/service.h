/* service.h — the systemd side of the daemon: readiness, status, the
 * watchdog and stop/reload notices (sd_notify), and the flags the signal
 * handlers set.
 *
 * Outside systemd (no $NOTIFY_SOCKET) every call is a cheap no-op, so the
 * same code runs in a terminal, in tests and under the service manager.
 */
#ifndef DEADLINED_SERVICE_H
#define DEADLINED_SERVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Set by the signal handlers, read by the main loop. */
extern volatile sig_atomic_t service_reload_requested;
extern volatile sig_atomic_t service_stop_requested;

/* Hold SIGHUP, SIGTERM and SIGINT (block them) from the start of main
 * until service_init's handlers take them: a stop that arrives while the
 * configuration is read is then a stop like any other (the daemon starts,
 * notices it at its first sleep and exits cleanly), not death by the
 * signal's default action, half started. */
int service_hold_signals(void);

/* Install SIGHUP, SIGTERM and SIGINT handlers (they only set the flags)
 * and block the signals outside service_sleep, so a signal is never lost
 * between checking the flags and going to sleep.  Reads the watchdog
 * interval systemd gave (WATCHDOG_USEC). */
int service_init(void);

/* Microseconds between watchdog pings (half systemd's interval), or 0. */
uint64_t service_watchdog_interval(void);

void service_ready(void);
void service_reloading(void);
void service_stopping(void);
/* One line for `systemctl status`. */
void service_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ask systemd for more time while a long start-up or reload runs. */
void service_extend_timeout(uint64_t usec);

/* Ping the watchdog if half its interval has passed since the last ping,
 * and run the tick hook.  Cheap: call it from long loops (evaluation,
 * transfers). */
void service_keepalive(void);

/* A hook service_keepalive runs each time (NULL: none), so that work with
 * its own clock (renewing a leader lease) goes on during a long poll or
 * delivery; it must be cheap when there is nothing to do. */
void service_set_tick(void (*fn)(void *ctx), void *ctx);

/* Sleep until usec from now, a signal, or the next watchdog ping, which
 * this sends.  Returns early on a signal. */
void service_sleep(uint64_t usec);
/* The same, returning early too when fd (if >= 0) becomes readable. */
void service_sleep_fd(uint64_t usec, int fd);

/* A stop was asked for, even if its signal is still blocked (waiting for
 * service_sleep): long reads check this to give up early. */
bool service_stop_pending(void);

/* How long in-flight deliveries may go on once a stop was asked for. */
void service_set_stop_grace(uint64_t usec);
/* True once a stop was asked for and the grace period has run out:
 * transfers still going should be abandoned (they are retried later). */
bool service_give_up(void);

/* A round of delivery's time budget, from now (0: none, as for
 * `deadlined --once`).  Once it is spent no new request starts -- those in
 * flight finish, bounded by their receivers' timeouts -- so the loop gets
 * back to polling whatever the receivers do. */
void service_round_budget(uint64_t usec);
/* True once the round's budget is spent or a stop was asked for: start no
 * new request or batch. */
bool service_round_over(void);

/* Monotonic microseconds. */
uint64_t service_now_usec(void);

#endif
