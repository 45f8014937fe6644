/* regfile.c — open a file that must be a regular file (see regfile.h). */
#include "deadlined/regfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO (named pipe)";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a plain file";
}

int regfile_open(const char *path, size_t max, struct dl_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		error_set(err, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		error_set(err, "%s: cannot read: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		error_set(err, "%s: is %s, not a regular file", path, kind_name(st.st_mode));
	} else if ((unsigned long long)st.st_size > (unsigned long long)max) {
		error_set(err, "%s: is %lld bytes; at most %zu bytes are read", path,
			  (long long)st.st_size, max);
	} else if (fcntl(fd, F_SETFL, 0) != 0) {
		error_set(err, "%s: cannot read: %s", path, strerror(errno));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

int regfile_check_path(const char *path, struct dl_error *err)
{
	struct stat st;

	if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
		return 0;
	error_set(err, "%s: is %s, not a regular file", path, kind_name(st.st_mode));
	return -1;
}

int regfile_read(const char *path, size_t max, char **out, size_t *len,
		 struct dl_error *err)
{
	int fd = regfile_open(path, max, err);
	char *buf;
	size_t n = 0;
	ssize_t got = 1;

	*out = NULL;
	if (fd < 0)
		return -1;
	/* One byte more than allowed, in case the file grew since fstat. */
	if (!(buf = malloc(max + 2))) {
		close(fd);
		error_set(err, "%s: out of memory", path);
		return -1;
	}
	while (n <= max && (got = read(fd, buf + n, max + 1 - n)) > 0)
		n += (size_t)got;
	close(fd);
	if (got < 0 || n > max) {
		if (got < 0)
			error_set(err, "%s: cannot read: %s", path, strerror(errno));
		else
			error_set(err, "%s: is more than %zu bytes", path, max);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}
