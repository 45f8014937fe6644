/* conf_files.h — check every file a configuration will read before
 * libconfig opens any of them.
 *
 * libconfig 1.5 opens the main file and each @include itself, with no hook:
 * on a directory its flex scanner calls exit(), on a FIFO it blocks for
 * ever, and a missing include is "cannot open include file", naming none.
 * It also reads 9999999999 as 1410065407 and a longer number as -1, without
 * a word, and its string scanner takes quadratic time.  conf_files_check
 * walks the same files libconfig will (the main file, then each @include at
 * any depth, resolved as libconfig resolves it), and reports every file
 * that is not a regular readable file within CONF_MAX_FILE_BYTES, every
 * string value longer than CONF_MAX_VALUE_BYTES and every whole number
 * libconfig would misread, as "FILE:LINE: ...".
 */
#ifndef DEADLINED_CONF_FILES_H
#define DEADLINED_CONF_FILES_H

#include "deadlined/error.h"

#define CONF_MAX_FILE_BYTES  (1024 * 1024)      /* one file */
#define CONF_MAX_TOTAL_BYTES (8 * 1024 * 1024)  /* every file, each include counted */
#define CONF_MAX_VALUE_BYTES (64 * 1024)        /* one string value */
#define CONF_MAX_DEPTH       10                 /* libconfig 1.5's include depth */

/* 0 when libconfig may be given path (with include_dir as set by the
 * caller: libconfig joins it to every @include, "DIR/NAME"), else -1 with
 * the problems added to errors. */
int conf_files_check(const char *path, const char *include_dir, struct dl_errors *errors);

#endif
