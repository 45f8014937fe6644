/* receiver.c — open a configured receiver through its type's operations
 * table (receiver_backend.h); read secrets for the backends. */
#include "deadlined/receiver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/backend.h"
#include "deadlined/receiver_backend.h"
#include "deadlined/regfile.h"
#include "deadlined/service.h"

static const void *const backends[] = {
	&smtp_receiver_ops,
	&webhook_receiver_ops,
	&maildir_receiver_ops,
};

struct receiver {
	const struct receiver_conf *conf;
	const struct receiver_ops *ops;
	void *sender;                 /* the backend's own */
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

void receiver_free_secret(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

int receiver_open(const struct receiver_conf *conf, struct receiver **out,
		  struct dl_error *err)
{
	const struct receiver_ops *ops =
		backend_find(backends, sizeof backends / sizeof backends[0], conf->type, "");
	struct receiver *r;
	char names[64];

	*out = NULL;
	if (!ops) {
		error_set(err, "receiver %s: unknown type '%s'; expected %s", conf->name,
			  conf->type ? conf->type : "", backend_names(backends,
			  sizeof backends / sizeof backends[0], names, sizeof names));
		return -1;
	}
	if (!(r = calloc(1, sizeof *r))) {
		error_set(err, "out of memory");
		return -1;
	}
	r->conf = conf;
	r->ops = ops;
	if (ops->open(conf, &r->sender, err) < 0) {
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
	r->ops->close(r->sender);
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
	r->ops->send(r->sender, msgs, n, results);
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
