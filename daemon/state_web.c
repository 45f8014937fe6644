/* state_web.c — deadlined-web's reads and writes of the state store,
 * whichever backend keeps it (see state_web.h): picks the backend that
 * state.driver names and dispatches each call to its operations table
 * (state_web_backend.h).
 */
#include "deadlined/state_web.h"

#include "deadlined/backend.h"
#include "deadlined/state.h"
#include "deadlined/state_web_backend.h"

static const void *const backends[] = {
	&state_web_sqlite_ops,
	&state_web_pg_ops,
};

#define NBACKENDS (sizeof backends / sizeof backends[0])

int state_web_open(const struct state_conf *conf, struct state_web **out,
		   struct dl_error *err)
{
	const struct state_web_ops *ops = backend_find(backends, NBACKENDS, conf->driver, "sqlite");
	char names[128];

	*out = NULL;
	if (!ops) {
		error_set(err, "state.driver \"%s\": deadlined-web reads %s", conf->driver,
			  backend_names(backends, NBACKENDS, names, sizeof names));
		return -1;
	}
	return ops->open(conf, out, err);
}

void state_web_close(struct state_web *sw)
{
	if (sw)
		sw->ops->close(sw);
}

int state_web_each_item(struct state_web *sw, const struct state_web_viewer *v,
			const struct state_web_filter *f, state_web_item_fn fn, void *ctx,
			struct dl_error *err)
{
	return sw->ops->each_item(sw, v, f, fn, ctx, err);
}

int state_web_count_items(struct state_web *sw, const struct state_web_viewer *v,
			  const struct state_web_filter *f, struct state_web_counts *out,
			  struct dl_error *err)
{
	*out = (struct state_web_counts){ 0 };
	return sw->ops->count_items(sw, v, f, out, err);
}

int state_web_known(struct state_web *sw, const struct state_web_viewer *v, bool *known,
		    struct dl_error *err)
{
	return sw->ops->known(sw, v, known, err);
}

int state_web_case_access(struct state_web *sw, const struct state_web_viewer *v,
			  const char *case_ref, bool *exists, bool *visible, struct dl_error *err)
{
	return sw->ops->case_access(sw, v, case_ref, exists, visible, err);
}

int state_web_is_open(struct state_web *sw, const char *case_ref, const char *rule, bool *open,
		      struct dl_error *err)
{
	return sw->ops->is_open(sw, case_ref, rule, open, err);
}

int state_web_each_team(struct state_web *sw, const struct state_web_viewer *v,
			state_web_team_fn fn, void *ctx, struct dl_error *err)
{
	return sw->ops->each_team(sw, v, fn, ctx, err);
}

int state_web_withdraw_ack(struct state_web *sw, const struct state_web_viewer *v, int64_t id,
			   bool *done, struct dl_error *err)
{
	return sw->ops->withdraw_ack(sw, v, id, done, err);
}

int state_web_add_cover(struct state_web *sw, const struct state_web_cover *c,
			struct dl_error *err)
{
	return sw->ops->add_cover(sw, c, err);
}

int state_web_end_cover(struct state_web *sw, int64_t id, const char *manager,
			const char *yesterday, bool *done, struct dl_error *err)
{
	return sw->ops->end_cover(sw, id, manager, yesterday, done, err);
}

int state_web_each_cover(struct state_web *sw, const char *person, const char *today,
			 state_web_cover_fn fn, void *ctx, struct dl_error *err)
{
	return sw->ops->each_cover(sw, person, today, fn, ctx, err);
}

int state_web_new_token(struct state_web *sw, const char *person, const char *hash,
			int64_t now, struct dl_error *err)
{
	return sw->ops->new_token(sw, person, hash, now, err);
}

int state_web_revoke_token(struct state_web *sw, const char *person, int64_t now, bool *done,
			   struct dl_error *err)
{
	return sw->ops->revoke_token(sw, person, now, done, err);
}

int state_web_token_person(struct state_web *sw, const char *hash, char *person, size_t size,
			   struct dl_error *err)
{
	return sw->ops->token_person(sw, hash, person, size, err);
}

int state_web_token_since(struct state_web *sw, const char *person, int64_t *since,
			  struct dl_error *err)
{
	return sw->ops->token_since(sw, person, since, err);
}

int state_web_each_delivery_count(struct state_web *sw, state_web_count_fn fn, void *ctx,
				  struct dl_error *err)
{
	return sw->ops->each_delivery_count(sw, fn, ctx, err);
}

int state_web_audit(struct state_web *sw, const char *who, const char *origin,
		    const char *action, const char *detail, int64_t now, struct dl_error *err)
{
	return sw->ops->audit(sw, who, origin, action, detail, now, err);
}

int state_web_each_audit(struct state_web *sw, state_web_audit_fn fn, void *ctx,
			 struct dl_error *err)
{
	return sw->ops->each_audit(sw, fn, ctx, err);
}
