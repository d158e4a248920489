/*
 * A worker's circuit breaker for the API child.  After mcp_breaker_failures
 * calls in a row failed (no answer in time, a transport error, a 5xx), the
 * breaker opens: calls fail at once, without waiting for their timeouts, for
 * mcp_breaker_cooldown_sec.  Then one call goes through as a probe (half
 * open): its success closes the breaker, its failure opens it for another
 * cool-down.  A probe that never reports (its client went away) is replaced
 * by a new one after a cool-down.  Any success recorded closes it, so the
 * readiness check (readiness.h), which asks the API child four times a
 * second while the breaker is open, closes it as soon as the child is back.
 * Times are monotonic microseconds (metrics_now_us), passed in so that tests
 * can drive them.
 */
#ifndef TRESTLE_BREAKER_H
#define TRESTLE_BREAKER_H

#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker;

/* threshold 0: never opens. */
struct breaker	*breaker_new(int threshold, int cooldown_sec);
void		 breaker_free(struct breaker *);
/*
 * May a call go now?  0: yes (when the breaker was open, this call is its
 * probe); else the whole seconds until a probe may go (>= 1).
 */
int		 breaker_allow(struct breaker *, int64_t now_us);
/* The outcome of a call that was allowed: ok, or failed. */
void		 breaker_record(struct breaker *, int ok, int64_t now_us);
enum breaker_state breaker_state(const struct breaker *);
/* The failures in a row that opened it (or so far, when closed). */
int		 breaker_failures(const struct breaker *);
/* Seconds until the next probe may go, 0 when one may go now or the breaker is closed. */
int		 breaker_retry_in(const struct breaker *, int64_t now_us);
/* 1 when the breaker is open and its cool-down is over: a call now would be its probe. */
int		 breaker_probe_due(const struct breaker *, int64_t now_us);

#endif
