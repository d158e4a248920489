/*
 * An HTTP client on a libevent loop: libcurl's multi interface driven by the
 * caller's own loop, so a call never blocks the process.  The MCP workers
 * talk to the API child over its Unix socket with it; the API child fetches
 * its JWKS and forwards to an upstream API (proxy mode) with it, over TCP.
 * Connections are kept alive and reused across calls.
 *
 * Every call ends in exactly one callback, always from the event loop and
 * never from inside api_client_send, unless it is cancelled first.  A done
 * callback may send new calls, cancel other calls and free the client.
 */
#ifndef TRESTLE_API_CLIENT_H
#define TRESTLE_API_CLIENT_H

#include <stddef.h>

#include <event2/event.h>

/* A response body larger than this fails the call (status 0). */
#define API_CLIENT_MAX_BODY	(16 * 1024 * 1024)

struct api_client;
struct api_call;

struct api_request {
	const char		 *method;	/* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char		 *path;		/* "/v1/notes?limit=5" */
	const char		 *body;		/* may be NULL; copied by api_client_send */
	size_t			  body_len;
	/*
	 * NULL-terminated "Name: value" lines, may be NULL; copied.  A request
	 * with a body gets "Content-Type: application/json" unless one is given.
	 */
	const char *const	 *headers;
	int			  timeout_ms;	/* 0: the client's timeout */
};

struct api_response {
	long		 status;	/* HTTP status; 0 when the call failed at transport level */
	const char	*body;		/* NUL-terminated, valid during the callback only */
	size_t		 body_len;
	const char	*error;		/* why, when status == 0; NULL otherwise */
	/* Private: NUL-terminated header lines; read them with api_response_header. */
	const char	*header_lines;
	size_t		 header_lines_len;
};

typedef void (*api_done_fn)(const struct api_response *, void *arg);

/*
 * A client of the API child on its Unix socket.  timeout_ms bounds each
 * whole call (connect, send, wait, receive).  NULL on allocation failure or
 * when libcurl cannot be initialised.
 */
struct api_client	*api_client_new(struct event_base *, const char *unix_socket_path,
			    int timeout_ms);
/*
 * A client of base_url (http, https or file): each call goes to base_url
 * followed by its path ("http://127.0.0.1:8080" + "/v1/notes").  peer names
 * the other side in error messages ("upstream API").
 */
struct api_client	*api_client_new_url(struct event_base *, const char *base_url,
			    const char *peer, int timeout_ms);

/*
 * Starts a call.  NULL only on allocation failure; otherwise the callback is
 * always called later, never from inside api_client_send.  The returned
 * handle is valid until the callback returns or the call is cancelled.
 */
struct api_call		*api_client_send(struct api_client *, const struct api_request *,
			    api_done_fn, void *arg);

/* Response header value (name matched case-insensitively), valid during the callback; NULL if absent. */
const char		*api_response_header(const struct api_response *, const char *name);
/* The response's header lines ("Name: value") in order: NULL starts, NULL ends. */
const char		*api_response_header_next(const struct api_response *, const char *line);
/* The value of one header line "Name: value" if it is name's (any case), blanks skipped; else NULL. */
const char		*api_header_line_value(const char *line, const char *name);

/* The callback will not be called.  A no-op from inside the call's own callback. */
void			 api_call_cancel(struct api_call *);

/* Pending calls are cancelled without callback.  May be called from a done callback. */
void			 api_client_free(struct api_client *);

#endif
