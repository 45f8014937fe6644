/* conf.c — the settings tables and the checks that span settings. */
#include "deadlined/conf.h"

#include "deadlined/conf_files.h"
#include "deadlined/log.h"
#include "deadlined/pgconn.h"
#include "deadlined/schema.h"
#include "deadlined/strset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* count_start_day: true (CALENDAR_DAY1_IF_WORKING), false, or the Children
 * in Need census validator's convention (CALENDAR_DAY1_ALWAYS). */
static const char *const day1_words[] = { "cin-census", NULL };

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
	{ "count_start_day", F(BOOL, count_start_day), .def = "false", .words = day1_words,
	  .help = "count the start day as day 1 instead of day 0 (\"cin-census\": even when "
		  "it is not a working day)" },
	{ 0 }
};
#undef type_of_table

/* A column name goes into SQL text (names cannot be bound): only a plain
 * identifier is accepted. */
static void read_column(struct schema_ctx *ctx, const config_setting_t *s, const char *path,
			void *field)
{
	static const char ident[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
				    "0123456789";
	const char **out = field;
	const char *v = schema_is_string(s) ? config_setting_get_string(s) : NULL;

	if (!v || !*v || strlen(v) > 64 || strspn(v, ident) != strlen(v) ||
	    (*v >= '0' && *v <= '9')) {
		schema_error(ctx, s, path, "expected the name of a column of deadlined_cases "
			     "(letters, digits and _, not starting with a digit)");
		return;
	}
	*out = arena_strdup(ctx->arena, v);
}

#define type_of_table source_conf
static const struct schema_field source_fields[] = {
	{ "driver", F(STRING, driver), .def = "sqlite",
	  .help = "the backend that reads the case database: sqlite or odbc" },
	{ "updated_column", F(CUSTOM, updated_column), .custom = read_column,
	  .help = "a column of deadlined_cases that grows when a case or its events change" },
	{ "database", F(STRING, database), .def = "/var/lib/deadlined/cases.db",
	  .help = "the case database (SQLite), opened read-only" },
	{ "busy_timeout_ms", F(INT, busy_timeout_ms), .min = 0, .max = 600000,
	  .def = "5000", .help = "how long to wait for a writer's lock" },
	{ "dsn", F(STRING, dsn),
	  .help = "odbc: a data source named in odbc.ini" },
	{ "connection", F(STRING, connection),
	  .help = "odbc: a connection string instead of a DSN (no password in it)" },
	{ "user", F(STRING, user),
	  .help = "odbc: the login (UID); else the data source's own" },
	{ "credentials", F(STRING, credentials),
	  .help = "odbc: the file holding the password, or a systemd credential's name" },
	{ "login_timeout", F(INT, login_timeout), .min = 1, .max = 600, .def = "15",
	  .help = "odbc: seconds to wait for a connection" },
	{ "query_timeout", F(INT, query_timeout), .min = 1, .max = 86400, .def = "60",
	  .help = "odbc: seconds a query may run" },
	{ "fetch_rows", F(INT, fetch_rows), .min = 1, .max = 10000, .def = "500",
	  .help = "odbc: rows fetched at a time" },
	{ "read_ahead", F(INT, read_ahead), .min = 0, .max = 8, .def = "2",
	  .help = "odbc: extra connections reading the next ranges of a full read "
		  "(PostgreSQL tables; 0: one connection)" },
	{ 0 }
};
#undef type_of_table

#define type_of_table state_conf
static const struct schema_field state_fields[] = {
	{ "driver", F(STRING, driver), .def = "sqlite",
	  .help = "sqlite (one machine) or postgresql (shared by an active/standby pair)" },
	{ "database", F(STRING, database), .def = "/var/lib/deadlined/state.db",
	  .help = "the daemon's own SQLite database" },
	{ "conninfo", F(STRING, conninfo),
	  .help = "postgresql: a libpq connection string or URI, without the password" },
	{ "password_file", F(STRING, password_file),
	  .help = "postgresql: file holding the password" },
	{ "password_credential", F(STRING, password_credential),
	  .help = "postgresql: systemd credential holding the password" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_ha
static const struct schema_field ha_fields[] = {
	{ "name", F(STRING, name), .def = "deadlined",
	  .help = "the lease the daemons of one pair share" },
	{ "lease", F(NUMBER, lease), .min = 1, .max = 3600, .def = "15",
	  .help = "seconds a leader holds the lease without renewing it" },
	{ "renew", F(NUMBER, renew), .min = 0, .max = 3600, .def = "5",
	  .help = "seconds between a leader's renewals" },
	{ "margin", F(NUMBER, margin), .min = 0, .max = 3600, .def = "1",
	  .help = "seconds before the lease's end a leader stops trusting it" },
	{ 0 }
};
#undef type_of_table


/* One step of a due sequence: "20 working days", or a choice between two
 * durations by the child's age or by time since the clock first started. */
struct step_text {
	long if_age_under;
	struct schema_duration if_within, then, otherwise;
};

#define type_of_table step_text
static const struct schema_field step_fields[] = {
	{ "if_age_under", F(INT, if_age_under), .min = 1, .max = 25,
	  .help = "choose by the child's age in whole years at the anchor" },
	{ "if_within", F(DURATION, if_within),
	  .help = "choose by time elapsed since the clock first started" },
	{ "then", F(DURATION, then), .required = true, .help = "the duration when the test holds" },
	{ "else", F(DURATION, otherwise), .required = true, .help = "the duration otherwise" },
	{ 0 }
};
#undef type_of_table

static void read_step_group(struct schema_ctx *ctx, const config_setting_t *e,
			    const char *path, struct rule_step *out)
{
	struct step_text t = { 0 };
	size_t before = ctx->errors->n;

	schema_read_group(ctx, e, path, step_fields, &t);
	if (ctx->errors->n != before)
		return;
	if ((t.if_age_under != 0) == t.if_within.set) {
		schema_error(ctx, e, path, "a choice needs exactly one of if_age_under or "
			     "if_within, with then and else");
		return;
	}
	out->kind = t.if_age_under ? STEP_AGE : STEP_WITHIN;
	out->age_under = (int)t.if_age_under;
	out->within = t.if_within.d;
	out->then = t.then.d;
	out->otherwise = t.otherwise.d;
}

static void read_steps(struct schema_ctx *ctx, const config_setting_t *s,
		       const char *path, void *field)
{
	struct rule_steps *out = field;
	int type = config_setting_type(s), n = config_setting_length(s);
	char sub[300];

	if ((type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) || n < 1 || n > 32) {
		schema_error(ctx, s, path, "expected a list of 1 to 32 steps such as "
			     "( \"20 working days\", \"3 months\" ), found %s",
			     n < 1 && type != CONFIG_TYPE_STRING ? "an empty list" : schema_type_name(s));
		return;
	}
	out->v = arena_alloc(ctx->arena, (size_t)n * sizeof *out->v);
	for (int i = 0; out->v && i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct schema_duration d = { 0 };

		snprintf(sub, sizeof sub, "%s[%d]", path, i + 1);
		if (config_setting_type(e) == CONFIG_TYPE_GROUP) {
			read_step_group(ctx, e, sub, &out->v[i]);
		} else {
			schema_read_duration(ctx, e, sub, &d);
			out->v[i].kind = STEP_FIXED;
			out->v[i].then = d.d;
		}
	}
	out->n = (size_t)n;
}

#define type_of_table rule_version
static const struct schema_field version_fields[] = {
	{ "effective_from", F(DATE, effective_from), .help = "first start date it applies to" },
	{ "effective_until", F(DATE, effective_until), .help = "last start date it applies to" },
	{ "due", F(CUSTOM, due), .required = true, .custom = read_steps,
	  .members = step_fields,
	  .help = "a list of steps, e.g. ( \"20 working days\", \"3 months\" )" },
	{ "count_start_day", F(BOOL, count_start_day), .words = day1_words,
	  .help = "count the start day as day 1 (\"cin-census\": even when it is not a working "
		  "day)" },
	{ 0 }
};
#undef type_of_table

#define type_of_table rule_stage
static const struct schema_field stage_fields[] = {
	{ "after", F(DURATION, after), .required = true, .help = "how long overdue" },
	{ "notify", F(STRINGS, notify), .required = true, .min = 1, .max = 16,
	  .help = "roles (worker, team_manager, service_manager) or receiver names" },
	{ 0 }
};
#undef type_of_table

/* Quartile figures: exactly three numbers from 0 to 100, ascending. */
static void read_quartiles(struct schema_ctx *ctx, const config_setting_t *s,
			   const char *path, void *field)
{
	struct rule_quartiles *q = field;
	int type = config_setting_type(s);

	if ((type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) ||
	    config_setting_length(s) != 3) {
		schema_error(ctx, s, path, "expected three numbers [ LOWER, MEDIAN, UPPER ] "
			     "(the quartile boundaries, ascending), found %s", schema_type_name(s));
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		double v = -1;

		if (!schema_number(e, &v) || !(v >= 0 && v <= 100) || (i > 0 && v < q->v[i - 1])) {
			schema_error(ctx, e, path, "entry %u: expected a percentage from 0 to 100, "
				     "not below the entry before it", i + 1);
			return;
		}
		q->v[i] = v;
	}
	q->n = 3;
}

#define type_of_table rule_comparator
static const struct schema_field comparator_fields[] = {
	{ "label", F(STRING, label), .required = true, .help = "e.g. \"England average\"" },
	{ "value", F(NUMBER, value), .required = true, .min = 0, .max = 100,
	  .help = "the published percentage" },
	{ 0 }
};
#undef type_of_table

#define type_of_table rule_target
static const struct schema_field target_fields[] = {
	{ "value", F(NUMBER, value), .min = 0, .max = 100,
	  .help = "the target percentage (required when target is given)" },
	{ "better", F(STRING, better), .def = "higher",
	  .help = "higher (on-time percentage) or lower (late percentage)" },
	{ "comparators", F(LIST, comparators), .max = 8, .members = comparator_fields,
	  .elem_size = sizeof(struct rule_comparator),
	  .help = "published figures shown beside the result: ( { label = ...; value = ...; } )" },
	{ "quartiles", F(CUSTOM, quartiles), .custom = read_quartiles,
	  .help = "[ LOWER, MEDIAN, UPPER ] quartile boundaries for the amber band" },
	{ "source", F(STRING, source), .help = "where the figures were published" },
	{ 0 }
};
#undef type_of_table

#define type_of_table rule
static const struct schema_field rule_fields[] = {
	{ "title", F(STRING, title), .required = true, .help = "what managers read in alerts" },
	{ "start", F(STRINGS, start), .required = true, .min = 1, .max = 16,
	  .help = "event kinds that start the clock" },
	{ "met", F(STRINGS, met), .max = 16, .help = "event kinds that meet it" },
	{ "cancel", F(STRINGS, cancel), .max = 16, .help = "event kinds that cancel it" },
	{ "due", F(CUSTOM, due), .required = true, .custom = read_steps,
	  .members = step_fields,
	  .help = "a list of steps, e.g. ( \"20 working days\", \"3 months\" )" },
	{ "repeat", F(BOOL, repeat), .def = "false",
	  .help = "after a met event open the next obligation; the last step repeats" },
	{ "count_start_day", F(BOOL, count_start_day), .words = day1_words,
	  .help = "count the start day as day 1 (\"cin-census\": even when it is not a working "
		  "day)" },
	{ "effective_from", F(DATE, effective_from), .help = "first start date it applies to" },
	{ "effective_until", F(DATE, effective_until), .help = "last start date it applies to" },
	{ "versions", F(LIST, versions), .max = 16, .members = version_fields,
	  .elem_size = sizeof(struct rule_version), .help = "other due sequences by start date" },
	{ "due_soon", F(DURATION, due_soon), .help = "warning window before due" },
	{ "notify_due_soon", F(STRINGS, notify_due_soon), .max = 16, .help = "who hears of due-soon" },
	{ "notify_overdue", F(STRINGS, notify_overdue), .max = 16, .help = "who hears of overdue" },
	{ "escalation", F(LIST, escalation), .max = 8, .members = stage_fields,
	  .elem_size = sizeof(struct rule_stage), .help = "stages by how long overdue" },
	{ "target", F(GROUP, target), .members = target_fields,
	  .help = "reports: target, comparators and quartiles of the on-time percentage" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_defaults
static const struct schema_field defaults_fields[] = {
	{ "due_soon", F(DURATION, due_soon), .def = "2 working days",
	  .help = "warning window before due" },
	{ "notify_due_soon", F(STRINGS, notify_due_soon), .def = "worker", .max = 16,
	  .help = "who hears of due-soon" },
	{ "notify_overdue", F(STRINGS, notify_overdue), .def = "worker,team_manager", .max = 16,
	  .help = "who hears of overdue" },
	{ "escalation", F(LIST, escalation), .max = 8, .members = stage_fields,
	  .elem_size = sizeof(struct rule_stage),
	  .help = "stages by how long overdue; default ( { after = \"5 working days\"; "
		  "notify = [ \"service_manager\" ]; } )" },
	{ 0 }
};
#undef type_of_table

#define type_of_table receiver_conf
static const struct schema_field receiver_fields[] = {
	{ "type", F(STRING, type), .required = true, .help = "smtp, webhook or maildir" },
	{ "url", F(STRING, url), .help = "smtp://host:587 (STARTTLS required), smtps://host:465 or https://..." },
	{ "url_file", F(STRING, url_file),
	  .help = "webhook: file holding the https:// URL (Teams and Slack URLs are secrets)" },
	{ "url_credential", F(STRING, url_credential),
	  .help = "webhook: systemd credential holding the https:// URL" },
	{ "from", F(STRING, from), .help = "smtp, maildir: the From address" },
	{ "to", F(STRINGS, to), .max = 50, .help = "fixed recipients when named in a notify list" },
	{ "username", F(STRING, username), .help = "smtp AUTH user" },
	{ "password_file", F(STRING, password_file), .help = "file holding the SMTP password" },
	{ "password_credential", F(STRING, password_credential),
	  .help = "systemd credential holding the SMTP password" },
	{ "ca_file", F(STRING, ca_file), .help = "CA bundle for TLS (default: the system's)" },
	{ "connect_timeout", F(INT, connect_timeout), .min = 1, .max = 300, .def = "10",
	  .help = "seconds to connect" },
	{ "timeout", F(INT, timeout), .min = 1, .max = 600, .def = "30",
	  .help = "seconds for one message, all of it" },
	{ "format", F(STRING, format), .def = "generic", .help = "webhook: generic, teams or slack" },
	{ "secret_file", F(STRING, secret_file), .help = "webhook: file holding the signing secret" },
	{ "secret_credential", F(STRING, secret_credential),
	  .help = "webhook: systemd credential holding the signing secret" },
	{ "max_connections", F(INT, max_connections), .min = 1, .max = 8, .def = "4",
	  .help = "webhook: concurrent connections" },
	{ "path", F(STRING, path), .help = "maildir: the Maildir folder" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_notify
static const struct schema_field notify_fields[] = {
	{ "mail_receiver", F(STRING, mail_receiver),
	  .help = "the smtp or maildir receiver that carries e-mail to roles" },
	{ "digest_time", F(STRING, digest_time),
	  .help = "HH:MM local: send digests then, each working day" },
	{ "digest_roles", F(STRINGS, digest_roles), .def = "worker,team_manager", .max = 3,
	  .help = "roles that take a daily digest instead of one message an item" },
	{ "immediate_escalations", F(BOOL, immediate_escalations), .def = "true",
	  .help = "escalations go at once even to digest roles" },
	{ "reminder_interval", F(DURATION, reminder_interval), .def = "5 working days",
	  .help = "remind while still overdue; \"0 days\" for never" },
	{ "met_late", F(BOOL, met_late), .def = "false", .help = "also tell when met late" },
	{ "resolved", F(BOOL, resolved), .def = "false",
	  .help = "also tell when an alerted obligation is met or cancelled" },
	{ "daily_cap", F(INT, daily_cap), .min = 1, .max = 100000, .def = "200",
	  .help = "messages a recipient a local day; the rest wait for the next day" },
	{ "max_items", F(INT, max_items), .min = 1, .max = 100000, .def = "100",
	  .help = "items one message lists, worst first; the rest are counted" },
	{ "quiet_hours", F(STRING, quiet_hours),
	  .help = "HH:MM-HH:MM local: hold messages (except escalations) then" },
	{ "retry_initial", F(INT, retry_initial), .min = 1, .max = 86400, .def = "60",
	  .help = "seconds before the first retry" },
	{ "retry_max", F(INT, retry_max), .min = 1, .max = 86400, .def = "3600",
	  .help = "the longest wait between retries" },
	{ "dead_after", F(DURATION, dead_after), .def = "2 days",
	  .help = "a message still undelivered this long after it was made is a dead letter" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_route
static const struct schema_field route_fields[] = {
	{ "rule", F(STRING, rule), .help = "only this rule" },
	{ "team", F(STRING, team), .help = "only this team_ref" },
	{ "on", F(STRINGS, on), .max = 8,
	  .help = "due-soon, overdue, escalation, reminder, met-late, resolved" },
	{ "notify", F(STRINGS, notify), .required = true, .min = 1, .max = 16,
	  .help = "receiver names or roles" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf_service
static const struct schema_field service_fields[] = {
	{ "poll_interval", F(INT, poll_interval), .min = 1, .max = 86400, .def = "300",
	  .help = "seconds between polls of the case database" },
	{ "log_level", F(STRING, log_level), .def = "info",
	  .help = "err, warning, notice, info or debug" },
	{ "stop_grace", F(INT, stop_grace), .min = 0, .max = 300, .def = "10",
	  .help = "seconds in-flight deliveries may finish in when stopping" },
	{ "reconcile_interval", F(INT, reconcile_interval), .min = 0, .max = 31 * 86400,
	  .def = "86400", .help = "seconds between full evaluations (0: every poll)" },
	{ 0 }
};
#undef type_of_table

/* An address a proxy connects from: IPv4 or IPv6, written as such. */
static void read_addresses(struct schema_ctx *ctx, const config_setting_t *s,
			   const char *path, void *field)
{
	struct schema_strings *out = field;
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		schema_error(ctx, s, path, "expected an array of addresses [ \"127.0.0.1\", \"::1\" ]");
		return;
	}
	out->v = arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *out->v);
	for (int i = 0; out->v && i < n; i++) {
		const char *v = config_setting_get_string_elem(s, i);
		unsigned char buf[16];

		if (!v || (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)) {
			schema_error(ctx, s, path, "element %d: expected an IPv4 or IPv6 address "
				     "such as \"127.0.0.1\" (no names, no ranges)", i + 1);
			return;
		}
		out->v[out->n++] = arena_strdup(ctx->arena, v);
	}
}

/* The case_url template must name {case_ref}, once, and be http(s). */
static void read_case_url(struct schema_ctx *ctx, const config_setting_t *s,
			  const char *path, void *field)
{
	const char *v = schema_is_string(s) ? config_setting_get_string(s) : NULL;
	const char *at = v ? strstr(v, "{case_ref}") : NULL;

	if (!v || !at || strstr(at + 1, "{case_ref}") ||
	    (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)) {
		schema_error(ctx, s, path, "expected an http(s) URL naming {case_ref} once, "
			     "such as \"https://mosaic.council.example/case/{case_ref}\"");
		return;
	}
	*(const char **)field = arena_strdup(ctx->arena, v);
}

#define type_of_table conf_web
static const struct schema_field web_fields[] = {
	{ "identity_header", F(STRING, identity_header), .def = "X-Forwarded-Email",
	  .help = "the header the single sign-on proxy sets to the person's e-mail address" },
	{ "trusted_proxies", F(CUSTOM, trusted_proxies), .custom = read_addresses,
	  .help = "addresses the identity header is accepted from (a Unix socket always is)" },
	{ "admins", F(STRINGS, admins), .max = 100,
	  .help = "e-mail addresses that see every team" },
	{ "max_ack_days", F(INT, max_ack_days), .min = 1, .max = 366, .def = "30",
	  .help = "how far ahead an acknowledgement's until date may be" },
	{ "case_url", F(CUSTOM, case_url), .custom = read_case_url,
	  .help = "link to the case system, naming {case_ref}" },
	{ "base_url", F(STRING, base_url),
	  .help = "where people reach deadlined-web, for links in alerts" },
	{ "link_key_file", F(STRING, link_key_file),
	  .help = "file holding the key that signs links and forms" },
	{ "link_key_credential", F(STRING, link_key_credential),
	  .help = "systemd credential holding that key" },
	{ "link_days", F(INT, link_days), .min = 1, .max = 90, .def = "14",
	  .help = "days a signed link in an alert stays valid" },
	{ "metrics_allow", F(CUSTOM, metrics_allow), .custom = read_addresses,
	  .help = "addresses that may read /metrics and /healthz" },
	{ "max_items", F(INT, max_items), .min = 10, .max = 100000, .def = "5000",
	  .help = "how many of the worst rows the tray's pages reach" },
	{ "page_size", F(INT, page_size), .min = 10, .max = 1000, .def = "50",
	  .help = "rows one tray page shows" },
	{ "threads", F(INT, threads), .min = 0, .max = 64, .def = "0",
	  .help = "server threads, each with its own state connections (0: one per CPU core)" },
	{ 0 }
};
#undef type_of_table

#define type_of_table conf
static const struct schema_field top_fields[] = {
	{ "timezone", F(STRING, timezone), .def = "Europe/London",
	  .help = "the local time of the case database's times and of alerts" },
	{ "source", F(GROUP, source), .members = source_fields },
	{ "state", F(GROUP, state), .members = state_fields },
	{ "ha", F(GROUP, ha), .members = ha_fields },
	{ "calendar", F(GROUP, calendar), .members = calendar_fields },
	{ "defaults", F(GROUP, defaults), .members = defaults_fields },
	{ "rules", F(MAP, rules), .max = 500, .members = rule_fields,
	  .elem_size = sizeof(struct rule), .help = "the rules, usually @included from rules/" },
	{ "event_kinds", F(STRINGS, event_kinds), .max = 500,
	  .help = "event kinds the case database may hold beyond the built-in ones" },
	{ "receivers", F(MAP, receivers), .max = 100, .members = receiver_fields,
	  .elem_size = sizeof(struct receiver_conf), .help = "where alerts go" },
	{ "notify", F(GROUP, notify), .members = notify_fields },
	{ "routes", F(LIST, routes), .max = 200, .members = route_fields,
	  .elem_size = sizeof(struct conf_route), .help = "extra receivers by rule, team, kind" },
	{ "service", F(GROUP, service), .members = service_fields },
	{ "web", F(GROUP, web), .members = web_fields },
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
	struct stat st;

	if (tz[0] == '/' || strstr(tz, "..")) {
		schema_error(ctx, member(root, "timezone"), "timezone",
			     "'%s' is not a time zone name; expected e.g. \"Europe/London\"", tz);
		return;
	}
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	/* A folder such as "Europe" is not a zone either. */
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, R_OK) != 0)
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

/* Built-in kinds (DESIGN.md); rules and event_kinds may add more. */
static const char *const builtin_kinds[] = {
	"referral", "referral_decision", "referral_nfa", "assessment_started",
	"assessment_completed", "initial_assessment_completed", "core_assessment_started",
	"core_assessment_completed", "strategy_discussion", "s47_started", "s47_nfa", "icpc",
	"icpc_not_required", "cp_plan_started", "cp_plan_ended", "cp_review_conference",
	"cla_started", "cla_ended", "placement_started", "cla_review", "cla_visit", "care_plan",
	"health_part_a_sent", "initial_health_assessment", "review_health_assessment", "pep",
	"missing_returned", "return_home_interview", "proceedings_issued",
	"proceedings_concluded", "ehc_request", "ehc_plan_issued", "observation",
	"oral_feedback", "written_feedback", "case_closed", NULL
};

static bool is_kind_word(const char *k)
{
	if (!*k || strlen(k) > 64)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

static void check_kind_list(struct schema_ctx *ctx, const config_setting_t *rs,
			    const char *path, const char *name,
			    const struct schema_strings *list)
{
	char sub[300];

	snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", name);
	for (size_t i = 0; i < list->n; i++)
		if (!is_kind_word(list->v[i]))
			schema_error(ctx, member(rs, name), sub, "'%s' is not an event kind; "
				     "expected a lower-case word such as \"cla_review\"", list->v[i]);
}

static bool in_list(const struct schema_strings *list, const char *s)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->v[i], s) == 0)
			return true;
	return false;
}

static void check_kinds(struct schema_ctx *ctx, const config_setting_t *rs,
			const char *path, const struct rule *r)
{
	char sub[300];

	check_kind_list(ctx, rs, path, "start", &r->start);
	check_kind_list(ctx, rs, path, "met", &r->met);
	check_kind_list(ctx, rs, path, "cancel", &r->cancel);
	snprintf(sub, sizeof sub, "%s.start", path);
	for (size_t i = 0; i < r->start.n; i++)
		if (in_list(&r->met, r->start.v[i]) || in_list(&r->cancel, r->start.v[i]))
			schema_error(ctx, member(rs, "start"), sub, "'%s' both starts and ends "
				     "the clock; an event kind may play one part in a rule",
				     r->start.v[i]);
	snprintf(sub, sizeof sub, "%s.met", path);
	for (size_t i = 0; i < r->met.n; i++)
		if (in_list(&r->cancel, r->met.v[i]))
			schema_error(ctx, member(rs, "met"), sub, "'%s' both meets and cancels "
				     "the clock; an event kind may play one part in a rule",
				     r->met.v[i]);
	snprintf(sub, sizeof sub, "%s.repeat", path);
	if (r->repeat == 1 && r->met.n == 0)
		schema_error(ctx, member(rs, "repeat"), sub, "a repeating rule needs met "
			     "events: the next obligation is anchored on the met date");
}

static bool is_role(const char *s)
{
	for (size_t i = 0; rule_roles[i]; i++)
		if (strcmp(rule_roles[i], s) == 0)
			return true;
	return false;
}

const struct receiver_conf *conf_receiver(const struct conf *conf, const char *name)
{
	const struct receiver_conf *r = conf->receivers.v;

	for (size_t i = 0; i < conf->receivers.n; i++)
		if (strcmp(r[i].name, name) == 0)
			return &r[i];
	return NULL;
}

/* The conf being resolved, for checks deep in the tables' walk. */
static const struct conf *resolving;

static void check_notify(struct schema_ctx *ctx, const config_setting_t *s,
			 const char *path, const struct schema_strings *list)
{
	for (size_t i = 0; i < list->n; i++)
		if (!is_role(list->v[i]) && !conf_receiver(resolving, list->v[i]))
			schema_error(ctx, s, path, "unknown role or receiver '%s'; expected worker, "
				     "team_manager, service_manager or a name from receivers",
				     list->v[i]);
}

static void check_stages(struct schema_ctx *ctx, const config_setting_t *s,
			 const char *path, const struct schema_list *stages)
{
	const struct rule_stage *st = stages->v;
	char sub[300];

	for (size_t i = 0; i < stages->n; i++) {
		snprintf(sub, sizeof sub, "%s[%zu].notify", path, i + 1);
		check_notify(ctx, s ? config_setting_get_elem(s, (unsigned)i) : NULL, sub,
			     &st[i].notify);
	}
}

static int cmp_versions(const void *a, const void *b)
{
	const struct rule_version *x = a, *y = b;

	if (x->effective_from == y->effective_from)
		return 0;
	if (x->effective_from == DATE_NONE)
		return -1;
	if (y->effective_from == DATE_NONE)
		return 1;
	return x->effective_from < y->effective_from ? -1 : 1;
}

static void range_text(const struct rule_version *v, char *buf, size_t size)
{
	char a[DATE_BUF] = "(any)", b[DATE_BUF] = "(any)";

	if (v->effective_from != DATE_NONE)
		date_format(v->effective_from, a);
	if (v->effective_until != DATE_NONE)
		date_format(v->effective_until, b);
	snprintf(buf, size, "%s..%s", a, b);
}

/* The rule's own due sequence and its versions, sorted, none overlapping. */
static void build_versions(struct schema_ctx *ctx, const config_setting_t *rs,
			   const char *path, struct rule *r)
{
	const struct rule_version *more = r->versions.v;
	char x[32], y[32];

	r->nall = 1 + r->versions.n;
	r->all = arena_alloc(ctx->arena, r->nall * sizeof *r->all);
	if (!r->all)
		return;
	r->all[0] = (struct rule_version){ r->effective_from, r->effective_until, r->due,
					   r->count_start_day, r->line };
	for (size_t i = 0; i < r->versions.n; i++) {
		r->all[i + 1] = more[i];
		r->all[i + 1].line = (int)config_setting_source_line(
			config_setting_get_elem(member(rs, "versions"), (unsigned)i));
	}
	for (size_t i = 0; i < r->nall; i++)
		if (r->all[i].effective_from != DATE_NONE && r->all[i].effective_until != DATE_NONE &&
		    r->all[i].effective_from > r->all[i].effective_until) {
			range_text(&r->all[i], x, sizeof x);
			schema_error(ctx, rs, path, "version at line %d: effective_from is after "
				     "effective_until (%s)", r->all[i].line, x);
		}
	qsort(r->all, r->nall, sizeof *r->all, cmp_versions);
	for (size_t i = 1; i < r->nall; i++) {
		const struct rule_version *a = &r->all[i - 1], *b = &r->all[i];

		if (a->effective_until == DATE_NONE || b->effective_from == DATE_NONE ||
		    a->effective_until >= b->effective_from) {
			range_text(a, x, sizeof x);
			range_text(b, y, sizeof y);
			schema_error(ctx, rs, path, "overlapping rule versions: %s (line %d) and %s "
				     "(line %d); give each an effective_from/effective_until that "
				     "does not overlap", x, a->line, y, b->line);
		}
	}
}

static void inherit(const struct conf *conf, struct rule *r)
{
	const struct conf_defaults *d = &conf->defaults;

	if (!r->due_soon.set)
		r->due_soon = d->due_soon;
	if (!r->notify_due_soon.v)
		r->notify_due_soon = d->notify_due_soon;
	if (!r->notify_overdue.v)
		r->notify_overdue = d->notify_overdue;
	if (!r->escalation.v)
		r->escalation = d->escalation;
	if (r->count_start_day < 0)
		r->count_start_day = conf->calendar.count_start_day;
}

/* The default escalation is a list of groups, which a table default cannot
 * spell; it is built here, once, from the same text a file would hold. */
static void default_escalation(struct schema_ctx *ctx, struct conf_defaults *d)
{
	struct rule_stage *st;
	struct dl_error err;

	if (d->escalation.v)
		return;
	st = arena_alloc(ctx->arena, sizeof *st);
	if (!st)
		return;
	st->after.set = duration_parse("5 working days", &st->after.d, &err) == 0;
	st->notify.v = arena_alloc(ctx->arena, sizeof *st->notify.v);
	if (st->notify.v) {
		st->notify.v[0] = "service_manager";
		st->notify.n = 1;
	}
	d->escalation.v = st;
	d->escalation.n = 1;
}

const char *const conf_route_kinds[] = {
	"due-soon", "overdue", "escalation", "reminder", "met-late", "resolved", NULL
};

/* Which settings each receiver type takes, beyond type and timeouts. */
static const struct {
	const char *type;
	enum receiver_type kind;
	const char *takes;           /* space-separated setting names */
	const char *needs;
} receiver_types[] = {
	{ "smtp", RECEIVER_SMTP, " url from to username password_file password_credential ca_file ",
	  " url from " },
	{ "webhook", RECEIVER_WEBHOOK, " url url_file url_credential ca_file format secret_file "
	  "secret_credential max_connections ", " " },
	{ "maildir", RECEIVER_MAILDIR, " from to path ", " path from " },
};

static bool word_in(const char *words, const char *w)
{
	char key[80];

	snprintf(key, sizeof key, " %s ", w);
	return strstr(words, key) != NULL;
}

static bool prefix(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

/* "HH:MM" to minutes after midnight, or -1. */
static int parse_hhmm(const char *t)
{
	if (!t || strlen(t) != 5 || t[2] != ':' || t[0] < '0' || t[0] > '2' || t[1] < '0' ||
	    t[1] > '9' || t[3] < '0' || t[3] > '5' || t[4] < '0' || t[4] > '9')
		return -1;
	int h = (t[0] - '0') * 10 + (t[1] - '0');

	return h > 23 ? -1 : h * 60 + (t[3] - '0') * 10 + (t[4] - '0');
}

static void check_receiver_settings(struct schema_ctx *ctx, const config_setting_t *rs,
				    const char *path, size_t type)
{
	static const char *const common[] = { "type", "connect_timeout", "timeout", NULL };
	char words[256];

	for (unsigned i = 0; rs && i < (unsigned)config_setting_length(rs); i++) {
		const char *name = config_setting_name(config_setting_get_elem(rs, i));
		bool ok = word_in(receiver_types[type].takes, name);

		for (size_t c = 0; common[c]; c++)
			ok |= strcmp(common[c], name) == 0;
		if (!ok)
			schema_error(ctx, config_setting_get_elem(rs, i), path, "'%s' does not apply "
				     "to a %s receiver; it takes:%s", name, receiver_types[type].type,
				     receiver_types[type].takes);
	}
	snprintf(words, sizeof words, "%s", receiver_types[type].needs);
	for (char *save = NULL, *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!member(rs, w))
			schema_error(ctx, rs, path, "a %s receiver needs '%s'",
				     receiver_types[type].type, w);
}

static void check_receiver(struct schema_ctx *ctx, const config_setting_t *rs,
			   const char *path, struct receiver_conf *r)
{
	static const char *const formats[] = { "generic", "teams", "slack" };
	size_t t = 0;

	while (t < 3 && strcmp(receiver_types[t].type, r->type) != 0)
		t++;
	if (t == 3) {
		schema_error(ctx, member(rs, "type"), path, "unknown receiver type '%s'; "
			     "expected smtp, webhook or maildir", r->type);
		return;
	}
	r->kind = receiver_types[t].kind;
	check_receiver_settings(ctx, rs, path, t);
	if (r->kind == RECEIVER_SMTP && r->url && !prefix(r->url, "smtp://") &&
	    !prefix(r->url, "smtps://"))
		schema_error(ctx, member(rs, "url"), path, "'%s': expected smtp://HOST[:PORT] "
			     "(STARTTLS required) or smtps://HOST[:PORT]", r->url);
	if (r->kind == RECEIVER_WEBHOOK && r->url && !prefix(r->url, "https://"))
		schema_error(ctx, member(rs, "url"), path, "'%s': expected an https:// URL "
			     "(TLS is always verified)", r->url);
	if (r->username && !r->password_file == !r->password_credential)
		schema_error(ctx, member(rs, "username"), path, "with a username, give exactly "
			     "one of password_file or password_credential");
	if (r->kind == RECEIVER_WEBHOOK && (!!r->url + !!r->url_file + !!r->url_credential) != 1)
		schema_error(ctx, rs, path, "a webhook receiver needs exactly one of url, url_file "
			     "or url_credential");
	if (r->secret_file && r->secret_credential)
		schema_error(ctx, member(rs, "secret_file"), path, "give one of secret_file or "
			     "secret_credential, not both");
	for (size_t f = 0; f < 3; f++)
		if (strcmp(r->format, formats[f]) == 0)
			r->wformat = (enum webhook_format)f;
	if (strcmp(r->format, formats[r->wformat]) != 0)
		schema_error(ctx, member(rs, "format"), path, "unknown format '%s'; expected "
			     "generic, teams or slack", r->format);
}

/* What the PostgreSQL store needs; the lease's timings fit. */
static void check_state(struct schema_ctx *ctx, const config_setting_t *root,
			struct conf *conf)
{
	const config_setting_t *ss = member(root, "state"), *hs = member(root, "ha");
	const struct state_conf *st = &conf->state;
	const struct conf_ha *ha = &conf->ha;
	struct dl_error err;

	/* check_drivers has said whether the driver is known. */
	if (strcmp(st->driver, "postgresql"))
		return;
	if (!st->conninfo)
		schema_error(ctx, ss, "state.conninfo", "state.driver \"postgresql\" needs "
			     "conninfo (such as \"host=db.example port=5432 dbname=deadlined "
			     "user=deadlined\")");
	else if (pgconn_check(st->conninfo, &err) < 0)
		schema_error(ctx, member(ss, "conninfo"), "state.conninfo", "%s", err.msg);
	if (st->password_file && st->password_credential)
		schema_error(ctx, member(ss, "password_credential"), "state.password_credential",
			     "give one of password_file or password_credential");
	if (ha->renew + ha->margin >= ha->lease || ha->renew <= 0)
		schema_error(ctx, hs, "ha", "renew (%g s) must be above 0 and renew + margin "
			     "(%g s) below the lease (%g s)", ha->renew, ha->margin, ha->lease);
}

static void check_notify_settings(struct schema_ctx *ctx, const config_setting_t *root,
				  struct conf *conf)
{
	const config_setting_t *ns = member(root, "notify");
	struct conf_notify *n = &conf->notify;
	const struct receiver_conf *mail;
	const char *dash;

	if (n->mail_receiver) {
		mail = conf_receiver(conf, n->mail_receiver);
		if (!mail || mail->kind == RECEIVER_WEBHOOK)
			schema_error(ctx, member(ns, "mail_receiver"), "notify.mail_receiver",
				     "'%s' is not an smtp or maildir receiver in receivers",
				     n->mail_receiver);
	}
	n->digest_minute = n->digest_time ? parse_hhmm(n->digest_time) : -1;
	if (n->digest_time && n->digest_minute < 0)
		schema_error(ctx, member(ns, "digest_time"), "notify.digest_time",
			     "'%s' is not a time; expected HH:MM, e.g. \"08:30\"", n->digest_time);
	n->quiet_from = n->quiet_until = -1;
	if (n->quiet_hours) {
		dash = strchr(n->quiet_hours, '-');
		char from[8] = "";

		snprintf(from, sizeof from, "%.*s", dash ? (int)(dash - n->quiet_hours) : 0,
			 n->quiet_hours);
		n->quiet_from = parse_hhmm(from);
		n->quiet_until = dash ? parse_hhmm(dash + 1) : -1;
		if (n->quiet_from < 0 || n->quiet_until < 0 || n->quiet_from == n->quiet_until)
			schema_error(ctx, member(ns, "quiet_hours"), "notify.quiet_hours",
				     "'%s' is not a span; expected HH:MM-HH:MM, e.g. \"19:00-07:00\"",
				     n->quiet_hours);
	}
	for (size_t i = 0; i < n->digest_roles.n; i++)
		if (!is_role(n->digest_roles.v[i]))
			schema_error(ctx, member(ns, "digest_roles"), "notify.digest_roles",
				     "unknown role '%s'; expected worker, team_manager or "
				     "service_manager", n->digest_roles.v[i]);
	if (n->retry_max < n->retry_initial)
		schema_error(ctx, member(ns, "retry_max"), "notify.retry_max",
			     "%ld is less than retry_initial (%ld)", n->retry_max, n->retry_initial);
}

static void check_routes(struct schema_ctx *ctx, const config_setting_t *root,
			 struct conf *conf)
{
	const config_setting_t *rl = member(root, "routes");
	const struct conf_route *rt = conf->routes.v;
	char path[64];

	for (size_t i = 0; i < conf->routes.n; i++) {
		const config_setting_t *e = rl ? config_setting_get_elem(rl, (unsigned)i) : NULL;

		snprintf(path, sizeof path, "routes[%zu]", i + 1);
		if (rt[i].rule && !conf_rule(conf, rt[i].rule))
			schema_error(ctx, member(e, "rule"), path, "no rule '%s' in rules",
				     rt[i].rule);
		for (size_t k = 0; k < rt[i].on.n; k++) {
			size_t j = 0;

			while (conf_route_kinds[j] && strcmp(conf_route_kinds[j], rt[i].on.v[k]))
				j++;
			if (!conf_route_kinds[j])
				schema_error(ctx, member(e, "on"), path, "unknown alert kind '%s'; "
					     "expected due-soon, overdue, escalation, reminder, "
					     "met-late or resolved", rt[i].on.v[k]);
		}
		check_notify(ctx, member(e, "notify"), path, &rt[i].notify);
	}
}

static void resolve_delivery(struct schema_ctx *ctx, const config_setting_t *root,
			     struct conf *conf)
{
	const config_setting_t *rl = member(root, "receivers");
	struct receiver_conf *r = conf->receivers.v;
	char path[300];

	for (size_t i = 0; i < conf->receivers.n; i++) {
		snprintf(path, sizeof path, "receivers.%s", r[i].name);
		check_receiver(ctx, member(rl, r[i].name), path, &r[i]);
	}
	check_notify_settings(ctx, root, conf);
	check_routes(ctx, root, conf);
	conf->service.log_priority = log_parse_level(conf->service.log_level);
	if (conf->service.log_priority < LOG_ERR)
		schema_error(ctx, member(member(root, "service"), "log_level"), "service.log_level",
			     "unknown level '%s'; expected err, warning, notice, info or debug",
			     conf->service.log_level);
}

/* A target group needs its value; better is one of two words. */
static void check_target(struct schema_ctx *ctx, const config_setting_t *rs, const char *id,
			 const struct rule_target *t)
{
	const config_setting_t *ts = member(rs, "target");
	char path[300];

	if (!ts)
		return;
	snprintf(path, sizeof path, "rules.%s.target", id);
	if (isnan(t->value))
		schema_error(ctx, ts, path, "a target needs value, the target percentage "
			     "(e.g. value = 85.0;)");
	if (strcmp(t->better, "higher") != 0 && strcmp(t->better, "lower") != 0)
		schema_error(ctx, member(ts, "better"), path, "better = \"%s\": expected "
			     "\"higher\" or \"lower\"", t->better);
}

static void resolve_rules(struct schema_ctx *ctx, const config_setting_t *root,
			  struct conf *conf)
{
	const config_setting_t *rules = member(root, "rules");
	const config_setting_t *defs = member(root, "defaults");
	struct rule *r = conf->rules.v;
	char path[300];

	default_escalation(ctx, &conf->defaults);
	check_notify(ctx, member(defs, "notify_due_soon"), "defaults.notify_due_soon",
		     &conf->defaults.notify_due_soon);
	check_notify(ctx, member(defs, "notify_overdue"), "defaults.notify_overdue",
		     &conf->defaults.notify_overdue);
	check_stages(ctx, member(defs, "escalation"), "defaults.escalation",
		     &conf->defaults.escalation);
	check_kind_list(ctx, root, "", "event_kinds", &conf->event_kinds);
	for (size_t i = 0; i < conf->rules.n; i++) {
		const config_setting_t *rs = member(rules, r[i].id);

		snprintf(path, sizeof path, "rules.%s", r[i].id);
		r[i].file = rs && config_setting_source_file(rs) ?
			arena_strdup(ctx->arena, config_setting_source_file(rs)) : conf->path;
		r[i].line = rs ? (int)config_setting_source_line(rs) : 0;
		check_kinds(ctx, rs, path, &r[i]);
		snprintf(path, sizeof path, "rules.%s.notify_due_soon", r[i].id);
		check_notify(ctx, member(rs, "notify_due_soon"), path, &r[i].notify_due_soon);
		snprintf(path, sizeof path, "rules.%s.notify_overdue", r[i].id);
		check_notify(ctx, member(rs, "notify_overdue"), path, &r[i].notify_overdue);
		snprintf(path, sizeof path, "rules.%s.escalation", r[i].id);
		check_stages(ctx, member(rs, "escalation"), path, &r[i].escalation);
		snprintf(path, sizeof path, "rules.%s", r[i].id);
		build_versions(ctx, rs, path, &r[i]);
		check_target(ctx, rs, r[i].id, &r[i].target);
		inherit(conf, &r[i]);
	}
}

const struct rule *conf_rule(const struct conf *conf, const char *id)
{
	const struct rule *r = conf->rules.v;

	for (size_t i = 0; i < conf->rules.n; i++)
		if (strcmp(r[i].id, id) == 0)
			return &r[i];
	return NULL;
}

/* Every known kind, hashed: evaluation asks once an event, so a linear
 * walk of the lists was a quarter of its time.  A kind's id is its number
 * in the set. */
static int add_kinds(struct strset *k, const struct schema_strings *list)
{
	for (size_t i = 0; i < list->n; i++)
		if (!strset_add(k, list->v[i], NULL))
			return -1;
	return 0;
}

static int build_kinds(struct conf *conf, struct dl_errors *errors)
{
	struct rule *r = conf->rules.v;
	struct strset *k = strset_new(false);
	int rc = 0;

	if (!k)
		goto oom;
	conf->kinds = k;
	for (size_t i = 0; rc == 0 && builtin_kinds[i]; i++)
		rc = strset_add(k, builtin_kinds[i], NULL) ? 0 : -1;
	if (rc == 0)
		rc = add_kinds(k, &conf->event_kinds);
	for (size_t i = 0; rc == 0 && i < conf->rules.n; i++)
		if (add_kinds(k, &r[i].start) < 0 || add_kinds(k, &r[i].met) < 0 ||
		    add_kinds(k, &r[i].cancel) < 0)
			rc = -1;
	if (rc < 0)
		goto oom;
	/* Each rule's phase by kind number, as rules.c's classify decides it:
	 * start before met before cancel. */
	for (size_t i = 0; i < conf->rules.n; i++) {
		size_t n = strset_count(k);
		unsigned char *ph = arena_alloc(conf->arena, n + 1);

		if (!ph)
			goto oom;
		memset(ph, 0, n + 1);
		for (int id = 1; (size_t)id <= n; id++) {
			const char *kind = strset_get(k, id);

			ph[id] = rules_uses_kind(&r[i], kind) ?
				(unsigned char)(in_list(&r[i].start, kind) ? 1 :
						in_list(&r[i].met, kind) ? 2 : 3) : 0;
		}
		r[i].phase_by_kind = ph;
	}
	return 0;
oom:
	errors_add(errors, "out of memory reading the configuration");
	return -1;
}

int conf_kind_id(const struct conf *conf, const char *kind)
{
	return conf->kinds ? strset_find(conf->kinds, kind) : 0;
}

bool conf_knows_kind(const struct conf *conf, const char *kind)
{
	return conf_kind_id(conf, kind) > 0;
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

/* Every file is checked before libconfig opens any (see conf_files.c for
 * why, and why not a child process). */
static int read_file(config_t *cfg, const char *path, struct dl_errors *errors)
{
	char dir[4096];

	/* @include paths are relative to the main file's folder. */
	snprintf(dir, sizeof dir, "%s", path);
	if (conf_files_check(path, dirname(dir), errors) < 0)
		return -1;
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

static void check_web(struct schema_ctx *ctx, const config_setting_t *root,
		      const struct conf_web *w)
{
	const config_setting_t *ws = root ? member(root, "web") : NULL;

	if (w->link_key_file && w->link_key_credential)
		schema_error(ctx, ws ? member(ws, "link_key_file") : NULL, "web",
			     "give one of link_key_file or link_key_credential, not both");
	if (w->identity_header && (!*w->identity_header ||
	    strspn(w->identity_header, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789-_") != strlen(w->identity_header)))
		schema_error(ctx, ws ? member(ws, "identity_header") : NULL, "web.identity_header",
			     "expected a header name (letters, digits, - and _)");
}

/* Does an ODBC connection string carry a password (PWD=, Password=)? */
static bool names_password(const char *conn)
{
	for (const char *p = conn; p; p = strchr(p, ';'), p = p ? p + 1 : NULL) {
		p += strspn(p, " \t");
		if (strncasecmp(p, "pwd", 3) == 0 && p[3 + strspn(p + 3, " ")] == '=')
			return true;
		if (strncasecmp(p, "password", 8) == 0 && p[8 + strspn(p + 8, " ")] == '=')
			return true;
	}
	return false;
}

/* An ODBC source names its data one way, and its password never here. */
static void check_odbc(struct schema_ctx *ctx, const config_setting_t *root,
		       const struct source_conf *sc)
{
	const config_setting_t *s = member(root, "source");

	if (!sc->dsn == !sc->connection)
		schema_error(ctx, s, "source", "driver \"odbc\" needs one of dsn (a data source "
			     "of odbc.ini) or connection (a connection string)%s",
			     sc->dsn ? ", not both" : "");
	if (sc->connection && names_password(sc->connection))
		schema_error(ctx, member(s, "connection"), "source.connection", "holds a "
			     "password; put it in a file named by source.credentials (or a "
			     "systemd credential) instead");
}

/* Backends are named by their modules, which know which exist. */
static void check_drivers(struct schema_ctx *ctx, const config_setting_t *root,
			  const struct conf *conf)
{
	if (!source_driver_known(conf->source.driver))
		schema_error(ctx, member(member(root, "source"), "driver"), "source.driver",
			     "unknown backend '%s'; expected %s", conf->source.driver,
			     source_driver_names());
	else if (strcmp(conf->source.driver, "odbc") == 0)
		check_odbc(ctx, root, &conf->source);
	if (!state_driver_known(conf->state.driver))
		schema_error(ctx, member(member(root, "state"), "driver"), "state.driver",
			     "unknown backend '%s'; expected %s", conf->state.driver,
			     state_driver_names());
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
		check_drivers(&ctx, root, conf);
		resolving = conf;
		resolve_rules(&ctx, root, conf);
		resolve_delivery(&ctx, root, conf);
		check_state(&ctx, root, conf);
		check_web(&ctx, root, &conf->web);
		resolving = NULL;
	}
	if (errors->n != before || errors->oom || build_calendar(conf, errors) < 0 ||
	    build_kinds(conf, errors) < 0)
		goto fail;
	config_destroy(&cfg);
	*out = conf;
	return 0;
fail:
	config_destroy(&cfg);
	if (conf)
		strset_free(conf->kinds);
	arena_free(arena);
	return -1;
}

void conf_free(struct conf *conf)
{
	if (!conf)
		return;
	calendar_free(conf->cal);
	strset_free(conf->kinds);
	arena_free(conf->arena);
}

/* Warnings: a configuration that loads but would not do what it seems to. */

/* A notify list naming a role when no mail receiver carries e-mail, or an
 * e-mail receiver with no fixed `to` (its messages would have no one). */
static void warn_list(const struct conf *conf, const struct schema_strings *names,
		      const char *where, struct dl_errors *out, bool *told_roles)
{
	for (size_t i = 0; i < names->n; i++) {
		const struct receiver_conf *r = conf_receiver(conf, names->v[i]);

		if (!r && !conf->notify.mail_receiver && !*told_roles) {
			errors_add(out, "%s names the role '%s', but notify.mail_receiver is not "
				   "set: alerts for roles go nowhere", where, names->v[i]);
			*told_roles = true;
		} else if (r && r->kind != RECEIVER_WEBHOOK && r->to.n == 0) {
			errors_add(out, "%s names receiver '%s', which has no 'to': its "
				   "messages would have no recipient", where, r->name);
		}
	}
}

size_t conf_warnings(const struct conf *conf, struct dl_errors *out)
{
	const struct rule *rules = conf->rules.v;
	const struct conf_route *routes = conf->routes.v;
	const struct receiver_conf *rc = conf->receivers.v;
	bool told_roles = false;
	char where[160];
	size_t before = out->n;

	for (size_t i = 0; i < conf->rules.n; i++) {
		const struct rule_stage *st = rules[i].escalation.v;

		snprintf(where, sizeof where, "rules.%s", rules[i].id);
		warn_list(conf, &rules[i].notify_due_soon, where, out, &told_roles);
		warn_list(conf, &rules[i].notify_overdue, where, out, &told_roles);
		for (size_t s = 0; s < rules[i].escalation.n; s++)
			warn_list(conf, &st[s].notify, where, out, &told_roles);
	}
	for (size_t i = 0; i < conf->routes.n; i++) {
		snprintf(where, sizeof where, "routes[%zu]", i);
		warn_list(conf, &routes[i].notify, where, out, &told_roles);
	}
	for (size_t i = 0; i < conf->receivers.n; i++)
		if (rc[i].kind == RECEIVER_WEBHOOK && rc[i].url && rc[i].wformat != WEBHOOK_GENERIC)
			errors_add(out, "receivers.%s: a %s URL carries its own key; give it with "
				   "url_credential or url_file rather than url in %s", rc[i].name,
				   rc[i].format, conf->path ? conf->path : "the configuration");
	return out->n - before;
}

const struct schema_field *conf_schema(void)
{
	return top_fields;
}
