/* web_auth.h — who is asking, and may they.
 *
 * Single sign-on stays the council's: a reverse proxy sets the configured
 * identity header to the person's e-mail address.  The header is believed
 * only from web.trusted_proxies or through a Unix socket; a request that
 * carries it from anywhere else is refused outright (WEB_AUTH_UNTRUSTED),
 * not served as anonymous, so a misrouted request is noticed.
 *
 * Forms carry a CSRF token: HMAC-SHA256 of "csrf", the person and the day,
 * under the link key, valid today and yesterday.  The key comes from
 * web.link_key_file or the systemd credential web.link_key_credential,
 * shared with the daemon; without either, a random key for this process.
 */
#ifndef DEADLINED_WEB_AUTH_H
#define DEADLINED_WEB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "deadlined/conf.h"
#include "deadlined/error.h"

#define WEB_KEY_MAX 256
#define WEB_TOKEN_BUF 65

struct web_key {
	unsigned char v[WEB_KEY_MAX];
	size_t n;
};

enum web_auth {
	WEB_AUTH_OK,         /* *email filled, lower case */
	WEB_AUTH_NONE,       /* no header: not signed in */
	WEB_AUTH_UNTRUSTED,  /* header from an address not trusted */
	WEB_AUTH_BAD,        /* header present but not an address */
};

enum web_auth web_auth_identify(const struct conf_web *w, const struct sockaddr *peer,
				bool unix_socket, const char *header, char *email, size_t size);

/* Is peer one of list (numeric addresses)? */
bool web_auth_addr_in(const struct schema_strings *list, const struct sockaddr *peer);
/* The peer as text ("unix" for a Unix socket). */
void web_auth_peer_text(const struct sockaddr *peer, char *buf, size_t size);

int web_auth_load_key(const struct conf_web *w, struct web_key *key, struct dl_error *err);

/* Hex HMAC-SHA256 of the parts joined by NUL bytes. */
void web_auth_mac(const struct web_key *key, const char *const *parts, size_t n,
		  char out[WEB_TOKEN_BUF]);
void web_auth_csrf(const struct web_key *key, const char *email, const char *day,
		   char out[WEB_TOKEN_BUF]);
bool web_auth_csrf_ok(const struct web_key *key, const char *email, const char *token);
/* Constant-time comparison of two tokens. */
bool web_auth_same(const char *a, const char *b);

#endif
