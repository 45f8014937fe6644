/* receiver.c — open a configured receiver, load its secret, dispatch. */
#include "deadlined/receiver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/maildir.h"
#include "deadlined/regfile.h"
#include "deadlined/service.h"
#include "deadlined/smtp.h"
#include "deadlined/webhook.h"

struct receiver {
	const struct receiver_conf *conf;
	struct smtp_sender *smtp;
	struct webhook_sender *webhook;
	struct maildir_sender *maildir;
};

#define SECRET_MAX 4096

/* A secret that others may read is no longer a secret: refuse it, unless
 * systemd put it there (credentials are its to manage).  The mode is read
 * from the open file, so a swap between check and read changes nothing. */
static int check_mode(FILE *f, const char *path, struct dl_error *err)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0) {
		error_set(err, "cannot read secret file %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IRWXO) {
		error_set(err, "secret file %s is open to other users (mode %04o); refusing it: "
			  "run chmod 600 %s (or chmod 640, with the file's group the daemon's)",
			  path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* Opened as a regular file only (regfile.h): a FIFO or device named by
 * mistake is refused at once rather than read for ever. */
static int read_all(const char *path, bool from_systemd, char **out, struct dl_error *err)
{
	int fd = regfile_open(path, 1024 * 1024, err);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	char *buf;
	size_t n;

	if (!f) {
		if (fd >= 0) {
			error_set(err, "cannot read secret file %s: %s", path, strerror(errno));
			close(fd);
		} else {
			error_prefix(err, "secret file");
		}
		return -1;
	}
	if (!from_systemd && check_mode(f, path, err) < 0) {
		fclose(f);
		return -1;
	}
	buf = calloc(1, SECRET_MAX + 1);
	n = buf ? fread(buf, 1, SECRET_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || n > SECRET_MAX) {
		free(buf);
		error_set(err, "secret file %s is larger than %d bytes", path, SECRET_MAX);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0 || strlen(buf) != n) {
		free(buf);
		error_set(err, "secret file %s is empty or not text", path);
		return -1;
	}
	*out = buf;
	return 0;
}

int receiver_read_secret(const char *file, const char *credential, char **out,
			 struct dl_error *err)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];

	*out = NULL;
	if (file)
		return read_all(file, false, out, err);
	if (!credential)
		return 0;
	if (!dir || !*dir) {
		error_set(err, "credential '%s' asked for but $CREDENTIALS_DIRECTORY is not set "
			  "(LoadCredential= in the unit)", credential);
		return -1;
	}
	if (strchr(credential, '/')) {
		error_set(err, "credential name '%s' must not contain '/'", credential);
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, credential);
	return read_all(path, true, out, err);
}

static void wipe(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

/* A webhook's URL may itself be a secret (Teams and Slack put the key in
 * it), so it can come from a file or credential like the signing secret. */
static int open_webhook(const struct receiver_conf *conf, struct webhook_sender **out,
			struct dl_error *err)
{
	char *url = NULL, *secret = NULL;
	int rc = -1;

	if (conf->url_file || conf->url_credential) {
		if (receiver_read_secret(conf->url_file, conf->url_credential, &url, err) < 0)
			return -1;
	}
	if (receiver_read_secret(conf->secret_file, conf->secret_credential, &secret, err) == 0)
		rc = webhook_open(conf, url ? url : conf->url, secret, out, err);
	wipe(url);
	wipe(secret);
	return rc;
}

int receiver_open(const struct receiver_conf *conf, struct receiver **out,
		  struct dl_error *err)
{
	struct receiver *r = calloc(1, sizeof *r);
	char *secret = NULL;
	int rc = -1;

	*out = NULL;
	if (!r) {
		error_set(err, "out of memory");
		return -1;
	}
	r->conf = conf;
	switch (conf->kind) {
	case RECEIVER_SMTP:
		if (receiver_read_secret(conf->password_file, conf->password_credential,
					 &secret, err) == 0)
			rc = smtp_open(conf, secret, &r->smtp, err);
		break;
	case RECEIVER_WEBHOOK:
		rc = open_webhook(conf, &r->webhook, err);
		break;
	case RECEIVER_MAILDIR:
		rc = maildir_open(conf, &r->maildir, err);
		break;
	}
	wipe(secret);
	if (rc < 0) {
		error_prefix(err, "receiver %s", conf->name);
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void receiver_close(struct receiver *r)
{
	if (!r)
		return;
	if (r->smtp)
		smtp_close(r->smtp);
	if (r->webhook)
		webhook_close(r->webhook);
	if (r->maildir)
		maildir_close(r->maildir);
	free(r);
}

const struct receiver_conf *receiver_conf(const struct receiver *r)
{
	return r->conf;
}

void receiver_send(struct receiver *r, const struct message *msgs, size_t n,
		   struct delivery_result *results)
{
	memset(results, 0, n * sizeof *results);
	if (r->smtp)
		smtp_send(r->smtp, msgs, n, results);
	else if (r->webhook)
		webhook_send(r->webhook, msgs, n, results);
	else if (r->maildir)
		maildir_send(r->maildir, msgs, n, results);
}

int receiver_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
		      curl_off_t ultotal, curl_off_t ulnow)
{
	(void)clientp;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	service_keepalive();
	return service_give_up() ? 1 : 0;
}
