/*
 * A ring of entries in arrival order (so the oldest is dropped first) and a
 * hash of chains through the ring, by index.  Entries are 32 bytes and never
 * allocated one by one.  The ring and the buckets are faulted in when made:
 * the ring is written all round as requests come, so left to fill it would
 * grow the process by its whole size (36 MB at the API child's capacity)
 * over the first million requests; this way memory is constant from start.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "replay.h"

#define REPLAY_NONCE_BYTES	16

struct replay_entry {
	unsigned char	 nonce[REPLAY_NONCE_BYTES];
	long long	 expires_ms;
	uint32_t	 next;		/* index + 1 of the next in the chain; 0: end */
};

struct replay {
	struct replay_entry	*ring;
	uint32_t		*buckets;	/* index + 1 of the chain's first entry */
	size_t			 capacity;
	size_t			 mask;		/* buckets - 1 */
	size_t			 head;		/* oldest entry */
	size_t			 count;
};

static int
replay_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
replay_decode(const char *hex, unsigned char out[REPLAY_NONCE_BYTES])
{
	int hi, lo;

	if (strlen(hex) != 2 * REPLAY_NONCE_BYTES)
		return -1;
	for (size_t i = 0; i < REPLAY_NONCE_BYTES; i++) {
		if ((hi = replay_hex_value(hex[2 * i])) == -1 ||
		    (lo = replay_hex_value(hex[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* FNV-1a: nonces come signed from our workers, but need not be random to be spread. */
static size_t
replay_bucket(const struct replay *rp, const unsigned char nonce[REPLAY_NONCE_BYTES])
{
	return fnv1a(nonce, REPLAY_NONCE_BYTES) & rp->mask;
}

/* Zeroed memory, every page of it resident. */
static void *
replay_alloc_resident(size_t n, size_t size)
{
	volatile unsigned char *p = calloc(n, size);
	long page = sysconf(_SC_PAGESIZE);

	if (p != NULL && page > 0)
		for (size_t off = 0; off < n * size; off += (size_t)page)
			p[off] = 0;
	return (void *)p;
}

struct replay *
replay_new(size_t capacity)
{
	struct replay *rp;
	size_t nbuckets = 1;

	if (capacity == 0 || capacity >= UINT32_MAX || (rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	while (nbuckets < capacity)
		nbuckets <<= 1;
	rp->capacity = capacity;
	rp->mask = nbuckets - 1;
	rp->ring = replay_alloc_resident(capacity, sizeof(*rp->ring));
	rp->buckets = replay_alloc_resident(nbuckets, sizeof(*rp->buckets));
	if (rp->ring == NULL || rp->buckets == NULL) {
		replay_free(rp);
		return NULL;
	}
	return rp;
}

void
replay_free(struct replay *rp)
{
	if (rp == NULL)
		return;
	free(rp->ring);
	free(rp->buckets);
	free(rp);
}

static void
replay_unlink(struct replay *rp, size_t index)
{
	uint32_t *link = &rp->buckets[replay_bucket(rp, rp->ring[index].nonce)];

	while (*link != 0 && *link - 1 != index)
		link = &rp->ring[*link - 1].next;
	if (*link != 0)
		*link = rp->ring[index].next;
}

/* Drop the oldest entries while they are expired: each is kept at least until its expiry. */
static void
replay_prune(struct replay *rp, long long now_ms)
{
	while (rp->count > 0 && rp->ring[rp->head].expires_ms <= now_ms) {
		replay_unlink(rp, rp->head);
		rp->head = (rp->head + 1) % rp->capacity;
		rp->count--;
	}
}

static int
replay_seen(const struct replay *rp, size_t bucket, const unsigned char nonce[REPLAY_NONCE_BYTES])
{
	for (uint32_t i = rp->buckets[bucket]; i != 0; i = rp->ring[i - 1].next)
		if (memcmp(rp->ring[i - 1].nonce, nonce, REPLAY_NONCE_BYTES) == 0)
			return 1;
	return 0;
}

enum replay_result
replay_check(struct replay *rp, const char *nonce, long long expires_ms, long long now_ms)
{
	unsigned char raw[REPLAY_NONCE_BYTES];
	struct replay_entry *e;
	size_t bucket, index;

	if (replay_decode(nonce, raw) == -1)
		return REPLAY_MALFORMED;
	replay_prune(rp, now_ms);
	bucket = replay_bucket(rp, raw);
	if (replay_seen(rp, bucket, raw))
		return REPLAY_SEEN;
	if (rp->count == rp->capacity)
		return REPLAY_FULL;
	index = (rp->head + rp->count) % rp->capacity;
	e = &rp->ring[index];
	memcpy(e->nonce, raw, sizeof(raw));
	e->expires_ms = expires_ms;
	e->next = rp->buckets[bucket];
	rp->buckets[bucket] = (uint32_t)(index + 1);
	rp->count++;
	return REPLAY_FRESH;
}

size_t
replay_count(const struct replay *rp)
{
	return rp->count;
}
