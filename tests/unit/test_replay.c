/* The replay cache of v2 nonces: a nonce is good once, until it expires; memory is bounded. */
#include "config.h"

#include <stdio.h>

#include "replay.h"
#include "tap.h"

#define N1	"00112233445566778899aabbccddeeff"
#define N2	"ffeeddccbbaa99887766554433221100"

static void
nonce_of(unsigned int i, char out[33])
{
	snprintf(out, 33, "%08x%024x", i, 0);
}

int
main(void)
{
	struct replay *rp = replay_new(4);
	char nonce[33];
	int all;

	ok(rp != NULL, "a cache of 4 entries");
	ok(replay_check(rp, N1, 31000, 1000) == REPLAY_FRESH, "a new nonce is fresh");
	ok(replay_check(rp, N1, 31000, 1001) == REPLAY_SEEN, "the same nonce again is a replay");
	ok(replay_check(rp, N2, 31000, 1002) == REPLAY_FRESH, "another nonce is fresh");
	ok(replay_check(rp, N1, 31000, 30999) == REPLAY_SEEN, "still a replay just before expiry");
	ok(replay_check(rp, "0011", 31000, 1003) == REPLAY_MALFORMED, "a short nonce is malformed");
	ok(replay_check(rp, "00112233445566778899AABBCCDDEEFF", 31000, 1003) == REPLAY_MALFORMED,
	    "an upper-case nonce is malformed");
	ok(replay_check(rp, "0a", 31000, 1003) == REPLAY_MALFORMED, "a shorter one too");
	nonce_of(1, nonce);
	ok(replay_check(rp, nonce, 32000, 1004) == REPLAY_FRESH, "third");
	nonce_of(2, nonce);
	ok(replay_check(rp, nonce, 32000, 1005) == REPLAY_FRESH, "fourth: the cache is full");
	nonce_of(3, nonce);
	ok(replay_check(rp, nonce, 32000, 1006) == REPLAY_FULL,
	    "a fifth while all are live: refused, nothing live forgotten");
	ok(replay_count(rp) == 4, "4 entries held");
	ok(replay_check(rp, N1, 32000, 31000) == REPLAY_FRESH,
	    "once expired, the first two are dropped and a nonce is good again");
	ok(replay_count(rp) == 3, "3 entries held");
	nonce_of(1, nonce);
	ok(replay_check(rp, nonce, 40000, 31001) == REPLAY_SEEN,
	    "entries behind the expired ones are still remembered");
	ok(replay_check(rp, N2, 90000, 99999) == REPLAY_FRESH && replay_count(rp) == 1,
	    "long after, everything expired: only the new one held");
	replay_free(rp);

	rp = replay_new(50000);
	all = 1;
	for (unsigned int i = 0; i < 50000; i++) {
		nonce_of(i * 2654435761u, nonce);
		all &= replay_check(rp, nonce, 100000, 1) == REPLAY_FRESH;
	}
	ok(all, "50000 distinct nonces are all fresh");
	all = 1;
	for (unsigned int i = 0; i < 50000; i++) {
		nonce_of(i * 2654435761u, nonce);
		all &= replay_check(rp, nonce, 100000, 2) == REPLAY_SEEN;
	}
	ok(all, "and all 50000 are replays the second time");
	nonce_of(0xdeadbeef, nonce);
	ok(replay_check(rp, nonce, 200000, 100000) == REPLAY_FRESH && replay_count(rp) == 1,
	    "at their expiry all 50000 are dropped at once");
	replay_free(rp);
	return done_testing();
}
