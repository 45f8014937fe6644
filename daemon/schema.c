/* schema.c — the table-driven settings walker (see schema.h). */
#include "deadlined/schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 256

static void *at(void *base, size_t offset)
{
	return (char *)base + offset;
}

void schema_error(struct schema_ctx *ctx, const config_setting_t *s,
		  const char *path, const char *fmt, ...)
{
	const char *file = NULL;
	int line = 0;
	char msg[768];
	va_list ap;

	for (const config_setting_t *p = s; p && !file; p = config_setting_parent(p)) {
		file = config_setting_source_file(p);
		line = (int)config_setting_source_line(p);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!file)
		file = ctx->file ? ctx->file : "(config)";
	errors_add(ctx->errors, "%s:%d: %s: %s", file, line,
		   path && *path ? path : "(top level)", msg);
}

bool schema_is_string(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_STRING;
}

bool schema_number(const config_setting_t *s, double *out)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_FLOAT: *out = config_setting_get_float(s); return true;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: *out = (double)config_setting_get_int64(s); return true;
	default: return false;
	}
}

const char *schema_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "a number";
	case CONFIG_TYPE_FLOAT: return "a decimal number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "true/false";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	default: return "something else";
	}
}

static const char *expected_name(enum schema_type type)
{
	switch (type) {
	case SCHEMA_STRING: return "a string in double quotes";
	case SCHEMA_INT: return "a whole number";
	case SCHEMA_BOOL: return "true or false";
	case SCHEMA_DURATION: return "a duration such as \"10 working days\"";
	case SCHEMA_DATE: return "a date \"YYYY-MM-DD\"";
	case SCHEMA_STRINGS: return "an array of strings [ \"a\", \"b\" ]";
	case SCHEMA_GROUP:
	case SCHEMA_MAP: return "a group { ... }";
	case SCHEMA_LIST: return "a list of groups ( { ... }, { ... } )";
	case SCHEMA_NUMBER: return "a number such as 85 or 75.5";
	case SCHEMA_CUSTOM: break;
	}
	return "something else";
}

static void join(char *out, const char *path, const char *name)
{
	snprintf(out, PATH_MAX_LEN, "%s%s%s", path && *path ? path : "",
		 path && *path ? "." : "", name);
}

/* Edit distance, for "did you mean" on misspelt setting names. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void unknown_setting(struct schema_ctx *ctx, const config_setting_t *s,
			    const char *path, const struct schema_field *fields)
{
	char allowed[512] = "", suggestion[128] = "", full[PATH_MAX_LEN];
	const char *name = config_setting_name(s);
	size_t best = 3, used = 0;

	join(full, path, name);

	for (const struct schema_field *f = fields; f->name; f++) {
		size_t d = distance(name, f->name);

		if (d < best) {
			best = d;
			snprintf(suggestion, sizeof suggestion, "did you mean '%s'? ", f->name);
		}
		used += snprintf(allowed + used, used < sizeof allowed ? sizeof allowed - used : 0,
				 "%s%s", f == fields ? "" : ", ", f->name);
		if (used >= sizeof allowed)
			used = sizeof allowed - 1;
	}
	schema_error(ctx, s, full, "unknown setting '%s'; %sallowed here: %s", name,
		     suggestion, allowed);
}

void schema_read_duration(struct schema_ctx *ctx, const config_setting_t *s,
			  const char *path, struct schema_duration *out)
{
	struct dl_error err;

	if (!schema_is_string(s)) {
		schema_error(ctx, s, path, "expected %s, found %s",
			     expected_name(SCHEMA_DURATION), schema_type_name(s));
		return;
	}
	if (duration_parse(config_setting_get_string(s), &out->d, &err) < 0) {
		schema_error(ctx, s, path, "%s", err.msg);
		return;
	}
	out->set = true;
	out->line = (int)config_setting_source_line(s);
}

static void read_strings(struct schema_ctx *ctx, const config_setting_t *s,
			 const char *path, const struct schema_field *f,
			 struct schema_strings *out)
{
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		schema_error(ctx, s, path, "expected %s, found %s",
			     expected_name(f->type), schema_type_name(s));
		return;
	}
	if ((f->min && n < f->min) || (f->max && n > f->max)) {
		schema_error(ctx, s, path, "expected %ld to %ld entries, found %d",
			     f->min, f->max, n);
		return;
	}
	out->v = arena_alloc(ctx->arena, (size_t)(n ? n : 1) * sizeof *out->v);
	out->n = 0;
	for (int i = 0; out->v && i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (!schema_is_string(e)) {
			schema_error(ctx, e, path, "entry %d: expected a string, found %s",
				     i + 1, schema_type_name(e));
			continue;
		}
		out->v[out->n++] = arena_strdup(ctx->arena, config_setting_get_string(e));
	}
}

static void read_list(struct schema_ctx *ctx, const config_setting_t *s,
		      const char *path, const struct schema_field *f,
		      struct schema_list *out)
{
	bool map = f->type == SCHEMA_MAP;
	int type = config_setting_type(s), n = config_setting_length(s);
	char sub[PATH_MAX_LEN];

	if (map ? type != CONFIG_TYPE_GROUP
		: type != CONFIG_TYPE_LIST && !(type == CONFIG_TYPE_ARRAY && n == 0)) {
		schema_error(ctx, s, path, "expected %s, found %s", expected_name(f->type),
			     schema_type_name(s));
		return;
	}
	if ((f->min && n < f->min) || (f->max && n > f->max)) {
		schema_error(ctx, s, path, "expected %ld to %ld entries, found %d",
			     f->min, f->max, n);
		return;
	}
	out->v = arena_alloc(ctx->arena, (size_t)(n ? n : 1) * f->elem_size);
	out->n = 0;
	for (int i = 0; out->v && i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		void *elem = (char *)out->v + out->n * f->elem_size;

		if (map)
			join(sub, path, config_setting_name(e));
		else
			snprintf(sub, sizeof sub, "%s[%d]", path, i + 1);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			schema_error(ctx, e, sub, "expected a group { ... }, found %s",
				     schema_type_name(e));
			continue;
		}
		if (map)
			*(const char **)elem = arena_strdup(ctx->arena, config_setting_name(e));
		schema_read_group(ctx, e, sub, f->members, elem);
		out->n++;
	}
}

/* A default, written as in a file, converted like a file's value. */
static void apply_default(struct schema_ctx *ctx, const char *path,
			  const struct schema_field *f, void *field)
{
	struct dl_error err;

	switch (f->type) {
	case SCHEMA_STRING:
		*(const char **)field = arena_strdup(ctx->arena, f->def);
		return;
	case SCHEMA_INT:
		*(long *)field = strtol(f->def, NULL, 10);
		return;
	case SCHEMA_NUMBER:
		*(double *)field = strtod(f->def, NULL);
		return;
	case SCHEMA_BOOL:
		*(int *)field = strcmp(f->def, "true") == 0;
		return;
	case SCHEMA_DURATION: {
		struct schema_duration *d = field;

		d->set = duration_parse(f->def, &d->d, &err) == 0;
		if (!d->set)
			errors_add(ctx->errors, "built-in default of %s: %s", path, err.msg);
		return;
	}
	case SCHEMA_DATE:
		if (date_parse(f->def, field, &err) < 0)
			errors_add(ctx->errors, "built-in default of %s: %s", path, err.msg);
		return;
	case SCHEMA_STRINGS: {
		struct schema_strings *v = field;
		char *copy = arena_strdup(ctx->arena, f->def), *save = NULL;

		v->v = arena_alloc(ctx->arena, (strlen(f->def) / 2 + 2) * sizeof *v->v);
		v->n = 0;
		for (char *t = strtok_r(copy, ",", &save); t && v->v; t = strtok_r(NULL, ",", &save))
			v->v[v->n++] = t;
		return;
	}
	default:
		return;
	}
}

static void set_unset(const struct schema_field *f, void *field)
{
	if (f->type == SCHEMA_BOOL)
		*(int *)field = -1;
	else if (f->type == SCHEMA_DATE)
		*(dl_day *)field = DATE_NONE;
	else if (f->type == SCHEMA_NUMBER)
		*(double *)field = NAN;
}

static void read_absent(struct schema_ctx *ctx, const config_setting_t *parent,
			const char *path, const struct schema_field *f, void *field)
{
	if (f->required)
		schema_error(ctx, parent, path, "required setting missing; expected %s%s%s",
			     f->type == SCHEMA_CUSTOM ? f->help : expected_name(f->type),
			     f->help && f->type != SCHEMA_CUSTOM ? ": " : "",
			     f->help && f->type != SCHEMA_CUSTOM ? f->help : "");
	else if (f->type == SCHEMA_GROUP)
		schema_read_group(ctx, NULL, path, f->members, field);
	else if (f->def)
		apply_default(ctx, path, f, field);
	else
		set_unset(f, field);
}

static bool type_ok(const struct schema_field *f, const config_setting_t *s)
{
	int t = config_setting_type(s);

	switch (f->type) {
	case SCHEMA_STRING:
	case SCHEMA_DURATION:
	case SCHEMA_DATE: return t == CONFIG_TYPE_STRING;
	case SCHEMA_INT: return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
	case SCHEMA_NUMBER: return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 ||
				   t == CONFIG_TYPE_FLOAT;
	case SCHEMA_BOOL: return t == CONFIG_TYPE_BOOL || (f->words && t == CONFIG_TYPE_STRING);
	case SCHEMA_GROUP: return t == CONFIG_TYPE_GROUP;
	default: return true;     /* checked by the readers */
	}
}

/* true, false, or one of the field's words (2, 3, ... in order). */
static void read_bool(struct schema_ctx *ctx, const config_setting_t *s, const char *path,
		      const struct schema_field *f, int *field)
{
	const char *w = config_setting_type(s) == CONFIG_TYPE_STRING ?
		config_setting_get_string(s) : NULL;

	if (!w) {
		*field = config_setting_get_bool(s);
		return;
	}
	for (int i = 0; f->words[i]; i++)
		if (strcmp(w, f->words[i]) == 0) {
			*field = 2 + i;
			return;
		}
	schema_error(ctx, s, path, "'%s' is not a choice: expected true or false, or \"%s\"", w,
		     f->words[0]);
}

static void read_present(struct schema_ctx *ctx, const config_setting_t *s,
			 const char *path, const struct schema_field *f, void *field)
{
	struct dl_error err;

	if (!type_ok(f, s)) {
		schema_error(ctx, s, path, "expected %s, found %s", expected_name(f->type),
			     schema_type_name(s));
		return;
	}
	switch (f->type) {
	case SCHEMA_STRING:
		*(const char **)field = arena_strdup(ctx->arena, config_setting_get_string(s));
		break;
	case SCHEMA_INT: {
		long long v = config_setting_get_int64(s);

		if (v < f->min || v > f->max)
			schema_error(ctx, s, path, "%lld is out of range; expected %ld to %ld",
				     v, f->min, f->max);
		else
			*(long *)field = (long)v;
		break;
	}
	case SCHEMA_NUMBER: {
		double v = NAN;

		if (!schema_number(s, &v) || !isfinite(v) || v < (double)f->min || v > (double)f->max)
			schema_error(ctx, s, path, "%g is out of range; expected %ld to %ld",
				     v, f->min, f->max);
		else
			*(double *)field = v;
		break;
	}
	case SCHEMA_BOOL:
		read_bool(ctx, s, path, f, field);
		break;
	case SCHEMA_DURATION:
		schema_read_duration(ctx, s, path, field);
		break;
	case SCHEMA_DATE:
		if (date_parse(config_setting_get_string(s), field, &err) < 0)
			schema_error(ctx, s, path, "%s", err.msg);
		break;
	case SCHEMA_STRINGS:
		read_strings(ctx, s, path, f, field);
		break;
	case SCHEMA_GROUP:
		schema_read_group(ctx, s, path, f->members, field);
		break;
	case SCHEMA_LIST:
	case SCHEMA_MAP:
		read_list(ctx, s, path, f, field);
		break;
	case SCHEMA_CUSTOM:
		f->custom(ctx, s, path, field);
		break;
	}
}

void schema_read_group(struct schema_ctx *ctx, const config_setting_t *s,
		       const char *path, const struct schema_field *fields,
		       void *base)
{
	char sub[PATH_MAX_LEN];

	if (s) {
		for (unsigned i = 0; i < (unsigned)config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, i);
			const struct schema_field *f = fields;

			while (f->name && strcmp(f->name, config_setting_name(e)) != 0)
				f++;
			if (!f->name)
				unknown_setting(ctx, e, path, fields);
		}
	}
	for (const struct schema_field *f = fields; f->name; f++) {
		const config_setting_t *e = s ? config_setting_get_member(s, f->name) : NULL;

		join(sub, path, f->name);
		if (e)
			read_present(ctx, e, sub, f, at(base, f->offset));
		else
			read_absent(ctx, s, sub, f, at(base, f->offset));
	}
}
