/* conf.h — the validated, immutable configuration.
 *
 * conf_load reads /etc/deadlined/deadlined.conf (or another file) with
 * libconfig, checks every setting against the tables in conf.c, and either
 * returns a complete struct conf or the list of every problem found, each
 * naming the file, the line and the setting.  A reload builds a new conf
 * and swaps it in only when it is good.
 */
#ifndef DEADLINED_CONF_H
#define DEADLINED_CONF_H

#include <stdbool.h>

#include "deadlined/arena.h"
#include "deadlined/calendar.h"
#include "deadlined/error.h"
#include "deadlined/receiver.h"
#include "deadlined/rules.h"
#include "deadlined/schema_values.h"
#include "deadlined/source.h"
#include "deadlined/state.h"

#define CONF_DEFAULT_PATH SYSCONFDIR "/deadlined/deadlined.conf"

struct conf_holiday {
	dl_day date;
	const char *name;
};

struct conf_days {
	dl_day *v;
	size_t n;
};

struct conf_years {
	int *v;
	size_t n;
};

struct conf_calendar {
	const char *division;
	struct schema_list extra_holidays;       /* struct conf_holiday */
	struct conf_days closure_days;
	struct conf_years confirmed_years;
	int count_start_day;
};

/* Leadership of a pair (lease.h); used when state.driver is postgresql. */
struct conf_ha {
	const char *name;                /* the lease row a pair shares */
	double lease, renew, margin;     /* seconds */
};

/* What a rule inherits when it does not say (STATUTORY-RULES.md's default
 * routing: due-soon 2 working days before to the worker; overdue to worker
 * and team manager; 5 working days overdue to the service manager). */
struct conf_defaults {
	struct schema_duration due_soon;
	struct schema_strings notify_due_soon, notify_overdue;
	struct schema_list escalation;   /* struct rule_stage */
};

/* How alerts are sent: who gets digests, reminders, floods guards, retries. */
struct conf_notify {
	const char *mail_receiver;       /* carries e-mail to roles; NULL: none */
	const char *digest_time;         /* "HH:MM" local, or NULL: no digests */
	int digest_minute;               /* resolved from digest_time */
	struct schema_strings digest_roles;
	int immediate_escalations;
	struct schema_duration reminder_interval;   /* 0: no reminders */
	int met_late, resolved;          /* also tell of these */
	long daily_cap;                  /* messages a recipient a local day */
	long max_items;                  /* items one message lists */
	const char *quiet_hours;         /* "HH:MM-HH:MM" local, or NULL */
	int quiet_from, quiet_until;     /* minutes; resolved; -1 when none */
	long retry_initial, retry_max;   /* seconds */
	struct schema_duration dead_after;
};

/* The long-running service. */
struct conf_service {
	long poll_interval;              /* seconds between polls */
	const char *log_level;           /* err, warning, notice, info, debug */
	int log_priority;                /* resolved */
	long stop_grace;                 /* seconds in-flight deliveries get at stop */
	long reconcile_interval;         /* seconds between full evaluations */
};

/* deadlined-web: who it trusts, what it allows (see deadlined-web(8)). */
struct conf_web {
	const char *identity_header;     /* set by the single sign-on proxy */
	struct schema_strings trusted_proxies;   /* addresses allowed to set it */
	struct schema_strings admins;    /* e-mail addresses that see everything */
	long max_ack_days;               /* how far ahead an ack may run */
	const char *case_url;            /* "...{case_ref}...", or NULL */
	const char *base_url;            /* where people reach the web, or NULL */
	const char *link_key_file;       /* HMAC key for signed links and CSRF */
	const char *link_key_credential;
	long link_days;                  /* signed links expire after this */
	struct schema_strings metrics_allow;     /* may read /metrics and /healthz */
	long max_items;                  /* how deep the tray pages go */
	long page_size;                  /* rows one tray page shows */
	long threads;                    /* server threads (0: one per core), each with
					  * its own state connections */
};

/* Extra receivers for matching alerts: by rule, team and what happened. */
struct conf_route {
	const char *rule, *team;         /* NULL: any */
	struct schema_strings on;        /* alert kinds; empty: all */
	struct schema_strings notify;    /* receiver names or roles */
};

struct conf {
	struct arena *arena;
	const char *path;            /* NULL for the built-in defaults */
	const char *timezone;
	struct source_conf source;
	struct state_conf state;
	struct conf_ha ha;
	struct conf_calendar calendar;
	struct conf_defaults defaults;
	struct schema_list rules;    /* struct rule, in file order */
	struct schema_strings event_kinds;  /* kinds beyond the built-in ones */
	struct schema_list receivers;      /* struct receiver_conf */
	struct conf_notify notify;
	struct schema_list routes;         /* struct conf_route */
	struct conf_service service;
	struct conf_web web;
	struct calendar *cal;        /* built from .calendar */
	struct strset *kinds;        /* every known event kind, hashed */
};

/* The settings tables (schema.h), top level first: every setting a file
 * may hold, for tools and for the test that keeps deadlined.conf(5) true
 * to them. */
struct schema_field;
const struct schema_field *conf_schema(void);

/* The receiver with this name, or NULL. */
const struct receiver_conf *conf_receiver(const struct conf *conf, const char *name);

/* The alert kinds a route's `on` may name, NULL-terminated. */
extern const char *const conf_route_kinds[];

/* The rule with this id, or NULL. */
const struct rule *conf_rule(const struct conf *conf, const char *id);

/* Is kind an event kind this configuration knows (built in, named by a
 * rule, or listed in event_kinds)? */
bool conf_knows_kind(const struct conf *conf, const char *kind);
/* The kind's number, 1 ... (rules_event.kind_id, rule.phase_by_kind), or 0
 * when it is not known: one hash lookup. */
int conf_kind_id(const struct conf *conf, const char *kind);

/* The file deadlinectl and deadlined read when not given -c: the
 * DEADLINED_CONFIG environment variable, else CONF_DEFAULT_PATH. */
const char *conf_default_path(void);

/* Add to out what in a valid conf would not do what it seems to (roles
 * with no mail receiver, e-mail receivers without `to`, a Teams or Slack URL
 * in the main file); returns how many.  deadlined -n prints them, and the
 * daemon logs them at start and reload. */
size_t conf_warnings(const struct conf *conf, struct dl_errors *out);

/* Load and validate path (NULL: the built-in defaults alone).  On failure
 * returns -1 with every problem in errors; *out is then NULL. */
int conf_load(const char *path, struct conf **out, struct dl_errors *errors);
void conf_free(struct conf *conf);

#endif
