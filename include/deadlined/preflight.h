/* preflight.h — what `deadlined -n` checks beyond the configuration file.
 *
 * conf_load checks the settings; preflight_check reads what they point at
 * without sending anything: each receiver's secret and URL files (missing,
 * unreadable, open to other users, not a regular file: errors naming the
 * receiver and the file), its credentials when $CREDENTIALS_DIRECTORY is
 * set (as for systemd's ExecStartPre; outside the service they cannot be
 * read, and are not checked), its CA file, and warns of a
 * configuration with no rules or no receivers.  It reads secrets the way
 * the daemon will (receiver_read_secret), so "-n says OK" means the first
 * delivery will not refuse them.
 */
#ifndef DEADLINED_PREFLIGHT_H
#define DEADLINED_PREFLIGHT_H

#include "deadlined/conf.h"
#include "deadlined/error.h"

/* Adds to errors and warnings; returns the number of errors added. */
size_t preflight_check(const struct conf *conf, struct dl_errors *errors,
		       struct dl_errors *warnings);

#endif
