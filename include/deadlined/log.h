/* log.h — what the daemon says about itself: plain lines on stderr with a
 * syslog priority (the systemd work will route them to the journal with
 * structured fields).  Never a secret, never a child's name: callers pass
 * references only. */
#ifndef DEADLINED_LOG_H
#define DEADLINED_LOG_H

#include <syslog.h>

/* Messages above this priority (LOG_ERR .. LOG_DEBUG) are dropped. */
void log_set_level(int priority);
/* "info" etc. to a priority, or -1. */
int log_parse_level(const char *name);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
