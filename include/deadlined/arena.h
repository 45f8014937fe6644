/* arena.h — one allocation lifetime for everything a parsed configuration
 * owns, so a reload frees the old configuration with one call. */
#ifndef DEADLINED_ARENA_H
#define DEADLINED_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a);

/* Zeroed, aligned for any type; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);

#endif
