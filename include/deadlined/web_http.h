/* web_http.h — deadlined-web's HTTP server, on libmicrohttpd.
 *
 * One listening socket: the one systemd passes (deadlined-web.socket,
 * Accept=no, found with sd_listen_fds) or one web_http_listen makes for
 * --listen (HOST:PORT or unix:PATH).  A pool of threads (libmicrohttpd's
 * thread pool) serves the requests: the handler runs on any of them, each
 * request on one thread from start to end, so what the handler touches
 * must be its own or read-only (web_pool.h gives each request its own
 * state connections).  A request's body (a
 * form, application/x-www-form-urlencoded) is read whole, up to 64 KiB,
 * and decoded before the handler runs; anything larger gets 413.  Every
 * response carries a strict Content-Security-Policy, no-store, nosniff and
 * no-referrer (signed links must not leak through Referer).
 */
#ifndef DEADLINED_WEB_HTTP_H
#define DEADLINED_WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "deadlined/error.h"
#include "deadlined/web_page.h"

struct web_form {
	char **key, **value;
	size_t n;
};

struct web_request {
	const char *method, *path;
	const struct sockaddr *peer;   /* NULL when unknown */
	bool unix_socket;              /* came through a Unix socket */
	struct web_form query, form;   /* decoded ?a=b and POST body */
	void *conn;                    /* the library's connection */
};

struct web_response {
	int status;
	const char *content_type;      /* default text/html; charset=utf-8 */
	char location[512];            /* for 303, or "" */
	const char *disposition;       /* Content-Disposition, or NULL */
	struct web_buf body;
};

typedef int (*web_handler_fn)(void *ctx, const struct web_request *req,
			      struct web_response *resp);

/* The first value of name, or NULL. */
const char *web_form_get(const struct web_form *f, const char *name);
/* Decode application/x-www-form-urlencoded text into f (appending). */
int web_form_parse(struct web_form *f, const char *text, size_t len);
void web_form_free(struct web_form *f);
/* A request header's value, or NULL. */
const char *web_request_header(const struct web_request *req, const char *name);

/* The listening socket: systemd's, else NULL spec is an error. */
int web_http_listen(const char *spec, int *fd, struct dl_error *err);
int web_http_systemd_fd(int *fd, struct dl_error *err);

struct web_http;
/* Serve on fd with threads server threads (libmicrohttpd's thread pool;
 * 1: one internal thread): fn is called on any of them, each request on
 * one thread from start to end. */
int web_http_start(int fd, unsigned threads, web_handler_fn fn, void *ctx,
		   struct web_http **out, struct dl_error *err);
void web_http_stop(struct web_http *h);

#endif
