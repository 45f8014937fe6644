/* state.c — the daemon's own store, whichever backend keeps it (see
 * state.h): picks the backend that state.driver names and dispatches each
 * call to its operations table (state_backend.h).
 */
#include "deadlined/state.h"

#include <stdio.h>
#include <string.h>

#include "deadlined/backend.h"
#include "deadlined/state_backend.h"

static const void *const backends[] = {
	&state_sqlite_ops,
	&state_pg_ops,
};

#define NBACKENDS (sizeof backends / sizeof backends[0])

static const struct state_ops *backend(const char *driver)
{
	return backend_find(backends, NBACKENDS, driver, "sqlite");
}

bool state_driver_known(const char *driver)
{
	return backend(driver) != NULL;
}

const char *state_driver_names(void)
{
	static char names[128];

	return backend_names(backends, NBACKENDS, names, sizeof names);
}

bool state_exists(const struct state_conf *conf)
{
	const struct state_ops *ops = backend(conf->driver);

	return ops && ops->exists(conf);
}

static int open_store(const struct state_conf *conf, bool readonly, struct state **out,
		      struct dl_error *err)
{
	const struct state_ops *ops = backend(conf->driver);

	*out = NULL;
	if (!ops) {
		error_set(err, "state database: unknown state.driver '%s'; expected %s",
			  conf->driver, state_driver_names());
		return -1;
	}
	return ops->open(conf, readonly, out, err);
}

const char *state_describe(const struct state_conf *conf, char *buf, size_t size)
{
	const struct state_ops *ops = backend(conf->driver);

	if (ops)
		ops->describe(conf, buf, size);
	else
		snprintf(buf, size, "(unknown state.driver %s)", conf->driver);
	return buf;
}

int state_open(const struct state_conf *conf, struct state **out, struct dl_error *err)
{
	return open_store(conf, false, out, err);
}

int state_open_readonly(const struct state_conf *conf, struct state **out,
			struct dl_error *err)
{
	return open_store(conf, true, out, err);
}

void state_set_write_wait(struct state *st, int ms)
{
	st->ops->set_write_wait(st, ms);
}

void state_close(struct state *st)
{
	if (st)
		st->ops->close(st);
}

int state_set_fence(struct state *st, const char *lease, int64_t epoch)
{
	return st->ops->set_fence ? st->ops->set_fence(st, lease, epoch) : 0;
}

int state_begin(struct state *st, struct dl_error *err)
{
	return st->ops->begin(st, err);
}

int state_commit(struct state *st, struct dl_error *err)
{
	return st->ops->commit(st, err);
}

void state_rollback(struct state *st)
{
	st->ops->rollback(st);
}

int state_put_obligation(struct state *st, const struct state_obligation *ob, int64_t poll,
			 struct state_prev *prev, struct dl_error *err)
{
	return st->ops->put_obligation(st, ob, poll, prev, err);
}

int state_set_alerted(struct state *st, const char *case_ref, const char *rule, int seq,
		      int level, const char *day, struct dl_error *err)
{
	return st->ops->set_alerted(st, case_ref, rule, seq, level, day, err);
}

bool state_can_merge(const struct state *st)
{
	const struct state_ops *o = st->ops;

	return o->stage_begin && o->stage_obligation && o->stage_gone && o->unstage_gone_case &&
	       o->stage_apply && o->stage_abort && o->walk_begin && o->walk_next && o->walk_end &&
	       o->each_stored;
}

bool state_can_walk_cases(const struct state *st)
{
	const struct state_ops *o = st->ops;

	return state_can_merge(st) && o->case_walk_begin && o->case_walk_next &&
	       o->stage_case_print;
}

int state_case_walk_begin(struct state *st, struct state_walk **out, struct dl_error *err)
{
	return st->ops->case_walk_begin(st, out, err);
}

int state_case_walk_next(struct state_walk *w, struct state_case_print *row,
			 struct dl_error *err)
{
	return w->st->ops->case_walk_next(w, row, err);
}

int state_stage_case_print(struct state *st, const char *case_ref, int64_t print,
			   struct dl_error *err)
{
	return st->ops->stage_case_print(st, case_ref, print, err);
}

int state_stage_begin(struct state *st, bool chunked, struct dl_error *err)
{
	return st->ops->stage_begin(st, chunked, err);
}

int state_stage_obligation(struct state *st, const struct state_obligation *ob, bool alerts,
			   struct dl_error *err)
{
	return st->ops->stage_obligation(st, ob, alerts, err);
}

int state_stage_gone(struct state *st, const char *case_ref, const char *rule, int seq,
		     struct dl_error *err)
{
	return st->ops->stage_gone(st, case_ref, rule, seq, err);
}

int state_unstage_gone_case(struct state *st, const char *case_ref, struct dl_error *err)
{
	return st->ops->unstage_gone_case(st, case_ref, err);
}

int state_stage_apply(struct state *st, const struct state_tick *tick, struct dl_error *err)
{
	return st->ops->stage_apply(st, tick, err);
}

void state_stage_abort(struct state *st)
{
	st->ops->stage_abort(st);
}

int state_walk_begin(struct state *st, struct state_walk **out, struct dl_error *err)
{
	return st->ops->walk_begin(st, out, err);
}

int state_walk_next(struct state_walk *w, struct state_stored *row, struct dl_error *err)
{
	return w->st->ops->walk_next(w, row, err);
}

void state_walk_end(struct state_walk *w)
{
	if (w)
		w->st->ops->walk_end(w);
}

int state_each_stored(struct state *st, const char *case_ref, state_stored_fn fn, void *ctx,
		      struct dl_error *err)
{
	return st->ops->each_stored(st, case_ref, fn, ctx, err);
}

int state_close_unseen(struct state *st, int64_t poll, struct dl_error *err)
{
	return st->ops->close_unseen(st, poll, err);
}

int state_close_unseen_case(struct state *st, const char *case_ref, int64_t poll,
			    struct dl_error *err)
{
	return st->ops->close_unseen_case(st, case_ref, poll, err);
}

int state_set_recheck(struct state *st, const char *case_ref, int64_t at, struct dl_error *err)
{
	return st->ops->set_recheck(st, case_ref, at, err);
}

int state_clear_rechecks(struct state *st, struct dl_error *err)
{
	return st->ops->clear_rechecks(st, err);
}

int state_each_recheck(struct state *st, int64_t upto, state_ref_fn fn, void *ctx,
		       struct dl_error *err)
{
	return st->ops->each_recheck(st, upto, fn, ctx, err);
}

int state_next_recheck(struct state *st, int64_t *at, struct dl_error *err)
{
	return st->ops->next_recheck(st, at, err);
}

int state_each_open(struct state *st, int min_level, state_obligation_fn fn, void *ctx,
		    struct dl_error *err)
{
	return st->ops->each_open(st, min_level, fn, ctx, err);
}

int state_each_for_report(struct state *st, const char *from, const char *to, const char *team,
			  const char *rule, state_report_fn fn, void *ctx, struct dl_error *err)
{
	return st->ops->each_for_report(st, from, to, team, rule, fn, ctx, err);
}

int state_first_poll(struct state *st, int64_t *when, struct dl_error *err)
{
	return st->ops->first_poll(st, when, err);
}

int state_note_sent(struct state *st, const char *case_ref, const char *rule, int seq,
		    const char *what, const char *recipient, bool *fresh, struct dl_error *err)
{
	return st->ops->note_sent(st, case_ref, rule, seq, what, recipient, fresh, err);
}

int state_enqueue(struct state *st, const struct state_message *m, int64_t *id,
		  struct dl_error *err)
{
	return st->ops->enqueue(st, m, id, err);
}

int state_each_due(struct state *st, int64_t now, int max, state_message_fn fn, void *ctx,
		   struct dl_error *err)
{
	return st->ops->each_due(st, now, max, fn, ctx, err);
}

int state_mark_message(struct state *st, int64_t id, const char *status, int attempts,
		       int64_t next_attempt, const char *last_error, int64_t sent_at,
		       struct dl_error *err)
{
	return st->ops->mark_message(st, id, status, attempts, next_attempt, last_error, sent_at, err);
}

int state_retry_dead(struct state *st, int64_t id, int64_t now, int *count,
		     struct dl_error *err)
{
	return st->ops->retry_dead(st, id, now, count, err);
}

int state_each_message(struct state *st, const char *status, state_message_fn fn, void *ctx,
		       struct dl_error *err)
{
	return st->ops->each_message(st, status, fn, ctx, err);
}

int state_count_sent(struct state *st, const char *recipient, const char *day, int *count,
		     struct dl_error *err)
{
	return st->ops->count_sent(st, recipient, day, count, err);
}

int state_add_sent(struct state *st, const char *recipient, const char *day,
		   struct dl_error *err)
{
	return st->ops->add_sent(st, recipient, day, err);
}

int state_digest_mark(struct state *st, const char *recipient, const char *day, bool *fresh,
		      struct dl_error *err)
{
	return st->ops->digest_mark(st, recipient, day, fresh, err);
}

int state_ack(struct state *st, const char *case_ref, const char *rule, const char *until,
	      const char *reason, const char *who, int64_t now, struct state_ack *out,
	      struct dl_error *err)
{
	return st->ops->ack(st, case_ref, rule, until, reason, who, now, out, err);
}

int state_ack_active(struct state *st, const char *case_ref, const char *rule, int seq,
		     int level, const char *day, bool *active, struct dl_error *err)
{
	return st->ops->ack_active(st, case_ref, rule, seq, level, day, active, err);
}

int state_each_ack(struct state *st, state_ack_fn fn, void *ctx, struct dl_error *err)
{
	return st->ops->each_ack(st, fn, ctx, err);
}

int state_poll_begin(struct state *st, int64_t started, int64_t *id, struct dl_error *err)
{
	return st->ops->poll_begin(st, started, id, err);
}

int state_poll_end(struct state *st, const struct state_poll *p, struct dl_error *err)
{
	return st->ops->poll_end(st, p, err);
}

int state_status(struct state *st, struct state_status *out, struct dl_error *err)
{
	return st->ops->status(st, out, err);
}

int state_set_meta(struct state *st, const char *key, const char *value, struct dl_error *err)
{
	return st->ops->set_meta(st, key, value, err);
}

int state_get_meta(struct state *st, const char *key, char *buf, size_t size,
		   struct dl_error *err)
{
	return st->ops->get_meta(st, key, buf, size, err);
}

int state_next_attempt(struct state *st, int64_t *when, struct dl_error *err)
{
	return st->ops->next_attempt(st, when, err);
}

int state_leader(struct state *st, struct state_leader *out, struct dl_error *err)
{
	memset(out, 0, sizeof *out);
	return st->ops->leader ? st->ops->leader(st, out, err) : 0;
}

int state_cover_deputy(struct state *st, const char *manager, const char *day, char *deputy,
		       size_t size, struct dl_error *err)
{
	return st->ops->cover_deputy(st, manager, day, deputy, size, err);
}

int state_clear_directory(struct state *st, struct dl_error *err)
{
	return st->ops->clear_directory(st, err);
}

int state_put_team(struct state *st, const char *ref, const char *name, const char *manager,
		   const char *service_manager, struct dl_error *err)
{
	return st->ops->put_team(st, ref, name, manager, service_manager, err);
}

int state_put_worker(struct state *st, const char *ref, const char *name, const char *email,
		     const char *team_ref, struct dl_error *err)
{
	return st->ops->put_worker(st, ref, name, email, team_ref, err);
}
