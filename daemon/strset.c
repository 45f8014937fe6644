/* strset.c — a set of strings, hashed (see strset.h). */
#include "deadlined/strset.h"

#include <stdlib.h>
#include <string.h>

#include "deadlined/arena.h"
#include "deadlined/vec.h"

struct strset {
	int *slot;                 /* id, or 0: empty */
	size_t cap;                /* slots, a power of two */
	const char **str;          /* by id - 1 */
	size_t n, strcap;
	bool copy;
	struct arena *arena;       /* the copies */
};

static size_t hash(const char *s)
{
	size_t h = (size_t)14695981039346656037u;   /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * (size_t)1099511628211u;
	return h;
}

/* The slot of str, or the empty slot where it would go. */
static size_t find_slot(const struct strset *s, const char *str)
{
	size_t i = hash(str) & (s->cap - 1);

	while (s->slot[i] && strcmp(s->str[s->slot[i] - 1], str) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Double the slots (64 to start with), so they stay at most half full. */
static int grow(struct strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	int *slot = calloc(cap, sizeof *slot), *old = s->slot;

	if (!slot)
		return -1;
	s->slot = slot;
	s->cap = cap;
	for (size_t i = 0; i < s->n; i++)
		s->slot[find_slot(s, s->str[i])] = (int)i + 1;
	free(old);
	return 0;
}

struct strset *strset_new(bool copy)
{
	struct strset *s = calloc(1, sizeof *s);

	if (s)
		s->copy = copy;
	return s;
}

void strset_free(struct strset *s)
{
	if (!s)
		return;
	free(s->slot);
	free(s->str);
	arena_free(s->arena);
	free(s);
}

int strset_add(struct strset *s, const char *str, const char **kept)
{
	size_t i;
	const char *own = str;

	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return 0;
	i = find_slot(s, str);
	if (!s->slot[i]) {
		if (vec_reserve((void **)&s->str, &s->strcap, s->n, sizeof *s->str) < 0 ||
		    (s->copy && ((!s->arena && !(s->arena = arena_new())) ||
				 !(own = arena_strdup(s->arena, str)))))
			return 0;
		s->str[s->n++] = own;
		s->slot[i] = (int)s->n;
	}
	if (kept)
		*kept = s->str[s->slot[i] - 1];
	return s->slot[i];
}

int strset_find(const struct strset *s, const char *str)
{
	return s->cap ? s->slot[find_slot(s, str)] : 0;
}

size_t strset_count(const struct strset *s)
{
	return s->n;
}

const char *strset_get(const struct strset *s, int id)
{
	return id >= 1 && (size_t)id <= s->n ? s->str[id - 1] : NULL;
}
