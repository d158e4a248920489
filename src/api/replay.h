/*
 * The API child's memory of the nonces of version 2 tenant headers, so that a
 * captured request cannot be sent again while its timestamp is still good.
 * Memory is bounded: a fixed ring of entries, oldest first, each dropped once
 * its request could no longer pass the time window.  When every entry is
 * still live the cache is full and refuses (never forgets a live nonce).
 */
#ifndef TRESTLE_REPLAY_H
#define TRESTLE_REPLAY_H

#include <stddef.h>

enum replay_result {
	REPLAY_FRESH,		/* first sight: remembered until its expiry */
	REPLAY_SEEN,		/* a replay */
	REPLAY_FULL,		/* no room: refuse the request */
	REPLAY_MALFORMED,	/* the nonce is not 32 lowercase hex digits */
};

struct replay;

struct replay	*replay_new(size_t capacity);	/* NULL on allocation failure */
void		 replay_free(struct replay *);
/* Remember nonce until expires_ms, forgetting what expired by now_ms. */
enum replay_result replay_check(struct replay *, const char *nonce, long long expires_ms,
		    long long now_ms);
size_t		 replay_count(const struct replay *);

#endif
