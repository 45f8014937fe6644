/* regfile.h — open a file that must be a regular file, without blocking.
 *
 * Configuration, include, secret and URL files are named by an
 * administrator, and a slip may name a directory, a FIFO, a socket or a
 * device instead.  Reading one of those blocks for ever (a FIFO with no
 * writer), never ends (/dev/zero) or makes a library exit (flex, on a
 * directory).  regfile_open opens with O_NONBLOCK, so the open itself
 * cannot wait for a writer, and then checks the open descriptor with fstat
 * (no window between the check and the read): a regular file of at most max
 * bytes, or an error naming the file and what it is instead.
 */
#ifndef DEADLINED_REGFILE_H
#define DEADLINED_REGFILE_H

#include <stddef.h>

#include "deadlined/error.h"

/* Open path read-only (close-on-exec, blocking again once checked); the
 * descriptor, or -1 with err set to "PATH: what was wrong". */
int regfile_open(const char *path, size_t max, struct dl_error *err);

/* Without opening it: 0 when path is a regular file or does not exist (the
 * caller says what missing means), -1 with "PATH: is a FIFO (named pipe),
 * not a regular file" and the like otherwise.  For paths a library opens
 * itself (SQLite), where opening a FIFO would block. */
int regfile_check_path(const char *path, struct dl_error *err);

/* Read the whole of path into a NUL-terminated buffer the caller frees;
 * *len (may be NULL) gets its length in bytes. */
int regfile_read(const char *path, size_t max, char **out, size_t *len,
		 struct dl_error *err);

#endif
