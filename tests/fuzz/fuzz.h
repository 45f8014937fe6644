/* fuzz.h — what the fuzz targets share: libFuzzer's entry points, a reader
 * that turns fuzz bytes into choices, and invariant checks that trap.
 *
 * Each target is built twice: with clang and libFuzzer by `make fuzz`, and
 * with the project's compiler and tests/fuzz/replay.c by `make check`,
 * which replays the kept corpus.  A broken invariant prints what broke and
 * executes __builtin_trap(), so both builds report it as a crash.
 */
#ifndef DEADLINED_FUZZ_H
#define DEADLINED_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "deadlined/calendar.h"
#include "deadlined/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Where the example configuration lives: conf/ of the source tree. */
#ifndef FUZZ_CONF_DIR
#define FUZZ_CONF_DIR "conf"
#endif

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

/* Print the broken invariant and trap. */
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* Called first by every target's LLVMFuzzerInitialize: runs in the
 * daemon's usual zone, so hours cross real clock changes and results do not
 * depend on the machine's TZ, and reads FUZZ_STRICT. */
void fuzz_init(void);

/* FUZZ_STRICT=1 in the environment: also check the invariants that known,
 * reported bugs break (tests/fuzz/known/README.md).  Off by default, so a
 * long run is not stopped again and again by a bug already reported. */
extern int fuzz_strict;

/* FUZZ_VERBOSE=1: targets say on stderr what an input did (for writing
 * seeds and reading crashes; never set while fuzzing). */
extern int fuzz_verbose;

/* The input as a string: a NUL-terminated copy (free it). */
char *fuzz_strdup(const uint8_t *data, size_t size);

/* Consumes bytes from the front; 0 when they run out. */
struct fuzz_bytes {
	const uint8_t *p;
	size_t n;
};

unsigned fuzz_u8(struct fuzz_bytes *b);
unsigned fuzz_u16(struct fuzz_bytes *b);
/* One of the n strings of list, chosen by the next byte. */
const char *fuzz_pick(struct fuzz_bytes *b, const char *const *list, size_t n);

/* An obligation that rules_evaluate reported for rule on case c as of now
 * is well formed: a valid state, due not before its anchor, warnings not
 * after due, closed ones closed after they opened, open ones not yet
 * closed and overdue only when due has passed. */
void fuzz_check_obligation(const struct rule *rule, const struct rules_case *c,
			   struct dl_moment now, const struct obligation *ob);

/* A rule as conf.c resolves it: every version has steps, versions are in
 * effective_from order and do not overlap. */
void fuzz_check_rule(const struct rule *rule);

#endif
