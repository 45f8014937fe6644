/* maildir.c — the Maildir receiver: each message written to tmp/, synced,
 * then renamed into new/ (https://cr.yp.to/proto/maildir.html).
 *
 * The name in new/ comes from a hash of the message id, so a message sent
 * again after a crash lands on the same name: it is found in new/ or cur/
 * (where a mail reader moves it, adding ":2,FLAGS") and not written twice.
 */
#include "deadlined/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/mailmsg.h"
#include "deadlined/receiver_backend.h"

#define NAME_HEX 32                   /* 128 bits of SHA-256 */
#define NAME_SUFFIX ".deadlined"
#define NAME_BUF (NAME_HEX + sizeof NAME_SUFFIX)

enum { DIR_TMP, DIR_NEW, DIR_CUR, DIR_COUNT };
static const char *const dir_names[DIR_COUNT] = { "tmp", "new", "cur" };

struct maildir_sender {
	const struct receiver_conf *conf;
	int dir[DIR_COUNT];            /* open directories */
	char host[128];                /* for tmp/ names; no '/' or ':' */
	unsigned long counter;
};

/* One message of a batch: the name it has or will have in new/. */
struct pending {
	char name[NAME_BUF];
	const char *found;             /* "new" or "cur" when already there */
};

static void name_of(const char *msg_id, char name[NAME_BUF])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(msg_id, strlen(msg_id), md, &len, EVP_sha256(), NULL);
	for (size_t i = 0; i < NAME_HEX / 2; i++)
		snprintf(name + 2 * i, 3, "%02x", md[i]);
	memcpy(name + NAME_HEX, NAME_SUFFIX, sizeof NAME_SUFFIX);
}

/* An entry is ours when it is the name itself, or the name with the
 * ":2,FLAGS" (or a reader's ",S=size") that readers add. */
static bool same_message(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return strncmp(entry, name, n) == 0 &&
	       (entry[n] == '\0' || entry[n] == ':' || entry[n] == ',');
}

/* Mark the batch's messages that are already in one directory. */
static void find_delivered(int dirfd, const char *dirname, struct pending *p, size_t n)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;                /* then rename() just replaces the same name */
	}
	rewinddir(d);                  /* the dup shares the last batch's offset */
	while ((e = readdir(d)))
		for (size_t i = 0; i < n; i++)
			if (!p[i].found && p[i].name[0] && same_message(e->d_name, p[i].name))
				p[i].found = dirname;
	closedir(d);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Maildir files end lines with LF, as local mail does. */
static size_t to_lf(char *s)
{
	char *o = s;

	for (const char *p = s; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	*o = '\0';
	return (size_t)(o - s);
}

/* Create tmp/NAME exclusively, write and sync it; errno on failure. */
static int write_tmp(struct maildir_sender *s, char *text, char *tmpname, size_t size)
{
	size_t len = to_lf(text);
	int fd = -1, saved;

	for (int tries = 0; fd < 0 && tries < 5; tries++) {
		snprintf(tmpname, size, "%lld.%ld_%lu.%s", (long long)time(NULL), (long)getpid(),
			 s->counter++, s->host);
		fd = openat(s->dir[DIR_TMP], tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			    0600);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	if (write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlinkat(s->dir[DIR_TMP], tmpname, 0);
		errno = saved;
		return -1;
	}
	return close(fd);
}

static void deliver(struct maildir_sender *s, const struct message *m, const char *name,
		    struct delivery_result *r)
{
	struct dl_error err;
	char tmpname[256];
	char *text = mailmsg_build(m, s->conf->from, &err);

	if (!text)
		mailmsg_result(r, DELIVERY_PERMANENT, "%s", err.msg);
	else if (write_tmp(s, text, tmpname, sizeof tmpname) < 0)
		mailmsg_result(r, DELIVERY_RETRY, "cannot write into tmp/: %s", strerror(errno));
	else if (renameat(s->dir[DIR_TMP], tmpname, s->dir[DIR_NEW], name) < 0) {
		mailmsg_result(r, DELIVERY_RETRY, "cannot move tmp/%s into new/: %s", tmpname,
			       strerror(errno));
		unlinkat(s->dir[DIR_TMP], tmpname, 0);
	} else {
		mailmsg_result(r, DELIVERY_OK, "delivered as new/%s", name);
	}
	free(text);
}

/* The renames are durable only once new/ is synced; until then no message
 * of this batch counts as delivered. */
static void sync_new(struct maildir_sender *s, struct delivery_result *results, size_t n,
		     const struct pending *p)
{
	const char *why;

	if (fsync(s->dir[DIR_NEW]) == 0)
		return;
	why = strerror(errno);
	for (size_t i = 0; i < n; i++)
		if (results[i].status == DELIVERY_OK && !p[i].found)
			mailmsg_result(&results[i], DELIVERY_RETRY, "cannot sync new/: %s", why);
}

void maildir_send(struct maildir_sender *s, const struct message *msgs, size_t n,
		  struct delivery_result *results)
{
	struct pending *p = calloc(n ? n : 1, sizeof *p);

	for (size_t i = 0; p && i < n; i++)
		if (msgs[i].msg_id)
			name_of(msgs[i].msg_id, p[i].name);
	for (int d = DIR_NEW; p && d <= DIR_CUR; d++)
		find_delivered(s->dir[d], dir_names[d], p, n);
	for (size_t i = 0; i < n; i++) {
		if (!p)
			mailmsg_result(&results[i], DELIVERY_RETRY, "out of memory");
		else if (p[i].found)
			mailmsg_result(&results[i], DELIVERY_OK, "already delivered: %s/%s",
				       p[i].found, p[i].name);
		else
			deliver(s, &msgs[i], p[i].name, &results[i]);
	}
	if (p)
		sync_new(s, results, n, p);
	free(p);
}

static int open_dirs(struct maildir_sender *s, int top, struct dl_error *err)
{
	const char *path = s->conf->path;

	for (int d = 0; d < DIR_COUNT; d++) {
		if (mkdirat(top, dir_names[d], 0700) < 0 && errno != EEXIST) {
			error_set(err, "cannot create %s/%s: %s", path, dir_names[d],
				  strerror(errno));
			return -1;
		}
		s->dir[d] = openat(top, dir_names[d], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dir[d] < 0 || faccessat(top, dir_names[d], W_OK | X_OK, AT_EACCESS) < 0) {
			error_set(err, "cannot use %s/%s: %s", path, dir_names[d],
				  strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int open_maildir(struct maildir_sender *s, struct dl_error *err)
{
	const char *path = s->conf->path;
	int top, rc;

	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		error_set(err, "cannot create the maildir %s: %s", path, strerror(errno));
		return -1;
	}
	if ((top = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		error_set(err, "cannot open the maildir %s: %s", path, strerror(errno));
		return -1;
	}
	rc = open_dirs(s, top, err);
	close(top);
	return rc;
}

/* The host name for tmp/ names, without the characters Maildir reserves. */
static void host_name(char *buf, size_t size)
{
	if (gethostname(buf, size) < 0 || !buf[0])
		snprintf(buf, size, "localhost");
	buf[size - 1] = '\0';
	for (char *c = buf; *c; c++)
		if (*c == '/' || *c == ':')
			*c = '_';
}

int maildir_open(const struct receiver_conf *conf, struct maildir_sender **out,
		 struct dl_error *err)
{
	struct maildir_sender *s;

	*out = NULL;
	if (!conf->path || !mailmsg_address_ok(conf->from)) {
		error_set(err, "needs a path, and from as a bare address such as "
			  "deadlines@council.example (no display name)");
		return -1;
	}
	if (!(s = calloc(1, sizeof *s))) {
		error_set(err, "out of memory");
		return -1;
	}
	s->conf = conf;
	for (int d = 0; d < DIR_COUNT; d++)
		s->dir[d] = -1;
	if (open_maildir(s, err) < 0) {
		maildir_close(s);
		return -1;
	}
	host_name(s->host, sizeof s->host);
	*out = s;
	return 0;
}

void maildir_close(struct maildir_sender *s)
{
	if (!s)
		return;
	for (int d = 0; d < DIR_COUNT; d++)
		if (s->dir[d] >= 0)
			close(s->dir[d]);
	free(s);
}

static int maildir_op_open(const struct receiver_conf *conf, void **out, struct dl_error *err)
{
	struct maildir_sender *s = NULL;
	int rc = maildir_open(conf, &s, err);

	*out = s;
	return rc;
}

static void maildir_op_send(void *s, const struct message *msgs, size_t n,
			    struct delivery_result *results)
{
	maildir_send(s, msgs, n, results);
}

static void maildir_op_close(void *s)
{
	maildir_close(s);
}

const struct receiver_ops maildir_receiver_ops = {
	.type = "maildir",
	.open = maildir_op_open,
	.send = maildir_op_send,
	.close = maildir_op_close,
};
