/* state_web_backend.h — what a state store backend provides to deadlined-web.
 *
 * state_web.c is the backend-neutral half of state_web.h: state_web_open
 * picks the backend that state.driver names and every state_web_* call is
 * dispatched to its table.  A backend (state_web_sqlite.c,
 * state_web_pg.c) fills a struct state_web_ops and embeds struct state_web
 * at the start of its own handle.  Each op has the contract of the
 * state_web.h function of the same name: 0, or -1 with err naming the
 * store (never a password) and what failed; walks hand over pointers valid
 * only during the call, and a non-zero return from fn stops the walk and is
 * returned.  A handle is used by one thread at a time: deadlined-web opens
 * one for each of its server threads.
 */
#ifndef DEADLINED_STATE_WEB_BACKEND_H
#define DEADLINED_STATE_WEB_BACKEND_H

#include "deadlined/state_web.h"

struct state_web_ops;

/* The first member of every backend's handle. */
struct state_web {
	const struct state_web_ops *ops;
};

struct state_web_ops {
	const char *driver;        /* state.driver's value */

	int (*open)(const struct state_conf *conf, struct state_web **out, struct dl_error *err);
	void (*close)(struct state_web *sw);
	int (*each_item)(struct state_web *sw, const struct state_web_viewer *v,
			 const struct state_web_filter *f, state_web_item_fn fn, void *ctx,
			 struct dl_error *err);
	int (*count_items)(struct state_web *sw, const struct state_web_viewer *v,
			   const struct state_web_filter *f, struct state_web_counts *out,
			   struct dl_error *err);
	int (*known)(struct state_web *sw, const struct state_web_viewer *v, bool *known,
		     struct dl_error *err);
	int (*case_access)(struct state_web *sw, const struct state_web_viewer *v,
			   const char *case_ref, bool *exists, bool *visible, struct dl_error *err);
	int (*is_open)(struct state_web *sw, const char *case_ref, const char *rule, bool *open,
		       struct dl_error *err);
	int (*each_team)(struct state_web *sw, const struct state_web_viewer *v,
			 state_web_team_fn fn, void *ctx, struct dl_error *err);
	int (*withdraw_ack)(struct state_web *sw, const struct state_web_viewer *v, int64_t id,
			    bool *done, struct dl_error *err);
	int (*add_cover)(struct state_web *sw, const struct state_web_cover *c,
			 struct dl_error *err);
	int (*end_cover)(struct state_web *sw, int64_t id, const char *manager,
			 const char *yesterday, bool *done, struct dl_error *err);
	int (*each_cover)(struct state_web *sw, const char *person, const char *today,
			  state_web_cover_fn fn, void *ctx, struct dl_error *err);
	int (*new_token)(struct state_web *sw, const char *person, const char *hash, int64_t now,
			 struct dl_error *err);
	int (*revoke_token)(struct state_web *sw, const char *person, int64_t now, bool *done,
			    struct dl_error *err);
	int (*token_person)(struct state_web *sw, const char *hash, char *person, size_t size,
			    struct dl_error *err);
	int (*token_since)(struct state_web *sw, const char *person, int64_t *since,
			   struct dl_error *err);
	int (*each_delivery_count)(struct state_web *sw, state_web_count_fn fn, void *ctx,
				   struct dl_error *err);
	int (*audit)(struct state_web *sw, const char *who, const char *origin,
		     const char *action, const char *detail, int64_t now, struct dl_error *err);
	int (*each_audit)(struct state_web *sw, state_web_audit_fn fn, void *ctx,
			  struct dl_error *err);
};

extern const struct state_web_ops state_web_sqlite_ops;
extern const struct state_web_ops state_web_pg_ops;

#endif
