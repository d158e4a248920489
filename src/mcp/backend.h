/*
 * Calls from a worker to the API child on behalf of a user.  The client's own
 * token never leaves the worker: each call carries the worker's signed tenant
 * headers and a short-lived backend token naming the user.  A user's sync
 * session is opened once and reused until it expires or the API answers 428;
 * a 409 re-reads the epoch and the call is sent again once.
 */
#ifndef TRESTLE_BACKEND_H
#define TRESTLE_BACKEND_H

#include "http_link.h"
#include "conf.h"

struct backend;
struct backend_call;

struct backend_request {
	const char	*subject;
	const char	*correlation_id;
	const char	*method;
	const char	*path;
	const char	*body;		/* NULL: none */
	const char	*if_match;	/* NULL or "": no If-Match header */
};

struct backend	*backend_new(const struct conf *, struct http_link *);
/* done is always called later, with the final response; never from inside backend_send. */
struct backend_call *backend_send(struct backend *, const struct backend_request *,
	    api_done_fn done, void *arg);
void		 backend_call_cancel(struct backend_call *);
void		 backend_free(struct backend *);

#endif
