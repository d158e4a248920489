/*
 * A generic cell rate algorithm (GCRA), the token bucket in one number: each
 * user's entry holds a theoretical arrival time (TAT), the moment the budget
 * would be full again.  A request moves it one emission interval (a minute
 * divided by the rate) later, and is refused when that would put it more than
 * burst intervals ahead of now.  One number per user means each entry is one
 * 64-bit word, updated with compare-and-swap: workers never lock and never
 * see a torn entry.  A word is a 20-bit fingerprint of the key (never 0, so 0
 * marks a free entry) and the TAT in 44 bits of ticks of CLOCK_MONOTONIC
 * (55 years), which every process of the machine shares.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ratelimit.h"

#define RL_ENTRIES	65536
#define RL_WAYS		8
#define RL_BUCKETS	(RL_ENTRIES / RL_WAYS)
#define RL_TABLE_BYTES	(RL_ENTRIES * sizeof(uint64_t))
#define RL_TIME_BITS	44
#define RL_TIME_MASK	((UINT64_C(1) << RL_TIME_BITS) - 1)
#define RL_FP_MASK	UINT64_C(0xfffff)
#define RL_CAS_TRIES	16

struct ratelimit {
	uint64_t	*table;		/* NULL: the limit is off */
	uint64_t	 interval;	/* ticks between two requests at the sustained rate */
	uint64_t	 tolerance;	/* how far ahead of now the TAT may run: burst intervals */
};

static uint64_t
rl_hash(const char *key)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * UINT64_C(1099511628211);
	return h;
}

static uint64_t
rl_now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RATELIMIT_TICKS_SEC + (uint64_t)ts.tv_nsec / 100000;
}

static int
rl_map(struct ratelimit *rl, const char *runtime_dir, char *err, size_t cap)
{
	char path[4096];
	struct stat sb;
	void *map;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", runtime_dir, RATELIMIT_FILE);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 || fstat(fd, &sb) == -1 ||
	    (sb.st_size < (off_t)RL_TABLE_BYTES && ftruncate(fd, RL_TABLE_BYTES) == -1)) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	map = mmap(NULL, RL_TABLE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, cap, "%s: mmap: %s", path, strerror(errno));
		return -1;
	}
	rl->table = map;
	return 0;
}

struct ratelimit *
ratelimit_open(const char *runtime_dir, int per_minute, int burst, char *err, size_t cap)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		fatal("ratelimit_open");
	if (per_minute <= 0)
		return rl;
	rl->interval = (uint64_t)60 * RATELIMIT_TICKS_SEC / (uint64_t)per_minute;
	if (rl->interval == 0)
		rl->interval = 1;
	rl->tolerance = rl->interval * (uint64_t)(burst > 0 ? burst : 1);
	if (rl_map(rl, runtime_dir, err, cap) == -1) {
		free(rl);
		return NULL;
	}
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	if (rl->table != NULL)
		munmap(rl->table, RL_TABLE_BYTES);
	free(rl);
}

/*
 * The entry of fp in bucket, else the one a new user takes: a free one, or
 * one whose budget is full again (either is as good as none), or the one
 * nearest to full.
 */
static uint64_t *
rl_entry(uint64_t *bucket, uint64_t fp, uint64_t now, uint64_t *seen)
{
	uint64_t *victim = NULL, victim_tat = UINT64_MAX;

	for (int i = 0; i < RL_WAYS; i++) {
		uint64_t e = __atomic_load_n(&bucket[i], __ATOMIC_ACQUIRE);
		uint64_t tat = e & RL_TIME_MASK;

		if (e != 0 && e >> RL_TIME_BITS == fp) {
			*seen = e;
			return &bucket[i];
		}
		if (e == 0 || tat <= now)
			tat = 0;
		if (tat < victim_tat) {
			victim = &bucket[i];
			victim_tat = tat;
			*seen = e;
		}
	}
	return victim;
}

int
ratelimit_take_at(struct ratelimit *rl, const char *key, uint64_t now)
{
	uint64_t h = rl_hash(key), fp = (h >> RL_TIME_BITS) & RL_FP_MASK;
	uint64_t *bucket, *slot, seen, tat, next, ahead;

	if (rl == NULL || rl->table == NULL)
		return 0;
	if (fp == 0)
		fp = 1;
	now &= RL_TIME_MASK;
	bucket = rl->table + (h % RL_BUCKETS) * RL_WAYS;
	for (int tries = 0; tries < RL_CAS_TRIES; tries++) {
		slot = rl_entry(bucket, fp, now, &seen);
		tat = seen >> RL_TIME_BITS == fp ? seen & RL_TIME_MASK : now;
		/* earlier: the budget is full; far later: a TAT of another boot's clock */
		if (tat < now || tat > now + rl->tolerance)
			tat = now;
		next = tat + rl->interval;
		if ((ahead = next - now) > rl->tolerance)
			return (int)((ahead - rl->tolerance + RATELIMIT_TICKS_SEC - 1) /
			    RATELIMIT_TICKS_SEC);
		if (__atomic_compare_exchange_n(slot, &seen, fp << RL_TIME_BITS | (next & RL_TIME_MASK),
		    0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
	return 0;	/* contended beyond reason: let it through rather than spin */
}

int
ratelimit_take(struct ratelimit *rl, const char *key)
{
	return ratelimit_take_at(rl, key, rl_now_ticks());
}
