/* web_auth.h — who is asking, and may they.
 *
 * Single sign-on stays the council's: a reverse proxy sets the configured
 * identity header to the person's e-mail address.  The header is believed
 * only from web.trusted_proxies or through a Unix socket; a request that
 * carries it from anywhere else is refused outright (WEB_AUTH_UNTRUSTED),
 * not served as anonymous, so a misrouted request is noticed.
 *
 * Forms carry a CSRF token: HMAC-SHA256 of "csrf", the person and the day,
 * under the link key (link.h), valid today and yesterday; without a
 * configured key, deadlined-web makes a random one at start.
 */
#ifndef DEADLINED_WEB_AUTH_H
#define DEADLINED_WEB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "deadlined/conf.h"
#include "deadlined/error.h"
#include "deadlined/link.h"

#define WEB_TOKEN_BUF LINK_MAC_BUF

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

void web_auth_csrf(const struct link_key *key, const char *email, const char *day,
		   char out[WEB_TOKEN_BUF]);
bool web_auth_csrf_ok(const struct link_key *key, const char *email, const char *token);

#endif
