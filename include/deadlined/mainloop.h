/* mainloop.h — the long-running service: one thread, one loop.
 *
 * It sleeps until the earliest of the next poll, the next outbox retry, the
 * next digest time or local midnight, or a signal; polls, delivers, reports
 * to systemd, reloads on SIGHUP (keeping the old configuration when the new
 * one is invalid) and stops cleanly on SIGTERM or SIGINT.
 */
#ifndef DEADLINED_MAINLOOP_H
#define DEADLINED_MAINLOOP_H

#include "deadlined/conf.h"

/* Run until stopped.  *conf may be replaced by a reload (the caller frees
 * whatever is there at the end).  db, when set, overrides
 * source.database.  Returns 0 after a clean stop, -1 (logged) when the
 * state database cannot be opened. */
int mainloop_run(const char *config_path, struct conf **conf, const char *db);

#endif
