/* link.c — signed links in alerts (see link.h). */
#include "deadlined/link.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static int read_key_file(const char *path, struct link_key *key, struct dl_error *err)
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
			  "`head -c 48 /dev/urandom | base64 > %s`)", path, key->n, path);
		key->n = 0;
		return -1;
	}
	return 0;
}

int link_key_load(const struct conf_web *w, struct link_key *key, struct dl_error *err)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];

	key->n = 0;
	if (w->link_key_file)
		return read_key_file(w->link_key_file, key, err);
	if (!w->link_key_credential)
		return 0;
	if (!dir) {
		error_set(err, "web.link_key_credential %s: no CREDENTIALS_DIRECTORY (is "
			  "LoadCredential= in the unit?)", w->link_key_credential);
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, w->link_key_credential);
	return read_key_file(path, key, err);
}

int link_key_random(struct link_key *key, struct dl_error *err)
{
	key->n = 32;
	if (getrandom(key->v, key->n, 0) != (ssize_t)key->n) {
		error_set(err, "getrandom: %s", strerror(errno));
		key->n = 0;
		return -1;
	}
	return 0;
}

void link_mac(const struct link_key *key, const char *const *parts, size_t n,
	      char out[LINK_MAC_BUF])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t len = 0;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	int ok = ctx && key->n && EVP_MAC_init(ctx, key->v, key->n, params);

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

static void sign(const struct link_key *key, const char *kind, const char *case_ref,
		 const char *rule, const char *to, const char *expires, char out[LINK_MAC_BUF])
{
	const char *parts[] = { "link", kind, case_ref, rule, to, expires };

	link_mac(key, parts, 6, out);
}

/* Percent-encode everything but RFC 3986's unreserved characters. */
static size_t put_enc(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		    (*u >= '0' && *u <= '9') || strchr("-._~", *u)) {
			out[n++] = (char)*u;
		} else {
			out[n++] = '%';
			out[n++] = hex[*u >> 4];
			out[n++] = hex[*u & 15];
		}
	}
	out[n] = '\0';
	return n;
}

char *link_make(const struct link_key *key, const char *base_url, const char *kind,
		const char *case_ref, const char *rule, const char *to, int64_t expires)
{
	const char *fields[] = { kind, case_ref, rule, to };
	static const char *const names[] = { "k", "c", "r", "to" };
	char e[24], sig[LINK_MAC_BUF], *out, *p;
	size_t base = strlen(base_url), size = base + 200;

	snprintf(e, sizeof e, "%lld", (long long)expires);
	sign(key, kind, case_ref, rule, to, e, sig);
	for (size_t i = 0; i < 4; i++)
		size += 3 * strlen(fields[i]);
	if (!(out = malloc(size)))
		return NULL;
	while (base && base_url[base - 1] == '/')
		base--;
	p = out + sprintf(out, "%.*s/l", (int)base, base_url);
	for (size_t i = 0; i < 4; i++) {
		p += sprintf(p, "%c%s=", i ? '&' : '?', names[i]);
		p += put_enc(p, fields[i]);
	}
	sprintf(p, "&e=%s&s=%s", e, sig);
	return out;
}

char *link_tray_url(const char *base_url)
{
	size_t n = strlen(base_url);
	char *out = malloc(n + 2);

	while (n && base_url[n - 1] == '/')
		n--;
	if (out)
		sprintf(out, "%.*s/", (int)n, base_url);
	return out;
}

char *link_case_url(const char *tmpl, const char *case_ref)
{
	const char *at = tmpl && case_ref ? strstr(tmpl, "{case_ref}") : NULL;
	const char *rest = at ? at + strlen("{case_ref}") : NULL;
	char *out;

	if (!at || !(out = malloc(strlen(tmpl) + 3 * strlen(case_ref) + 1)))
		return NULL;
	memcpy(out, tmpl, (size_t)(at - tmpl));
	strcpy(out + (at - tmpl) + put_enc(out + (at - tmpl), case_ref), rest);
	return out;
}

enum link_check link_verify(const struct link_key *key, const char *kind, const char *case_ref,
			    const char *rule, const char *to, const char *expires,
			    const char *sig, const char *viewer, int64_t now)
{
	char want[LINK_MAC_BUF], *end = NULL;
	long long e;

	if (!kind || !case_ref || !rule || !to || !expires || !sig || !key->n)
		return LINK_TAMPERED;
	sign(key, kind, case_ref, rule, to, expires, want);
	if (strlen(sig) != strlen(want) || !want[0] ||
	    CRYPTO_memcmp(sig, want, strlen(want)) != 0)
		return LINK_TAMPERED;
	e = strtoll(expires, &end, 10);
	if (!*expires || *end)
		return LINK_TAMPERED;
	if (e < now)
		return LINK_EXPIRED;
	return strcasecmp(to, viewer) == 0 ? LINK_OK : LINK_NOT_YOURS;
}
