/* poller.c — deciding what a poll evaluates (see poller.h). */
#include "deadlined/poller.h"

#include <stdlib.h>
#include <string.h>

#include "deadlined/evaluate.h"
#include "deadlined/source.h"

struct poller {
	/* The case database stays open from poll to poll, so an unchanged
	 * source costs its backend's "what changed" (SQLite: a stat and a
	 * PRAGMA) and a look at the rechecks. */
	struct source *src;
	struct source_mark mark;    /* as of the last poll that succeeded */
	int64_t last_full;          /* unix time of the last full evaluation */
	bool want_full;             /* start, reload, reopened source, failure */
	struct state *st;           /* for the rechecks, during a poll */
};

/* The cases an incremental poll evaluates: changed or due a recheck. */
struct refs {
	char **v;
	size_t n, cap;
	bool oom;
};

int poller_open(struct poller **out, struct dl_error *err)
{
	if (!(*out = calloc(1, sizeof **out))) {
		error_set(err, "out of memory");
		return -1;
	}
	(*out)->want_full = true;
	return 0;
}

void poller_close(struct poller *l)
{
	if (!l)
		return;
	source_close(l->src);
	free(l);
}

void poller_want_full(struct poller *l)
{
	l->want_full = true;
}

static int add_ref(void *ctx, const char *case_ref)
{
	struct refs *r = ctx;

	if (!case_ref)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		char **v = realloc(r->v, cap * sizeof *v);

		if (!v)
			goto oom;
		r->v = v;
		r->cap = cap;
	}
	if (!(r->v[r->n] = strdup(case_ref)))
		goto oom;
	r->n++;
	return 0;
oom:
	r->oom = true;
	return -1;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void unique_refs(struct refs *r)
{
	size_t k = 0;

	if (r->n > 1)
		qsort(r->v, r->n, sizeof *r->v, cmp_ref);
	for (size_t i = 0; i < r->n; i++) {
		if (k > 0 && strcmp(r->v[k - 1], r->v[i]) == 0)
			free(r->v[i]);
		else
			r->v[k++] = r->v[i];
	}
	r->n = k;
}

static void free_refs(struct refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof *r);
}

/* Ask the source what changed since the last poll, opening it first when
 * it is closed.  A source that says it must be opened again (SQLite:
 * another file at the path, another schema) is, and then read whole; a
 * source that says so again at once is left for the next poll. */
static int ask_source(struct poller *l, const struct source_conf *sc, struct refs *r,
		      struct source_mark *next, enum source_change *what, struct dl_error *err)
{
	static const struct source_mark none;

	for (int tries = 0; tries < 2; tries++) {
		if (!l->src) {
			l->want_full = true;
			if (source_open(sc, &l->src, err) < 0)
				return -1;
		}
		if (source_changed(l->src, l->want_full ? &none : &l->mark, add_ref, r, next,
				   what, err) < 0) {
			if (r->oom)
				error_set(err, "out of memory listing changed cases");
			return -1;
		}
		if (*what != SOURCE_REOPEN)
			return 0;
		source_close(l->src);
		l->src = NULL;
		free_refs(r);
	}
	error_set(err, "case database %s: changed again while it was being opened", sc->database);
	return -1;
}

int poller_poll(struct poller *l, const struct poll_env *env, const char *db,
		struct dl_moment now, int64_t now_unix, struct poller_result *out,
		struct dl_error *err)
{
	const struct conf *conf = env->conf;
	struct evaluate_summary sum = { 0 };
	struct source_conf sc = conf->source;
	struct source_mark next;
	enum source_change what;
	struct refs r = { 0 };
	int rc;

	memset(out, 0, sizeof *out);
	l->st = env->st;
	if (db) {
		sc.driver = "sqlite";
		sc.database = db;
	}
	if (conf->service.reconcile_interval == 0 ||
	    now_unix - l->last_full >= conf->service.reconcile_interval)
		l->want_full = true;
	/* From a zeroed mark (want_full), next is where the source's logs
	 * stood before the read: what changes during it is read next time. */
	if (ask_source(l, &sc, &r, &next, &what, err) < 0)
		goto fail;
	out->full = l->want_full || what == SOURCE_ALL;
	rc = 0;
	if (!out->full) {
		/* The cases changed, and those whose recheck time has come. */
		rc = state_each_recheck(l->st, evaluate_moment_key(now), add_ref, &r, err);
		unique_refs(&r);
	}
	if (rc == 0 && out->full)
		rc = poll_all(env, l->src, now, now_unix, NULL, &out->poll, &sum, err);
	else if (rc == 0)
		rc = poll_cases(env, l->src, (const char *const *)r.v, r.n, now, now_unix,
				&out->poll, &sum, err);
	evaluate_summary_free(&sum);
	free_refs(&r);
	if (rc < 0)
		goto fail;
	l->mark = next;
	out->change_seq = next.change_seq;
	if (out->full) {
		l->want_full = false;
		l->last_full = now_unix;
	}
	return 0;
fail:
	/* Every source backend's message names "case database" first
	 * (source_backend.h); the state's never do. */
	out->source_failed = strncmp(err->msg, "case database", 13) == 0;
	/* Start again from a fresh connection and a full evaluation. */
	free_refs(&r);
	source_close(l->src);
	l->src = NULL;
	l->want_full = true;
	return -1;
}
