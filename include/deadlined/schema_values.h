/* schema_values.h — the values a settings table stores (schema.h) that
 * are not plain C types: durations, arrays of strings, lists of groups.
 * Kept apart from schema.h so that the modules holding them (rules,
 * receivers, conf) need not see libconfig.
 */
#ifndef DEADLINED_SCHEMA_VALUES_H
#define DEADLINED_SCHEMA_VALUES_H

#include <stdbool.h>
#include <stddef.h>

#include "deadlined/duration.h"

struct schema_duration {
	bool set;
	struct duration d;
	int line;         /* where it was written, for later checks */
};

struct schema_strings {
	const char **v;
	size_t n;
};

struct schema_list {
	void *v;          /* n elements of the field's elem_size (schema.h) */
	size_t n;
};

#endif
