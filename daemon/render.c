/* render.c — the words of an alert: subject, plain text, HTML and JSON.
 *
 * Every string in an alert came from the case database or the configuration
 * and is data.  In the subject and both bodies it is cut to one line, so a
 * team name holding "\r\nBcc: x" can neither add a mail header nor fake a
 * line of the message; in HTML it is escaped as well; in JSON jansson
 * escapes it.  Invalid UTF-8 becomes U+FFFD everywhere: mail headers and
 * JSON both need valid text, and a stray byte must not sink a message.
 */
#include "deadlined/render.h"
#include "deadlined/report.h"
#include "deadlined/text.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RENDER_SCHEMA "deadlined.alert/v1"
#define SUBJECT_MAX 150      /* bytes, so a header stays short however encoded */
#define TEXT_WIDTH 78        /* columns of the plain-text body */
#define REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD, for bytes that are not UTF-8 */

static const char ORDER_NOTE[] = "Worst first, grouped by rule.";
static const char TEST_NOTE[] =
	"This is a test. If you can read it, deadlined can reach you this way.";
static const char ACK_NOTE[] = "To acknowledge an item:";
/* A template, never filled in: a command built from case data would invite
 * pasting whatever a case reference holds into a shell. */
static const char ACK_COMMAND[] =
	"deadlinectl ack CASE_REF RULE --until DATE --reason TEXT";

/* ---- a growing string -------------------------------------------------- */

/* Appends after a failed allocation do nothing and buf_take reports the
 * failure once, so the many small appends need no checks of their own. */
struct buf {
	char *s;
	size_t len, cap;
	bool oom;
	bool html;               /* text from an alert is escaped for HTML */
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->s, cap))) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static __attribute__((format(printf, 2, 3)))
void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	buf_add(b, s, (size_t)n);
	free(s);
}

static void buf_cut(struct buf *b, size_t len)
{
	if (!b->oom && len < b->len) {
		b->len = len;
		b->s[len] = '\0';
	}
}

/* The string, or NULL (and nothing to free) when memory ran out. */
static char *buf_take(struct buf *b)
{
	buf_add(b, "", 0);
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

/* ---- untrusted text ---------------------------------------------------- */

static void put_char(struct buf *b, const char *s, size_t n)
{
	static const char *const entity[] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
		['"'] = "&quot;", ['\''] = "&#39;",
	};
	unsigned char c = (unsigned char)s[0];

	if (b->html && n == 1 && c < sizeof entity / sizeof entity[0] && entity[c])
		buf_puts(b, entity[c]);
	else
		buf_add(b, s, n);
}

/* Append s as valid UTF-8, HTML-escaped when b is HTML; with one_line,
 * as text_one_line cleans it. */
static void put_text(struct buf *b, const char *s, bool one_line)
{
	char *line = NULL;
	uint32_t cp = 0;
	size_t n;

	if (one_line && !(s = line = text_one_line(s))) {
		b->oom = true;
		return;
	}
	for (; *s; s += n) {
		n = text_utf8_next(s, &cp);
		if (n == 0) {
			buf_puts(b, REPLACEMENT);
			n = 1;
		} else {
			put_char(b, s, n);
		}
	}
	free(line);
}

/* before, s as one line, after; or nothing at all when s is NULL or blank.
 * Says whether anything was added. */
static bool put_opt(struct buf *b, const char *before, const char *s, const char *after)
{
	size_t mark = b->len, start;

	if (!s)
		return false;
	buf_puts(b, before);
	start = b->len;
	put_text(b, s, true);
	if (b->len == start) {
		buf_cut(b, mark);
		return false;
	}
	buf_puts(b, after);
	return true;
}

/* A link: "label: URL" on its own line in text, an anchor in HTML.  The
 * URL is ours (link.h percent-encodes what it carries), escaped anyway. */
static void put_link(struct buf *b, const char *label, const char *url)
{
	if (!url)
		return;
	if (b->html) {
		buf_puts(b, "<a style=\"margin-right:12px\" href=\"");
		put_text(b, url, true);
		buf_printf(b, "\">%s</a>", label);
	} else {
		buf_printf(b, "\n  %s: ", label);
		put_text(b, url, true);
	}
}

static void put_links(struct buf *b, const struct alert_item *it)
{
	put_link(b, "Open in tray", it->open_url);
	put_link(b, "Acknowledge", it->ack_url);
	put_link(b, "Open in the case system", it->case_url);
}

/* s as one line, or dflt (trusted) when s is NULL or blank. */
static void put_field(struct buf *b, const char *s, const char *dflt)
{
	if (!put_opt(b, "", s, ""))
		buf_puts(b, dflt);
}

/* Cut a one-line string to max bytes at a character boundary, marking the
 * cut with an ellipsis so nothing looks whole that is not. */
static void cut_line(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max - strlen("…");
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	strcpy(s + n, "…");
}

/* ---- what an item says ------------------------------------------------- */

/* How each obligation state reads.  The label says the state in words, so
 * the HTML colours are never the only sign of it. */
struct look {
	const char *state, *label;
	bool days;               /* the label takes "by N working days" */
	const char *closed;      /* what the closing date means */
	const char *bg, *fg;     /* HTML badge colours */
};

static const struct look looks[] = {
	{ "overdue", "OVERDUE", true, "closed", "#b00020", "#ffffff" },
	{ "due-soon", "DUE SOON", false, "closed", "#ffbf00", "#000000" },
	{ "late", "MET LATE", true, "met", "#8a4b00", "#ffffff" },
	{ "met", "MET ON TIME", false, "met", "#1e6b30", "#ffffff" },
	{ "cancelled", "CANCELLED", false, "cancelled", "#5f6368", "#ffffff" },
	{ "open", "OPEN", false, "closed", "#5f6368", "#ffffff" },
};

/* A state this module does not know is shown as given, in grey. */
static const struct look other_look = { NULL, NULL, false, "closed", "#5f6368", "#ffffff" };

static const struct look *look_of(const char *state)
{
	for (size_t i = 0; state && i < sizeof looks / sizeof looks[0]; i++)
		if (strcmp(state, looks[i].state) == 0)
			return &looks[i];
	return &other_look;
}

static bool has_state(const struct alert_item *it, const char *state)
{
	return it->state && strcmp(it->state, state) == 0;
}

static const char *pick(const char *a, const char *b)
{
	return a && *a ? a : b;
}

static const char *title_of(const struct alert_item *it)
{
	return pick(it->rule_title, it->rule_id);
}

static void put_days(struct buf *b, int days)
{
	buf_printf(b, "%d working day%s", days, days == 1 ? "" : "s");
}

/* A moment as people read it: "2026-11-25" or "2026-11-25 09:30".  The
 * arrays are bounded, not trusted to hold a NUL. */
static void put_moment(struct buf *b, const char m[DATE_MOMENT_BUF], const char *dflt)
{
	char s[DATE_MOMENT_BUF];
	size_t n = strnlen(m, DATE_MOMENT_BUF - 1);

	memcpy(s, m, n);
	s[n] = '\0';
	if (n > 10 && s[10] == 'T')
		s[10] = ' ';
	put_field(b, s, dflt);
}

/* "Case REF-2026-000123, child C-000456" */
static void put_case(struct buf *b, const struct alert_item *it)
{
	buf_puts(b, "Case ");
	put_field(b, it->case_ref, "-");
	buf_puts(b, ", child ");
	put_field(b, it->child_ref, "-");
}

/* "OVERDUE by 12 working days, escalation stage 1" */
static void put_status(struct buf *b, const struct alert_item *it)
{
	const struct look *l = look_of(it->state);

	if (l->label)
		buf_puts(b, l->label);
	else
		put_field(b, it->state, "-");
	if (l->days && it->days_overdue > 0) {
		buf_puts(b, " by ");
		put_days(b, it->days_overdue);
	}
	if (it->stage > 0)
		buf_printf(b, ", escalation stage %d", it->stage);
	if (it->acked)
		buf_puts(b, " (acknowledged)");
}

/* "Started 2026-10-01 → due 2026-10-15; met 2026-10-20" */
static void put_dates(struct buf *b, const struct alert_item *it)
{
	buf_puts(b, "Started ");
	put_moment(b, it->anchor, "-");
	buf_puts(b, " → due ");
	put_moment(b, it->due, "-");
	if (it->closed[0]) {
		buf_printf(b, "; %s ", look_of(it->state)->closed);
		put_moment(b, it->closed, "-");
	}
}

/* "Team: Duty and Assessment Team; worker: unallocated" */
static void put_people(struct buf *b, const struct alert_item *it)
{
	buf_puts(b, "Team: ");
	put_field(b, pick(it->team_name, it->team_ref), "-");
	buf_puts(b, "; worker: ");
	put_field(b, pick(it->worker_name, it->worker_ref), "unallocated");
}

/* ---- order: rule groups by their worst item, worst first within -------- */

struct entry {
	const struct alert_item *it;
	const struct alert_item *lead;   /* the worst item of its rule group */
};

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_rule(const struct alert_item *x, const struct alert_item *y)
{
	int c = cmp_str(title_of(x), title_of(y));

	return c ? c : cmp_str(x->rule_id, y->rule_id);
}

/* Most working days overdue first, then the earliest due; the rest only
 * makes the order the same every time. */
static int cmp_worst(const struct alert_item *x, const struct alert_item *y)
{
	int c;

	if (x->days_overdue != y->days_overdue)
		return x->days_overdue > y->days_overdue ? -1 : 1;
	if ((c = strncmp(x->due, y->due, DATE_MOMENT_BUF)) != 0)
		return c;
	if ((c = cmp_str(x->case_ref, y->case_ref)) != 0)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int by_rule(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = cmp_rule(x->it, y->it);

	return c ? c : cmp_worst(x->it, y->it);
}

static int by_lead(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = cmp_worst(x->lead, y->lead);

	if (c == 0)
		c = cmp_rule(x->lead, y->lead);
	return c ? c : cmp_worst(x->it, y->it);
}

/* Sorted by rule first, each group's worst item is its first; then sorted
 * by that item, the groups come worst first and stay together. */
static struct entry *sort_items(const struct alert *a)
{
	struct entry *e = calloc(a->n ? a->n : 1, sizeof *e);

	if (!e)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		e[i].it = &a->items[i];
	qsort(e, a->n, sizeof *e, by_rule);
	for (size_t i = 0; i < a->n; i++)
		e[i].lead = i > 0 && cmp_rule(e[i].it, e[i - 1].it) == 0 ? e[i - 1].lead : e[i].it;
	qsort(e, a->n, sizeof *e, by_lead);
	return e;
}

/* ---- subject ----------------------------------------------------------- */

struct counts {
	int overdue, due_soon, escalated;
};

static struct counts count_items(const struct alert *a)
{
	struct counts c = { 0 };

	for (size_t i = 0; i < a->n; i++) {
		const struct alert_item *it = &a->items[i];

		if (has_state(it, "overdue")) {
			c.overdue++;
			c.escalated += it->stage > 0;
		}
		c.due_soon += has_state(it, "due-soon");
	}
	return c;
}

/* "3 overdue (1 escalated), 2 due soon" */
static void put_counts(struct buf *b, const struct counts *c)
{
	if (c->overdue)
		buf_printf(b, "%d overdue", c->overdue);
	if (c->escalated)
		buf_printf(b, " (%d escalated)", c->escalated);
	if (c->due_soon)
		buf_printf(b, "%s%d due soon", c->overdue ? ", " : "", c->due_soon);
	if (!c->overdue && !c->due_soon)
		buf_puts(b, "Nothing overdue or due soon");
}

/* What happened and how bad, before the colon of a single alert. */
static void put_headline(struct buf *b, enum alert_kind kind, const struct alert_item *it)
{
	int days = it->days_overdue;

	switch (kind) {
	case ALERT_DUE_SOON:
		buf_puts(b, "Due ");
		put_moment(b, it->due, "soon");
		break;
	case ALERT_ESCALATION:
		buf_puts(b, "Escalation");
		if (it->stage > 0)
			buf_printf(b, " (stage %d)", it->stage);
		if (days > 0)
			buf_puts(b, ", overdue ");
		break;
	case ALERT_REMINDER:
		buf_puts(b, days > 0 ? "Still overdue, " : "Still overdue");
		break;
	case ALERT_MET_LATE:
		buf_puts(b, days > 0 ? "Met late by " : "Met late");
		break;
	case ALERT_RESOLVED:
		buf_puts(b, "Resolved");
		return;
	default:
		buf_puts(b, days > 0 ? "Overdue " : "Overdue");
		break;
	}
	if (kind != ALERT_DUE_SOON && days > 0)
		put_days(b, days);
}

static const char *team_of(const struct alert_item *it)
{
	return pick(it->team_name, it->team_ref);
}

/* Is item i the first of the alert's items with its team? */
static bool first_of_team(const struct alert *a, size_t i)
{
	const char *t = team_of(&a->items[i]);

	if (!t || !*t)
		return false;
	for (size_t j = 0; j < i; j++)
		if (team_of(&a->items[j]) && strcmp(team_of(&a->items[j]), t) == 0)
			return false;
	return true;
}

/* The teams of the alert's items, in order of first appearance: all named
 * (", "), or "6 teams" when counted and more than one. */
static void put_teams(struct buf *b, const struct alert *a, bool counted)
{
	size_t mark = b->len, distinct = 0;

	for (size_t i = 0; i < a->n; i++)
		distinct += first_of_team(a, i);
	if (counted && distinct > 1) {
		buf_printf(b, " (%zu teams)", distinct);
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if (first_of_team(a, i))
			put_opt(b, b->len > mark ? ", " : " (", team_of(&a->items[i]), "");
	if (b->len > mark)
		buf_puts(b, ")");
}

/* "Overdue 4 working days (+2 more): Initial assessment — case REF (Team)":
 * the worst item's headline and the count first, then names; the rule's
 * title is cut to title_max bytes when set. */
static void put_single_subject(struct buf *b, const struct alert *a, const struct alert_item *it,
			       size_t title_max, bool teams_counted)
{
	size_t mark;

	put_headline(b, a->kind, it);
	if (a->n > 1)
		buf_printf(b, " (+%zu more)", a->n - 1);
	buf_puts(b, ": ");
	mark = b->len;
	put_field(b, title_of(it), "Deadline");
	if (title_max && b->len - mark > title_max && !b->oom) {
		size_t n = mark + title_max;

		while (n > mark && ((unsigned char)b->s[n] & 0xC0) == 0x80)
			n--;
		buf_cut(b, n);
		buf_puts(b, "…");
	}
	buf_puts(b, " — case ");
	put_field(b, it->case_ref, "-");
	put_teams(b, a, teams_counted);
}

/* Within SUBJECT_MAX, what is cut is names, never numbers: the teams are
 * counted instead of named, then the rule's title is shortened; only a
 * subject still too long (a huge case reference) is cut at the end. */
static char *subject_of_items(const struct alert *a, const struct alert_item *worst)
{
	struct buf b = { 0 };
	size_t title = 0;

	for (int attempt = 0; attempt < 3; attempt++) {
		b.len = 0;
		b.oom = 0;
		put_single_subject(&b, a, worst, title, attempt > 0);
		if (b.oom || b.len <= SUBJECT_MAX || attempt == 2)
			break;
		if (attempt == 1) {
			size_t full = strlen(title_of(worst) ? title_of(worst) : "Deadline");
			size_t over = b.len - SUBJECT_MAX + strlen("…");

			title = full > over + 12 ? full - over : 12;
		}
	}
	return buf_take(&b);
}

static char *make_subject(const struct alert *a, const struct entry *e,
			  const struct counts *c)
{
	struct buf b = { 0 };
	char *s;

	if (a->kind != ALERT_DIGEST && a->kind != ALERT_TEST) {
		s = subject_of_items(a, e[0].it);
	} else {
		/* Counts first; only the audience's name can be cut. */
		if (a->kind == ALERT_DIGEST)
			put_counts(&b, c);
		else
			buf_puts(&b, "deadlined test message");
		put_opt(&b, " — ", a->audience, "");
		s = buf_take(&b);
	}
	if (s)
		cut_line(s, SUBJECT_MAX);
	return s;
}

/* ---- bodies ------------------------------------------------------------ */

/* The text and HTML bodies walk the same groups and items and say the
 * same things; a style says only how. */
struct style {
	bool html;
	void (*begin)(struct buf *b, const struct alert *a, const char *subject);
	void (*group)(struct buf *b, const struct alert_item *lead);
	void (*item)(struct buf *b, const struct alert_item *it);
	void (*end)(struct buf *b, const struct alert *a, bool ackable);
};

/* How many items a message lists: a manager reads it on a phone, and a
 * first poll over years of history could otherwise list thousands. */
static size_t listed(const struct alert *a)
{
	return a->max_items && a->n > a->max_items ? a->max_items : a->n;
}

static void put_unlisted(struct buf *b, const struct alert *a)
{
	size_t more = a->n - listed(a);

	if (!more)
		return;
	buf_printf(b, b->html ? "<p style=\"margin:16px 0 0;font-weight:bold\">…and %zu more, "
			       "not listed here (the worst come first above); "
			       "<code>deadlinectl list</code> shows every one.</p>\n"
			     : "\n  …and %zu more, not listed here (the worst come first above);\n"
			       "  'deadlinectl list' shows every one.\n", more);
}

static char *make_body(const struct style *st, const struct alert *a,
		       const struct entry *e, const char *subject)
{
	struct buf b = { .html = st->html };
	bool ackable = false;

	st->begin(&b, a, subject);
	for (size_t i = 0; i < listed(a); i++) {
		if (i == 0 || e[i].lead != e[i - 1].lead)
			st->group(&b, e[i].lead);
		st->item(&b, e[i].it);
		ackable |= has_state(e[i].it, "overdue") || has_state(e[i].it, "due-soon");
	}
	put_unlisted(&b, a);
	st->end(&b, a, ackable);
	return buf_take(&b);
}

static void text_begin(struct buf *b, const struct alert *a, const char *subject)
{
	buf_printf(b, "%s\n", subject);
	if (a->kind == ALERT_DIGEST && a->n > 0)
		buf_printf(b, "%s\n", ORDER_NOTE);
	put_opt(b, "\n", a->summary_line, "\n");
	if (a->nmonth_lines)
		buf_puts(b, "\nThis month so far (met on time):\n");
	for (size_t i = 0; i < a->nmonth_lines; i++)
		put_opt(b, "  ", a->month_lines[i], "\n");
	if (a->kind == ALERT_TEST)
		buf_printf(b, "\n%s\n", TEST_NOTE);
}

static void text_group(struct buf *b, const struct alert_item *lead)
{
	size_t start, width;

	buf_puts(b, "\n");
	start = b->len;
	put_field(b, title_of(lead), "Deadline");
	put_opt(b, " (rule ", lead->rule_id, ")");
	if (b->oom)
		return;
	width = 0;
	for (size_t i = start; i < b->len; i++)
		width += ((unsigned char)b->s[i] & 0xC0) != 0x80;
	buf_puts(b, "\n");
	for (size_t i = 0; i < width && i < TEXT_WIDTH; i++)
		buf_puts(b, "-");
	buf_puts(b, "\n");
}

static void text_item(struct buf *b, const struct alert_item *it)
{
	buf_puts(b, "\n  ");
	put_case(b, it);
	buf_puts(b, "\n  ");
	put_status(b, it);
	buf_puts(b, "\n  ");
	put_dates(b, it);
	buf_puts(b, "\n  ");
	put_people(b, it);
	put_links(b, it);
	buf_puts(b, "\n");
}

static void text_end(struct buf *b, const struct alert *a, bool ackable)
{
	if (a->tray_url) {
		buf_puts(b, "\nYour tray: ");
		put_text(b, a->tray_url, true);
		buf_puts(b, "\n");
	}
	buf_puts(b, "\n-- \n");
	if (ackable)
		buf_printf(b, "%s\n  %s\n", ACK_NOTE, ACK_COMMAND);
	buf_puts(b, "Sent by deadlined.");
	put_opt(b, " Message id: ", a->msg_id, "");
	buf_puts(b, "\n");
}

/* Columns of s, counting characters (wide scripts are rare in our data). */
static size_t columns(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

/* Where to break a line of len bytes that starts pad columns in: the last
 * space that keeps it within TEXT_WIDTH, else the first space, else len
 * (a long reference is better long than broken).  Spaces before from are
 * the line's indentation. */
static size_t break_at(const char *s, size_t len, size_t from, size_t pad)
{
	size_t col = pad, best = 0;

	for (size_t i = 0; i < len; i++) {
		col += ((unsigned char)s[i] & 0xC0) != 0x80;
		if (s[i] != ' ' || i < from)
			continue;
		if (col - 1 > TEXT_WIDTH)
			return best ? best : i;
		best = i;
	}
	return best ? best : len;
}

static void put_spaces(struct buf *b, size_t n)
{
	while (n-- > 0)
		buf_add(b, " ", 1);
}

/* One line, broken at spaces to fit TEXT_WIDTH; continuations are
 * indented two more than the line. */
static void wrap_line(struct buf *b, const char *s, size_t len)
{
	size_t indent = strspn(s, " "), from, pad = 0, cut;

	if (indent > len)
		indent = len;
	from = indent;
	while (pad + columns(s, len) > TEXT_WIDTH) {
		if ((cut = break_at(s, len, from, pad)) == len)
			break;
		put_spaces(b, pad);
		buf_add(b, s, cut);
		buf_add(b, "\n", 1);
		while (cut < len && s[cut] == ' ')
			cut++;
		s += cut;
		len -= cut;
		pad = indent + 2;
		from = 0;
	}
	put_spaces(b, pad);
	buf_add(b, s, len);
}

static char *wrap_text(const char *in)
{
	struct buf b = { 0 };
	const char *nl;

	while (*in) {
		nl = strchrnul(in, '\n');
		wrap_line(&b, in, (size_t)(nl - in));
		if (*nl)
			buf_add(&b, "\n", 1);
		in = *nl ? nl + 1 : nl;
	}
	return buf_take(&b);
}

static void html_begin(struct buf *b, const struct alert *a, const char *subject)
{
	buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	put_field(b, subject, "");
	buf_puts(b, "</title>\n</head>\n<body style=\"margin:0;padding:0;background:#ffffff;"
		"color:#1b1b1b;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
		"font-size:16px;line-height:1.4\">\n"
		"<div style=\"max-width:640px;margin:0 auto;padding:12px\">\n"
		"<p style=\"margin:0 0 6px;font-size:18px;font-weight:bold\">");
	put_field(b, subject, "");
	buf_puts(b, "</p>\n");
	if (a->kind == ALERT_DIGEST && a->n > 0)
		buf_printf(b, "<p style=\"margin:0 0 6px;color:#444444\">%s</p>\n", ORDER_NOTE);
	put_opt(b, "<p style=\"margin:0 0 6px\">", a->summary_line, "</p>\n");
	if (a->nmonth_lines)
		buf_puts(b, "<p style=\"margin:0 0 6px\"><b>This month so far (met on time)</b>");
	for (size_t i = 0; i < a->nmonth_lines; i++)
		put_opt(b, "<br>\n", a->month_lines[i], "");
	if (a->nmonth_lines)
		buf_puts(b, "</p>\n");
	if (a->kind == ALERT_TEST)
		buf_printf(b, "<p style=\"margin:0 0 6px\">%s</p>\n", TEST_NOTE);
}

static void html_group(struct buf *b, const struct alert_item *lead)
{
	buf_puts(b, "<h2 style=\"margin:20px 0 8px;padding-bottom:4px;font-size:17px;"
		"border-bottom:1px solid #cccccc\">");
	put_field(b, title_of(lead), "Deadline");
	put_opt(b, " <span style=\"font-size:13px;font-weight:normal;color:#555555\">rule ",
		lead->rule_id, "</span>");
	buf_puts(b, "</h2>\n");
}

static void html_item(struct buf *b, const struct alert_item *it)
{
	const struct look *l = look_of(it->state);

	buf_printf(b, "<div style=\"margin:0 0 14px;padding:2px 0 2px 10px;"
		"border-left:4px solid %s\">\n<p style=\"margin:0;font-weight:bold\">", l->bg);
	put_case(b, it);
	buf_printf(b, "</p>\n<p style=\"margin:4px 0\"><span style=\"background:%s;color:%s;"
		"padding:1px 6px;border-radius:3px;font-weight:bold\">", l->bg, l->fg);
	put_status(b, it);
	buf_puts(b, "</span></p>\n<p style=\"margin:0\">");
	put_dates(b, it);
	buf_puts(b, "</p>\n<p style=\"margin:0;color:#444444\">");
	put_people(b, it);
	if (it->open_url || it->ack_url || it->case_url) {
		buf_puts(b, "</p>\n<p style=\"margin:4px 0 0\">");
		put_links(b, it);
	}
	buf_puts(b, "</p>\n</div>\n");
}

static void html_end(struct buf *b, const struct alert *a, bool ackable)
{
	buf_puts(b, "<hr style=\"margin:20px 0 8px;border:0;border-top:1px solid #cccccc\">\n"
		"<p style=\"margin:0;font-size:13px;color:#555555\">");
	if (a->tray_url) {
		put_link(b, "Your tray", a->tray_url);
		buf_puts(b, "<br>\n");
	}
	if (ackable)
		buf_printf(b, "%s<br>\n<code style=\"word-break:break-all\">%s</code><br>\n",
			   ACK_NOTE, ACK_COMMAND);
	buf_puts(b, "Sent by deadlined.");
	put_opt(b, " Message id: ", a->msg_id, "");
	buf_puts(b, "</p>\n</div>\n</body>\n</html>\n");
}

static const struct style text_style = { false, text_begin, text_group, text_item, text_end };
static const struct style html_style = { true, html_begin, html_group, html_item, html_end };

/* ---- JSON -------------------------------------------------------------- */

/* A string as JSON: null for NULL; invalid UTF-8 repaired rather than the
 * whole document lost.  Control characters stay: jansson escapes them. */
static json_t *jstr(const char *s)
{
	struct buf b = { 0 };
	json_t *j;
	char *fixed;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	put_text(&b, s, false);
	fixed = buf_take(&b);
	j = fixed ? json_string(fixed) : NULL;
	free(fixed);
	return j;
}

static json_t *jmoment(const char m[DATE_MOMENT_BUF])
{
	char s[DATE_MOMENT_BUF];
	size_t n = strnlen(m, DATE_MOMENT_BUF - 1);

	memcpy(s, m, n);
	s[n] = '\0';
	return n ? jstr(s) : json_null();
}

static json_t *jref_name(const char *ref, const char *name)
{
	json_t *o = json_object();

	/* | not ||: set_new takes the value either way, so call both. */
	if (json_object_set_new(o, "ref", jstr(ref)) | json_object_set_new(o, "name", jstr(name))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *jitem(const struct alert_item *it)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "case_ref", jstr(it->case_ref));
	rc |= json_object_set_new(o, "child_ref", jstr(it->child_ref));
	rc |= json_object_set_new(o, "rule", jstr(it->rule_id));
	rc |= json_object_set_new(o, "rule_title", jstr(it->rule_title));
	rc |= json_object_set_new(o, "seq", json_integer(it->seq));
	rc |= json_object_set_new(o, "anchor", jmoment(it->anchor));
	rc |= json_object_set_new(o, "due", jmoment(it->due));
	if (it->closed[0])
		rc |= json_object_set_new(o, "closed", jmoment(it->closed));
	rc |= json_object_set_new(o, "state", jstr(it->state));
	rc |= json_object_set_new(o, "stage", json_integer(it->stage));
	rc |= json_object_set_new(o, "days_overdue", json_integer(it->days_overdue));
	if (it->acked)
		rc |= json_object_set_new(o, "acknowledged", json_true());
	rc |= json_object_set_new(o, "team", jref_name(it->team_ref, it->team_name));
	rc |= json_object_set_new(o, "worker", jref_name(it->worker_ref, it->worker_name));
	if (it->open_url || it->ack_url || it->case_url)
		rc |= json_object_set_new(o, "links", json_pack("{s:o, s:o, s:o}",
			"tray", jstr(it->open_url), "acknowledge", jstr(it->ack_url),
			"case", jstr(it->case_url)));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "2026-11-20T08:00:00Z" */
static json_t *jtime(int64_t unix_seconds)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;
	char s[32];

	if (!gmtime_r(&t, &tm) || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(s);
}

static char *make_payload(const struct alert *a, const struct entry *e,
			  const char *subject, const struct counts *c)
{
	json_t *doc = json_object(), *items = json_array();
	char *text = NULL;
	int rc = 0;

	for (size_t i = 0; i < listed(a); i++)
		rc |= json_array_append_new(items, jitem(e[i].it));
	rc |= json_object_set_new(doc, "schema", json_string(RENDER_SCHEMA));
	rc |= json_object_set_new(doc, "type", json_string(render_kind_name(a->kind)));
	rc |= json_object_set_new(doc, "id", jstr(a->msg_id));
	rc |= json_object_set_new(doc, "created", jtime(a->created));
	rc |= json_object_set_new(doc, "subject", jstr(subject));
	rc |= json_object_set_new(doc, "audience", jstr(a->audience));
	rc |= json_object_set_new(doc, "summary", jstr(a->summary_line));
	rc |= json_object_set_new(doc, "counts", json_pack("{s:i, s:i, s:i}", "overdue",
		c->overdue, "due_soon", c->due_soon, "escalated", c->escalated));
	rc |= json_object_set_new(doc, "items", items);
	if (a->tray_url)
		rc |= json_object_set_new(doc, "tray_url", jstr(a->tray_url));
	if (a->n > listed(a))
		rc |= json_object_set_new(doc, "items_not_listed",
					  json_integer((json_int_t)(a->n - listed(a))));
	if (rc == 0)
		text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}

/* ---- the whole alert --------------------------------------------------- */

static const char *const kind_names[] = {
	[ALERT_DUE_SOON] = "due-soon",
	[ALERT_OVERDUE] = "overdue",
	[ALERT_ESCALATION] = "escalation",
	[ALERT_REMINDER] = "reminder",
	[ALERT_MET_LATE] = "met-late",
	[ALERT_RESOLVED] = "resolved",
	[ALERT_DIGEST] = "digest",
	[ALERT_TEST] = "test",
};

const char *render_kind_name(enum alert_kind kind)
{
	if ((unsigned)kind < sizeof kind_names / sizeof kind_names[0] && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

static int check_alert(const struct alert *a, struct dl_error *err)
{
	if (strcmp(render_kind_name(a->kind), "unknown") == 0) {
		error_set(err, "render: unknown alert kind %d", (int)a->kind);
		return -1;
	}
	if (a->n > 0 && !a->items) {
		error_set(err, "render: %zu items promised but none given", a->n);
		return -1;
	}
	/* Digests and tests may be empty; an alert about one deadline may not. */
	if (a->n == 0 && a->kind != ALERT_DIGEST && a->kind != ALERT_TEST) {
		error_set(err, "render: a %s alert needs an item", render_kind_name(a->kind));
		return -1;
	}
	return 0;
}

int render_alert(const struct alert *a, struct rendered *out, struct dl_error *err)
{
	struct counts c;
	struct entry *e;
	char *text = NULL;

	memset(out, 0, sizeof *out);
	if (check_alert(a, err) < 0)
		return -1;
	if (!(e = sort_items(a))) {
		error_set(err, "render: out of memory");
		return -1;
	}
	c = count_items(a);
	out->subject = make_subject(a, e, &c);
	if (out->subject) {
		text = make_body(&text_style, a, e, out->subject);
		out->text = text ? wrap_text(text) : NULL;
		out->html = make_body(&html_style, a, e, out->subject);
		out->payload = make_payload(a, e, out->subject, &c);
	}
	free(text);
	free(e);
	if (!out->subject || !out->text || !out->html || !out->payload) {
		render_free(out);
		error_set(err, "render: out of memory rendering a %s alert",
			  render_kind_name(a->kind));
		return -1;
	}
	return 0;
}

void render_free(struct rendered *r)
{
	if (!r)
		return;
	free(r->subject);
	free(r->text);
	free(r->html);
	free(r->payload);
	memset(r, 0, sizeof *r);
}

/* ---- a team's month so far, for digests --------------------------------- */

void render_lines_free(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

static int add_line(char ***lines, size_t *n, char *line)
{
	char **v = line ? realloc(*lines, (*n + 1) * sizeof *v) : NULL;

	if (!v) {
		free(line);
		return -1;
	}
	*lines = v;
	v[(*n)++] = line;
	return 0;
}

int render_month_lines(const struct report *r, const char *prefix, char ***lines, size_t *n)
{
	for (size_t k = 0; k < r->nrules; k++) {
		const struct rule *rule = r->rules[k];
		const struct report_stats *s = &r->by_rule[k];
		char target[64] = "";
		char *line = NULL;
		double pct;

		if (!report_percent(s, &pct))
			continue;
		if (!isnan(rule->target.value))
			snprintf(target, sizeof target, ", target %s%g",
				 report_lower_is_better(&rule->target) ? "late at most " : "",
				 rule->target.value);
		if (asprintf(&line, "%s%s%s: %zu of %zu on time (%.1f%%)%s", prefix ? prefix : "",
			     prefix ? ": " : "", rule->title, s->on_time, s->on_time + s->late, pct,
			     target) < 0)
			line = NULL;
		if (add_line(lines, n, line) < 0)
			return -1;
	}
	return 0;
}
