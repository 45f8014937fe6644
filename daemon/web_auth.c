/* web_auth.c — identity from the proxy, CSRF tokens, the link key (see
 * web_auth.h). */
#include "deadlined/web_auth.h"

#include "deadlined/date.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

bool web_auth_addr_in(const struct schema_strings *list, const struct sockaddr *peer)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char want[16], have[16];

	if (!peer)
		return false;
	web_auth_peer_text(peer, text, sizeof text);
	for (size_t i = 0; i < list->n; i++) {
		int fam = strchr(list->v[i], ':') ? AF_INET6 : AF_INET;

		/* Compare as bytes, so "::1" and "0:0::1" are the same. */
		if (inet_pton(fam, list->v[i], want) == 1 && inet_pton(fam, text, have) == 1 &&
		    memcmp(want, have, fam == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

void web_auth_peer_text(const struct sockaddr *peer, char *buf, size_t size)
{
	const void *a = NULL;

	snprintf(buf, size, "unix");
	if (peer && peer->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)peer)->sin_addr;
	else if (peer && peer->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
	if (a && !inet_ntop(peer->sa_family, a, buf, (socklen_t)size))
		snprintf(buf, size, "unknown");
	/* An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d. */
	if (a && strncmp(buf, "::ffff:", 7) == 0 && strchr(buf + 7, '.'))
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

/* A plausible address: local@domain, printable, no spaces or markup. */
static bool is_address(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) > 254)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s) || strchr("<>\"'\\,;()", *s))
			return false;
	return true;
}

enum web_auth web_auth_identify(const struct conf_web *w, const struct sockaddr *peer,
				bool unix_socket, const char *header, char *email, size_t size)
{
	if (!header)
		return WEB_AUTH_NONE;
	if (!unix_socket && !web_auth_addr_in(&w->trusted_proxies, peer))
		return WEB_AUTH_UNTRUSTED;
	if (!is_address(header) || strlen(header) >= size)
		return WEB_AUTH_BAD;
	for (size_t i = 0; header[i]; i++)
		email[i] = (char)tolower((unsigned char)header[i]);
	email[strlen(header)] = '\0';
	return WEB_AUTH_OK;
}

void web_auth_csrf(const struct link_key *key, const char *email, const char *day,
		   char out[WEB_TOKEN_BUF])
{
	const char *parts[] = { "csrf", email, day };

	link_mac(key, parts, 3, out);
}

bool web_auth_csrf_ok(const struct link_key *key, const char *email, const char *token)
{
	char want[WEB_TOKEN_BUF], day[DATE_BUF];
	dl_day today = date_today();

	if (!token)
		return false;
	for (dl_day d = today; d >= today - 1; d--) {
		web_auth_csrf(key, email, date_format(d, day), want);
		if (strlen(token) == strlen(want) && want[0] &&
		    CRYPTO_memcmp(want, token, strlen(want)) == 0)
			return true;
	}
	return false;
}
