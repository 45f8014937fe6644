/* testutil.h — small helpers the unit tests share: dates from literals.
 * Include after cmocka.h. */
#ifndef DEADLINED_TESTUTIL_H
#define DEADLINED_TESTUTIL_H

#include <stdlib.h>
#include <stdio.h>

#include "deadlined/date.h"

/* A date from a literal in the test; a typo in the test fails loudly. */
static inline dl_day D(const char *s)
{
	dl_day d = DATE_NONE;
	struct dl_error err;

	if (date_parse(s, &d, &err) < 0)
		fail_msg("bad test date %s: %s", s, err.msg);
	return d;
}

static inline struct dl_moment M(const char *s)
{
	struct dl_moment m = { DATE_NONE, DATE_NO_TIME };
	struct dl_error err;

	if (date_parse_moment(s, &m, &err) < 0)
		fail_msg("bad test moment %s: %s", s, err.msg);
	return m;
}

/* A fresh folder under $TMPDIR (or /tmp) named after the test. */
static inline int test_tmpdir(char *buf, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, size, "%s/%s.XXXXXX", base && *base ? base : "/tmp", name);
	return mkdtemp(buf) ? 0 : -1;
}

#endif
