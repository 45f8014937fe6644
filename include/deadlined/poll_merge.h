/* poll_merge.h — a full poll's comparison with the store, as a merge join.
 *
 * The evaluation hands over obligations case by case, in the source's
 * case_ref order (byte order for SQLite sources); the store walks its
 * obligations in key order (state_walk_*).  poll_merge_find, called with
 * each obligation of the evaluation, moves the walk on to that case and
 * answers from the case's stored rows: one sequential read of the store
 * instead of a lookup by key per obligation.  Stored open obligations that
 * the evaluation did not produce (their case changed or vanished) are
 * staged gone (state_stage_gone) as the walk passes them.  A case out of
 * order (a source whose collation differs) is read by key and its staged
 * gone rows taken back, so the result never depends on the order; only the
 * speed does.
 *
 * The comparison is of fingerprints (poll_merge_fingerprint): one integer
 * from the values a poll stores, dates as day numbers, no text formatted.
 * With walk, use between state_stage_begin and state_stage_apply (a full
 * poll).  Without (an incremental poll of a few cases), each case's stored
 * rows are read by key, and what is gone is closed at once in the caller's
 * transaction; poll_merge_forget then closes the open obligations of a
 * case that the evaluation gave nothing for (it vanished).
 *
 * By case (POLL_MERGE_BY_CASE over a store with case prints, state.h), a
 * full poll walks one print a case instead of every obligation, and reads
 * a case's obligations by key only when its print differs or it must be
 * looked at: see poll_merge_case.
 */
#ifndef DEADLINED_POLL_MERGE_H
#define DEADLINED_POLL_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "deadlined/error.h"
#include "deadlined/rules.h"
#include "deadlined/state.h"

struct poll_merge;

/* Modes: by key (no walk); a walk of the stored obligations; a walk of
 * the case prints when the store has them (state_can_walk_cases; else the
 * walk of obligations), see poll_merge_case. */
enum poll_merge_mode { POLL_MERGE_BY_KEY, POLL_MERGE_WALK, POLL_MERGE_BY_CASE };
int poll_merge_open(struct state *st, enum poll_merge_mode mode, struct poll_merge **out,
		    struct dl_error *err);
/* The stored row of (case_ref, rule, seq) in *row, or NULL when there is
 * none; valid until the next call. */
int poll_merge_find(struct poll_merge *m, const char *case_ref, const char *rule, int seq,
		    const struct state_stored **row, struct dl_error *err);
/* The rest of the walk: its open obligations are gone. */
int poll_merge_finish(struct poll_merge *m, struct dl_error *err);
void poll_merge_close(struct poll_merge *m);
/* Without a walk: close case_ref's open obligations unless it was read. */
int poll_merge_forget(struct poll_merge *m, const char *case_ref, struct dl_error *err);

/* By case (a full poll over a store with case prints, state.h): the
 * caller holds a case's obligations until the case is done, folds their
 * prints (poll_merge_case_print from POLL_MERGE_PRINT_START, then
 * poll_merge_print_end), and calls poll_merge_case.  *skip: the stored
 * print is the same and nothing asks to look (look: the case has an
 * obligation at level 1 or more), so nothing is to be read, compared or
 * written.  Otherwise the case's stored rows are held (read by key) and
 * the caller runs poll_merge_find for each obligation, then
 * poll_merge_case_end with the print to store (STATE_PRINT_UNKNOWN when
 * the case told anyone or has anything at level 1 or more).  Cases the
 * walk passes without the evaluation giving them are gone. */
bool poll_merge_by_case(const struct poll_merge *m);
int poll_merge_case(struct poll_merge *m, const char *case_ref, int64_t print, bool look,
		    bool *skip, struct dl_error *err);
int poll_merge_case_end(struct poll_merge *m, int64_t print, struct dl_error *err);
#define POLL_MERGE_PRINT_START 0x6a09e667f3bcc909u
uint64_t poll_merge_case_print(uint64_t h, const char *rule, int seq, int64_t fp);
int64_t poll_merge_print_end(uint64_t h);

/* The fingerprint of so's values (its date strings are ignored) with ob's
 * dates; never 0.  seed is poll_merge_case_seed of so, the same for every
 * obligation of a case (its case, team and worker values). */
uint64_t poll_merge_case_seed(const struct state_obligation *so);
int64_t poll_merge_fingerprint(uint64_t seed, const struct state_obligation *so,
			       const struct obligation *ob);

#endif
