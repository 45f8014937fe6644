/* web_http.c — the libmicrohttpd server (see web_http.h). */
#include "deadlined/web_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define MAX_BODY (64 * 1024)
#define MAX_FIELDS 1000

struct web_http {
	struct MHD_Daemon *mhd;
	web_handler_fn fn;
	void *ctx;
};

/* What one connection's request has gathered between callbacks. */
struct pending {
	struct web_buf body;
	bool too_big;
};

const char *web_form_get(const struct web_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->key[i], name) == 0)
			return f->value[i];
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX and + decoded; a NUL byte or a broken escape is refused. */
static char *decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	for (size_t i = 0; out && i < len; i++) {
		int h = -1;

		if (s[i] == '+') {
			*o++ = ' ';
			continue;
		}
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
			h = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
		if (h <= 0) {
			free(out);
			return NULL;
		}
		*o++ = (char)h;
		i += 2;
	}
	if (out)
		*o = '\0';
	return out;
}

static int form_add(struct web_form *f, char *k, char *v)
{
	char **nk, **nv;

	if (!k || !v || f->n >= MAX_FIELDS)
		goto fail;
	nk = realloc(f->key, (f->n + 1) * sizeof *nk);
	if (nk)
		f->key = nk;
	nv = realloc(f->value, (f->n + 1) * sizeof *nv);
	if (nv)
		f->value = nv;
	if (!nk || !nv)
		goto fail;
	f->key[f->n] = k;
	f->value[f->n++] = v;
	return 0;
fail:
	free(k);
	free(v);
	return -1;
}

int web_form_parse(struct web_form *f, const char *text, size_t len)
{
	const char *end = text + len;

	while (text < end) {
		const char *amp = memchr(text, '&', (size_t)(end - text));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(text, '=', (size_t)(stop - text));

		if (stop > text) {
			const char *kend = eq ? eq : stop;

			if (form_add(f, decode(text, (size_t)(kend - text)),
				     eq ? decode(eq + 1, (size_t)(stop - eq - 1)) : decode("", 0)) < 0)
				return -1;
		}
		text = stop + 1;
	}
	return 0;
}

void web_form_free(struct web_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->key[i]);
		free(f->value[i]);
	}
	free(f->key);
	free(f->value);
	*f = (struct web_form){ 0 };
}

const char *web_request_header(const struct web_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int web_http_systemd_fd(int *fd, struct dl_error *err)
{
	int n = sd_listen_fds(1);

	if (n != 1) {
		error_set(err, "%s", n < 0 ? "sd_listen_fds failed" : n == 0 ?
			  "no socket from systemd (start deadlined-web.socket, or give --listen)" :
			  "systemd passed more than one socket; deadlined-web.socket must name one "
			  "ListenStream");
		return -1;
	}
	*fd = SD_LISTEN_FDS_START;
	return 0;
}

static int listen_unix(const char *path, int *fd, struct dl_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof sa.sun_path) {
		error_set(err, "--listen unix:%s: the path is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 64) < 0) {
		error_set(err, "--listen unix:%s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	*fd = s;
	return 0;
}

/* HOST:PORT ([v6]:PORT too) or unix:PATH. */
int web_http_listen(const char *spec, int *fd, struct dl_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *ai;
	char host[128];
	const char *colon = strrchr(spec, ':');
	int s, one = 1, rc;

	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, fd, err);
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host) {
		error_set(err, "--listen %s: expected HOST:PORT (e.g. 127.0.0.1:8080) or unix:PATH",
			  spec);
		return -1;
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
		error_set(err, "--listen %s: %s (a numeric address and port are expected)", spec,
			  gai_strerror(rc));
		return -1;
	}
	s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, 128) < 0) {
		error_set(err, "--listen %s: %s", spec, strerror(errno));
		if (s >= 0)
			close(s);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	*fd = s;
	return 0;
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	return form_add(cls, strdup(key), strdup(value ? value : "")) < 0 ? MHD_NO : MHD_YES;
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct web_response *r)
{
	struct MHD_Response *m;
	enum MHD_Result rc;

	if (r->body.oom) {
		web_buf_free(&r->body);
		r->status = 500;
		r->content_type = "text/plain; charset=utf-8";
		web_buf_add(&r->body, "out of memory\n", 14);
	}
	/* The page's buffer is handed over, not copied: the library frees it. */
	m = r->body.p ? MHD_create_response_from_buffer(r->body.n, r->body.p, MHD_RESPMEM_MUST_FREE) :
	    MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
	if (!m) {
		web_buf_free(&r->body);
		return MHD_NO;
	}
	r->body = (struct web_buf){ 0 };
	MHD_add_response_header(m, "Content-Type", r->content_type ? r->content_type :
				"text/html; charset=utf-8");
	MHD_add_response_header(m, "Content-Security-Policy", "default-src 'none'; "
				"style-src 'self'; img-src 'self'; form-action 'self'; "
				"frame-ancestors 'none'; base-uri 'none'");
	MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(m, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(m, "Cache-Control", "no-store");
	MHD_add_response_header(m, "X-Frame-Options", "DENY");
	if (r->location[0])
		MHD_add_response_header(m, "Location", r->location);
	if (r->disposition)
		MHD_add_response_header(m, "Content-Disposition", r->disposition);
	rc = MHD_queue_response(conn, (unsigned)r->status, m);
	MHD_destroy_response(m);
	return rc;
}

static enum MHD_Result plain(struct MHD_Connection *conn, int status, const char *text)
{
	struct web_response r = { .status = status, .content_type = "text/plain; charset=utf-8" };

	web_buf_add(&r.body, text, strlen(text));
	return respond(conn, &r);
}

static enum MHD_Result dispatch(struct web_http *h, struct MHD_Connection *conn,
				const char *url, const char *method, struct pending *p)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct web_request req = { .method = method, .path = url, .conn = conn };
	struct web_response resp = { .status = 200 };
	enum MHD_Result rc;

	req.peer = ci ? ci->client_addr : NULL;
	req.unix_socket = !req.peer || req.peer->sa_family == AF_UNIX;
	if (MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_query, &req.query) < 0 ||
	    (p->body.n && web_form_parse(&req.form, p->body.p, p->body.n) < 0)) {
		web_form_free(&req.query);
		web_form_free(&req.form);
		return plain(conn, 400, "The request's form data could not be read.\n");
	}
	if (h->fn(h->ctx, &req, &resp) < 0) {
		web_buf_free(&resp.body);
		resp = (struct web_response){ .status = 500,
					      .content_type = "text/plain; charset=utf-8" };
		web_buf_add(&resp.body, "Something went wrong; it has been logged.\n", 42);
	}
	rc = respond(conn, &resp);
	web_form_free(&req.query);
	web_form_free(&req.form);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **state)
{
	struct pending *p = *state;

	(void)version;
	if (!p) {
		if (!(p = calloc(1, sizeof *p)))
			return MHD_NO;
		*state = p;
		return MHD_YES;
	}
	if (*upload_size) {
		if (p->body.n + *upload_size > MAX_BODY)
			p->too_big = true;
		else
			web_buf_add(&p->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (p->too_big || p->body.oom)
		return plain(conn, 413, "The form is larger than deadlined-web accepts.\n");
	return dispatch(cls, conn, url, method, p);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
		    enum MHD_RequestTerminationCode why)
{
	struct pending *p = *state;

	(void)cls;
	(void)conn;
	(void)why;
	if (p) {
		web_buf_free(&p->body);
		free(p);
		*state = NULL;
	}
}

int web_http_start(int fd, unsigned threads, web_handler_fn fn, void *ctx,
		   struct web_http **out, struct dl_error *err)
{
	struct web_http *h = calloc(1, sizeof *h);

	*out = NULL;
	if (!h) {
		error_set(err, "out of memory");
		return -1;
	}
	h->fn = fn;
	h->ctx = ctx;
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
				  MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
				  MHD_OPTION_THREAD_POOL_SIZE, threads,
				  MHD_OPTION_END);
	if (!h->mhd) {
		error_set(err, "libmicrohttpd would not start on the listening socket");
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

void web_http_stop(struct web_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
