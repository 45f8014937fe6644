/* poller.c — deciding what a poll evaluates (see poller.h). */
#include "deadlined/poller.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deadlined/evaluate.h"
#include "deadlined/source.h"

struct poller {
	/* The case database stays open from poll to poll, so an unchanged
	 * source costs a stat and two PRAGMAs. */
	struct source *src;
	dev_t src_dev;
	ino_t src_ino;
	int64_t data_version;       /* as of the last poll that succeeded */
	int64_t schema_version;     /* as the source was opened */
	struct timespec src_mtime;  /* the file as of the last poll */
	off_t src_size;
	int64_t change_seq;         /* deadlined_changes read up to here */
	struct source_mark updated; /* source.updated_column read up to here */
	int64_t last_full;          /* unix time of the last full evaluation */
	bool want_full;             /* start, reload, replaced file, failure */
	struct state *st;           /* for the rechecks, during a poll */
};

/* The cases an incremental poll evaluates: changed or due a recheck. */
struct refs {
	char **v;
	size_t n, cap;
	bool all;                   /* a change that needs everything */
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

	if (!case_ref) {
		r->all = true;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		char **v = realloc(r->v, cap * sizeof *v);

		if (!v)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	if (!(r->v[r->n] = strdup(case_ref)))
		return -1;
	r->n++;
	return 0;
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
}

/* Open the case database, or reopen it when the file at its path is
 * another one (an import renamed over it): that calls for a full
 * evaluation, since the change log of one file says nothing of another. */
static int open_source(struct poller *l, const char *db, long busy_ms, struct stat *sb,
		       struct dl_error *err)
{
	bool known = stat(db, sb) == 0;

	if (!known)
		memset(sb, 0, sizeof *sb);

	if (l->src && (!known || sb->st_dev != l->src_dev || sb->st_ino != l->src_ino)) {
		source_close(l->src);
		l->src = NULL;
	}
	if (l->src)
		return 0;
	l->want_full = true;
	if (source_open(db, busy_ms, &l->src, err) < 0 ||
	    source_schema_version(l->src, &l->schema_version, err) < 0)
		return -1;
	if (known) {
		l->src_dev = sb->st_dev;
		l->src_ino = sb->st_ino;
	}
	return 0;
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Has the source changed in a way the change log cannot tell?  Its schema
 * (a relation dropped or remade), or its file rewritten in place by
 * something other than SQLite (a copy over it, a fault): the file's time
 * or size moved while SQLite's change counter did not. */
static int changed_outside(struct poller *l, const struct stat *sb, int64_t version,
			   bool *outside, struct dl_error *err)
{
	int64_t schema = 0;

	*outside = false;
	if (version == l->data_version) {
		*outside = !same_time(sb->st_mtim, l->src_mtime) || sb->st_size != l->src_size;
		return 0;
	}
	if (source_schema_version(l->src, &schema, err) < 0)
		return -1;
	*outside = schema != l->schema_version;
	return 0;
}

/* What an incremental poll must evaluate: the cases in the change log
 * since the last poll (when the source changed at all) and those whose
 * recheck time has come.  r->all when only a full evaluation will do. */
static int find_changes(struct poller *l, const char *column, struct dl_moment now,
			int64_t version, int64_t *seq, struct source_mark *mark, struct refs *r,
			struct dl_error *err)
{
	*seq = l->change_seq;
	*mark = l->updated;
	if (version != l->data_version) {
		if (source_has_change_log(l->src)) {
			if (source_changes(l->src, l->change_seq, add_ref, r, seq, err) < 0)
				return -1;
		} else if (column) {
			if (source_updated_since(l->src, column, &l->updated, add_ref, r, mark,
						 err) < 0)
				return -1;
		} else {
			r->all = true;
		}
		if (r->all)
			return 0;
	}
	if (state_each_recheck(l->st, evaluate_moment_key(now), add_ref, r, err) < 0)
		return -1;
	unique_refs(r);
	return 0;
}

int poller_poll(struct poller *l, const struct poll_env *env, const char *db,
		struct dl_moment now, int64_t now_unix, struct poller_result *out,
		struct dl_error *err)
{
	const struct conf *conf = env->conf;
	struct evaluate_summary sum = { 0 };
	const char *col = conf->source.updated_column;
	int64_t version = 0, seq = 0;
	struct source_mark mark = { 0 };
	struct refs r = { 0 };
	struct stat sb;
	bool outside;
	int rc;

	memset(out, 0, sizeof *out);
	l->st = env->st;
	if (open_source(l, db, conf->source.busy_timeout_ms, &sb, err) < 0 ||
	    source_data_version(l->src, &version, err) < 0 ||
	    changed_outside(l, &sb, version, &outside, err) < 0)
		goto fail;
	/* Open again, which checks the relations anew, and read it all. */
	if (outside) {
		source_close(l->src);
		l->src = NULL;
		if (open_source(l, db, conf->source.busy_timeout_ms, &sb, err) < 0 ||
		    source_data_version(l->src, &version, err) < 0)
			goto fail;
	}
	if (conf->service.reconcile_interval == 0 ||
	    now_unix - l->last_full >= conf->service.reconcile_interval)
		l->want_full = true;
	if (l->want_full) {
		/* Where the logs stand before reading: what changes during the
		 * evaluation is read again next time. */
		static const struct source_mark none;

		rc = source_changes(l->src, -1, add_ref, &r, &seq, err);
		if (rc == 0 && col)
			rc = source_updated_since(l->src, col, &none, add_ref, &r, &mark, err);
	} else {
		rc = find_changes(l, col, now, version, &seq, &mark, &r, err);
	}
	out->full = l->want_full || r.all;
	if (rc == 0 && out->full)
		rc = poll_all(env, l->src, now, now_unix, NULL, &out->poll, &sum, err);
	else if (rc == 0)
		rc = poll_cases(env, l->src, (const char *const *)r.v, r.n, now, now_unix,
				&out->poll, &sum, err);
	evaluate_summary_free(&sum);
	free_refs(&r);
	if (rc < 0)
		goto fail;
	l->data_version = version;
	l->src_mtime = sb.st_mtim;
	l->src_size = sb.st_size;
	l->change_seq = out->change_seq = seq;
	l->updated = mark;
	if (out->full) {
		l->want_full = false;
		l->last_full = now_unix;
	}
	return 0;
fail:
	/* Start again from a fresh connection and a full evaluation. */
	source_close(l->src);
	l->src = NULL;
	l->want_full = true;
	return -1;
}
