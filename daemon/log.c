/* log.c — the journal with fields, or priority-filtered lines on stderr. */
#include "deadlined/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#define MAX_FIELDS 12

static int max_priority = LOG_INFO;
static bool journal;

static const char *const names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

/* systemd sets JOURNAL_STREAM=dev:inode of the stream it connected to
 * stderr; if stderr is still that stream, the journal is listening. */
void log_init(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	journal = env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
		  (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

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

static void to_journal(int priority, const char *const *fields, const char *msg)
{
	char prio[16], *message;
	struct iovec iov[MAX_FIELDS + 3];
	int n = 0;

	snprintf(prio, sizeof prio, "PRIORITY=%d", priority & 7);
	if (asprintf(&message, "MESSAGE=%s", msg) < 0)
		return;
	iov[n].iov_base = prio;
	iov[n++].iov_len = strlen(prio);
	iov[n].iov_base = message;
	iov[n++].iov_len = strlen(message);
	iov[n].iov_base = (char *)"SYSLOG_IDENTIFIER=deadlined";
	iov[n++].iov_len = strlen("SYSLOG_IDENTIFIER=deadlined");
	for (size_t i = 0; fields && fields[i] && n < MAX_FIELDS + 3; i++) {
		iov[n].iov_base = (char *)fields[i];
		iov[n++].iov_len = strlen(fields[i]);
	}
	sd_journal_sendv(iov, n);
	free(message);
}

static void vlog(int priority, const char *const *fields, const char *fmt, va_list ap)
{
	char msg[1024];

	if (priority > max_priority)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* Data from the case database (a case_ref with a line feed) must not
	 * start a forged line of its own. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	if (journal)
		to_journal(priority, fields, msg);
	else
		fprintf(stderr, "deadlined: %s: %s\n", names[priority & 7], msg);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(priority, NULL, fmt, ap);
	va_end(ap);
}

void log_fields(int priority, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(priority, fields, fmt, ap);
	va_end(ap);
}
