/* testpipe.h — what the notification pipeline's unit tests share
 * (test_route, test_digest, test_outbox, test_poll): a folder of real
 * files, a configuration from text, a real SQLite state file, a real case
 * database made from conf/schema/native.sql, and local times.  Include
 * after cmocka.h and testutil.h. */
#ifndef DEADLINED_TESTPIPE_H
#define DEADLINED_TESTPIPE_H

#include <dirent.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/conf.h"
#include "deadlined/outbox.h"
#include "deadlined/route.h"
#include "deadlined/source.h"
#include "deadlined/state.h"

/* The configuration text, each @DIR@ in it replaced by dir, written to
 * dir/deadlined.conf and loaded as in Europe/London. */
static inline struct conf *pipe_conf(const char *dir, const char *text)
{
	char path[600];
	struct dl_errors errors = { 0 };
	struct conf *conf = NULL;
	const char *at;
	FILE *f;

	setenv("TZ", "Europe/London", 1);
	tzset();
	snprintf(path, sizeof path, "%s/deadlined.conf", dir);
	if (!(f = fopen(path, "w")))
		fail_msg("cannot write %s", path);
	for (; (at = strstr(text, "@DIR@")); text = at + 5)
		fprintf(f, "%.*s%s", (int)(at - text), text, dir);
	fputs(text, f);
	fclose(f);
	if (conf_load(path, &conf, &errors) < 0)
		fail_msg("configuration: %s", errors.n ? errors.msg[0] : "?");
	errors_clear(&errors);
	return conf;
}

/* A fresh state file dir/name. */
static inline struct state *pipe_state(const char *dir, const char *name)
{
	char path[600];
	struct state *st;
	struct dl_error err;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (state_open(&(struct state_conf){ .database = path }, &st, &err) < 0)
		fail_msg("state_open %s: %s", path, err.msg);
	return st;
}

static inline void pipe_exec(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	char *sql, *msg = NULL;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_non_null(sql);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_free(sql);
}

/* A case database dir/cases.db with the native schema, open for writing
 * as the council's system would. */
static inline sqlite3 *pipe_cases(const char *dir)
{
	char path[600], *schema;
	sqlite3 *db;
	FILE *f = fopen("conf/schema/native.sql", "r");
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	schema = calloc(1, (size_t)n + 1);
	assert_non_null(schema);
	assert_int_equal(fread(schema, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	snprintf(path, sizeof path, "%s/cases.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	pipe_exec(db, "%s", schema);
	free(schema);
	return db;
}

/* dir/cases.db opened as the daemon opens its source (read-only). */
static inline struct source *pipe_source(const char *dir)
{
	char path[600];
	struct source *src;
	struct dl_error err;

	snprintf(path, sizeof path, "%s/cases.db", dir);
	if (source_open(&(struct source_conf){ .database = path, .busy_timeout_ms = 1000 },
			&src, &err) < 0)
		fail_msg("source_open %s: %s", path, err.msg);
	return src;
}

/* A state file dir/name with the route and outbox that a poll or a
 * digest works with. */
struct pipe_parts {
	struct state *st;
	struct route *route;
	struct outbox *outbox;
};

static inline struct pipe_parts pipe_open_parts(const struct conf *conf, const char *dir,
						const char *name)
{
	struct pipe_parts p = { pipe_state(dir, name), NULL, NULL };
	struct dl_error err;

	if (route_open(conf, &p.route, &err) < 0 || outbox_open(conf, p.st, &p.outbox, &err) < 0)
		fail_msg("open: %s", err.msg);
	return p;
}

static inline void pipe_close_parts(struct pipe_parts *p)
{
	outbox_close(p->outbox);
	route_close(p->route);
	state_close(p->st);
}

/* Unix time of a local (Europe/London) date and time, "YYYY-MM-DD HH:MM". */
static inline int64_t pipe_local(const char *when)
{
	struct tm tm = { 0 };

	if (sscanf(when, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min) != 5)
		fail_msg("bad test time %s", when);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* The same for a moment as the rules see it, "YYYY-MM-DDTHH:MM". */
static inline int64_t pipe_moment_unix(const char *when)
{
	char local[32];

	snprintf(local, sizeof local, "%.10s %.5s", when, when + 11);
	return pipe_local(local);
}

/* Files in dir (a Maildir's new/, say); -1 when it cannot be read. */
static inline int pipe_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Remove dir and everything under it (two levels: a Maildir's folders). */
static inline void pipe_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path) != 0)
			pipe_rmdir(path);
	}
	closedir(d);
	rmdir(dir);
}

#endif
