/* error.c — filling struct dl_error. */
#include "deadlined/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void error_set(struct dl_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

void error_prefix(struct dl_error *err, const char *fmt, ...)
{
	char prefix[256], old[sizeof err->msg];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

void errors_add(struct dl_errors *list, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	char *copy;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		char **p = realloc(list->msg, cap * sizeof *p);

		if (!p) {
			list->oom = 1;
			return;
		}
		list->msg = p;
		list->cap = cap;
	}
	copy = strdup(buf);
	if (!copy) {
		list->oom = 1;
		return;
	}
	list->msg[list->n++] = copy;
}

void errors_clear(struct dl_errors *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->msg[i]);
	free(list->msg);
	list->msg = NULL;
	list->n = list->cap = 0;
	list->oom = 0;
}
