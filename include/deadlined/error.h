/* error.h — how library code reports a failure to its caller.
 *
 * Library functions return 0 on success and -1 on failure, filling a
 * caller-owned struct dl_error with one line saying what was wrong, where,
 * and what was expected.  Only the two mains decide to exit.
 */
#ifndef DEADLINED_ERROR_H
#define DEADLINED_ERROR_H

#include <stddef.h>

struct dl_error {
	char msg[512];
};

/* printf into err->msg (truncating); a NULL err is allowed and ignored. */
void error_set(struct dl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix an existing message: "CONTEXT: old message". */
void error_prefix(struct dl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Many errors at once, for validators that report every problem in a file
 * rather than stopping at the first. */
struct dl_errors {
	char **msg;
	size_t n, cap;
	int oom;             /* set when a message could not be stored */
};

void errors_add(struct dl_errors *list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void errors_clear(struct dl_errors *list);

#endif
