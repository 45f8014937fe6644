/* testutil.h — small helpers the unit tests share: dates from literals.
 * Include after cmocka.h. */
#ifndef DEADLINED_TESTUTIL_H
#define DEADLINED_TESTUTIL_H

#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>

#include "deadlined/conf.h"
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

static inline int test_rm_entry(const char *path, const struct stat *st, int flag,
				struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a folder and everything in it. */
static inline int test_rmtree(const char *path)
{
	return nftw(path, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* How many entries a folder has, not counting . and .. (nor other dot
 * files); -1 when it cannot be read. */
static inline int test_count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The example configuration (conf/deadlined.conf and its rule pack), read
 * as in Europe/London, into *conf; -1, with every error printed, if it is
 * not valid.  For cmocka group setups. */
static inline int test_example_conf(struct conf **conf)
{
	struct dl_errors errors = { 0 };
	int rc;

	setenv("TZ", "Europe/London", 1);
	tzset();
	rc = conf_load("conf/deadlined.conf", conf, &errors);
	for (size_t i = 0; rc < 0 && i < errors.n; i++)
		print_error("%s\n", errors.msg[i]);
	errors_clear(&errors);
	return rc < 0 ? -1 : 0;
}

#endif
