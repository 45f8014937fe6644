/* web_link.c — a signed link from an alert opens a page: the case, or the
 * acknowledge form for one item.  Opening it changes nothing (mail
 * scanners follow every link); a refused link says why, plainly. */
#include "deadlined/web.h"

#include "deadlined/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* What each refusal says; tampering and someone else's link are logged. */
static const struct {
	enum link_check check;
	int status;
	bool log;
	const char *title, *text;
} refusals[] = {
	{ LINK_TAMPERED, 403, true, "This link does not work",
	  "The link is not as deadlined sent it: part of it is missing or has been changed. "
	  "Open the case from your tray instead." },
	{ LINK_EXPIRED, 410, false, "This link has expired",
	  "Links in alerts work for a limited time. Open the case from your tray instead." },
	{ LINK_NOT_YOURS, 403, true, "This link was sent to someone else",
	  "Each link in an alert works only for the person it was sent to. Open the case "
	  "from your own tray instead." },
};

int web_link_page(struct web_ctx *c)
{
	const struct web_form *q = &c->req->query;
	const char *kind = web_form_get(q, "k"), *ref = web_form_get(q, "c");
	const char *rule = web_form_get(q, "r");
	struct web_buf where = { 0 };
	enum link_check check = link_verify(&c->app->key, kind, ref, rule, web_form_get(q, "to"),
					    web_form_get(q, "e"), web_form_get(q, "s"), c->email,
					    (int64_t)time(NULL));
	int rc;

	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		if (refusals[i].check != check)
			continue;
		if (refusals[i].log)
			log_msg(LOG_WARNING, "deadlined-web: %s from %s: link refused: %s", c->email,
				c->origin, refusals[i].title);
		return web_error_page(c, refusals[i].status, refusals[i].title, refusals[i].text);
	}
	if (strcmp(kind, "ack") == 0)
		return web_ack_form_for(c, ref, rule);
	web_html(&where, "/case?ref=%u", ref);
	rc = where.oom ? -1 : web_redirect(c, where.p);
	web_buf_free(&where);
	return rc;
}
