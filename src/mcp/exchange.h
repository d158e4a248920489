/*
 * An exchange is one POST to the MCP endpoint: one JSON-RPC message (or a
 * batch, under 2025-03-26) and the HTTP response that carries the answers.
 * The response is plain JSON when every request is answered without
 * anything else to say; the first notification or server-to-client request
 * of any of its requests turns it into an SSE stream, which then carries
 * everything that belongs to those requests, before their responses, and
 * ends after the last response.
 *
 * A request (struct mcp_request) ends exactly once: answered (mcp_reply,
 * mcp_reply_error), cancelled by the client (notifications/cancelled, here
 * or routed from another worker) or abandoned when the client goes away.
 * The last two call the handler's on_cancel, which frees what the handler
 * holds and must not answer.
 */
#ifndef TRESTLE_EXCHANGE_H
#define TRESTLE_EXCHANGE_H

#include <sys/queue.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "mcp_session.h"
#include "routing.h"
#include "session_state.h"

#define MCP_JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct worker;
struct exchange;
struct mcp_request;

typedef void (*mcp_cancel_fn)(struct mcp_request *);
/* The client's answer to mcp_ask: its result or its error; both NULL when none came in time. */
typedef void (*mcp_answer_fn)(struct mcp_request *, json_object *result, json_object *error);

struct mcp_request {
	struct worker			*w;
	struct exchange			*ex;
	TAILQ_ENTRY(mcp_request)	 live;		/* the worker's requests */
	TAILQ_ENTRY(mcp_request)	 sibling;	/* the exchange's requests */
	char				*id;		/* the JSON-RPC id, as JSON text */
	const char			*subject;	/* who the client acts as */
	const struct mcp_session	*session;	/* NULL for initialize */
	json_object			*params;	/* may be NULL */
	json_object			*progress_token;	/* params._meta.progressToken */
	mcp_cancel_fn			 on_cancel;	/* may be NULL */
	void				*data;		/* the handler's */
	char				 ask_id[ROUTING_ID_MAX];	/* "": not asking */
	mcp_answer_fn			 on_answer;
	struct event			*ev_ask_timeout;
};

TAILQ_HEAD(mcp_request_list, mcp_request);

void	mcp_request_correlation_id(const struct mcp_request *, char cid[40]);

/* version: the protocol version the exchange speaks; session NULL only for initialize. */
struct exchange	*exchange_new(struct worker *, struct evhttp_request *, const char *subject,
		    const struct mcp_session *, const char *version, int batch);
/* A new request of the exchange (id and params are referenced, not copied). */
struct mcp_request *exchange_request(struct exchange *, json_object *id, json_object *params);
/* An error answer that belongs to no request (an invalid batch element). */
void		 exchange_error(struct exchange *, int code, const char *message);
void		 exchange_add_header(struct exchange *, const char *name, const char *value);
/* Every message was dispatched: the response ends once every request has ended. */
void		 exchange_done(struct exchange *);

void	mcp_reply(struct mcp_request *, const char *result_json);

/*
 * A result that is the same for every request (tools/list), kept also in the
 * gzip coding for clients whose Accept-Encoding allows it.
 */
struct mcp_static_result;
struct mcp_static_result	*mcp_static_result_new(const char *result_json);
void				 mcp_static_result_free(struct mcp_static_result *);
void	mcp_reply_static(struct mcp_request *, const struct mcp_static_result *);
void	mcp_reply_error(struct mcp_request *, int code, const char *message);
/* Send a notification on the request's stream (params are taken over, may be NULL). */
void	mcp_notify(struct mcp_request *, const char *method, json_object *params);
/* notifications/progress, when the request asked for progress. */
void	mcp_progress(struct mcp_request *, double progress, double total, const char *message);
/* notifications/message, when level is at or above the session's log level (data taken over). */
void	mcp_log(struct mcp_request *, enum mcp_log_level, const char *logger, json_object *data);
/*
 * Send a server-to-client request (params taken over); answer is called once
 * with the client's answer, wherever it lands, or after timeout_sec without
 * one.  -1 when no stream could be opened (nothing will be called).
 */
int	mcp_ask(struct mcp_request *, const char *method, json_object *params, mcp_answer_fn answer,
	    int timeout_sec);

/* A client's response for the session with tag; 1 when it answered an mcp_ask here. */
int	mcp_requests_answer(struct worker *, const unsigned char tag[MCP_SESSION_TAG_LEN],
	    json_object *msg);
/* notifications/cancelled for the session with tag; 1 when a request here was cancelled. */
int	mcp_requests_cancel(struct worker *, const unsigned char tag[MCP_SESSION_TAG_LEN],
	    json_object *request_id);

#endif
