/*
 * Server-sent event streams on HTTP responses: the answer to a POST that
 * needs streaming, and the GET stream.  A stream sends the priming event
 * first (an event id with empty data; MCP 2025-11-25), then one "message"
 * event per JSON-RPC message, and a keep-alive comment every
 * SSE_KEEPALIVE_SEC so that idle streams survive proxies.  While streaming,
 * the connection has no read timeout (the client is silent by design) and
 * keeps its write timeout, so a client that stops reading is dropped.  The
 * hub caps the streams a worker holds open at once.
 */
#ifndef TRESTLE_SSE_H
#define TRESTLE_SSE_H

#include <event2/event.h>
#include <event2/http.h>

#define SSE_KEEPALIVE_SEC	25

struct sse_hub;
struct sse;

/* id_prefix makes event ids unique across workers and restarts. */
struct sse_hub	*sse_hub_new(struct event_base *, int max_streams, int timeout_sec,
		    const char *id_prefix);
void		 sse_hub_free(struct sse_hub *);
int		 sse_hub_count(const struct sse_hub *);

/*
 * Answer req with 200 text/event-stream (headers already added to req are
 * kept), the priming event first when prime is set.  NULL when the hub is
 * full: nothing was sent and the caller answers req itself.
 */
struct sse	*sse_start(struct sse_hub *, struct evhttp_request *, int prime);
/* One "message" event carrying JSON text (a single line). */
void		 sse_send(struct sse *, const char *json);
/* End the response and free the stream. */
void		 sse_end(struct sse *);
/*
 * The client is gone (its connection is being freed): free without writing,
 * and the request too when libevent left it to us.
 */
void		 sse_abandon(struct sse *);

#endif
