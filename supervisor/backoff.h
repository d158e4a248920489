/*
 * The restart policy of one child slot, as pure functions of time so that it
 * can be tested without processes: how long to wait before the next spawn, and
 * when a slot that keeps dying is given up on.  Times are monotonic
 * milliseconds supplied by the caller.
 */
#ifndef TRESTLE_BACKOFF_H
#define TRESTLE_BACKOFF_H

#include <stdint.h>

#define BACKOFF_FIRST_MS	1000	/* delay after the first early death */
#define BACKOFF_MAX_MS		30000	/* the doubling stops here */
#define BACKOFF_HEALTHY_MS	5000	/* a child that ran this long was healthy */
#define BACKOFF_WINDOW_MS	60000	/* deaths are counted over this window... */
#define BACKOFF_MAX_DEATHS	5	/* ...and this many in it mark the slot failed */

struct backoff {
	unsigned	early_deaths;			/* consecutive, reset by a healthy run */
	int64_t		deaths[BACKOFF_MAX_DEATHS];	/* ring of recent death times */
	unsigned	ndeaths;			/* entries used in deaths[] */
	unsigned	next;				/* where the next death is written */
};

enum backoff_verdict {
	BACKOFF_RESTART,	/* spawn again after *delay_ms (0: at once) */
	BACKOFF_FAILED,		/* too many deaths in the window: give the slot up */
};

/* Least time between two spawns after n consecutive early deaths: 0, 1 s, 2 s, 4 s ... 30 s. */
int64_t	backoff_delay_ms(unsigned early_deaths);

/* Start a slot's history afresh (also what a zeroed struct means). */
void	backoff_reset(struct backoff *);

/*
 * Record a death at now_ms of a child spawned at started_ms, and decide.  The
 * delay makes the gap between the two spawns backoff_delay_ms(early deaths),
 * so a child that crashes at once waits the full delay and one that ran a
 * while comes back sooner.  A healthy run resets the consecutive count, so a
 * child killed after serving a while comes back at once; every death counts
 * towards the window.
 */
enum backoff_verdict backoff_record_death(struct backoff *, int64_t started_ms, int64_t now_ms,
	    int64_t *delay_ms);

#endif
