/*
 * The shared-memory metrics region: its layout, the master's slot
 * bookkeeping, the counting done by the children and the Prometheus text.
 * Every counter is written by one process with a relaxed atomic add and read
 * by any with a relaxed atomic load, so a reader never sees a torn value.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "shm_metrics.h"

#define METRICS_MAGIC		0x74726d32u	/* "trm2" */
#define METRICS_NBUCKETS	12
#define METRICS_NTOOLS		64
#define METRICS_TOOL_NAME	48

enum metrics_method { M_GET, M_POST, M_DELETE, M_OTHER, M_NMETHODS };

static const char *const method_names[M_NMETHODS] = { "GET", "POST", "DELETE", "other" };

/* Statuses counted one by one; index METRICS_NSTATUS is every other. */
static const int status_codes[] = {
	200, 201, 202, 204, 400, 401, 403, 404, 405, 406, 408, 409, 412, 413, 415, 422, 428,
	429, 500, 502, 503, 504,
};
#define METRICS_NSTATUS	(sizeof(status_codes) / sizeof(status_codes[0]))

/* Upper bounds of the latency buckets, in microseconds (the last one is +Inf). */
static const int64_t bucket_us[METRICS_NBUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000,
};

struct metrics_histogram {
	uint64_t	bucket[METRICS_NBUCKETS];	/* not cumulative */
	uint64_t	count, sum_us;
};

struct metrics_tool {
	char		name[METRICS_TOOL_NAME];
	uint64_t	outcome[METRICS_TOOL_NOUTCOMES];
};

struct metrics_slot {
	uint64_t		 requests[M_NMETHODS][METRICS_NSTATUS + 1];
	struct metrics_histogram request_latency;
	uint32_t		 ntools;		/* published after the name is written */
	struct metrics_tool	 tools[METRICS_NTOOLS];
	struct metrics_histogram tool_latency;
	uint64_t		 sessions_created, sessions_deleted, rate_limited;
	uint64_t		 pool_served, pool_failed, pool_discarded, pool_connects,
				 pool_connect_failures, pool_retried, pool_pipelined;
	uint64_t		 log_lines_lost;
	/* gauges, read only while the owner lives */
	int64_t			 streams;
	int64_t			 pool_size, pool_open, pool_busy, pool_idle, pool_queued,
				 pool_connecting;
};

/* Written by the master only. */
struct metrics_master {
	uint64_t	restarts[METRICS_NROLES];
	uint64_t	reloads, reload_failures;
	uint64_t	generation;
	int64_t		owner[METRICS_SLOTS];	/* pid, 0: nobody, -1: being spawned */
	uint8_t		used[METRICS_SLOTS];	/* has ever had an owner */
};

struct metrics_region {
	uint32_t		magic, nslots;
	struct metrics_master	master;
	struct metrics_slot	slot[METRICS_SLOTS];
};

static struct metrics_region *region;
static struct metrics_slot *mine;
/* The pool's totals at the last metrics_set_pool, to add only what is new. */
static struct metrics_pool pool_seen;

#define ADD(p, n)	__atomic_fetch_add((p), (n), __ATOMIC_RELAXED)
#define SET(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define GET(p)		__atomic_load_n((p), __ATOMIC_RELAXED)

/* ---- the master ---- */

int
metrics_create(void)
{
	void *p;
	int fd;

	if ((fd = memfd_create("trestle-metrics", MFD_CLOEXEC)) == -1)
		return -1;
	if (ftruncate(fd, sizeof(struct metrics_region)) == -1 ||
	    (p = mmap(NULL, sizeof(struct metrics_region), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	region = p;
	region->magic = METRICS_MAGIC;
	region->nslots = METRICS_SLOTS;
	return fd;
}

int
metrics_slot_take(enum metrics_role role)
{
	int first = role == METRICS_ROLE_API ? 0 : METRICS_API_SLOTS;
	int end = role == METRICS_ROLE_API ? METRICS_API_SLOTS : METRICS_SLOTS;

	if (region == NULL)
		return METRICS_NO_SLOT;
	/* Prefer a slot that was used before, so the region stays compact. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = first; i < end; i++)
			if (region->master.owner[i] == 0 && region->master.used[i] == !pass) {
				region->master.owner[i] = -1;
				region->master.used[i] = 1;
				return i;
			}
	return METRICS_NO_SLOT;
}

void
metrics_slot_owner(int slot, long pid)
{
	if (region != NULL && slot >= 0 && slot < METRICS_SLOTS)
		SET(&region->master.owner[slot], (int64_t)pid);
}

void
metrics_count_restart(enum metrics_role role)
{
	if (region != NULL)
		ADD(&region->master.restarts[role], 1);
}

void
metrics_count_reload(int ok)
{
	if (region != NULL)
		ADD(ok ? &region->master.reloads : &region->master.reload_failures, 1);
}

void
metrics_set_generation(unsigned generation)
{
	if (region != NULL)
		SET(&region->master.generation, generation);
}

/* ---- a child ---- */

int64_t
metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
metrics_attach(int slot)
{
	struct stat st;
	void *p;

	if (slot < 0 || slot >= METRICS_SLOTS || fstat(SHM_CHILD_FD, &st) == -1 ||
	    (size_t)st.st_size < sizeof(struct metrics_region))
		return -1;
	p = mmap(NULL, sizeof(struct metrics_region), PROT_READ | PROT_WRITE, MAP_SHARED,
	    SHM_CHILD_FD, 0);
	close(SHM_CHILD_FD);	/* the mapping stays */
	if (p == MAP_FAILED)
		return -1;
	if (((struct metrics_region *)p)->magic != METRICS_MAGIC) {
		munmap(p, sizeof(struct metrics_region));
		return -1;
	}
	region = p;
	mine = &region->slot[slot];
	return 0;
}

static size_t
metrics_status_index(int status)
{
	for (size_t i = 0; i < METRICS_NSTATUS; i++)
		if (status_codes[i] == status)
			return i;
	return METRICS_NSTATUS;
}

static void
metrics_observe(struct metrics_histogram *h, int64_t us)
{
	size_t b = 0;

	if (us < 0)
		us = 0;
	while (b < METRICS_NBUCKETS - 1 && us > bucket_us[b])
		b++;
	ADD(&h->bucket[b], 1);
	ADD(&h->sum_us, (uint64_t)us);
	ADD(&h->count, 1);
}

void
metrics_count_request(const char *method, int status, int64_t latency_us)
{
	size_t m = M_OTHER;

	if (mine == NULL)
		return;
	for (size_t i = 0; i < M_OTHER; i++)
		if (strcmp(method, method_names[i]) == 0)
			m = i;
	ADD(&mine->requests[m][metrics_status_index(status)], 1);
	metrics_observe(&mine->request_latency, latency_us);
}

/* The slot's entry for tool, added when new (names longer than the field are cut). */
static struct metrics_tool *
metrics_tool_entry(const char *tool)
{
	uint32_t n = GET(&mine->ntools);

	for (uint32_t i = 0; i < n; i++)
		if (strncmp(mine->tools[i].name, tool, METRICS_TOOL_NAME - 1) == 0)
			return &mine->tools[i];
	if (n == METRICS_NTOOLS)
		return NULL;
	snprintf(mine->tools[n].name, METRICS_TOOL_NAME, "%s", tool);
	__atomic_store_n(&mine->ntools, n + 1, __ATOMIC_RELEASE);
	return &mine->tools[n];
}

void
metrics_count_tool(const char *tool, enum metrics_tool_outcome outcome, int64_t latency_us)
{
	struct metrics_tool *t;

	if (mine == NULL || (t = metrics_tool_entry(tool)) == NULL)
		return;
	ADD(&t->outcome[outcome], 1);
	metrics_observe(&mine->tool_latency, latency_us);
}

void
metrics_count_session(int created)
{
	if (mine != NULL)
		ADD(created ? &mine->sessions_created : &mine->sessions_deleted, 1);
}

void
metrics_count_rate_limited(void)
{
	if (mine != NULL)
		ADD(&mine->rate_limited, 1);
}

void
metrics_count_log_lost(void)
{
	if (mine != NULL)
		ADD(&mine->log_lines_lost, 1);
}

void
metrics_set_streams(int open_streams)
{
	if (mine != NULL)
		SET(&mine->streams, open_streams);
}

void
metrics_set_pool(const struct metrics_pool *p)
{
	if (mine == NULL)
		return;
	SET(&mine->pool_size, p->size);
	SET(&mine->pool_open, p->open);
	SET(&mine->pool_busy, p->busy);
	SET(&mine->pool_idle, p->idle);
	SET(&mine->pool_queued, p->queued);
	SET(&mine->pool_connecting, p->connecting);
	ADD(&mine->pool_served, p->served - pool_seen.served);
	ADD(&mine->pool_failed, p->failed - pool_seen.failed);
	ADD(&mine->pool_discarded, p->discarded - pool_seen.discarded);
	ADD(&mine->pool_connects, p->connects - pool_seen.connects);
	ADD(&mine->pool_connect_failures, p->connect_failures - pool_seen.connect_failures);
	ADD(&mine->pool_retried, p->retried - pool_seen.retried);
	ADD(&mine->pool_pipelined, p->pipelined - pool_seen.pipelined);
	pool_seen = *p;
}

/* ---- rendering ---- */

/* The sums of one role's slots, read once. */
struct metrics_sum {
	uint64_t		 requests[M_NMETHODS][METRICS_NSTATUS + 1];
	struct metrics_histogram request_latency, tool_latency;
	uint64_t		 sessions_created, sessions_deleted, rate_limited;
	uint64_t		 pool_served, pool_failed, pool_discarded, pool_connects,
				 pool_connect_failures, pool_retried, pool_pipelined,
				 log_lines_lost;
	int64_t			 live, streams, pool_size, pool_open, pool_busy, pool_idle,
				 pool_queued, pool_connecting;
};

static void
metrics_sum_histogram(struct metrics_histogram *to, const struct metrics_histogram *from)
{
	for (size_t b = 0; b < METRICS_NBUCKETS; b++)
		to->bucket[b] += GET(&from->bucket[b]);
	to->count += GET(&from->count);
	to->sum_us += GET(&from->sum_us);
}

static void
metrics_sum_gauges(struct metrics_sum *s, const struct metrics_slot *sl)
{
	s->live++;
	s->streams += GET(&sl->streams);
	s->pool_size += GET(&sl->pool_size);
	s->pool_open += GET(&sl->pool_open);
	s->pool_busy += GET(&sl->pool_busy);
	s->pool_idle += GET(&sl->pool_idle);
	s->pool_queued += GET(&sl->pool_queued);
	s->pool_connecting += GET(&sl->pool_connecting);
}

static void
metrics_sum_slot(struct metrics_sum *s, const struct metrics_slot *sl, int live)
{
	for (size_t m = 0; m < M_NMETHODS; m++)
		for (size_t i = 0; i <= METRICS_NSTATUS; i++)
			s->requests[m][i] += GET(&sl->requests[m][i]);
	metrics_sum_histogram(&s->request_latency, &sl->request_latency);
	metrics_sum_histogram(&s->tool_latency, &sl->tool_latency);
	s->sessions_created += GET(&sl->sessions_created);
	s->sessions_deleted += GET(&sl->sessions_deleted);
	s->rate_limited += GET(&sl->rate_limited);
	s->pool_served += GET(&sl->pool_served);
	s->pool_failed += GET(&sl->pool_failed);
	s->pool_discarded += GET(&sl->pool_discarded);
	s->pool_connects += GET(&sl->pool_connects);
	s->pool_connect_failures += GET(&sl->pool_connect_failures);
	s->pool_retried += GET(&sl->pool_retried);
	s->pool_pipelined += GET(&sl->pool_pipelined);
	s->log_lines_lost += GET(&sl->log_lines_lost);
	if (live)
		metrics_sum_gauges(s, sl);
}

static void
metrics_sum_role(struct metrics_sum *s, enum metrics_role role)
{
	int first = role == METRICS_ROLE_API ? 0 : METRICS_API_SLOTS;
	int end = role == METRICS_ROLE_API ? METRICS_API_SLOTS : METRICS_SLOTS;

	memset(s, 0, sizeof(*s));
	for (int i = first; i < end; i++)
		if (GET(&region->master.used[i]))
			metrics_sum_slot(s, &region->slot[i], GET(&region->master.owner[i]) > 0);
}

static void
metrics_print_histogram(FILE *out, const char *name, const char *help,
    const struct metrics_histogram *h)
{
	uint64_t cumulative = 0;

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t b = 0; b < METRICS_NBUCKETS - 1; b++) {
		cumulative += h->bucket[b];
		fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bucket_us[b] / 1e6,
		    (unsigned long long)cumulative);
	}
	cumulative += h->bucket[METRICS_NBUCKETS - 1];
	fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
	    (unsigned long long)cumulative, name, (double)h->sum_us / 1e6, name,
	    (unsigned long long)h->count);
}

static void
metrics_print_requests(FILE *out, const char *name, const char *help,
    uint64_t requests[M_NMETHODS][METRICS_NSTATUS + 1])
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t m = 0; m < M_NMETHODS; m++)
		for (size_t i = 0; i <= METRICS_NSTATUS; i++) {
			if (requests[m][i] == 0)
				continue;
			if (i == METRICS_NSTATUS)
				fprintf(out, "%s{method=\"%s\",code=\"other\"} %llu\n", name,
				    method_names[m], (unsigned long long)requests[m][i]);
			else
				fprintf(out, "%s{method=\"%s\",code=\"%d\"} %llu\n", name,
				    method_names[m], status_codes[i], (unsigned long long)requests[m][i]);
		}
}

static void
metrics_print_one(FILE *out, const char *name, const char *type, const char *help,
    long long value)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name, value);
}

/* The tools of every worker slot, summed by name. */
static void
metrics_print_tools(FILE *out)
{
	static const char *const outcomes[] = { "ok", "error", "cancelled" };
	struct metrics_tool sum[METRICS_NTOOLS];
	size_t nsum = 0, k;

	for (int i = METRICS_API_SLOTS; i < METRICS_SLOTS; i++) {
		const struct metrics_slot *sl = &region->slot[i];
		uint32_t n = __atomic_load_n(&sl->ntools, __ATOMIC_ACQUIRE);

		for (uint32_t t = 0; t < n && t < METRICS_NTOOLS; t++) {
			for (k = 0; k < nsum && strcmp(sum[k].name, sl->tools[t].name) != 0; k++)
				;
			if (k == nsum) {
				if (nsum == METRICS_NTOOLS)
					continue;
				memset(&sum[nsum], 0, sizeof(sum[nsum]));
				memcpy(sum[nsum++].name, sl->tools[t].name, METRICS_TOOL_NAME);
			}
			for (size_t o = 0; o < METRICS_TOOL_NOUTCOMES; o++)
				sum[k].outcome[o] += GET(&sl->tools[t].outcome[o]);
		}
	}
	fprintf(out, "# HELP trestle_tool_calls_total MCP tool calls by tool and outcome.\n"
	    "# TYPE trestle_tool_calls_total counter\n");
	for (k = 0; k < nsum; k++)
		for (size_t o = 0; o < METRICS_TOOL_NOUTCOMES; o++)
			fprintf(out, "trestle_tool_calls_total{tool=\"%s\",outcome=\"%s\"} %llu\n",
			    sum[k].name, outcomes[o], (unsigned long long)sum[k].outcome[o]);
}

static void
metrics_print_pool(FILE *out, const struct metrics_sum *api)
{
	fprintf(out, "# HELP trestle_db_pool_connections PostgreSQL connections of the API "
	    "child by state.\n# TYPE trestle_db_pool_connections gauge\n"
	    "trestle_db_pool_connections{state=\"busy\"} %lld\n"
	    "trestle_db_pool_connections{state=\"idle\"} %lld\n"
	    "trestle_db_pool_connections{state=\"connecting\"} %lld\n",
	    (long long)api->pool_busy, (long long)api->pool_idle, (long long)api->pool_connecting);
	metrics_print_one(out, "trestle_db_pool_size", "gauge", "Connections the pool may open.",
	    api->pool_size);
	metrics_print_one(out, "trestle_db_pool_queued", "gauge",
	    "Queries waiting for a free connection.", api->pool_queued);
	fprintf(out, "# HELP trestle_db_queries_total Queries by result.\n"
	    "# TYPE trestle_db_queries_total counter\n"
	    "trestle_db_queries_total{result=\"served\"} %llu\n"
	    "trestle_db_queries_total{result=\"failed\"} %llu\n",
	    (unsigned long long)api->pool_served, (unsigned long long)api->pool_failed);
	metrics_print_one(out, "trestle_db_connects_total", "counter",
	    "Connection attempts to PostgreSQL.", (long long)api->pool_connects);
	metrics_print_one(out, "trestle_db_connect_failures_total", "counter",
	    "Connection attempts that failed.", (long long)api->pool_connect_failures);
	metrics_print_one(out, "trestle_db_discarded_total", "counter",
	    "Connections thrown away as dead or unusable.", (long long)api->pool_discarded);
	metrics_print_one(out, "trestle_db_retried_total", "counter",
	    "Queries run again on a fresh connection.", (long long)api->pool_retried);
	metrics_print_one(out, "trestle_db_pipelined_total", "counter",
	    "Queries sent to a connection still busy with others (pipeline mode).",
	    (long long)api->pool_pipelined);
}

static void
metrics_print_master(FILE *out)
{
	static const char *const roles[METRICS_NROLES] = { "api", "worker" };

	fprintf(out, "# HELP trestle_restarts_total Children restarted after an unasked "
	    "exit, by role.\n# TYPE trestle_restarts_total counter\n");
	for (size_t r = 0; r < METRICS_NROLES; r++)
		fprintf(out, "trestle_restarts_total{role=\"%s\"} %llu\n", roles[r],
		    (unsigned long long)GET(&region->master.restarts[r]));
	fprintf(out, "# HELP trestle_reloads_total Reloads by result.\n"
	    "# TYPE trestle_reloads_total counter\n"
	    "trestle_reloads_total{result=\"ok\"} %llu\ntrestle_reloads_total{result=\"failed\"} "
	    "%llu\n", (unsigned long long)GET(&region->master.reloads),
	    (unsigned long long)GET(&region->master.reload_failures));
	metrics_print_one(out, "trestle_generation", "gauge",
	    "Generation of the serving workers (1, plus one per successful reload).",
	    (long long)GET(&region->master.generation));
}

int
metrics_render(FILE *out)
{
	struct metrics_sum wk, api;

	if (region == NULL)
		return -1;
	metrics_sum_role(&wk, METRICS_ROLE_WORKER);
	metrics_sum_role(&api, METRICS_ROLE_API);
	metrics_print_requests(out, "trestle_http_requests_total",
	    "HTTP requests answered by the MCP workers, by method and status.", wk.requests);
	metrics_print_histogram(out, "trestle_http_request_duration_seconds",
	    "Time from a request's arrival to the end of its response.", &wk.request_latency);
	metrics_print_tools(out);
	metrics_print_histogram(out, "trestle_tool_call_duration_seconds",
	    "Time of a tool call, including the API child.", &wk.tool_latency);
	metrics_print_one(out, "trestle_mcp_sessions_created_total", "counter",
	    "MCP sessions opened by initialize.", (long long)wk.sessions_created);
	metrics_print_one(out, "trestle_mcp_sessions_deleted_total", "counter",
	    "MCP sessions ended by DELETE.", (long long)wk.sessions_deleted);
	metrics_print_one(out, "trestle_mcp_sse_streams", "gauge", "Open SSE streams.",
	    wk.streams);
	metrics_print_one(out, "trestle_workers_up", "gauge", "MCP worker processes alive.",
	    wk.live);
	metrics_print_requests(out, "trestle_api_requests_total",
	    "Requests answered by the API child, by method and status.", api.requests);
	metrics_print_histogram(out, "trestle_api_request_duration_seconds",
	    "Time the API child took to answer.", &api.request_latency);
	metrics_print_one(out, "trestle_rate_limited_total", "counter",
	    "Requests refused by the rate limit.", (long long)(api.rate_limited + wk.rate_limited));
	metrics_print_one(out, "trestle_log_lines_lost_total", "counter",
	    "Log lines the children could not write (a full disk) and dropped.",
	    (long long)(api.log_lines_lost + wk.log_lines_lost));
	metrics_print_pool(out, &api);
	metrics_print_master(out);
	return ferror(out) ? -1 : 0;
}
