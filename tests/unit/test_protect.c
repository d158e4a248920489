/*
 * The MCP workers' protections as pure logic, with the clock driven by the
 * test: the shared rate limit table (two handles on one file stand for two
 * workers) and the circuit breaker's states.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breaker.h"
#include "ratelimit.h"
#include "tap.h"

#define SEC	RATELIMIT_TICKS_SEC
#define T0	((uint64_t)1000000 * SEC)	/* a monotonic clock some days after boot */

static char dir[64];

/* Requests of key allowed among n sent at time now. */
static int
allowed(struct ratelimit *rl, const char *key, int n, uint64_t now)
{
	int count = 0;

	for (int i = 0; i < n; i++)
		count += ratelimit_take_at(rl, key, now) == 0;
	return count;
}

static void
test_ratelimit_burst_and_rate(void)
{
	char err[256] = "";
	struct ratelimit *rl = ratelimit_open(dir, 60, 5, err, sizeof(err));
	int wait;

	ok(rl != NULL, "ratelimit_open maps %s/%s %s", dir, RATELIMIT_FILE, err);
	ok(allowed(rl, "user:a", 5, T0) == 5, "a burst of 5 is allowed at once");
	wait = ratelimit_take_at(rl, "user:a", T0);
	ok(wait == 1, "the 6th waits 1 s at 60 a minute (got %d)", wait);
	ok(allowed(rl, "user:b", 5, T0) == 5, "another user has a budget of their own");
	ok(allowed(rl, "user:a", 3, T0 + SEC) == 1, "a second later, one more request");
	ok(allowed(rl, "user:a", 10, T0 + 10 * SEC) == 5,
	    "ten seconds later, the bucket holds no more than the burst");
	ok(allowed(rl, "user:a", 1, T0 + 3600 * SEC) == 1, "an hour later, allowed again");
	ratelimit_free(rl);
}

static void
test_ratelimit_retry_after(void)
{
	char err[256];
	struct ratelimit *rl = ratelimit_open(dir, 6, 2, err, sizeof(err));
	int wait;

	ok(allowed(rl, "user:slow", 2, T0) == 2, "6 a minute, burst 2: two at once");
	wait = ratelimit_take_at(rl, "user:slow", T0);
	ok(wait == 10, "the third waits 10 s (got %d)", wait);
	wait = ratelimit_take_at(rl, "user:slow", T0 + 4 * SEC);
	ok(wait == 6, "4 s later it waits 6 s (got %d)", wait);
	ok(ratelimit_take_at(rl, "user:slow", T0 + 10 * SEC) == 0, "after 10 s, allowed");
	ratelimit_free(rl);
}

static void
test_ratelimit_shared(void)
{
	char err[256];
	struct ratelimit *w1 = ratelimit_open(dir, 60, 4, err, sizeof(err));
	struct ratelimit *w2 = ratelimit_open(dir, 60, 4, err, sizeof(err));

	ok(allowed(w1, "user:shared", 2, T0) + allowed(w2, "user:shared", 2, T0) == 4,
	    "two workers share one budget: 2 + 2 of a burst of 4");
	ok(allowed(w1, "user:shared", 1, T0) + allowed(w2, "user:shared", 1, T0) == 0,
	    "and neither allows a fifth");
	ratelimit_free(w1);
	ratelimit_free(w2);
}

static void
test_ratelimit_off_and_clock(void)
{
	char err[256];
	struct ratelimit *off = ratelimit_open("/nonexistent", 0, 10, err, sizeof(err));
	struct ratelimit *rl = ratelimit_open(dir, 60, 3, err, sizeof(err));

	ok(off != NULL && allowed(off, "user:x", 1000, T0) == 1000,
	    "per_minute 0: off, nothing mapped, everything allowed");
	ok(ratelimit_open("/nonexistent/dir", 60, 3, err, sizeof(err)) == NULL &&
	    strstr(err, "/nonexistent/dir/" RATELIMIT_FILE) != NULL,
	    "an unusable runtime_dir is an error naming the file: %s", err);
	ok(allowed(rl, "user:clock", 3, T0 + 500 * SEC) == 3, "a burst late in the clock");
	ok(allowed(rl, "user:clock", 3, T0) == 3,
	    "a clock far behind the stored time (another boot) does not lock the user out");
	ratelimit_free(off);
	ratelimit_free(rl);
}

static void
test_ratelimit_eviction(void)
{
	char err[256], key[32];
	struct ratelimit *rl = ratelimit_open(dir, 60, 1, err, sizeof(err));
	int refused = 0;

	/* far more users than entries: each takes its one request, none is refused */
	for (int i = 0; i < 200000; i++) {
		snprintf(key, sizeof(key), "user:%d", i);
		refused += ratelimit_take_at(rl, key, T0 + 7200 * SEC) != 0;
	}
	ok(refused == 0, "200000 users in a table of 65536 entries: none refused (%d)", refused);
	ok(ratelimit_take_at(rl, "user:199999", T0 + 7200 * SEC) != 0,
	    "a user seen last is still remembered");
	ratelimit_free(rl);
}

#define MS	1000
#define S	1000000

static void
test_breaker(void)
{
	struct breaker *b = breaker_new(3, 5);
	int64_t t = 100 * S;

	ok(breaker_allow(b, t) == 0 && breaker_state(b) == BREAKER_CLOSED, "closed: calls go");
	breaker_record(b, 0, t);
	breaker_record(b, 0, t);
	breaker_record(b, 1, t);
	breaker_record(b, 0, t);
	breaker_record(b, 0, t);
	ok(breaker_state(b) == BREAKER_CLOSED, "a success resets the count: 2 in a row stay closed");
	breaker_record(b, 0, t);
	ok(breaker_state(b) == BREAKER_OPEN && breaker_failures(b) == 3, "3 in a row open it");
	ok(breaker_allow(b, t + 100 * MS) == 5, "open: refused, retry in 5 s");
	ok(breaker_allow(b, t + 4200 * MS) == 1, "0.8 s left: retry in 1 s");
	breaker_record(b, 0, t + 4500 * MS);
	ok(breaker_retry_in(b, t + 4500 * MS) == 1, "a late failure does not prolong the cool-down");
	ok(breaker_probe_due(b, t + 5 * S) && breaker_allow(b, t + 5 * S) == 0 &&
	    breaker_state(b) == BREAKER_HALF_OPEN, "after the cool-down, one probe goes");
	ok(breaker_allow(b, t + 5 * S + 1) == 5, "while it runs, the others are refused");
	breaker_record(b, 0, t + 6 * S);
	ok(breaker_state(b) == BREAKER_OPEN && breaker_allow(b, t + 6 * S) == 5,
	    "the probe failed: open for another cool-down");
	ok(breaker_allow(b, t + 11 * S) == 0, "next probe");
	ok(breaker_allow(b, t + 16 * S) == 0 && breaker_state(b) == BREAKER_HALF_OPEN,
	    "a probe that never reported is replaced after a cool-down");
	breaker_record(b, 1, t + 16 * S);
	ok(breaker_state(b) == BREAKER_CLOSED && breaker_failures(b) == 0 &&
	    breaker_allow(b, t + 16 * S) == 0, "the probe succeeded: closed");
	breaker_free(b);

	b = breaker_new(0, 5);
	for (int i = 0; i < 100; i++)
		breaker_record(b, 0, t);
	ok(breaker_state(b) == BREAKER_CLOSED && breaker_allow(b, t) == 0,
	    "threshold 0: never opens");
	breaker_free(b);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_protect.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_ratelimit_burst_and_rate();
	test_ratelimit_retry_after();
	test_ratelimit_shared();
	test_ratelimit_off_and_clock();
	test_ratelimit_eviction();
	test_breaker();
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/%s", dir, RATELIMIT_FILE);
		unlink(path);
		rmdir(dir);
	}
	return done_testing();
}
