/* source.c — the case database, whichever backend reads it (see source.h).
 *
 * Picks the backend that source.driver names and calls through its
 * operations table (source_backend.h).  What does not depend on the
 * database lives here: the directory (teams and workers) and the expected
 * dues are built, sorted and looked up from the rows a backend reads, and
 * a change log's "everything" becomes SOURCE_ALL.
 */
#include "deadlined/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/backend.h"
#include "deadlined/source_backend.h"

static const void *const backends[] = {
	&source_sqlite_ops,
	&source_odbc_ops,
};

#define NBACKENDS (sizeof backends / sizeof backends[0])

static const struct source_ops *backend(const char *driver)
{
	return backend_find(backends, NBACKENDS, driver, "sqlite");
}

bool source_driver_known(const char *driver)
{
	return backend(driver) != NULL;
}

const char *source_driver_names(void)
{
	static char names[128];

	return backend_names(backends, NBACKENDS, names, sizeof names);
}

int source_open(const struct source_conf *conf, struct source **out, struct dl_error *err)
{
	const struct source_ops *ops = backend(conf->driver);

	*out = NULL;
	if (!ops) {
		error_set(err, "case database: unknown source.driver '%s'; expected %s",
			  conf->driver, source_driver_names());
		return -1;
	}
	if (ops->open(conf, out, err) < 0)
		return -1;
	if (ops->check_schema(*out, err) < 0) {
		ops->close(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

void source_close(struct source *src)
{
	if (src)
		src->ops->close(src);
}

int source_each_case(struct source *src, const char *case_ref, source_case_fn fn,
		     source_orphan_fn orphan, void *ctx, struct dl_error *err)
{
	return src->ops->each_case(src, case_ref, fn, orphan, ctx, err);
}

static bool (*give_up)(void);

void source_set_give_up(bool (*fn)(void))
{
	give_up = fn;
}

bool source_giving_up(void)
{
	return give_up && give_up();
}

void source_set_tick(struct source *src, int (*fn)(void *ctx), void *ctx)
{
	if (src->ops->set_tick)
		src->ops->set_tick(src, fn, ctx);
}

int source_exec_for_test(struct source *src, const char *sql, struct dl_error *err)
{
	if (src->ops->exec_for_test)
		return src->ops->exec_for_test(src, sql, err);
	error_set(err, "case database %s: the %s backend runs no SQL text", src->label,
		  src->ops->driver);
	return -1;
}

/* --- what changed --- */

struct change_walk {
	source_change_fn fn;
	void *ctx;
	bool all;
};

/* A backend's NULL ("everything") ends the walk: nothing after it matters. */
static int on_change(void *ctx, const char *case_ref)
{
	struct change_walk *w = ctx;

	if (case_ref)
		return w->fn(w->ctx, case_ref);
	w->all = true;
	return 1;
}

int source_changed(struct source *src, const struct source_mark *since, source_change_fn fn,
		   void *ctx, struct source_mark *next, enum source_change *what,
		   struct dl_error *err)
{
	struct change_walk w = { fn, ctx, false };
	int rc = src->ops->changed(src, since, on_change, &w, next, what, err);

	if (w.all) {
		*what = SOURCE_ALL;
		return rc < 0 ? rc : 0;
	}
	return rc;
}

bool source_hwm_after(const struct source_hwm *a, const struct source_hwm *b)
{
	if (!b->set || a->is_number != b->is_number)
		return !b->set || !a->is_number;
	return a->is_number ? a->number > b->number : strcmp(a->text, b->text) > 0;
}

/* --- teams, workers, expected dues --- */

/* NULL sorts first. */
static int strcmp_null(const char *a, const char *b)
{
	if (a && b)
		return strcmp(a, b);
	return (a != NULL) - (b != NULL);
}

/* Each of the three structs is four strings, the ref first, in the order
 * of its relation's columns: a row is read into one as an array. */
#define NFIELDS 4

static int row_read(const char *const *values, void *elem)
{
	const char **f = elem;
	int rc = 0;

	for (size_t i = 0; i < NFIELDS; i++) {
		f[i] = values[i] ? strdup(values[i]) : NULL;
		if (values[i] && !f[i])
			rc = -1;
	}
	return rc;
}

static void row_free(void *elem)
{
	const char **f = elem;

	for (size_t i = 0; i < NFIELDS; i++)
		free((char *)f[i]);
}

/* Whole rows, so that when a ref is listed twice the row kept does not
 * depend on the order the database happened to return them in. */
static int row_cmp(const void *pa, const void *pb)
{
	const char *const *a = pa, *const *b = pb;
	int c = strcmp(a[0], b[0]);

	for (size_t i = 1; c == 0 && i < NFIELDS; i++)
		c = strcmp_null(a[i], b[i]);
	return c;
}

struct directory_table {
	const char *relation, *columns;
	bool many;                 /* many rows may share a ref: keep them all */
};

static const struct directory_table teams_table = {
	"deadlined_teams", "team_ref, name, manager_email, service_manager_email",
};
static const struct directory_table workers_table = {
	"deadlined_workers", "worker_ref, name, email, team_ref",
};
static const struct directory_table expected_table = {
	"deadlined_expected_due", "case_ref, rule, due, event_ref", true,
};

_Static_assert(sizeof(struct source_team) == NFIELDS * sizeof(const char *) &&
	       sizeof(struct source_worker) == NFIELDS * sizeof(const char *) &&
	       sizeof(struct source_expected) == NFIELDS * sizeof(const char *),
	       "directory rows are four strings");

#define ROW_SIZE (NFIELDS * sizeof(const char *))

static void *elem_at(void *base, size_t i)
{
	return (char *)base + i * ROW_SIZE;
}

static const char *ref_of(const void *elem)
{
	return *(const char *const *)elem;
}

static void free_rows(void *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		row_free(elem_at(rows, i));
	free(rows);
}

/* Sort, then keep the first row of each ref (each distinct row when many). */
static size_t sort_unique(const struct directory_table *t, void *rows, size_t n)
{
	size_t kept = 0;

	if (n == 0)
		return 0;
	qsort(rows, n, ROW_SIZE, row_cmp);
	for (size_t i = 0; i < n; i++) {
		void *row = elem_at(rows, i);

		if (kept && (t->many ? row_cmp(elem_at(rows, kept - 1), row)
				     : strcmp(ref_of(elem_at(rows, kept - 1)), ref_of(row))) == 0) {
			row_free(row);
			continue;
		}
		if (kept != i)
			memcpy(elem_at(rows, kept), row, ROW_SIZE);
		kept++;
	}
	return kept;
}

struct load {
	void *rows;
	size_t n, cap;
	bool oom;
};

/* Rows with a NULL ref are skipped. */
static int load_row(void *ctx, const char *const *values)
{
	struct load *l = ctx;

	if (!values[0])
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->rows, cap * ROW_SIZE);

		if (!p)
			goto oom;
		l->rows = p;
		l->cap = cap;
	}
	if (row_read(values, elem_at(l->rows, l->n)) < 0) {
		row_free(elem_at(l->rows, l->n));
		goto oom;
	}
	l->n++;
	return 0;
oom:
	l->oom = true;
	return -1;
}

/* Read a whole relation; 1 when optional and absent. */
static int load_table(struct source *src, const struct directory_table *t, bool optional,
		      void **out, size_t *nout, struct dl_error *err)
{
	struct load l = { 0 };
	int rc;

	*out = NULL;
	*nout = 0;
	rc = src->ops->rows(src, t->relation, t->columns, NFIELDS, optional, load_row, &l, err);
	if (rc == 0 || rc == 1) {
		*out = l.rows;
		*nout = sort_unique(t, l.rows, l.n);
		return rc;
	}
	if (l.oom)
		error_set(err, "case database %s: %s: out of memory", src->label, t->relation);
	free_rows(l.rows, l.n);
	return -1;
}

int source_load_directory(struct source *src, struct source_directory *out,
			  struct dl_error *err)
{
	void *rows;

	memset(out, 0, sizeof *out);
	if (load_table(src, &teams_table, false, &rows, &out->nteams, err) < 0)
		return -1;
	out->teams = rows;
	if (load_table(src, &workers_table, false, &rows, &out->nworkers, err) < 0) {
		source_free_directory(out);
		return -1;
	}
	out->workers = rows;
	return 0;
}

void source_free_directory(struct source_directory *dir)
{
	if (!dir)
		return;
	free_rows(dir->teams, dir->nteams);
	free_rows(dir->workers, dir->nworkers);
	memset(dir, 0, sizeof *dir);
}

static int ref_cmp(const void *key, const void *elem)
{
	return strcmp(key, ref_of(elem));
}

const struct source_team *source_find_team(const struct source_directory *dir,
					   const char *team_ref)
{
	if (!team_ref || dir->nteams == 0)
		return NULL;
	return bsearch(team_ref, dir->teams, dir->nteams, sizeof *dir->teams, ref_cmp);
}

const struct source_worker *source_find_worker(const struct source_directory *dir,
					       const char *worker_ref)
{
	if (!worker_ref || dir->nworkers == 0)
		return NULL;
	return bsearch(worker_ref, dir->workers, dir->nworkers, sizeof *dir->workers,
		       ref_cmp);
}

int source_load_expected(struct source *src, struct source_expected_list *out,
			 bool *present, struct dl_error *err)
{
	void *rows;
	int rc;

	memset(out, 0, sizeof *out);
	/* The one optional relation: absent is not an error. */
	rc = load_table(src, &expected_table, true, &rows, &out->n, err);
	if (rc < 0)
		return -1;
	*present = rc == 0;
	out->v = rows;
	return 0;
}

void source_free_expected(struct source_expected_list *list)
{
	free_rows(list->v, list->n);
	list->v = NULL;
	list->n = 0;
}
