/*
 * What the API child does for its master: start serving at the right moment,
 * drain on a graceful exit, and publish its pool's figures in the shared
 * metrics.
 *
 * Serving: at once, unless another API child still answers on api.sock (a
 * reload is replacing it) and this one's schema check has not finished; then
 * only once it has, so that the socket changes hands when this child can
 * answer.  READY goes to the master at that moment.
 *
 * Draining (SHUTDOWN 0: at shutdown, after the workers have gone, or when a
 * reload replaced this child): stop accepting on the Unix socket and the TCP
 * listener, let the requests in flight finish (their queries: the pool has
 * nothing busy or queued, and nothing began for a moment), then call done;
 * at the latest after timeout_sec.
 */
#ifndef TRESTLE_API_SUPERVISED_H
#define TRESTLE_API_SUPERVISED_H

struct api_ctx;
struct child_link;

void	api_serve_start(struct api_ctx *, struct child_link *);

void	api_drain_start(struct api_ctx *, int timeout_sec, void (*done)(struct api_ctx *));
/* Publish the PostgreSQL pool's figures every second (no-op in proxy mode). */
void	api_metrics_start(struct api_ctx *);
void	api_supervised_free(void);

#endif
