#include "config.h"

#include <stdlib.h>

#include "breaker.h"
#include "log.h"

struct breaker {
	int			 threshold;	/* 0: off */
	int64_t			 cooldown_us;
	enum breaker_state	 state;
	int			 failures;	/* in a row */
	int64_t			 since_us;	/* opened, or the probe went */
};

struct breaker *
breaker_new(int threshold, int cooldown_sec)
{
	struct breaker *b = calloc(1, sizeof(*b));

	if (b == NULL)
		fatal("breaker_new");
	b->threshold = threshold;
	b->cooldown_us = (int64_t)cooldown_sec * 1000000;
	return b;
}

void
breaker_free(struct breaker *b)
{
	free(b);
}

static int
breaker_seconds(int64_t us)
{
	int s = (int)((us + 999999) / 1000000);

	return s < 1 ? 1 : s;
}

int
breaker_retry_in(const struct breaker *b, int64_t now_us)
{
	int64_t left = b->since_us + b->cooldown_us - now_us;

	if (b->state == BREAKER_CLOSED || left <= 0)
		return 0;
	return breaker_seconds(left);
}

int
breaker_probe_due(const struct breaker *b, int64_t now_us)
{
	return b->state != BREAKER_CLOSED && breaker_retry_in(b, now_us) == 0;
}

int
breaker_allow(struct breaker *b, int64_t now_us)
{
	if (b->state == BREAKER_CLOSED)
		return 0;
	if (!breaker_probe_due(b, now_us))
		return breaker_retry_in(b, now_us);
	/* the probe; a lost one is replaced after another cool-down */
	b->state = BREAKER_HALF_OPEN;
	b->since_us = now_us;
	log_debug("worker: API child circuit half open: one call probes it");
	return 0;
}

static void
breaker_open(struct breaker *b, int64_t now_us)
{
	if (b->state == BREAKER_CLOSED)
		log_warnx("worker: API child circuit open after %d failures in a row: calls fail "
		    "at once for %lld s, then one probes it", b->failures,
		    (long long)(b->cooldown_us / 1000000));
	b->state = BREAKER_OPEN;
	b->since_us = now_us;
}

void
breaker_record(struct breaker *b, int ok, int64_t now_us)
{
	if (b->threshold == 0)
		return;
	if (ok) {
		if (b->state != BREAKER_CLOSED)
			log_info("worker: API child circuit closed: it answers again");
		b->state = BREAKER_CLOSED;
		b->failures = 0;
		return;
	}
	b->failures++;
	/* a late failure of a call sent before it opened does not prolong the cool-down */
	if ((b->state == BREAKER_CLOSED && b->failures >= b->threshold) ||
	    b->state == BREAKER_HALF_OPEN)
		breaker_open(b, now_us);
}

enum breaker_state
breaker_state(const struct breaker *b)
{
	return b->state;
}

int
breaker_failures(const struct breaker *b)
{
	return b->failures;
}
