/* poll_merge.c — a full poll's comparison with the store (see poll_merge.h). */
#include "deadlined/poll_merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/vec.h"

/* One stored row of the current case; its rule is at text + rule. */
struct held {
	struct state_stored row;
	size_t rule;
	bool seen;
};

struct poll_merge {
	struct state *st;
	struct state_walk *walk;
	bool bycase;                /* the walk is of case prints (poll_merge_case) */
	struct state_stored next;   /* the walk's row after the current case */
	struct state_case_print next_case;   /* the same, walking by case */
	bool has_next;
	bool cur_walked, cur_behind;         /* by case: the current case's print row */
	int64_t cur_print;                   /* and its stored print */
	struct held *v;             /* the current case's stored rows */
	size_t n, cap;
	char *text;                 /* the current case_ref, then its rules */
	size_t len, textcap;
	size_t hint;                /* where poll_merge_find looks first */
	bool have_case;
	char *far;                  /* the furthest case the walk was moved to */
	size_t farcap;
	char **loaded;              /* without a walk: the cases read */
	size_t nloaded, caploaded;
	bool sorted;
};

static int advance(struct poll_merge *m, struct dl_error *err)
{
	int rc = !m->walk ? 0 : m->bycase ? state_case_walk_next(m->walk, &m->next_case, err)
					  : state_walk_next(m->walk, &m->next, err);

	m->has_next = rc > 0;
	return rc < 0 ? -1 : 0;
}

int poll_merge_open(struct state *st, enum poll_merge_mode mode, struct poll_merge **out,
		    struct dl_error *err)
{
	struct poll_merge *m = calloc(1, sizeof *m);
	bool walk = mode != POLL_MERGE_BY_KEY;

	*out = NULL;
	if (!m) {
		error_set(err, "out of memory");
		return -1;
	}
	m->st = st;
	m->bycase = mode == POLL_MERGE_BY_CASE && state_can_walk_cases(st);
	if (walk && ((m->bycase ? state_case_walk_begin(st, &m->walk, err)
				: state_walk_begin(st, &m->walk, err)) < 0 || advance(m, err) < 0)) {
		poll_merge_close(m);
		return -1;
	}
	*out = m;
	return 0;
}

void poll_merge_close(struct poll_merge *m)
{
	if (!m)
		return;
	state_walk_end(m->walk);
	free(m->v);
	free(m->text);
	free(m->far);
	for (size_t i = 0; i < m->nloaded; i++)
		free(m->loaded[i]);
	free(m->loaded);
	free(m);
}

static size_t keep(struct poll_merge *m, const char *s)
{
	size_t n = strlen(s) + 1, at = m->len;

	if (m->len + n > m->textcap) {
		size_t cap = (m->len + n) * 2;
		char *t = realloc(m->text, cap);

		if (!t)
			return SIZE_MAX;
		m->text = t;
		m->textcap = cap;
	}
	memcpy(m->text + at, s, n);
	m->len += n;
	return at;
}

static int hold(void *ctx, const struct state_stored *row)
{
	struct poll_merge *m = ctx;
	struct held *h;

	if (vec_reserve((void **)&m->v, &m->cap, m->n, sizeof *m->v) < 0)
		return -1;
	h = &m->v[m->n];
	h->row = *row;
	h->seen = false;
	if ((h->rule = keep(m, row->rule)) == SIZE_MAX)
		return -1;
	m->n++;
	return 0;
}

static int remember(struct poll_merge *m, const char *case_ref)
{
	if (vec_reserve((void **)&m->loaded, &m->caploaded, m->nloaded, sizeof *m->loaded) < 0 ||
	    !(m->loaded[m->nloaded] = strdup(case_ref)))
		return -1;
	m->nloaded++;
	m->sorted = false;
	return 0;
}

static int oom(struct dl_error *err)
{
	error_set(err, "out of memory");
	return -1;
}

/* The current case is done: what it had open and did not see is gone. */
static int flush(struct poll_merge *m, struct dl_error *err)
{
	for (size_t i = 0; i < m->n; i++)
		if (!m->v[i].seen && m->v[i].row.open &&
		    state_stage_gone(m->st, m->text, m->text + m->v[i].rule, m->v[i].row.seq,
				     err) < 0)
			return -1;
	m->n = m->len = 0;
	m->have_case = false;
	return 0;
}

/* The walk has been moved on to case_ref. */
static int go_far(struct poll_merge *m, const char *case_ref)
{
	size_t n = strlen(case_ref) + 1;

	if (n > m->farcap) {
		char *far = realloc(m->far, n * 2);

		if (!far)
			return -1;
		m->far = far;
		m->farcap = n * 2;
	}
	memcpy(m->far, case_ref, n);
	return 0;
}

/* Make case_ref the current case: stage what the walk passes, hold its
 * rows.  Behind the walk (out of order), read it by key instead. */
static int load(struct poll_merge *m, const char *case_ref, struct dl_error *err)
{
	bool behind = !m->walk || (m->far && strcmp(case_ref, m->far) <= 0);

	if (m->bycase) {
		error_set(err, "poll_merge_find: case %s before poll_merge_case", case_ref);
		return -1;
	}
	if (flush(m, err) < 0)
		return -1;
	if (keep(m, case_ref) == SIZE_MAX)
		return oom(err);
	m->have_case = true;
	m->hint = 0;
	if (!behind && go_far(m, case_ref) < 0)
		return oom(err);
	if (!m->walk && remember(m, case_ref) < 0)
		return oom(err);
	if (behind) {
		if (m->walk && state_unstage_gone_case(m->st, case_ref, err) < 0)
			return -1;
		err->msg[0] = '\0';
		if (state_each_stored(m->st, case_ref, hold, m, err) < 0)
			return err->msg[0] ? -1 : oom(err);
		return 0;
	}
	for (int c; m->has_next && (c = strcmp(m->next.case_ref, case_ref)) <= 0;) {
		if (c < 0 && m->next.open && state_stage_gone(m->st, m->next.case_ref,
							      m->next.rule, m->next.seq, err) < 0)
			return -1;
		if (c == 0 && hold(m, &m->next) < 0)
			return oom(err);
		if (advance(m, err) < 0)
			return -1;
	}
	return 0;
}

int poll_merge_find(struct poll_merge *m, const char *case_ref, const char *rule, int seq,
		    const struct state_stored **row, struct dl_error *err)
{
	*row = NULL;
	if ((!m->have_case || strcmp(m->text, case_ref) != 0) && load(m, case_ref, err) < 0)
		return -1;
	/* The evaluation gives a case's obligations rule by rule, seq by seq,
	 * as they are held: start looking after the last one found. */
	for (size_t k = 0; k < m->n; k++) {
		size_t i = (m->hint + k) % m->n;
		struct held *h = &m->v[i];

		if (h->row.seq == seq && strcmp(m->text + h->rule, rule) == 0) {
			m->hint = i + 1;
			h->seen = true;
			h->row.case_ref = m->text;
			h->row.rule = m->text + h->rule;
			*row = &h->row;
			return 0;
		}
	}
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int poll_merge_forget(struct poll_merge *m, const char *case_ref, struct dl_error *err)
{
	if (m->nloaded > 1 && !m->sorted) {
		qsort(m->loaded, m->nloaded, sizeof *m->loaded, cmp_ref);
		m->sorted = true;
	}
	if (m->nloaded && bsearch(&case_ref, m->loaded, m->nloaded, sizeof *m->loaded, cmp_ref))
		return 0;
	return state_close_unseen_case(m->st, case_ref, INT64_MAX, err);
}

/* ---- by case (state.h, "Case prints") ---- */

/* Read case_ref's stored rows by key as the current case. */
static int hold_case(struct poll_merge *m, const char *case_ref, struct dl_error *err)
{
	if (keep(m, case_ref) == SIZE_MAX)
		return oom(err);
	m->have_case = true;
	m->hint = 0;
	err->msg[0] = '\0';
	if (state_each_stored(m->st, case_ref, hold, m, err) < 0)
		return err->msg[0] ? -1 : oom(err);
	return 0;
}

/* A case the walk passed: the evaluation gave nothing for it (here, in
 * key order), so its open obligations are gone; with none open it is as
 * a case that gives nothing (the empty print), skipped from then on. */
static int vanish(struct poll_merge *m, const char *case_ref, int64_t print,
		  struct dl_error *err)
{
	if (print == poll_merge_print_end(POLL_MERGE_PRINT_START))
		return 0;
	if (hold_case(m, case_ref, err) < 0 || flush(m, err) < 0)
		return -1;
	return state_stage_case_print(m->st, case_ref,
				      poll_merge_print_end(POLL_MERGE_PRINT_START), err);
}

bool poll_merge_by_case(const struct poll_merge *m)
{
	return m->bycase;
}

int poll_merge_case(struct poll_merge *m, const char *case_ref, int64_t print, bool look,
		    bool *skip, struct dl_error *err)
{
	int c;

	*skip = false;
	if (flush(m, err) < 0)
		return -1;
	m->cur_walked = false;
	m->cur_print = STATE_PRINT_UNKNOWN;
	m->cur_behind = m->far && strcmp(case_ref, m->far) <= 0;
	if (!m->cur_behind && go_far(m, case_ref) < 0)
		return oom(err);
	for (; !m->cur_behind && m->has_next &&
	       (c = strcmp(m->next_case.case_ref, case_ref)) <= 0;) {
		if (c < 0 && vanish(m, m->next_case.case_ref, m->next_case.print, err) < 0)
			return -1;
		if (c == 0) {
			m->cur_walked = true;
			m->cur_print = m->next_case.print;
		}
		if (advance(m, err) < 0)
			return -1;
	}
	if (m->cur_walked && !look && print != STATE_PRINT_UNKNOWN && print == m->cur_print) {
		*skip = true;
		return 0;
	}
	/* Out of order: the walk may have staged its rows gone. */
	if (m->cur_behind && state_unstage_gone_case(m->st, case_ref, err) < 0)
		return -1;
	if (m->cur_walked || m->cur_behind)
		return hold_case(m, case_ref, err);
	/* No print row: no stored rows (state.h). */
	if (keep(m, case_ref) == SIZE_MAX)
		return oom(err);
	m->have_case = true;
	m->hint = 0;
	return 0;
}

int poll_merge_case_end(struct poll_merge *m, int64_t print, struct dl_error *err)
{
	if (!m->have_case)
		return 0;
	/* A case seen twice or out of order: let the next poll look again. */
	if (m->cur_behind)
		print = STATE_PRINT_UNKNOWN;
	if (print == m->cur_print && m->cur_walked)
		return flush(m, err);
	/* No print row and no obligations: none to make. */
	if (!m->cur_walked && !m->cur_behind &&
	    print == poll_merge_print_end(POLL_MERGE_PRINT_START))
		return flush(m, err);
	/* flush leaves the case_ref in text. */
	if (flush(m, err) < 0)
		return -1;
	return state_stage_case_print(m->st, m->text, print, err);
}

int poll_merge_finish(struct poll_merge *m, struct dl_error *err)
{
	if (flush(m, err) < 0)
		return -1;
	while (m->bycase && m->has_next)
		if (vanish(m, m->next_case.case_ref, m->next_case.print, err) < 0 ||
		    advance(m, err) < 0)
			return -1;
	while (m->has_next) {
		if (m->next.open && state_stage_gone(m->st, m->next.case_ref, m->next.rule,
						     m->next.seq, err) < 0)
			return -1;
		if (advance(m, err) < 0)
			return -1;
	}
	return 0;
}

/* A word at a time: each step multiplies and folds, so every input bit
 * reaches every output bit within a few steps.  Each value ends with a
 * marker of its kind and length, so that NULL, "" and a value moved to the
 * next field all differ. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15u;
	return h ^ (h >> 29);
}

static uint64_t mix_text(uint64_t h, const char *s)
{
	size_t n, i;
	uint64_t w;

	if (!s)
		return mix(h, 0xfefefefefefefefeu);
	n = strlen(s);
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = mix(h, w);
	}
	w = 0;
	memcpy(&w, s + i, n - i);
	return mix(mix(h, w), 0xff00000000000000u | n);
}

static uint64_t mix_moment(uint64_t h, struct dl_moment m)
{
	return mix(h, (uint64_t)(uint32_t)m.day << 32 | (uint32_t)m.sec);
}

uint64_t poll_merge_case_seed(const struct state_obligation *so)
{
	const char *const text[] = { so->child_ref, so->team_ref, so->team_name, so->worker_ref,
				     so->worker_name, so->worker_email, so->manager_email,
				     so->service_manager_email };
	uint64_t h = 14695981039346656037u;

	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		h = mix_text(h, text[i]);
	return h;
}

int64_t poll_merge_fingerprint(uint64_t seed, const struct state_obligation *so,
			       const struct obligation *ob)
{
	uint64_t h = mix_text(seed, so->state);

	h = mix_moment(mix_moment(h, ob->anchor), ob->due);
	h = ob->close_kind ? mix_moment(mix(h, 1), ob->closed) : mix(h, 0);
	h = mix(mix(mix(h, (uint64_t)so->stage), (uint64_t)so->days_overdue), (uint64_t)so->level);
	return h ? (int64_t)h : 1;
}

uint64_t poll_merge_case_print(uint64_t h, const char *rule, int seq, int64_t fp)
{
	return mix(mix(mix_text(h, rule), (uint64_t)(uint32_t)seq), (uint64_t)fp);
}

int64_t poll_merge_print_end(uint64_t h)
{
	/* Never STATE_PRINT_UNKNOWN (0); positive. */
	return (int64_t)(h >> 2) + 1;
}
