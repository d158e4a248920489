/*
 * A direct-mapped table by a hash of the token; a collision replaces the
 * older entry.  Tokens are compared whole and in constant time: how far a
 * forged token matches a cached one must not show in the answer's timing.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "token_cache.h"

#define TOKEN_CACHE_SLOTS	512	/* a power of two */
#define TOKEN_CACHE_MAX_LEN	1024	/* a worker's token is about 250 bytes */

struct token_entry {
	size_t		 len;		/* 0: empty slot */
	long long	 until;		/* Unix seconds: good while now < until */
	char		 token[TOKEN_CACHE_MAX_LEN];
	char		 sub[JWT_SUB_MAX];
};

static struct token_entry	tc_slots[TOKEN_CACHE_SLOTS];

static struct token_entry *
tc_slot(const char *token, size_t len)
{
	return &tc_slots[fnv1a(token, len) & (TOKEN_CACHE_SLOTS - 1)];
}

int
token_cache_get(const char *token, long long now, char sub[JWT_SUB_MAX])
{
	size_t len = strlen(token);
	struct token_entry *e;

	if (len == 0 || len >= TOKEN_CACHE_MAX_LEN)
		return -1;
	e = tc_slot(token, len);
	if (e->len != len || !timingsafe_equal(e->token, token, len))
		return -1;
	if (now >= e->until) {
		e->len = 0;
		return -1;
	}
	memcpy(sub, e->sub, JWT_SUB_MAX);
	return 0;
}

void
token_cache_put(const char *token, const char *sub, long long now, long long exp)
{
	size_t len = strlen(token);
	struct token_entry *e;

	if (len == 0 || len >= TOKEN_CACHE_MAX_LEN || strlen(sub) >= JWT_SUB_MAX)
		return;
	e = tc_slot(token, len);
	memcpy(e->token, token, len + 1);
	e->len = len;
	memcpy(e->sub, sub, strlen(sub) + 1);
	e->until = exp < now + TOKEN_CACHE_TTL_SEC ? exp : now + TOKEN_CACHE_TTL_SEC;
}
