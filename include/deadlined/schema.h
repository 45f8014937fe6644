/* schema.h — validate a libconfig group against a table of settings and
 * store the values into a C struct.
 *
 * Each setting is described once, by a struct schema_field (name, type,
 * bounds, default, where it goes, one line of help), in the manner of
 * redis's config.c.  The walker rejects unknown names (suggesting the
 * nearest known one), wrong types, values out of bounds and missing
 * required settings, and reports every problem as "FILE:LINE: PATH: what was
 * wrong; what is allowed".  Defaults are written as they would appear in a
 * file and go through the same conversion, so the table is the only source.
 */
#ifndef DEADLINED_SCHEMA_H
#define DEADLINED_SCHEMA_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "deadlined/arena.h"
#include "deadlined/error.h"
#include "deadlined/schema_values.h"

enum schema_type {
	SCHEMA_STRING,    /* const char * */
	SCHEMA_INT,       /* long, within [min, max] */
	SCHEMA_BOOL,      /* int: -1 when unset and no default, else 0 or 1 */
	SCHEMA_DURATION,  /* struct schema_duration */
	SCHEMA_DATE,      /* dl_day, DATE_NONE when unset */
	SCHEMA_STRINGS,   /* struct schema_strings: an array of strings */
	SCHEMA_GROUP,     /* a nested struct described by members */
	SCHEMA_LIST,      /* struct schema_list of groups described by members */
	SCHEMA_MAP,       /* struct schema_list of named groups; each element
			     struct starts with a const char *name */
	SCHEMA_CUSTOM,    /* handled by custom() */
	SCHEMA_NUMBER,    /* double, whole or decimal, within [min, max]; NAN when
			     unset and no default */
};

struct schema_ctx {
	struct arena *arena;
	struct dl_errors *errors;
	const char *file;  /* named in errors about settings missing from it */
};

struct schema_field;
typedef void (*schema_custom_fn)(struct schema_ctx *ctx, const config_setting_t *s,
				 const char *path, void *field);

struct schema_field {
	const char *name;
	enum schema_type type;
	size_t offset;
	bool required;
	long min, max;    /* INT: bounds; STRINGS, LIST, MAP: element count */
	const char *def;  /* the default as written in a file, or NULL */
	const struct schema_field *members;   /* GROUP, LIST, MAP; CUSTOM: the
						 table its handler reads a group
						 with, if any */
	size_t elem_size;                     /* LIST, MAP */
	schema_custom_fn custom;              /* CUSTOM */
	const char *const *words;             /* BOOL: strings also accepted,
						 stored as 2, 3, ... in order */
	const char *help;
};

/* Validate group s (NULL: an absent group, so only defaults and required
 * checks apply) against fields, storing into base.  Errors go to ctx. */
void schema_read_group(struct schema_ctx *ctx, const config_setting_t *s,
		       const char *path, const struct schema_field *fields,
		       void *base);

/* Report a problem at setting s (file and line of s, or of its parent when
 * s has none). */
void schema_error(struct schema_ctx *ctx, const config_setting_t *s,
		  const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Helpers for custom handlers. */
bool schema_is_string(const config_setting_t *s);
/* A whole or decimal number's value; false when s is neither. */
bool schema_number(const config_setting_t *s, double *out);
const char *schema_type_name(const config_setting_t *s);
void schema_read_duration(struct schema_ctx *ctx, const config_setting_t *s,
			  const char *path, struct schema_duration *out);

#endif
