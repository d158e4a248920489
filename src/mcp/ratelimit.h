/*
 * The per-user rate limit of the MCP workers, one budget per user over every
 * worker: mcp_rate_limit_per_minute requests a minute, of which up to
 * mcp_rate_limit_burst at once.  The budgets live in a small table in shared
 * memory (a file in runtime_dir that every worker maps), so a user cannot
 * multiply the limit by landing on several workers, and a worker's restart or
 * a reload does not reset it.
 *
 * The table has a fixed size (65536 entries, 512 KB).  A user whose budget is
 * full again needs no entry; when the users of one bucket of entries (8) are
 * all busy, a new user takes the entry of the one whose budget is nearest to
 * full, who then starts afresh: the limit can only be loosened by eviction,
 * never tightened for someone else.  Two users share an entry only when their
 * keys' hashes agree on 33 bits (the bucket and a 20-bit fingerprint).
 */
#ifndef TRESTLE_RATELIMIT_H
#define TRESTLE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_FILE		"mcp-ratelimit.shm"
#define RATELIMIT_TICKS_SEC	10000	/* time is counted in ticks of 100 µs */

struct ratelimit;

/*
 * Map the table of runtime_dir (creating it when missing).  per_minute 0
 * turns the limit off (nothing is mapped).  NULL with err filled on failure.
 */
struct ratelimit *ratelimit_open(const char *runtime_dir, int per_minute, int burst,
	    char *err, size_t cap);
/* One request of key now: 0 when allowed, else the whole seconds to wait (>= 1). */
int	ratelimit_take(struct ratelimit *, const char *key);
/* The same at a given time, in ticks of a monotonic clock (for tests). */
int	ratelimit_take_at(struct ratelimit *, const char *key, uint64_t now_ticks);
void	ratelimit_free(struct ratelimit *);

#endif
