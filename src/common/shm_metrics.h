/*
 * Metrics in shared memory.  The master creates the region (a memfd) before
 * it forks anything and every child maps it from SHM_CHILD_FD.  The region
 * holds one slot per process: a process writes only the slot the master gave
 * it (--metrics-slot), so no locks are needed, and /metrics sums every slot.
 * A slot outlives its process and is handed on to the next one of the same
 * role, which adds to it: the totals survive restarts and reloads.  Gauges
 * (open streams, pool connections) are summed over live processes only.
 */
#ifndef TRESTLE_SHM_METRICS_H
#define TRESTLE_SHM_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_SLOTS		256
#define METRICS_API_SLOTS	8	/* slots 0..7 for API children, the rest for workers */
#define METRICS_NO_SLOT		(-1)

enum metrics_role { METRICS_ROLE_API, METRICS_ROLE_WORKER, METRICS_NROLES };

enum metrics_tool_outcome {
	METRICS_TOOL_OK,	/* a result */
	METRICS_TOOL_ERROR,	/* an isError result (bad arguments, refused, API child down) */
	METRICS_TOOL_CANCELLED,	/* cancelled by the client or abandoned */
	METRICS_TOOL_NOUTCOMES
};

/* What the API child's PostgreSQL pool reports (counters are the process's own totals). */
struct metrics_pool {
	int64_t		size, open, busy, idle, queued, connecting;
	uint64_t	served, failed, discarded, connects, connect_failures, retried,
			pipelined;
};

/*
 * The master's side.  metrics_create returns the memfd to hand to children
 * (close-on-exec; -1 when shared memory is unavailable: metrics are then off).
 */
int	metrics_create(void);
/* A slot for a new process of role (keep reusing one per child entry); METRICS_NO_SLOT if none. */
int	metrics_slot_take(enum metrics_role);
void	metrics_slot_owner(int slot, long pid);	/* pid 0: the process is gone */
void	metrics_count_restart(enum metrics_role);
void	metrics_count_reload(int ok);
void	metrics_set_generation(unsigned);

/* A child's side: map the region from SHM_CHILD_FD and own slot; 0, or -1 (metrics off). */
int	metrics_attach(int slot);

/* Monotonic microseconds, to time what is counted. */
int64_t	metrics_now_us(void);

/* Counting, in the process that owns a slot; no-ops when metrics are off. */
void	metrics_count_request(const char *method, int status, int64_t latency_us);
void	metrics_count_tool(const char *tool, enum metrics_tool_outcome, int64_t latency_us);
void	metrics_count_session(int created);	/* 1: initialize made one, 0: DELETE ended one */
void	metrics_count_rate_limited(void);
void	metrics_count_log_lost(void);	/* log.c: a line could not be written */
void	metrics_set_streams(int open_streams);
void	metrics_set_pool(const struct metrics_pool *);

/* Prometheus text exposition of the sums over every slot; -1 when metrics are off. */
int	metrics_render(FILE *);

#endif
