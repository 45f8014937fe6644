/* log.h — what the daemon says about itself.
 *
 * Under systemd (stderr is the journal stream named by $JOURNAL_STREAM)
 * entries go to the journal with PRIORITY and structured fields such as
 * DEADLINED_RULE, DEADLINED_CASE, DEADLINED_RECEIVER, DEADLINED_OUTBOX_ID;
 * otherwise they are plain lines on stderr.  Never a secret, never a
 * child's name: callers pass references only.
 */
#ifndef DEADLINED_LOG_H
#define DEADLINED_LOG_H

#include <syslog.h>

/* Decide between the journal and stderr; call once from main. */
void log_init(void);

/* Messages above this priority (LOG_ERR .. LOG_DEBUG) are dropped. */
void log_set_level(int priority);
/* "info" etc. to a priority, or -1. */
int log_parse_level(const char *name);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* With journal fields: a NULL-terminated list of "KEY=value" strings. */
void log_fields(int priority, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
