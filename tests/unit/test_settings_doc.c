/* test_settings_doc.c — the settings tables (conf.c) and deadlined.conf(5)
 * name the same settings.
 *
 * Every setting in the tables, at any depth, must be an item (.TP followed
 * by .B, .BR or .BI) of the man page's section for its top-level group
 * (TOP LEVEL for the top level itself); every item of those sections must
 * be a setting of that group, or one of the few values documented as items
 * (VALUES below).  A table that two groups share (escalation stages, in
 * defaults and in each rule) may be documented once, in either section.
 * Adding a setting without documenting it, or documenting one that is not
 * there, fails here with the name and the section.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/conf.h"
#include "deadlined/schema.h"

#define MAN "man/deadlined.conf.5"

/* Items that are values of a setting, not settings: receiver types and
 * webhook formats. */
static const char *const VALUES[] = { "smtp", "webhook", "maildir", "generic", "teams",
				      "slack", NULL };

struct item {
	char section[64], name[64];
	const struct schema_field *table;   /* the tables' entries: where it is */
};

struct items {
	struct item v[1024];
	size_t n;
};

static void add_in(struct items *l, const char *section, const char *name,
		   const struct schema_field *table)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].section, section) && !strcmp(l->v[i].name, name))
			return;
	assert_true(l->n < sizeof l->v / sizeof l->v[0]);
	snprintf(l->v[l->n].section, sizeof l->v[0].section, "%s", section);
	snprintf(l->v[l->n].name, sizeof l->v[0].name, "%s", name);
	l->v[l->n].table = table;
	l->n++;
}

static void add(struct items *l, const char *section, const char *name)
{
	add_in(l, section, name, NULL);
}

static struct item *find(struct items *l, const char *section, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].section, section) && !strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/* Every name in fields and the tables below them, under section. */
static void walk(struct items *l, const char *section, const struct schema_field *fields)
{
	for (const struct schema_field *f = fields; f->name; f++) {
		add_in(l, section, f->name, fields);
		if (f->members)
			walk(l, section, f->members);
	}
}

/* Roff without its escapes: "count\-start\-day" is "count-start-day". */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && (r[1] == '-' || r[1] == '&')) {
			if (r[1] == '-')
				*w++ = '-';
			r++;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
}

/* The names on an item's line: ".B name", ".BI name \" ARG\"", or
 * ".BR a \", \" b \", \" c": the words outside quotes. */
static void item_names(struct items *l, const char *section, char *line)
{
	bool alternate = strncmp(line, ".BR ", 4) == 0;
	bool quoted = false;
	char word[64];
	size_t n = 0;
	int k = 0;

	unescape(line);
	for (char *p = line + 3; ; p++) {
		if (*p == '"')
			quoted = !quoted;
		if (!quoted && *p != '"' && *p && *p != ' ' && n < sizeof word - 1) {
			word[n++] = *p;
			continue;
		}
		if (n) {
			word[n] = '\0';
			/* .BI and .B: only the first word is the name. */
			if (k++ == 0 || alternate)
				add(l, section, word);
			n = 0;
		}
		if (!*p)
			break;
	}
}

/* Is there a top-level setting of this name? */
static bool top_level(const char *name)
{
	for (const struct schema_field *f = conf_schema(); f->name; f++)
		if (strcmp(f->name, name) == 0)
			return true;
	return false;
}

/* The man page's items, by section, from TOP LEVEL up to the first
 * section that is not a settings group. */
static void read_man(struct items *l)
{
	char line[1024], section[64] = "", prev[1024] = "";
	FILE *f = fopen(MAN, "r");
	bool settings = false;

	if (!f)
		fail_msg("%s: cannot open (the tests run from the source tree)", MAN);
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".SH ", 4) == 0) {
			snprintf(section, sizeof section, "%s", line + 4);
			unescape(section);
			if (strcmp(section, "TOP LEVEL") == 0)
				settings = true;
			else if (settings && !top_level(section))
				settings = false;
		} else if (settings && strcmp(prev, ".TP") == 0 &&
			   (strncmp(line, ".B ", 3) == 0 || strncmp(line, ".BR ", 4) == 0 ||
			    strncmp(line, ".BI ", 4) == 0)) {
			item_names(l, section, line);
		}
		snprintf(prev, sizeof prev, "%s", line);
	}
	fclose(f);
}

/* The tables' settings, by the section that must document them. */
static void read_tables(struct items *l)
{
	for (const struct schema_field *f = conf_schema(); f->name; f++) {
		add(l, "TOP LEVEL", f->name);
		if (f->members)
			walk(l, f->name, f->members);
	}
}

/* In its own section, or in another whose group holds the same table. */
static bool documented(struct items *tables, struct items *man, const struct item *it)
{
	if (find(man, it->section, it->name))
		return true;
	for (size_t i = 0; i < tables->n; i++)
		if (tables->v[i].table == it->table && !strcmp(tables->v[i].name, it->name) &&
		    find(man, tables->v[i].section, it->name))
			return true;
	return false;
}

static bool is_value(const char *name)
{
	for (const char *const *v = VALUES; *v; v++)
		if (strcmp(*v, name) == 0)
			return true;
	return false;
}

static void test_every_setting_documented(void **state)
{
	static struct items tables, man;
	size_t missing = 0;

	(void)state;
	read_tables(&tables);
	read_man(&man);
	print_message("%zu settings in the tables\n", tables.n);
	assert_true(tables.n > 80);
	for (size_t i = 0; i < tables.n; i++)
		if (!documented(&tables, &man, &tables.v[i])) {
			print_message("%s: section %s does not document the setting %s\n", MAN,
				      tables.v[i].section, tables.v[i].name);
			missing++;
		}
	assert_int_equal(missing, 0);
}

static void test_every_documented_setting_exists(void **state)
{
	static struct items tables, man;
	size_t extra = 0;

	(void)state;
	read_tables(&tables);
	read_man(&man);
	print_message("%zu items in %s\n", man.n, MAN);
	assert_true(man.n > 80);
	for (size_t i = 0; i < man.n; i++) {
		const struct item *it = &man.v[i];

		if (find(&tables, it->section, it->name) || is_value(it->name) ||
		    strcmp(it->section, it->name) == 0)
			continue;
		print_message("%s: section %s documents %s, which is not a setting there\n", MAN,
			      it->section, it->name);
		extra++;
	}
	assert_int_equal(extra, 0);
}

/* The check itself: a name the tables lack, in a copy of the page, is
 * found; so is a setting the copy leaves out. */
static void test_check_catches(void **state)
{
	static struct items tables, man;
	char line[] = ".BR poll_interval \", \" poll_jitter";

	(void)state;
	read_tables(&tables);
	item_names(&man, "service", line);
	assert_non_null(find(&man, "service", "poll_interval"));
	assert_non_null(find(&man, "service", "poll_jitter"));
	assert_null(find(&tables, "service", "poll_jitter"));
	assert_null(find(&man, "service", "stop_grace"));
	assert_non_null(find(&tables, "service", "stop_grace"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_setting_documented),
		cmocka_unit_test(test_every_documented_setting_exists),
		cmocka_unit_test(test_check_catches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
