/* conf.c — the settings tables and the checks that span settings. */
#include "deadlined/conf.h"

#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* Closure days: single dates or inclusive ranges "FROM..TO". */
static void read_closure_days(struct schema_ctx *ctx, const config_setting_t *s,
			      const char *path, void *field)
{
	struct conf_days *out = field;
	int n = config_setting_length(s);
	size_t cap = 0;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		schema_error(ctx, s, path, "expected an array of dates or ranges "
			     "[ \"2026-12-29..2026-12-31\" ], found %s", schema_type_name(s));
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *text = schema_is_string(e) ? config_setting_get_string(e) : "";
		char from[16] = "", to[16] = "";
		const char *dots = strstr(text, "..");
		struct dl_error err;
		dl_day a, b;

		snprintf(from, sizeof from, "%.*s", dots ? (int)(dots - text) : 15, text);
		snprintf(to, sizeof to, "%s", dots ? dots + 2 : from);
		if (date_parse(from, &a, &err) < 0 || date_parse(to, &b, &err) < 0 ||
		    b < a || b - a > 366) {
			schema_error(ctx, e, path, "entry %d '%s': expected a date YYYY-MM-DD or "
				     "a range YYYY-MM-DD..YYYY-MM-DD of at most a year", i + 1, text);
			continue;
		}
		if (out->n + (size_t)(b - a + 1) > cap) {
			dl_day *v = arena_alloc(ctx->arena, (cap = (cap + (size_t)(b - a + 1)) * 2) *
						sizeof *v);
			if (!v)
				return;
			if (out->n)
				memcpy(v, out->v, out->n * sizeof *v);
			out->v = v;
		}
		for (dl_day d = a; d <= b; d++)
			out->v[out->n++] = d;
	}
}

static void read_years(struct schema_ctx *ctx, const config_setting_t *s,
		       const char *path, void *field)
{
	struct conf_years *out = field;
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		schema_error(ctx, s, path, "expected an array of years [ 2028, 2029 ], found %s",
			     schema_type_name(s));
		return;
	}
	out->v = arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *out->v);
	for (int i = 0; out->v && i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		int y = config_setting_type(e) == CONFIG_TYPE_INT ? config_setting_get_int(e) : 0;

		if (y < CALENDAR_FIRST_YEAR || y > CALENDAR_LAST_YEAR)
			schema_error(ctx, e, path, "entry %d: expected a year from %d to %d",
				     i + 1, CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR);
		else
			out->v[out->n++] = y;
	}
}

#define F(type, field) SCHEMA_##type, offsetof(struct type_of_table, field)

#define type_of_table conf_holiday
static const struct schema_field holiday_fields[] = {
	{ "date", F(DATE, date), .required = true, .help = "the day, YYYY-MM-DD" },
	{ "name", F(STRING, name), .required = true, .help = "shown by deadlinectl holidays and explain" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_calendar
static const struct schema_field calendar_fields[] = {
	{ "division", F(STRING, division), .def = "england-and-wales",
	  .help = "whose bank holidays apply" },
	{ "extra_holidays", F(LIST, extra_holidays), .max = 1000,
	  .members = holiday_fields, .elem_size = sizeof(struct conf_holiday),
	  .help = "further non-working days: ( { date = \"...\"; name = \"...\"; } )" },
	{ "closure_days", F(CUSTOM, closure_days), .custom = read_closure_days,
	  .help = "local closure days: dates or ranges FROM..TO" },
	{ "confirmed_years", F(CUSTOM, confirmed_years), .custom = read_years,
	  .help = "years whose derived bank holidays an administrator has checked" },
	{ "count_start_day", F(BOOL, count_start_day), .def = "false",
	  .help = "count the start day as day 1 instead of day 0" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_source
static const struct schema_field source_fields[] = {
	{ "database", F(STRING, database), .def = "/var/lib/deadlined/cases.db",
	  .help = "the case database (SQLite), opened read-only" },
	{ "busy_timeout_ms", F(INT, busy_timeout_ms), .min = 0, .max = 600000,
	  .def = "5000", .help = "how long to wait for a writer's lock" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_state
static const struct schema_field state_fields[] = {
	{ "database", F(STRING, database), .def = "/var/lib/deadlined/state.db",
	  .help = "the daemon's own SQLite database" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf
static const struct schema_field top_fields[] = {
	{ "timezone", F(STRING, timezone), .def = "Europe/London",
	  .help = "the local time of the case database's times and of alerts" },
	{ "source", F(GROUP, source), .members = source_fields },
	{ "state", F(GROUP, state), .members = state_fields },
	{ "calendar", F(GROUP, calendar), .members = calendar_fields },
	{ 0 }
};
#undef type_of_table

const char *conf_default_path(void)
{
	const char *env = getenv("DEADLINED_CONFIG");

	return env && *env ? env : CONF_DEFAULT_PATH;
}

static const config_setting_t *member(const config_setting_t *s, const char *name)
{
	return s ? config_setting_get_member(s, name) : NULL;
}

/* A time zone must name a zoneinfo file, or times would silently be UTC. */
static void check_timezone(struct schema_ctx *ctx, const config_setting_t *root,
			   const char *tz)
{
	char path[512];

	if (tz[0] == '/' || strstr(tz, "..")) {
		schema_error(ctx, member(root, "timezone"), "timezone",
			     "'%s' is not a time zone name; expected e.g. \"Europe/London\"", tz);
		return;
	}
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	if (access(path, R_OK) != 0)
		schema_error(ctx, member(root, "timezone"), "timezone",
			     "unknown time zone '%s' (no %s); expected e.g. \"Europe/London\"",
			     tz, path);
}

static void check_division(struct schema_ctx *ctx, const config_setting_t *root,
			   const char *division)
{
	const config_setting_t *cal = member(root, "calendar");

	for (size_t i = 0; calendar_divisions[i]; i++)
		if (strcmp(division, calendar_divisions[i]) == 0)
			return;
	schema_error(ctx, member(cal, "division"),
		     "calendar.division", "unknown division '%s'; expected england-and-wales",
		     division);
}

static int build_calendar(struct conf *conf, struct dl_errors *errors)
{
	const struct conf_calendar *c = &conf->calendar;
	struct calendar_day_name *extra;
	struct calendar_options opt = {
		.division = c->division,
		.closure_days = c->closure_days.v,
		.n_closure_days = c->closure_days.n,
		.confirmed_years = c->confirmed_years.v,
		.n_confirmed_years = c->confirmed_years.n,
	};
	const struct conf_holiday *h = c->extra_holidays.v;
	struct dl_error err;

	extra = arena_alloc(conf->arena, (c->extra_holidays.n + 1) * sizeof *extra);
	if (!extra)
		return -1;
	for (size_t i = 0; i < c->extra_holidays.n; i++) {
		extra[i].day = h[i].date;
		extra[i].name = h[i].name;
	}
	opt.extra_holidays = extra;
	opt.n_extra_holidays = c->extra_holidays.n;
	if (calendar_new(&opt, &conf->cal, &err) < 0) {
		errors_add(errors, "%s: calendar: %s", conf->path ? conf->path : "(defaults)",
			   err.msg);
		return -1;
	}
	return 0;
}

static int read_file(config_t *cfg, const char *path, struct dl_errors *errors)
{
	char dir[4096];
	FILE *f = fopen(path, "r");

	if (!f) {
		errors_add(errors, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	fclose(f);
	/* @include paths are relative to the main file's folder. */
	snprintf(dir, sizeof dir, "%s", path);
	config_set_include_dir(cfg, dirname(dir));
	if (!config_read_file(cfg, path)) {
		errors_add(errors, "%s:%d: syntax error: %s",
			   config_error_file(cfg) ? config_error_file(cfg) : path,
			   config_error_line(cfg), config_error_text(cfg));
		return -1;
	}
	return 0;
}

int conf_load(const char *path, struct conf **out, struct dl_errors *errors)
{
	struct conf *conf = NULL;
	struct arena *arena = arena_new();
	struct schema_ctx ctx = { .arena = arena, .errors = errors, .file = path };
	const config_setting_t *root = NULL;
	size_t before = errors->n;
	config_t cfg;

	*out = NULL;
	config_init(&cfg);
	if (!arena || !(conf = arena_alloc(arena, sizeof *conf))) {
		errors_add(errors, "out of memory reading the configuration");
		goto fail;
	}
	conf->arena = arena;
	conf->path = path ? arena_strdup(arena, path) : NULL;
	if (path) {
		if (read_file(&cfg, path, errors) < 0)
			goto fail;
		root = config_root_setting(&cfg);
	}
	schema_read_group(&ctx, root, "", top_fields, conf);
	if (errors->n == before) {
		check_timezone(&ctx, root, conf->timezone);
		check_division(&ctx, root, conf->calendar.division);
	}
	if (errors->n != before || errors->oom || build_calendar(conf, errors) < 0)
		goto fail;
	config_destroy(&cfg);
	*out = conf;
	return 0;
fail:
	config_destroy(&cfg);
	arena_free(arena);
	return -1;
}

void conf_free(struct conf *conf)
{
	if (!conf)
		return;
	calendar_free(conf->cal);
	arena_free(conf->arena);
}
