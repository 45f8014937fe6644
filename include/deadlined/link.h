/* link.h — signed links in alerts, shared by the daemon (which writes them
 * into e-mails and webhook payloads) and deadlined-web (which checks them).
 *
 * A link names what it opens (kind "open" or "ack"), the case and rule, the
 * recipient it was sent to, and when it expires (unix seconds); the
 * signature is HMAC-SHA256 over those, under a key both programs read from
 * web.link_key_file or the systemd credential web.link_key_credential.  A
 * link only ever opens a page (a GET changes nothing); the recipient must
 * still sign in, and be the person the link was sent to.
 */
#ifndef DEADLINED_LINK_H
#define DEADLINED_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "deadlined/conf.h"
#include "deadlined/error.h"

#define LINK_KEY_MAX 256
#define LINK_MAC_BUF 65

struct link_key {
	unsigned char v[LINK_KEY_MAX];
	size_t n;            /* 0: no key configured, so no links */
};

/* The configured key, or n = 0 when neither setting is given. */
int link_key_load(const struct conf_web *w, struct link_key *key, struct dl_error *err);
/* A random key for this process (the web's forms when no key is set). */
int link_key_random(struct link_key *key, struct dl_error *err);

/* Hex HMAC-SHA256 of the parts, each with its terminating NUL. */
void link_mac(const struct link_key *key, const char *const *parts, size_t n,
	      char out[LINK_MAC_BUF]);

/* base_url + "/l?k=KIND&c=CASE&r=RULE&to=WHO&e=EXPIRES&s=SIG", newly
 * allocated; NULL when out of memory. */
char *link_make(const struct link_key *key, const char *base_url, const char *kind,
		const char *case_ref, const char *rule, const char *to, int64_t expires);

/* base_url with one trailing "/" (the tray), newly allocated. */
char *link_tray_url(const char *base_url);

/* web.case_url with {case_ref} replaced by the percent-encoded reference,
 * newly allocated; NULL when there is no template or no memory. */
char *link_case_url(const char *tmpl, const char *case_ref);

enum link_check {
	LINK_OK,
	LINK_TAMPERED,       /* a field changed, or the signature is not ours */
	LINK_EXPIRED,
	LINK_NOT_YOURS,      /* sent to someone else */
};

/* Check a link's fields (as they came in the query) for viewer at now. */
enum link_check link_verify(const struct link_key *key, const char *kind, const char *case_ref,
			    const char *rule, const char *to, const char *expires,
			    const char *sig, const char *viewer, int64_t now);

#endif
