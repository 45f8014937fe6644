/* backend.c — finding a backend's operations table by name (see backend.h). */
#include "deadlined/backend.h"

#include <stdio.h>
#include <string.h>

static const char *name_of(const void *table)
{
	return *(const char *const *)table;
}

const void *backend_find(const void *const *tables, size_t n, const char *name,
			 const char *def)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name_of(tables[i]), name ? name : def) == 0)
			return tables[i];
	return NULL;
}

const char *backend_names(const void *const *tables, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
					name_of(tables[i]));
	return buf;
}
