/* render.h — the words of an alert: subject, plain text, HTML, and the
 * generic JSON document that webhooks carry.
 *
 * Written for a busy manager reading on a phone: the subject says what and
 * how bad ("3 overdue, 2 due soon — Duty and Assessment Team"), the body
 * lists the worst first.  Alerts carry case and child *references*, never a
 * child's name (the case-database contract holds none).  Every string from
 * the case database is treated as data: escaped in HTML and JSON, and
 * stripped of control characters (CR, LF, ...) in the subject, so nothing
 * from a case can inject a header.
 */
#ifndef DEADLINED_RENDER_H
#define DEADLINED_RENDER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "deadlined/date.h"
#include "deadlined/error.h"

enum alert_kind {
	ALERT_DUE_SOON,
	ALERT_OVERDUE,
	ALERT_ESCALATION,    /* an escalation stage passed */
	ALERT_REMINDER,      /* still overdue */
	ALERT_MET_LATE,
	ALERT_RESOLVED,      /* met or cancelled after an alert */
	ALERT_DIGEST,        /* one recipient's overdue and due-soon items */
	ALERT_TEST,          /* deadlinectl test-notify */
};

/* One obligation as an alert shows it. Any string may be NULL. */
struct alert_item {
	const char *case_ref, *child_ref;
	const char *rule_id, *rule_title;
	const char *team_ref, *team_name;
	const char *worker_ref, *worker_name;
	const char *state;               /* "overdue", "due-soon", "late", ... */
	int seq, stage, days_overdue;    /* days in working days */
	char anchor[DATE_MOMENT_BUF], due[DATE_MOMENT_BUF];
	char closed[DATE_MOMENT_BUF];    /* met/cancelled, or "" */
	bool acked;                      /* digests: acknowledged, reminders silenced */
	/* Links (NULL: none): the case in the case system (web.case_url), and
	 * signed links for this recipient to the case in the tray and to the
	 * acknowledge form (link.h). */
	const char *case_url, *open_url, *ack_url;
};

struct alert {
	enum alert_kind kind;
	const char *audience;            /* who it is for, e.g. the team name */
	const char *msg_id;              /* stable id, also in the JSON */
	int64_t created;                 /* unix seconds */
	const struct alert_item *items;  /* digests: any order; render sorts
					    by rule, worst first */
	size_t n;
	const char *summary_line;        /* optional extra line (test messages) */
	char *const *month_lines;        /* digests to a team's manager: each rule's
					    timeliness this month so far */
	size_t nmonth_lines;
	size_t max_items;                /* list at most this many (the worst);
					    0: all.  Counts cover every item. */
	const char *tray_url;            /* deadlined-web's tray, or NULL */
};

struct rendered {
	char *subject;                   /* one line, no control characters */
	char *text;                      /* plain text, CRLF-free (LF) */
	char *html;                      /* a complete small HTML document */
	char *payload;                   /* generic JSON, schema "deadlined.alert/v1" */
};

int render_alert(const struct alert *a, struct rendered *out, struct dl_error *err);
void render_free(struct rendered *r);

/* A team manager's digest: one line a rule of the report r (report.h)
 * with anything met, "Initial assessments: 18 of 21 on time (85.7%),
 * target 85", prefixed "prefix: " unless prefix is NULL, appended to the
 * malloc'd array *lines of *n malloc'd strings (free with
 * render_lines_free).  -1 when memory runs out. */
struct report;
int render_month_lines(const struct report *r, const char *prefix, char ***lines, size_t *n);
void render_lines_free(char **lines, size_t n);

/* "overdue", "due-soon", ... as in the JSON "type" field. */
const char *render_kind_name(enum alert_kind kind);

#endif
