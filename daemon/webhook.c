/* webhook.c — POST alerts as JSON over verified HTTPS: the generic
 * document, a Teams Workflows Adaptive Card or a Slack Block Kit message,
 * signed the Standard Webhooks way, several at once over libcurl multi.
 *
 * The sender keeps one multi handle (its connection cache outlives a batch,
 * so the next batch reuses warm TLS connections) and one easy handle a
 * connection; messages are fed to free handles as transfers finish.
 */
#include "deadlined/webhook.h"

#include "deadlined/service.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/receiver_backend.h"
#include "deadlined/version.h"

#define FIELD_MAX 200        /* bytes of one value from the case data */
#define TEXT_MAX 2900        /* a Slack section's text holds 3000 characters */
#define HEADER_MAX 150       /* a Slack header block's limit */
#define SNIPPET_MAX 100      /* bytes of a response body in a result's detail */
#define RESP_KEEP 256        /* bytes of a response body kept */
/* A receiver's answer is a status and a line or two: a body longer than
 * this, or slower than LOW_SPEED_BYTES a second for half the receiver's
 * timeout (at least 10 s: libcurl counts a receiver still thinking as slow
 * too), is cut short and the request judged by its status, if one came. */
#define RESP_MAX (64 * 1024)
#define LOW_SPEED_BYTES 100L
#define ID_MAX 255           /* a msg_id longer than this is not ours */
#define RETRY_AFTER_MAX 86400
#define POLL_MS 250    /* also how often the watchdog can be fed */

/* --- Text fit to show ------------------------------------------------- */

/* Length of the well-formed UTF-8 character at s, or 0 (overlong forms,
 * surrogates and values past U+10FFFF are not well formed). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xC2 || s[0] > 0xF4)
		return 0;
	len = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

/* Copy s (NULL: "") into out, which has room for max + 4 bytes, fit to show
 * anywhere: well-formed UTF-8 (jansson refuses anything else; a bad byte
 * becomes '?'), control characters as spaces (LF kept when keep_lf), and
 * at most max bytes, cut between characters and marked with "…". */
static void clip(const char *s, size_t max, bool keep_lf, char *out)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	while (*p) {
		size_t len = utf8_len(p), width = len ? len : 1;

		if (o + width > max) {
			memcpy(out + o, "\xe2\x80\xa6", 3);
			o += 3;
			break;
		}
		if (!len)
			out[o++] = '?';
		else if (len == 1 && (*p < 0x20 || *p == 0x7F) && !(keep_lf && *p == '\n'))
			out[o++] = ' ';
		else {
			memcpy(out + o, p, len);
			o += len;
		}
		p += width;
	}
	out[o] = '\0';
}

static json_t *jtext(const char *s, size_t max, bool keep_lf)
{
	char buf[TEXT_MAX + 4];

	clip(s, max < TEXT_MAX ? max : TEXT_MAX, keep_lf, buf);
	return json_string(buf);
}

/* Slack mrkdwn gives &, < and > meaning (entities, links, mentions such
 * as <!channel>); case data must show as the characters themselves. */
static void mrkdwn_escape(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" :
				  *s == '>' ? "&gt;" : NULL;
		size_t len = rep ? strlen(rep) : 1;

		if (o + len >= size)
			break;
		memcpy(out + o, rep ? rep : s, len);
		o += len;
	}
	out[o] = '\0';
}

/* Adaptive Card TextBlocks and FactSet values render markdown (bold,
 * italic, links, lists): case data must show as the characters themselves.
 * Each character markdown gives meaning gets a backslash, which every
 * Adaptive Cards renderer takes away; a line starting "-", "+", "1." (a
 * list), "#" or ">" gets one before its marker.  out holds 2 * strlen(s) + 1. */
static void teams_escape(const char *s, char *out)
{
	bool line_start = true;
	size_t o = 0;

	for (const char *p = s; *p; p++) {
		bool list = false;

		if (line_start && strchr("-+#>", *p))
			list = true;      /* a list, a heading, a quote */
		else if (line_start && *p >= '0' && *p <= '9') {
			const char *q = p;

			while (*q >= '0' && *q <= '9')
				q++;
			if (*q == '.') {           /* "12. x": escape the dot */
				memcpy(out + o, p, (size_t)(q - p));
				o += (size_t)(q - p);
				p = q;
				list = true;
			}
		}
		if (list || strchr("\\*_[]()`~|", *p))
			out[o++] = '\\';
		out[o++] = *p;
		if (*p != ' ')
			line_start = *p == '\n';
	}
	out[o] = '\0';
}

/* jtext, escaped for Teams. */
static json_t *teams_text(const char *s, size_t max, bool keep_lf)
{
	char buf[TEXT_MAX + 4], esc[2 * sizeof buf];

	clip(s, max < TEXT_MAX ? max : TEXT_MAX, keep_lf, buf);
	teams_escape(buf, esc);
	return json_string(esc);
}

/* --- The payload's items as facts ------------------------------------- */

struct fact {
	const char *title;
	char value[FIELD_MAX + 4];
};

#define MAX_FACTS 8

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A team or worker is {"ref", "name"}: its name, else its ref. */
static const char *who(const json_t *item, const char *key)
{
	const json_t *v = json_object_get(item, key);
	const char *name = str(v, "name");

	if (json_is_string(v))
		return json_string_value(v);
	return name && *name ? name : str(v, "ref");
}

static size_t add_fact(struct fact *f, size_t n, const char *title, const char *value)
{
	if (!value || !*value)
		return n;
	f[n].title = title;
	clip(value, FIELD_MAX, false, f[n].value);
	return n + 1;
}

/* What a manager needs of one item, in reading order; absent fields are
 * left out, except that no worker means the case is unallocated. */
static size_t item_facts(const json_t *item, struct fact f[MAX_FACTS])
{
	json_int_t days = json_integer_value(json_object_get(item, "days_overdue"));
	json_int_t stage = json_integer_value(json_object_get(item, "stage"));
	const char *rule = str(item, "rule_title"), *state = str(item, "state");
	const char *worker = who(item, "worker");
	char buf[FIELD_MAX + 64];
	size_t n = 0;

	if (!json_is_object(item))      /* the getters above give NULL and 0 */
		return 0;
	n = add_fact(f, n, "Case", str(item, "case_ref"));
	n = add_fact(f, n, "Child", str(item, "child_ref"));
	n = add_fact(f, n, "Rule", rule ? rule : str(item, "rule"));
	n = add_fact(f, n, "Due", str(item, "due"));
	if (state && stage > 0) {
		snprintf(buf, sizeof buf, "%.*s, escalation stage %" JSON_INTEGER_FORMAT,
			 FIELD_MAX, state, stage);
		state = buf;
	}
	n = add_fact(f, n, "State", state);
	if (days > 0) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " working day%s", days,
			 days == 1 ? "" : "s");
		n = add_fact(f, n, "Overdue", buf);
	}
	n = add_fact(f, n, "Team", who(item, "team"));
	return add_fact(f, n, "Worker", worker && *worker ? worker : "unallocated");
}

/* --- Teams and Slack messages ------------------------------------------ */

/* A link button: "Open in tray", "Acknowledge", "Open in the case system". */
struct button {
	const char *title, *url;
};

#define MAX_BUTTONS 3

/* The tray's address, and for a message about one item its own links
 * (render.c's "links"; signed for the recipient by the daemon). */
static size_t buttons_of(const json_t *doc, struct button b[MAX_BUTTONS])
{
	const json_t *items = json_object_get(doc, "items");
	const json_t *links = json_array_size(items) == 1 ?
			      json_object_get(json_array_get(items, 0), "links") : NULL;
	const char *tray = json_string_value(json_object_get(links, "tray"));
	size_t n = 0;

	if (!tray)
		tray = json_string_value(json_object_get(doc, "tray_url"));
	if (tray)
		b[n++] = (struct button){ "Open in tray", tray };
	if (json_string_value(json_object_get(links, "acknowledge")))
		b[n++] = (struct button){ "Acknowledge",
					  json_string_value(json_object_get(links, "acknowledge")) };
	if (json_string_value(json_object_get(links, "case")))
		b[n++] = (struct button){ "Open in the case system",
					  json_string_value(json_object_get(links, "case")) };
	return n;
}

/* How a format shows the parts every chat message has. */
struct chat_format {
	const char *name;
	json_t *(*heading)(const char *subject);
	json_t *(*item)(const struct fact *f, size_t n);
	json_t *(*note)(const char *text, bool keep_lf);
	json_t *(*wrap)(const char *subject, json_t *blocks);
	json_t *(*buttons)(const struct button *b, size_t n);
};

static json_t *teams_heading(const char *subject)
{
	return json_pack("{s:s, s:o, s:s, s:s, s:b}", "type", "TextBlock",
			 "text", teams_text(subject, FIELD_MAX, false),
			 "weight", "Bolder", "size", "Large", "wrap", 1);
}

static json_t *teams_item(const struct fact *f, size_t n)
{
	json_t *facts = json_array();

	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(facts, json_pack("{s:s, s:o}", "title", f[i].title,
							   "value", teams_text(f[i].value, FIELD_MAX,
									       false))) < 0) {
			json_decref(facts);
			return NULL;
		}
	return json_pack("{s:s, s:s, s:b, s:o}", "type", "FactSet", "spacing", "Medium",
			 "separator", 1, "facts", facts);
}

static json_t *teams_note(const char *text, bool keep_lf)
{
	return json_pack("{s:s, s:o, s:b}", "type", "TextBlock",
			 "text", teams_text(text, TEXT_MAX, keep_lf), "wrap", 1);
}

/* The message a Teams Workflow ("post to a channel when a webhook request
 * is received") expects: one Adaptive Card attachment. */
static json_t *teams_wrap(const char *subject, json_t *blocks)
{
	json_t *card = json_pack("{s:s, s:s, s:s, s:o, s:{s:s}}",
				 "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
				 "type", "AdaptiveCard", "version", "1.4", "body", blocks,
				 "msteams", "width", "Full");

	(void)subject;          /* the heading block shows it */
	return json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "attachments",
			 "contentType", "application/vnd.microsoft.card.adaptive",
			 "contentUrl", "content", card);
}

/* Action.OpenUrl buttons, in the card's body (Adaptive Cards 1.2+). */
static json_t *teams_buttons(const struct button *b, size_t n)
{
	json_t *actions = json_array();

	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(actions, json_pack("{s:s, s:s, s:s}", "type",
							     "Action.OpenUrl", "title", b[i].title,
							     "url", b[i].url)) < 0) {
			json_decref(actions);
			return NULL;
		}
	return json_pack("{s:s, s:o}", "type", "ActionSet", "actions", actions);
}

static json_t *slack_buttons(const struct button *b, size_t n)
{
	json_t *elements = json_array();

	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(elements, json_pack("{s:s, s:{s:s, s:s}, s:s}", "type",
							      "button", "text", "type", "plain_text",
							      "text", b[i].title, "url", b[i].url)) < 0) {
			json_decref(elements);
			return NULL;
		}
	return json_pack("{s:s, s:o}", "type", "actions", "elements", elements);
}

static json_t *slack_heading(const char *subject)
{
	return json_pack("{s:s, s:{s:s, s:o}}", "type", "header", "text",
			 "type", "plain_text", "text", jtext(subject, HEADER_MAX, false));
}

/* A section of two-column fields, "*Title*\nvalue" each. */
static json_t *slack_item(const struct fact *f, size_t n)
{
	char esc[FIELD_MAX * 5 + 8], text[sizeof esc + 32];
	json_t *fields = json_array();

	for (size_t i = 0; i < n; i++) {
		mrkdwn_escape(f[i].value, esc, sizeof esc);
		snprintf(text, sizeof text, "*%s*\n%s", f[i].title, esc);
		if (json_array_append_new(fields, json_pack("{s:s, s:s}", "type", "mrkdwn",
							    "text", text)) < 0) {
			json_decref(fields);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o}", "type", "section", "fields", fields);
}

/* plain_text: nothing to escape, and the limit holds as clipped. */
static json_t *slack_note(const char *text, bool keep_lf)
{
	return json_pack("{s:s, s:{s:s, s:o}}", "type", "section", "text",
			 "type", "plain_text", "text", jtext(text, TEXT_MAX, keep_lf));
}

/* "text" is the notification's words and the fallback; it is mrkdwn. */
static json_t *slack_wrap(const char *subject, json_t *blocks)
{
	char line[FIELD_MAX + 4], esc[sizeof line * 5];

	clip(subject, FIELD_MAX, false, line);
	mrkdwn_escape(line, esc, sizeof esc);
	return json_pack("{s:s, s:o}", "text", esc, "blocks", blocks);
}

static const struct chat_format teams_format = {
	"teams", teams_heading, teams_item, teams_note, teams_wrap, teams_buttons
};
static const struct chat_format slack_format = {
	"slack", slack_heading, slack_item, slack_note, slack_wrap, slack_buttons
};

static bool append(json_t *blocks, json_t *block)
{
	return json_array_append_new(blocks, block) == 0;
}

/* The subject, up to WEBHOOK_ITEMS_SHOWN items, "and N more"; a message
 * without items (a test message, say) shows its plain text instead. */
static json_t *chat_message(const struct chat_format *fmt, const struct message *m,
			    const json_t *doc)
{
	const json_t *items = json_object_get(doc, "items");
	/* The document may list only the worst (notify.max_items). */
	json_int_t unlisted = json_integer_value(json_object_get(doc, "items_not_listed"));
	size_t n = json_array_size(items), i;
	json_t *blocks = json_array();
	bool ok = append(blocks, fmt->heading(m->subject));
	struct fact f[MAX_FACTS];
	struct button b[MAX_BUTTONS];
	size_t nb;
	char more[64];

	for (i = 0; ok && i < n && i < WEBHOOK_ITEMS_SHOWN; i++) {
		size_t k = item_facts(json_array_get(items, i), f);

		if (k)
			ok = append(blocks, fmt->item(f, k));
	}
	if (ok && n + (size_t)unlisted > i) {
		snprintf(more, sizeof more, "… and %zu more", n + (size_t)unlisted - i);
		ok = append(blocks, fmt->note(more, false));
	}
	if (ok && n == 0 && m->text && *m->text)
		ok = append(blocks, fmt->note(m->text, true));
	if (ok && (nb = buttons_of(doc, b)) > 0)
		ok = append(blocks, fmt->buttons(b, nb));
	if (!ok) {
		json_decref(blocks);
		return NULL;
	}
	return fmt->wrap(m->subject, blocks);
}

char *webhook_body(enum webhook_format format, const struct message *m,
		   struct dl_error *err)
{
	const struct chat_format *fmt = format == WEBHOOK_TEAMS ? &teams_format : &slack_format;
	json_t *doc, *root;
	char *body;

	if (format == WEBHOOK_GENERIC) {
		if (!m->payload) {
			error_set(err, "the message has no JSON payload");
			return NULL;
		}
		if (!(body = strdup(m->payload)))
			error_set(err, "out of memory");
		return body;
	}
	/* A payload that does not parse still gives a message: the subject. */
	doc = m->payload ? json_loads(m->payload, 0, NULL) : NULL;
	root = chat_message(fmt, m, doc);
	body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	json_decref(doc);
	if (!body)
		error_set(err, "out of memory building the %s message", fmt->name);
	return body;
}

/* --- Signatures --------------------------------------------------------- */

static int key_copy(const char *secret, unsigned char **key, size_t *key_len,
		    struct dl_error *err)
{
	*key_len = strlen(secret);
	if (!(*key = malloc(*key_len + 1))) {
		error_set(err, "out of memory");
		return -1;
	}
	memcpy(*key, secret, *key_len + 1);
	return 0;
}

/* "whsec_" + base64, as the Standard Webhooks libraries decode it. */
static int key_decode(const char *b64, unsigned char **key, size_t *key_len,
		      struct dl_error *err)
{
	size_t len = strlen(b64), pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len > 4096) {
		error_set(err, "the secret starts with whsec_ but what follows is not base64");
		return -1;
	}
	if (!(*key = malloc(len / 4 * 3 + 1))) {
		error_set(err, "out of memory");
		return -1;
	}
	n = EVP_DecodeBlock(*key, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts padding as zero bytes. */
	while (pad < 2 && b64[len - 1 - pad] == '=')
		pad++;
	if (n < 0 || (size_t)n <= pad) {
		OPENSSL_cleanse(*key, len / 4 * 3 + 1);
		free(*key);
		*key = NULL;
		error_set(err, "the secret starts with whsec_ but what follows is not base64");
		return -1;
	}
	*key_len = (size_t)n - pad;
	return 0;
}

/* The Standard Webhooks specification signs with the base64-decoded bytes
 * of a "whsec_..." secret, and verifying libraries (svix, standardwebhooks)
 * decode it the same way, so such a secret works unchanged with them.  Any
 * other secret (say, one a Teams Workflow or a home-made receiver checks)
 * is used byte for byte, as HMAC receivers usually expect. */
int webhook_key(const char *secret, unsigned char **key, size_t *key_len,
		struct dl_error *err)
{
	static const char prefix[] = "whsec_";

	*key = NULL;
	*key_len = 0;
	if (!secret || !*secret) {
		error_set(err, "the secret is empty");
		return -1;
	}
	if (strncmp(secret, prefix, sizeof prefix - 1) == 0)
		return key_decode(secret + sizeof prefix - 1, key, key_len, err);
	return key_copy(secret, key, key_len, err);
}

int webhook_signature(const unsigned char *key, size_t key_len, const char *id,
		      int64_t timestamp, const char *body, size_t body_len,
		      char out[WEBHOOK_SIGNATURE_BUF])
{
	char digest[] = "SHA256", middle[32];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t md_len = 0;
	bool ok;

	snprintf(middle, sizeof middle, ".%" PRId64 ".", timestamp);
	ok = ctx && EVP_MAC_init(ctx, key, key_len, params) &&
	     EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) &&
	     EVP_MAC_update(ctx, (const unsigned char *)middle, strlen(middle)) &&
	     EVP_MAC_update(ctx, (const unsigned char *)body, body_len) &&
	     EVP_MAC_final(ctx, md, &md_len, sizeof md) && md_len <= 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	if (ok) {
		memcpy(out, "v1,", 3);
		EVP_EncodeBlock((unsigned char *)out + 3, md, (int)md_len);
	}
	OPENSSL_cleanse(md, sizeof md);
	return ok ? 0 : -1;
}

/* --- Results ------------------------------------------------------------ */

static void result_set(struct delivery_result *r, enum delivery_status status,
		       long retry_after, const char *detail)
{
	r->status = status;
	r->retry_after = retry_after;
	snprintf(r->detail, sizeof r->detail, "%s", detail);
}

void webhook_http_result(long status, const char *body, long retry_after,
			 struct delivery_result *r)
{
	char snippet[SNIPPET_MAX + 4];
	size_t len;

	while (body && (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n'))
		body++;
	clip(body, SNIPPET_MAX, false, snippet);
	len = strlen(snippet);
	while (len > 0 && snippet[len - 1] == ' ')
		snippet[--len] = '\0';
	if (status >= 300 && status < 400)
		snprintf(snippet, sizeof snippet, "redirects are not followed; give the final "
			 "https:// URL");
	r->status = status >= 200 && status < 300 ? DELIVERY_OK :
		    status == 408 || status == 429 || status >= 500 || status < 200 ?
		    DELIVERY_RETRY : DELIVERY_PERMANENT;
	/* A server may not park a message for ever: notify's dead_after rules. */
	if (retry_after > RETRY_AFTER_MAX)
		retry_after = RETRY_AFTER_MAX;
	r->retry_after = (status == 429 || status == 503) && retry_after > 0 ? retry_after : 0;
	snprintf(r->detail, sizeof r->detail, "HTTP %ld%s%s", status, *snippet ? ": " : "",
		 snippet);
}

/* --- The sender --------------------------------------------------------- */

struct webhook_slot {
	CURL *easy;
	bool busy;
	size_t index;                  /* of its message in the batch */
	char *body;
	struct curl_slist *headers;
	char resp[RESP_KEEP];          /* the start of the response body */
	size_t resp_len;
	size_t resp_total;             /* bytes of body received */
	char errbuf[CURL_ERROR_SIZE];
};

struct webhook_sender {
	const struct receiver_conf *conf;
	char *url;                     /* may be a secret: never logged */
	CURLM *multi;
	unsigned char *key;            /* NULL: messages are not signed */
	size_t key_len;
	size_t nslots;
	struct webhook_slot slots[];   /* one a connection */
};

/* One webhook_send call. */
struct batch {
	const struct message *msgs;
	struct delivery_result *results;
	size_t n, next, busy;
	char stop[200];                /* why no more are started, or "" */
};

static size_t keep_start(char *data, size_t size, size_t nmemb, void *userp)
{
	struct webhook_slot *sl = userp;
	size_t n = size * nmemb, room = sizeof sl->resp - 1 - sl->resp_len;

	if ((sl->resp_total += n) > RESP_MAX)
		return 0;     /* libcurl stops the transfer: CURLE_WRITE_ERROR */
	if (room > n)
		room = n;
	memcpy(sl->resp + sl->resp_len, data, room);
	sl->resp_len += room;
	sl->resp[sl->resp_len] = '\0';
	return n;
}

/* What stays the same for every message: where, how safely, how long. */
static int slot_init(const struct receiver_conf *c, const char *url, struct webhook_slot *sl,
		     struct dl_error *err)
{
	CURL *e = sl->easy = curl_easy_init();

	if (!e || curl_easy_setopt(e, CURLOPT_URL, url) ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) ||
	    (c->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file)) ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, c->connect_timeout) ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout) ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES) ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->timeout / 2 > 10 ? c->timeout / 2 : 10L) ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, receiver_progress) ||
	    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "deadlined/" DEADLINED_VERSION) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_start) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, sl) ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sl->errbuf) ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, sl)) {
		error_set(err, "cannot set up libcurl for HTTPS (is it built with TLS?)");
		return -1;
	}
	return 0;
}

static int sender_check(const struct receiver_conf *c, const char *url, struct dl_error *err)
{
	if (!url || strncmp(url, "https://", 8) != 0) {
		error_set(err, "url: expected an https:// URL");
		return -1;
	}
	if (c->ca_file && access(c->ca_file, R_OK) != 0) {
		error_set(err, "ca_file %s: %s", c->ca_file, strerror(errno));
		return -1;
	}
	return 0;
}

static int multi_init(struct webhook_sender *s, struct dl_error *err)
{
	long max = (long)s->nslots;

	s->multi = curl_multi_init();
	if (!s->multi || curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max) ||
	    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max) ||
	    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, max)) {
		error_set(err, "cannot set up libcurl multi");
		return -1;
	}
	return 0;
}

int webhook_open(const struct receiver_conf *conf, const char *url, const char *secret,
		 struct webhook_sender **out, struct dl_error *err)
{
	size_t nslots = conf->max_connections < 1 ? 1 : (size_t)conf->max_connections;
	struct webhook_sender *s;

	*out = NULL;
	if (sender_check(conf, url, err) < 0)
		return -1;
	if (!(s = calloc(1, sizeof *s + nslots * sizeof s->slots[0]))) {
		error_set(err, "out of memory");
		return -1;
	}
	s->conf = conf;
	s->nslots = nslots;
	if (!(s->url = strdup(url))) {
		error_set(err, "out of memory");
		goto fail;
	}
	if ((secret && webhook_key(secret, &s->key, &s->key_len, err) < 0) ||
	    multi_init(s, err) < 0)
		goto fail;
	for (size_t i = 0; i < nslots; i++)
		if (slot_init(conf, s->url, &s->slots[i], err) < 0)
			goto fail;
	*out = s;
	return 0;
fail:
	webhook_close(s);
	return -1;
}

void webhook_close(struct webhook_sender *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nslots; i++) {
		if (s->slots[i].busy)
			curl_multi_remove_handle(s->multi, s->slots[i].easy);
		curl_easy_cleanup(s->slots[i].easy);
		curl_slist_free_all(s->slots[i].headers);
		free(s->slots[i].body);
	}
	curl_multi_cleanup(s->multi);
	if (s->key)
		OPENSSL_cleanse(s->key, s->key_len);
	free(s->key);
	if (s->url)
		explicit_bzero(s->url, strlen(s->url));
	free(s->url);
	free(s);
}

/* Why a message cannot be sent as it is, or NULL. */
static const char *message_problem(const struct webhook_sender *s, const struct message *m)
{
	if (!m->msg_id || !*m->msg_id || strlen(m->msg_id) > ID_MAX)
		return "the message has no usable msg_id";
	for (const char *p = m->msg_id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			return "the msg_id is not one header line";
	if (s->conf->wformat == WEBHOOK_GENERIC && !m->payload)
		return "the message has no JSON payload";
	return NULL;
}

__attribute__((format(printf, 2, 3)))
static bool add_header(struct curl_slist **list, const char *fmt, ...)
{
	char line[ID_MAX + 64];
	struct curl_slist *l;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (!(l = curl_slist_append(*list, line)))
		return false;
	*list = l;
	return true;
}

/* Content-Type, the Standard Webhooks headers, and no "Expect:
 * 100-continue" (a round trip for nothing; "Expect:" removes it). */
static int slot_headers(const struct webhook_sender *s, struct webhook_slot *sl,
			const struct message *m)
{
	char sig[WEBHOOK_SIGNATURE_BUF];
	int64_t now = (int64_t)time(NULL);

	if (s->key && webhook_signature(s->key, s->key_len, m->msg_id, now, sl->body,
					strlen(sl->body), sig) < 0)
		return -1;
	return add_header(&sl->headers, "Content-Type: application/json") &&
	       add_header(&sl->headers, "Expect:") &&
	       add_header(&sl->headers, "webhook-id: %s", m->msg_id) &&
	       add_header(&sl->headers, "webhook-timestamp: %" PRId64, now) &&
	       (!s->key || add_header(&sl->headers, "webhook-signature: %s", sig)) ? 0 : -1;
}

static void slot_release(struct webhook_slot *sl)
{
	curl_slist_free_all(sl->headers);
	free(sl->body);
	sl->headers = NULL;
	sl->body = NULL;
	sl->busy = false;
}

static int slot_start(struct webhook_sender *s, struct webhook_slot *sl,
		      const struct message *m, struct dl_error *err)
{
	CURL *e = sl->easy;

	sl->resp_len = sl->resp_total = 0;
	sl->resp[0] = sl->errbuf[0] = '\0';
	if (!(sl->body = webhook_body(s->conf->wformat, m, err)))
		return -1;
	if (slot_headers(s, sl, m) < 0 ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, sl->body) ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(sl->body)) ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl->headers) ||
	    curl_multi_add_handle(s->multi, e) != CURLM_OK) {
		slot_release(sl);
		error_set(err, "cannot start the request (out of memory?)");
		return -1;
	}
	sl->busy = true;
	return 0;
}

static struct webhook_slot *free_slot(struct webhook_sender *s)
{
	for (size_t i = 0; i < s->nslots; i++)
		if (!s->slots[i].busy)
			return &s->slots[i];
	return NULL;
}

/* Start messages while connections are free; after a stop, mark the rest
 * for retry without trying them. */
static void feed(struct webhook_sender *s, struct batch *b)
{
	struct webhook_slot *sl;
	struct dl_error err;
	char why[sizeof b->stop + 32];

	while (b->next < b->n) {
		const struct message *m = &b->msgs[b->next];
		struct delivery_result *r = &b->results[b->next];
		const char *problem = message_problem(s, m);

		if (!*b->stop && service_round_over())
			snprintf(b->stop, sizeof b->stop, "%s", service_stop_requested ?
				 "the service is stopping" : "the delivery round's time was up");
		if (*b->stop) {
			snprintf(why, sizeof why, "not tried: %s", b->stop);
			result_set(r, DELIVERY_RETRY, 0, why);
		} else if (problem) {
			result_set(r, DELIVERY_PERMANENT, 0, problem);
		} else if (!(sl = free_slot(s))) {
			return;
		} else if (slot_start(s, sl, m, &err) < 0) {
			result_set(r, DELIVERY_RETRY, 0, err.msg);
		} else {
			sl->index = b->next;
			b->busy++;
		}
		b->next++;
	}
}

static void slot_finish(struct webhook_sender *s, struct batch *b, struct webhook_slot *sl,
			CURLcode rc)
{
	struct delivery_result *r = &b->results[sl->index];
	curl_off_t retry_after = 0;
	long status = 0;

	curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status);
	/* A body cut short (too long, too slow) after the status came: the
	 * receiver has answered, so the answer stands; retrying a 200 would
	 * deliver the message again at every retry. */
	if (rc == CURLE_OK || (status >= 200 && (rc == CURLE_WRITE_ERROR ||
						 rc == CURLE_OPERATION_TIMEDOUT))) {
		curl_easy_getinfo(sl->easy, CURLINFO_RETRY_AFTER, &retry_after);
		webhook_http_result(status, sl->resp, (long)retry_after, r);
		if (rc != CURLE_OK)
			snprintf(r->detail + strlen(r->detail), sizeof r->detail - strlen(r->detail),
				 "%s(response cut after %zu bytes: %s)", *r->detail ? " " : "",
				 sl->resp_total, rc == CURLE_WRITE_ERROR ? "too long" : "too slow");
	} else {
		/* curl's words name the host and port, never the URL's path,
		 * which for Teams and Slack is itself a secret. */
		result_set(r, DELIVERY_RETRY, 0, *sl->errbuf ? sl->errbuf : curl_easy_strerror(rc));
		if (!*b->stop)
			snprintf(b->stop, sizeof b->stop, "an earlier message failed: %s",
				 r->detail);
	}
	curl_multi_remove_handle(s->multi, sl->easy);
	slot_release(sl);
	b->busy--;
}

static void collect(struct webhook_sender *s, struct batch *b)
{
	CURLMsg *msg;
	char *slot;
	int left;

	while ((msg = curl_multi_info_read(s->multi, &left)))
		if (msg->msg == CURLMSG_DONE &&
		    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot) == CURLE_OK)
			slot_finish(s, b, (struct webhook_slot *)slot, msg->data.result);
	feed(s, b);
}

/* libcurl itself failed (out of memory, say): give up on the batch. */
static void abandon(struct webhook_sender *s, struct batch *b, CURLMcode mc)
{
	snprintf(b->stop, sizeof b->stop, "libcurl: %s", curl_multi_strerror(mc));
	for (size_t i = 0; i < s->nslots; i++) {
		struct webhook_slot *sl = &s->slots[i];

		if (!sl->busy)
			continue;
		result_set(&b->results[sl->index], DELIVERY_RETRY, 0, b->stop);
		curl_multi_remove_handle(s->multi, sl->easy);
		slot_release(sl);
	}
	b->busy = 0;
	feed(s, b);
}

void webhook_send(struct webhook_sender *s, const struct message *msgs, size_t n,
		  struct delivery_result *results)
{
	struct batch b = { .msgs = msgs, .results = results, .n = n };
	int running;

	feed(s, &b);
	while (b.busy > 0) {
		/* Every transfer has its own timeouts, so this ends. */
		CURLMcode mc = curl_multi_perform(s->multi, &running);

		if (mc == CURLM_OK) {
			collect(s, &b);
			if (b.busy > 0)
				mc = curl_multi_poll(s->multi, NULL, 0, POLL_MS, NULL);
			/* Waiting on a slow receiver must not starve the watchdog. */
			service_keepalive();
		}
		if (mc != CURLM_OK)
			abandon(s, &b, mc);
	}
}

/* A webhook's URL may itself be a secret (Teams and Slack put the key in
 * it), so it can come from a file or credential like the signing secret. */
static int webhook_op_open(const struct receiver_conf *conf, void **out, struct dl_error *err)
{
	struct webhook_sender *s = NULL;
	char *url = NULL, *secret = NULL;
	int rc = -1;

	if (conf->url_file || conf->url_credential) {
		if (receiver_read_secret(conf->url_file, conf->url_credential, &url, err) < 0)
			return -1;
	}
	if (receiver_read_secret(conf->secret_file, conf->secret_credential, &secret, err) == 0)
		rc = webhook_open(conf, url ? url : conf->url, secret, &s, err);
	receiver_free_secret(url);
	receiver_free_secret(secret);
	*out = s;
	return rc;
}

static void webhook_op_send(void *s, const struct message *msgs, size_t n,
			    struct delivery_result *results)
{
	webhook_send(s, msgs, n, results);
}

static void webhook_op_close(void *s)
{
	webhook_close(s);
}

const struct receiver_ops webhook_receiver_ops = {
	.type = "webhook",
	.open = webhook_op_open,
	.send = webhook_op_send,
	.close = webhook_op_close,
};
