/* log.c — priority-filtered lines on stderr. */
#include "deadlined/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int max_priority = LOG_INFO;

static const char *const names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void log_set_level(int priority)
{
	max_priority = priority;
}

int log_parse_level(const char *name)
{
	for (int i = 0; i < 8; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority > max_priority)
		return;
	/* Under systemd ($JOURNAL_STREAM) a <N> prefix sets the priority. */
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>", priority & 7);
	fprintf(stderr, "deadlined: %s: ", names[priority & 7]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
