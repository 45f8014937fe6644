/* vec.h — growing an array by doubling, the one way this project does it. */
#ifndef DEADLINED_VEC_H
#define DEADLINED_VEC_H

#include <stddef.h>

/* Make room for element n of an array of elem-sized elements at *v with
 * capacity *cap (both updated); 0, or -1 when out of memory (then *v is
 * unchanged). */
int vec_reserve(void **v, size_t *cap, size_t n, size_t elem);

#endif
