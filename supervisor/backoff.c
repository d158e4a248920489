/*
 * Restart backoff for child slots: exponential delays for children that die
 * early, a crash window that gives up on a slot, and nothing else (no clocks,
 * no processes), so that the unit test can drive it with known vectors.
 */
#include "config.h"

#include <string.h>

#include "backoff.h"

int64_t
backoff_delay_ms(unsigned early_deaths)
{
	int64_t delay = BACKOFF_FIRST_MS;

	if (early_deaths == 0)
		return 0;
	/* Stop doubling at the cap; this also keeps the shift from overflowing. */
	for (unsigned i = 1; i < early_deaths && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	return delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
}

void
backoff_reset(struct backoff *b)
{
	memset(b, 0, sizeof(*b));
}

/* Add a death to the ring; 1 when the ring is full and its oldest death is in the window. */
static int
backoff_window_full(struct backoff *b, int64_t now_ms)
{
	int64_t oldest;

	b->deaths[b->next] = now_ms;
	b->next = (b->next + 1) % BACKOFF_MAX_DEATHS;
	if (b->ndeaths < BACKOFF_MAX_DEATHS)
		b->ndeaths++;
	if (b->ndeaths < BACKOFF_MAX_DEATHS)
		return 0;
	/* When the ring is full, next points at the oldest of the last MAX_DEATHS deaths. */
	oldest = b->deaths[b->next];
	return now_ms - oldest < BACKOFF_WINDOW_MS;
}

enum backoff_verdict
backoff_record_death(struct backoff *b, int64_t started_ms, int64_t now_ms, int64_t *delay_ms)
{
	if (now_ms - started_ms >= BACKOFF_HEALTHY_MS)
		b->early_deaths = 0;
	else
		b->early_deaths++;
	/* The delay spaces spawns, not deaths: time the child ran counts towards it. */
	*delay_ms = backoff_delay_ms(b->early_deaths) - (now_ms - started_ms);
	if (*delay_ms < 0)
		*delay_ms = 0;
	if (backoff_window_full(b, now_ms))
		return BACKOFF_FAILED;
	return BACKOFF_RESTART;
}
