/* fuzzcheck.c — helpers and invariant checks shared by the fuzz targets. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	fflush(stderr);
	__builtin_trap();
}

int fuzz_strict, fuzz_verbose;

static int env_is_1(const char *name)
{
	const char *v = getenv(name);

	return v && strcmp(v, "1") == 0;
}

void fuzz_init(void)
{
	fuzz_strict = env_is_1("FUZZ_STRICT");
	fuzz_verbose = env_is_1("FUZZ_VERBOSE");
	setenv("TZ", "Europe/London", 1);
	tzset();
}

char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

unsigned fuzz_u8(struct fuzz_bytes *b)
{
	if (!b->n)
		return 0;
	b->n--;
	return *b->p++;
}

unsigned fuzz_u16(struct fuzz_bytes *b)
{
	unsigned hi = fuzz_u8(b);

	return hi << 8 | fuzz_u8(b);
}

const char *fuzz_pick(struct fuzz_bytes *b, const char *const *list, size_t n)
{
	return list[fuzz_u8(b) % n];
}

/* Was the obligation anchored on one of the case's events of that kind? */
static int anchored_on_event(const struct rules_case *c, const struct obligation *ob)
{
	for (size_t i = 0; i < c->nevents; i++)
		if (date_moment_cmp(c->events[i].when, ob->anchor) == 0 &&
		    strcmp(c->events[i].kind, ob->start_kind) == 0)
			return 1;
	return 0;
}

static void check_closed(const struct obligation *ob, struct dl_moment now)
{
	FUZZ_CHECK(ob->close_kind != NULL);
	FUZZ_CHECK(ob->closed.day >= ob->anchor.day);
	FUZZ_CHECK(!rules_passed(ob->closed, now));
	FUZZ_CHECK(ob->stage == 0);
	if (ob->state == OB_CANCELLED)
		return;
	FUZZ_CHECK((ob->state == OB_LATE) == rules_passed(ob->closed, ob->due));
	FUZZ_CHECK(ob->days_overdue >= 0);
}

static void check_open(const struct rule *rule, const struct obligation *ob,
		       struct dl_moment now)
{
	FUZZ_CHECK(ob->close_kind == NULL);
	FUZZ_CHECK((ob->state == OB_OVERDUE) == rules_passed(now, ob->due));
	FUZZ_CHECK(ob->stage >= 0 && (size_t)ob->stage <= rule->escalation.n);
	FUZZ_CHECK(ob->stage == 0 || ob->state == OB_OVERDUE);
	FUZZ_CHECK(ob->days_overdue >= 0);
	if (ob->state == OB_DUE_SOON)
		FUZZ_CHECK(!rules_passed(ob->warn_from, now));
	if (ob->state == OB_OPEN)
		FUZZ_CHECK(rules_passed(ob->warn_from, now));
}

void fuzz_check_obligation(const struct rule *rule, const struct rules_case *c,
			   struct dl_moment now, const struct obligation *ob)
{
	FUZZ_CHECK((unsigned)ob->state < OB_NSTATES);
	FUZZ_CHECK(rules_state_parse(rules_state_name(ob->state)) == (int)ob->state);
	FUZZ_CHECK(ob->rule == rule);
	FUZZ_CHECK(ob->seq >= 1);
	FUZZ_CHECK(ob->version < rule->nall);
	FUZZ_CHECK(ob->duration.n >= 0);
	FUZZ_CHECK(ob->start_kind && rules_uses_kind(rule, ob->start_kind));
	FUZZ_CHECK(anchored_on_event(c, ob));
	FUZZ_CHECK(!rules_passed(ob->anchor, now));
	FUZZ_CHECK(ob->due.day >= ob->anchor.day);
	FUZZ_CHECK(date_moment_cmp(ob->due, ob->anchor) >= 0 || ob->due.sec == DATE_NO_TIME);
	FUZZ_CHECK(ob->warn_from.day <= ob->due.day);
	if (ob->state == OB_MET || ob->state == OB_LATE || ob->state == OB_CANCELLED)
		check_closed(ob, now);
	else
		check_open(rule, ob, now);
}

static void check_version(const struct rule_version *v)
{
	FUZZ_CHECK(v->due.n >= 1 && v->due.n <= 32);
	for (size_t i = 0; i < v->due.n; i++)
		FUZZ_CHECK(v->due.v[i].then.n >= 0 && v->due.v[i].otherwise.n >= 0);
	FUZZ_CHECK(v->effective_from == DATE_NONE || v->effective_until == DATE_NONE ||
		   v->effective_from <= v->effective_until);
}

void fuzz_check_rule(const struct rule *rule)
{
	FUZZ_CHECK(rule->id && rule->title);
	FUZZ_CHECK(rule->start.n >= 1);
	FUZZ_CHECK(rule->due_soon.set);
	FUZZ_CHECK(rule->count_start_day == 0 || rule->count_start_day == 1);
	FUZZ_CHECK(rule->repeat != 1 || rule->met.n > 0);
	FUZZ_CHECK(rule->nall == rule->versions.n + 1);
	for (size_t i = 0; i < rule->nall; i++) {
		check_version(&rule->all[i]);
		if (i == 0)
			continue;
		FUZZ_CHECK(rule->all[i - 1].effective_until != DATE_NONE);
		FUZZ_CHECK(rule->all[i].effective_from != DATE_NONE);
		FUZZ_CHECK(rule->all[i - 1].effective_until < rule->all[i].effective_from);
	}
}
