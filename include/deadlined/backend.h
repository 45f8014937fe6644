/* backend.h — finding a backend's operations table by name.
 *
 * Every operations table (struct source_ops, struct state_ops, struct
 * receiver_ops) starts with its name as `const char *`, the value the
 * configuration gives (source.driver, state.driver, a receiver's type).
 */
#ifndef DEADLINED_BACKEND_H
#define DEADLINED_BACKEND_H

#include <stddef.h>

/* The table of tables[0..n) named name (NULL: def), or NULL. */
const void *backend_find(const void *const *tables, size_t n, const char *name,
			 const char *def);

/* Their names, comma-separated, into buf (for messages); returns buf. */
const char *backend_names(const void *const *tables, size_t n, char *buf, size_t size);

#endif
