/* web.h — deadlined-web's pages: routing and the handlers behind it.
 *
 * web_route is the web_http handler.  It answers /style.css, /healthz and
 * /metrics itself; every other page needs a signed-in person (web_auth),
 * who must appear in the state database or be an administrator.  Pages
 * that change something are POSTs carrying the CSRF token; a GET never
 * changes anything.  Each handler fills c->resp and returns 0, or -1 on
 * an internal failure (logged; the person sees a plain 500).  web_route runs
 * on any server thread: it takes a pair of state connections from the
 * pool for the request (c->st, c->sw) and gives them back after.
 */
#ifndef DEADLINED_WEB_H
#define DEADLINED_WEB_H

#include "deadlined/conf.h"
#include "deadlined/date.h"
#include "deadlined/state.h"
#include "deadlined/state_web.h"
#include "deadlined/web_auth.h"
#include "deadlined/web_http.h"
#include "deadlined/web_pool.h"

struct web_app {
	const struct conf *conf;
	struct web_pool *pool;       /* a request's state connections (web_pool.h) */
	struct link_key key;
};

struct web_ctx {
	struct web_app *app;
	const struct web_request *req;
	struct web_response *resp;
	struct state *st;            /* acks go through state_ack, as deadlinectl's do */
	struct state_web *sw;        /* everything else the web reads and writes */
	struct state_web_viewer viewer;
	char email[256];
	char today[DATE_BUF];
	char origin[80];             /* the peer, or the proxy's X-Forwarded-For */
	char csrf[WEB_TOKEN_BUF];
};

int web_route(void *app, const struct web_request *req, struct web_response *resp);

/* A page that explains a refusal or a mistake in plain words. */
int web_error_page(struct web_ctx *c, int status, const char *title, const char *text);
/* 303 to a local path. */
int web_redirect(struct web_ctx *c, const char *path);
/* The CSRF field for a form. */
void web_csrf_field(struct web_ctx *c);
/* false (and a 403 page) when the POST's token is missing or wrong. */
bool web_csrf_check(struct web_ctx *c);
/* The state's tag, and an https case-system link when web.case_url is set. */
void web_state_tag(struct web_buf *b, const char *state, int stage);
void web_case_link(struct web_ctx *c, const char *case_ref);

int web_tray_page(struct web_ctx *c);     /* GET / */
int web_case_page(struct web_ctx *c);     /* GET /case?ref= */
int web_ack_form(struct web_ctx *c);      /* GET /ack?item=REF|RULE ... */
int web_ack_post(struct web_ctx *c);      /* POST /ack */
int web_ack_form_for(struct web_ctx *c, const char *case_ref, const char *rule);
int web_link_page(struct web_ctx *c);     /* GET /l?k=&c=&r=&to=&e=&s= (signed) */
int web_ack_withdraw(struct web_ctx *c);  /* POST /ack/withdraw */
int web_cover_page(struct web_ctx *c);    /* GET /cover */
int web_cover_post(struct web_ctx *c);    /* POST /cover */
int web_cover_end(struct web_ctx *c);     /* POST /cover/end */
int web_calendar_page(struct web_ctx *c);   /* GET /calendar */
int web_calendar_new(struct web_ctx *c);    /* POST /calendar/new */
int web_calendar_revoke(struct web_ctx *c); /* POST /calendar/revoke */
/* GET /calendar/TOKEN.ics, without sign-in; name is what follows /calendar/. */
int web_calendar_feed(struct web_ctx *c, const char *name);
int web_report_page(struct web_ctx *c);   /* GET /report?from=&to=&team=[&format=csv] */
int web_ops_healthz(struct web_ctx *c);   /* GET /healthz */
int web_ops_metrics(struct web_ctx *c);   /* GET /metrics */

#endif
