/* state_backend.h — what a state store backend provides.
 *
 * state.c is the backend-neutral half of state.h: it picks the backend
 * that state.driver names and dispatches every state_* call to it.  A
 * backend (state_sqlite.c, the first) fills a struct state_ops and embeds
 * struct state at the start of its own handle.  To add one: write
 * state_NAME.c with its ops, declare them below and list them in state.c's
 * table.
 *
 * Each op has the contract of the state.h function of the same name
 * without the state_ prefix: 0, or -1 with err naming the store (never a
 * password) and what failed.  In particular:
 *   - open makes (unless readonly) and migrates the store, and refuses one
 *     written by a newer release; readonly makes and migrates nothing and
 *     refuses a store at another schema version;
 *   - begin/commit/rollback bracket one poll's writes: everything between
 *     is kept or nothing is;
 *   - the walks (each_*) hand over pointers valid only during the call,
 *     and a non-zero return from fn stops the walk and is returned;
 *   - set_write_wait bounds how long a write waits for another writer.
 */
#ifndef DEADLINED_STATE_BACKEND_H
#define DEADLINED_STATE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadlined/error.h"
#include "deadlined/state.h"

struct state_ops;

/* The first member of every backend's handle. */
struct state {
	const struct state_ops *ops;
};

/* The first member of every backend's walk (state_walk_begin). */
struct state_walk {
	struct state *st;
};

struct state_ops {
	const char *driver;        /* state.driver's value */

	bool (*exists)(const struct state_conf *conf);
	int (*open)(const struct state_conf *conf, bool readonly, struct state **out,
		    struct dl_error *err);
	void (*describe)(const struct state_conf *conf, char *buf, size_t size);
	void (*set_write_wait)(struct state *st, int ms);
	void (*close)(struct state *st);
	/* NULL when the backend is never shared (no fence to keep). */
	int (*set_fence)(struct state *st, const char *lease, int64_t epoch);
	int (*begin)(struct state *st, struct dl_error *err);
	int (*commit)(struct state *st, struct dl_error *err);
	void (*rollback)(struct state *st);
	int (*put_obligation)(struct state *st, const struct state_obligation *ob, int64_t poll,
		struct state_prev *prev, struct dl_error *err);
	int (*set_alerted)(struct state *st, const char *case_ref, const char *rule, int seq,
		int level, const char *day, struct dl_error *err);
	int (*stage_begin)(struct state *st, bool chunked, struct dl_error *err);
	int (*stage_obligation)(struct state *st, const struct state_obligation *ob, bool alerts,
		struct dl_error *err);
	int (*stage_gone)(struct state *st, const char *case_ref, const char *rule, int seq,
		struct dl_error *err);
	int (*unstage_gone_case)(struct state *st, const char *case_ref, struct dl_error *err);
	int (*stage_apply)(struct state *st, const struct state_tick *tick, struct dl_error *err);
	void (*stage_abort)(struct state *st);
	int (*walk_begin)(struct state *st, struct state_walk **out, struct dl_error *err);
	int (*walk_next)(struct state_walk *w, struct state_stored *row, struct dl_error *err);
	void (*walk_end)(struct state_walk *w);
	int (*each_stored)(struct state *st, const char *case_ref, state_stored_fn fn, void *ctx,
		struct dl_error *err);
	/* Optional (NULL: a full poll walks every obligation): the case
	 * prints (state.h, "Case prints"); the walk ends by walk_end. */
	int (*case_walk_begin)(struct state *st, struct state_walk **out, struct dl_error *err);
	int (*case_walk_next)(struct state_walk *w, struct state_case_print *row,
		struct dl_error *err);
	int (*stage_case_print)(struct state *st, const char *case_ref, int64_t print,
		struct dl_error *err);
	int (*close_unseen)(struct state *st, int64_t poll, struct dl_error *err);
	int (*close_unseen_case)(struct state *st, const char *case_ref, int64_t poll,
		struct dl_error *err);
	int (*set_recheck)(struct state *st, const char *case_ref, int64_t at,
		struct dl_error *err);
	int (*clear_rechecks)(struct state *st, struct dl_error *err);
	int (*each_recheck)(struct state *st, int64_t upto, state_ref_fn fn, void *ctx,
		struct dl_error *err);
	int (*next_recheck)(struct state *st, int64_t *at, struct dl_error *err);
	int (*each_open)(struct state *st, int min_level, state_obligation_fn fn, void *ctx,
		struct dl_error *err);
	int (*each_for_report)(struct state *st, const char *from, const char *to,
		const char *team, const char *rule, state_report_fn fn, void *ctx,
		struct dl_error *err);
	int (*first_poll)(struct state *st, int64_t *when, struct dl_error *err);
	int (*note_sent)(struct state *st, const char *case_ref, const char *rule, int seq,
		const char *what, const char *recipient, bool *fresh, struct dl_error *err);
	int (*enqueue)(struct state *st, const struct state_message *m, int64_t *id,
		struct dl_error *err);
	int (*each_due)(struct state *st, int64_t now, int max, state_message_fn fn, void *ctx,
		struct dl_error *err);
	int (*mark_message)(struct state *st, int64_t id, const char *status, int attempts,
		int64_t next_attempt, const char *last_error, int64_t sent_at,
		struct dl_error *err);
	int (*retry_dead)(struct state *st, int64_t id, int64_t now, int *count,
		struct dl_error *err);
	int (*each_message)(struct state *st, const char *status, state_message_fn fn,
		void *ctx, struct dl_error *err);
	int (*count_sent)(struct state *st, const char *recipient, const char *day, int *count,
		struct dl_error *err);
	int (*add_sent)(struct state *st, const char *recipient, const char *day,
		struct dl_error *err);
	int (*digest_mark)(struct state *st, const char *recipient, const char *day,
		bool *fresh, struct dl_error *err);
	int (*ack)(struct state *st, const char *case_ref, const char *rule, const char *until,
		const char *reason, const char *who, int64_t now, struct state_ack *out,
		struct dl_error *err);
	int (*ack_active)(struct state *st, const char *case_ref, const char *rule, int seq,
		int level, const char *day, bool *active, struct dl_error *err);
	int (*each_ack)(struct state *st, state_ack_fn fn, void *ctx, struct dl_error *err);
	int (*poll_begin)(struct state *st, int64_t started, int64_t *id, struct dl_error *err);
	int (*poll_end)(struct state *st, const struct state_poll *p, struct dl_error *err);
	int (*status)(struct state *st, struct state_status *out, struct dl_error *err);
	int (*set_meta)(struct state *st, const char *key, const char *value,
		struct dl_error *err);
	int (*get_meta)(struct state *st, const char *key, char *buf, size_t size,
		struct dl_error *err);
	int (*next_attempt)(struct state *st, int64_t *when, struct dl_error *err);
	/* NULL when no pair shares the store. */
	int (*leader)(struct state *st, struct state_leader *out, struct dl_error *err);
	int (*cover_deputy)(struct state *st, const char *manager, const char *day,
		char *deputy, size_t size, struct dl_error *err);
	int (*clear_directory)(struct state *st, struct dl_error *err);
	int (*put_team)(struct state *st, const char *ref, const char *name,
		const char *manager, const char *service_manager, struct dl_error *err);
	int (*put_worker)(struct state *st, const char *ref, const char *name,
		const char *email, const char *team_ref, struct dl_error *err);
};

extern const struct state_ops state_sqlite_ops;
extern const struct state_ops state_pg_ops;

#endif
