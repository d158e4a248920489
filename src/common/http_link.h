/*
 * The workers' HTTP/1.1 client for the API child: kept-alive connections on
 * its Unix socket, driven by the caller's libevent loop.  Requests and
 * responses are the api_client.h ones, and so is the contract: every call
 * ends in exactly one callback, from the event loop and never from inside
 * http_link_send, unless it is cancelled first; a done callback may send new
 * calls, cancel other calls and free the link.
 *
 * libcurl (api_client.h) still serves every URL; this hop has its own client
 * because it is the hot path of every tool call (see http_link.c).
 */
#ifndef TRESTLE_HTTP_LINK_H
#define TRESTLE_HTTP_LINK_H

#include <event2/event.h>

#include "api_client.h"

/* Connections kept open at most; calls beyond wait for one (their deadline running). */
#define HTTP_LINK_MAX_CONNECTIONS	64

struct http_link;
struct http_link_call;

/* timeout_ms bounds each whole call (waiting, sending, receiving).  NULL: no memory, or a path too long. */
struct http_link	*http_link_new(struct event_base *, const char *unix_socket_path,
			    int timeout_ms);
/* NULL only on allocation failure; the request is copied. */
struct http_link_call	*http_link_send(struct http_link *, const struct api_request *,
			    api_done_fn, void *arg);
/* The callback will not be called.  A no-op from inside the call's own callback. */
void			 http_link_cancel(struct http_link_call *);
/* Pending calls are cancelled without callback.  May be called from a done callback. */
void			 http_link_free(struct http_link *);

#endif
