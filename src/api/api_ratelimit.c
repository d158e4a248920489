/*
 * The per-user rate limit (contract §1): a token bucket of 120 refilled at
 * 600 per 60 s, as the reference's, with its headers; api_rate_limit_burst
 * and api_rate_limit_per_minute change them (0: no limit, no headers).  The
 * API child is one process, so the buckets are a hash table in its memory.
 * A bucket idle for burst / rate seconds is full again, the same as no
 * bucket at all, so such buckets are dropped whenever the table grows.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "codec.h"
#include "log.h"
#include "shm_metrics.h"

#define RL_WINDOW_SEC	60
#define RL_SLOTS	4096
#define RL_SWEEP_MIN	4096

struct rl_bucket {
	struct rl_bucket	*next;
	double			 tokens;
	double			 last;		/* monotonic seconds of the last refill */
	char			 owner[37];
};

static struct rl_bucket	*rl_slots[RL_SLOTS];
static size_t		 rl_count;
static size_t		 rl_sweep_at = RL_SWEEP_MIN;
static int		 rl_max_requests, rl_burst;	/* a window's requests, a bucket's size */
static double		 rl_rate;			/* tokens a second */

/* Read at every check: two loads, and never out of step with the configuration. */
static void
rl_configure(const struct conf *cf)
{
	rl_max_requests = cf->api_rate_limit_per_minute;
	rl_burst = cf->api_rate_limit_burst;
	rl_rate = (double)rl_max_requests / RL_WINDOW_SEC;
}

static double
rl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned
rl_hash(const char *s)
{
	return fnv1a(s, strlen(s)) % RL_SLOTS;
}

static void
rl_sweep(double now)
{
	struct rl_bucket **p, *b;

	for (size_t i = 0; i < RL_SLOTS; i++)
		for (p = &rl_slots[i]; (b = *p) != NULL;) {
			if (now - b->last >= rl_burst / rl_rate) {
				*p = b->next;
				free(b);
				rl_count--;
			} else
				p = &b->next;
		}
	rl_sweep_at = rl_count * 2 > RL_SWEEP_MIN ? rl_count * 2 : RL_SWEEP_MIN;
}

static struct rl_bucket *
rl_bucket(const char *owner, double now)
{
	unsigned slot = rl_hash(owner);
	struct rl_bucket *b;

	for (b = rl_slots[slot]; b != NULL; b = b->next)
		if (strcmp(b->owner, owner) == 0)
			return b;
	if (rl_count >= rl_sweep_at)
		rl_sweep(now);
	if ((b = calloc(1, sizeof(*b))) == NULL)
		fatal("rl_bucket");
	snprintf(b->owner, sizeof(b->owner), "%s", owner);
	b->tokens = rl_burst;
	b->last = now;
	b->next = rl_slots[slot];
	rl_slots[slot] = b;
	rl_count++;
	return b;
}

static void
rl_headers(struct api_req *r, int remaining, double tokens)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", rl_max_requests);
	api_add_header(r, "X-RateLimit-Limit", buf);
	snprintf(buf, sizeof(buf), "%d", remaining);
	api_add_header(r, "X-RateLimit-Remaining", buf);
	/* When the bucket is full again, in whole seconds as the reference counts them. */
	snprintf(buf, sizeof(buf), "%lld", (long long)time(NULL) +
	    (long long)((rl_burst - tokens) / rl_rate));
	api_add_header(r, "X-RateLimit-Reset", buf);
	snprintf(buf, sizeof(buf), "%d", rl_burst);
	api_add_header(r, "X-RateLimit-Burst", buf);
}

static void
rl_refuse(struct api_req *r, double tokens)
{
	char buf[16], msg[96];
	int retry = (int)((1.0 - tokens) / rl_rate);

	if (retry < 1)
		retry = 1;
	snprintf(buf, sizeof(buf), "%d", retry);
	api_add_header(r, "Retry-After", buf);
	snprintf(msg, sizeof(msg), "Rate limit exceeded. Please retry after %d seconds.", retry);
	log_cid(LOG_LEVEL_WARN, r->cid, "api: rate limit exceeded for user %s", r->owner_id);
	metrics_count_rate_limited();
	api_reply_error(r, 429, msg);
}

int
api_ratelimit_check(struct api_req *r)
{
	double now;
	struct rl_bucket *b;

	rl_configure(r->ctx->cf);
	if (rl_max_requests == 0)
		return 0;
	now = rl_now();
	b = rl_bucket(r->owner_id, now);
	b->tokens += (now - b->last) * rl_rate;
	if (b->tokens > rl_burst)
		b->tokens = rl_burst;
	b->last = now;
	if (b->tokens < 1.0) {
		rl_headers(r, 0, b->tokens);
		rl_refuse(r, b->tokens);
		return -1;
	}
	b->tokens -= 1.0;
	rl_headers(r, (int)b->tokens, b->tokens + 1.0);
	return 0;
}
