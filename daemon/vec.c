/* vec.c — see vec.h. */
#include "deadlined/vec.h"

#include <stdlib.h>

int vec_reserve(void **v, size_t *cap, size_t n, size_t elem)
{
	size_t want = *cap ? *cap : 64;
	void *p;

	if (n < *cap)
		return 0;
	while (want <= n)
		want *= 2;
	if (!(p = realloc(*v, want * elem)))
		return -1;
	*v = p;
	*cap = want;
	return 0;
}
