/*
 * Static API keys for simple deployments: a file of "<sha256 hex of the key>
 * <subject>" lines.  Only hashes are stored; a presented key is hashed and
 * compared in constant time with every entry.
 */
#ifndef TRESTLE_KEYS_H
#define TRESTLE_KEYS_H

#include <stddef.h>

struct keys;

/* NULL and errbuf filled on error; an empty path gives an empty set. */
struct keys	*keys_load(const char *path, char *errbuf, size_t cap);
/* The subject of token, or NULL. */
const char	*keys_lookup(const struct keys *, const char *token);
void		 keys_free(struct keys *);

#endif
