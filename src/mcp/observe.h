/*
 * What every HTTP request to a worker leaves behind, once its response has
 * been sent: one access log line (log_access) and its counts in the shared
 * metrics.  Also GET /metrics, answered here from the shared region.  While
 * the worker drains, each new response closes its connection, so that
 * clients move to the workers that go on serving.
 */
#ifndef TRESTLE_OBSERVE_H
#define TRESTLE_OBSERVE_H

#include <event2/http.h>

#define OBSERVE_CID_HEADER	"X-Correlation-ID"

struct worker;

/* Call first for every request: 1 when it was answered here (GET /metrics). */
int	observe_request(struct worker *, struct evhttp_request *);
/* Publish this worker's gauges (open streams) every second. */
void	observe_start(struct worker *);
void	observe_stop(void);
/* From now on, responses carry "Connection: close". */
void	observe_drain(void);
/* Milliseconds since a request last began or ended here. */
long	observe_quiet_ms(void);
/* Requests begun and not yet answered (a client that went away keeps its count). */
int	observe_open_requests(void);

#endif
