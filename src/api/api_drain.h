/*
 * The API child's graceful exit and its figures in the shared metrics.
 *
 * Draining (SHUTDOWN 0: at shutdown, after the workers have gone, or when a
 * reload replaced this child): stop accepting on the Unix socket and the TCP
 * listener, let the requests in flight finish (their queries: the pool has
 * nothing busy or queued, and nothing began for a moment), then call done;
 * at the latest after timeout_sec.
 */
#ifndef TRESTLE_API_DRAIN_H
#define TRESTLE_API_DRAIN_H

struct api_ctx;

void	api_drain_start(struct api_ctx *, int timeout_sec, void (*done)(struct api_ctx *));
/* Publish the PostgreSQL pool's figures every second (no-op in proxy mode). */
void	api_metrics_start(struct api_ctx *);
void	api_drain_free(void);

#endif
