/* strset.h — a set of strings, hashed: the one hash set of the project.
 *
 * Each string added gets an id, 1, 2, ... in the order added, and lookups
 * by string or by id are O(1).  With copy, the set keeps its own copies
 * (in one arena, freed with the set), so the caller's strings may go;
 * without, it keeps the caller's pointers, which must outlive it.
 * Open addressing with linear probing, kept at most half full.
 */
#ifndef DEADLINED_STRSET_H
#define DEADLINED_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct strset;

/* NULL when out of memory. */
struct strset *strset_new(bool copy);
void strset_free(struct strset *s);

/* str's id, added if it is new; *kept (may be NULL) receives the set's
 * string.  0 when out of memory. */
int strset_add(struct strset *s, const char *str, const char **kept);
/* str's id, or 0 when it is not in the set. */
int strset_find(const struct strset *s, const char *str);
size_t strset_count(const struct strset *s);
/* The string with id (1 to strset_count). */
const char *strset_get(const struct strset *s, int id);

#endif
