/* web_auth.c — identity from the proxy, CSRF tokens, the link key (see
 * web_auth.h). */
#include "deadlined/web_auth.h"

#include "deadlined/date.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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

static int read_key_file(const char *path, struct web_key *key, struct dl_error *err)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		error_set(err, "link key %s: %s", path, strerror(errno));
		return -1;
	}
	key->n = fread(key->v, 1, sizeof key->v, f);
	fclose(f);
	while (key->n && (key->v[key->n - 1] == '\n' || key->v[key->n - 1] == '\r'))
		key->n--;
	if (key->n < 32) {
		error_set(err, "link key %s: %zu bytes; at least 32 are needed (make one with "
			  "`head -c 32 /dev/urandom | base64 > %s`)", path, key->n, path);
		return -1;
	}
	return 0;
}

int web_auth_load_key(const struct conf_web *w, struct web_key *key, struct dl_error *err)
{
	char path[4096];
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (w->link_key_file)
		return read_key_file(w->link_key_file, key, err);
	if (w->link_key_credential) {
		if (!dir) {
			error_set(err, "web.link_key_credential %s: no CREDENTIALS_DIRECTORY (is "
				  "LoadCredential= in the unit?)", w->link_key_credential);
			return -1;
		}
		snprintf(path, sizeof path, "%s/%s", dir, w->link_key_credential);
		return read_key_file(path, key, err);
	}
	key->n = 32;
	if (getrandom(key->v, key->n, 0) != (ssize_t)key->n) {
		error_set(err, "getrandom: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void web_auth_mac(const struct web_key *key, const char *const *parts, size_t n,
		  char out[WEB_TOKEN_BUF])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t len = 0;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	int ok = ctx && EVP_MAC_init(ctx, key->v, key->n, params);

	/* Each part with its NUL, so ("ab","c") and ("a","bc") differ. */
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
	ok = ok && EVP_MAC_final(ctx, md, &len, sizeof md) && len >= 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	out[0] = '\0';
	for (size_t i = 0; ok && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void web_auth_csrf(const struct web_key *key, const char *email, const char *day,
		   char out[WEB_TOKEN_BUF])
{
	const char *parts[] = { "csrf", email, day };

	web_auth_mac(key, parts, 3, out);
}

bool web_auth_same(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && n > 0 && CRYPTO_memcmp(a, b, n) == 0;
}

bool web_auth_csrf_ok(const struct web_key *key, const char *email, const char *token)
{
	char want[WEB_TOKEN_BUF], day[DATE_BUF];
	dl_day today = date_today();

	if (!token)
		return false;
	for (dl_day d = today; d >= today - 1; d--) {
		web_auth_csrf(key, email, date_format(d, day), want);
		if (web_auth_same(want, token))
			return true;
	}
	return false;
}
