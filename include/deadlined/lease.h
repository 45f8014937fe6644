/* lease.h — leadership of an active/standby pair sharing one PostgreSQL.
 *
 * Leadership is one row of deadlined_lease: (name, holder, epoch,
 * acquired_at, renewed_at, expires_at).  A daemon takes it only when it has
 * expired, with UPDATE ... WHERE expires_at < now() ... RETURNING epoch, and
 * each take adds one to the epoch, the fence that the state store checks
 * before it lets a message be claimed or marked sent.  The holder renews it
 * as the holder of that epoch; a clean stop resigns it (expires_at = now())
 * and NOTIFYs deadlined_lease, so a LISTENing standby takes over at once.
 * Every epoch is also a row of deadlined_lease_history, in database time:
 * when it was taken (acquired_at), last renewed (renewed_at) and ended or
 * would end (expires_at; resigned when given up), so its intervals never
 * overlap and each takeover's delay can be read from there; the tests
 * prove both from it.  (renewed_at came after the table: NULL in rows
 * older than it, added to an existing table at the first connect.)
 *
 * A leader frozen (SIGSTOP, a VM pause) inside a transaction keeps its row
 * locks for as long as its TCP connection looks alive.  So a standby about
 * to take a lease that lapsed (expired, not resigned) first ends the
 * lapsed holder's sessions, found by their application_name (its tag,
 * pgconn.h), with pg_terminate_backend: their locks go at once, including
 * a lease row held FOR SHARE by a fenced commit that would block the take
 * itself, and the frozen leader's next statement fails when it resumes.
 * Ending another session needs the same role or pg_signal_backend; when
 * refused, it is said once and the take goes on.
 *
 * Database time is the authority: no daemon's wall clock decides anything.
 * Locally a daemon trusts the lease only until
 *     (when it sent the take or renewal, on CLOCK_BOOTTIME) + lease - margin,
 * which ends before the server's expires_at whatever the network delay; a
 * daemon paused past that (SIGSTOP, a VM freeze) or cut off finds on resuming
 * that lease_leader() is false before it has done anything.
 *
 * The lease has a connection of its own (pgconn.h: keepalives, TCP user
 * timeout, statement timeout and a client-side deadline on each statement),
 * so a long poll on the state connection never delays a renewal, and a dead
 * network is noticed within the lease.  Nothing here blocks longer than a
 * deadline below the lease; a failed step is retried by the next one.
 */
#ifndef DEADLINED_LEASE_H
#define DEADLINED_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "deadlined/error.h"
#include "deadlined/pgconn.h"

#define LEASE_CHANNEL "deadlined_lease"

/* The lease's tables (made if missing), for the state store's migration
 * too: its outbox fence joins deadlined_lease. */
#define LEASE_TABLES_SQL \
	"CREATE TABLE IF NOT EXISTS deadlined_lease (" \
	" name text PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL," \
	" acquired_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL," \
	" expires_at timestamptz NOT NULL);" \
	"CREATE TABLE IF NOT EXISTS deadlined_lease_history (" \
	" name text NOT NULL, epoch bigint NOT NULL, holder text NOT NULL," \
	" acquired_at timestamptz NOT NULL, expires_at timestamptz NOT NULL," \
	" resigned boolean NOT NULL DEFAULT false, renewed_at timestamptz," \
	" PRIMARY KEY (name, epoch));" \
	"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid =" \
	" 'deadlined_lease_history'::regclass AND attname = 'renewed_at') THEN" \
	" ALTER TABLE deadlined_lease_history ADD COLUMN renewed_at timestamptz;" \
	" END IF; END$$;"

struct lease_settings {
	struct pgconn_settings pg;   /* statement_ms and keepalive_ms are set
					from the lease when 0 */
	const char *name;            /* which lease (one a pair): "deadlined" */
	const char *holder;          /* who we are, for people: "host:pid" */
	long lease_ms, renew_ms, margin_ms;   /* renew_ms + margin_ms < lease_ms */
};

struct lease;

struct lease_info {
	bool leader;                 /* lease_leader() now */
	int64_t epoch;               /* ours while leader; else the last seen */
	char holder[128];            /* the current holder as last seen, or "" */
	double since;                /* unix seconds (database time) the epoch
					began, or 0 when unknown */
	bool connected;
};

/* Check the settings and make the handle; no I/O (the first lease_step
 * connects, so a daemon starts while PostgreSQL is down). */
int lease_open(const struct lease_settings *s, struct lease **out, struct dl_error *err);
void lease_close(struct lease *l);

/* One round, when lease_wait_ms() says so or lease_fd() is readable:
 * connect if needed (creating the tables, LISTEN), read notifications,
 * then renew (as leader, when due) or try to take (as standby, when due or
 * woken by a resignation).  Returns 0, or -1 with err when the database
 * could not be reached (the connection is dropped and made again next
 * time; a leader keeps leading only while its local trust lasts). */
int lease_step(struct lease *l, struct dl_error *err);

/* Is the lease ours, as far as we may trust it now?  Cheap (a clock read),
 * meant to be asked right before each action only a leader may take. */
bool lease_leader(struct lease *l);
/* The epoch we hold, or 0 when not leader. */
int64_t lease_epoch(struct lease *l);
/* Milliseconds (CLOCK_BOOTTIME, pgconn_now_ms) until which the current
 * epoch may be trusted; 0 when not leader. */
int64_t lease_trusted_until(const struct lease *l);

void lease_info(struct lease *l, struct lease_info *out);

/* Milliseconds until lease_step should run again (0: now). */
long lease_wait_ms(const struct lease *l);
/* The connection's socket, to wait on for a NOTIFY; -1 when not connected. */
int lease_fd(const struct lease *l);

/* Give the lease up at once if we hold it and tell the others; called on a
 * clean stop, after the last action as leader.  0 also when not leader. */
int lease_resign(struct lease *l, struct dl_error *err);

#endif
