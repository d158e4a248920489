#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "codec.h"
#include "connguard.h"
#include "exchange.h"
#include "gzip_static.h"
#include "http_headers.h"
#include "jsonstr.h"
#include "log.h"
#include "observe.h"
#include "sse.h"
#include "worker.h"

struct exchange {
	struct worker			*w;
	struct evhttp_request		*req;		/* NULL once the client is gone */
	struct sse			*sse;		/* once streaming */
	struct event			*ev_peer;	/* watches for the client leaving */
	struct mcp_request_list		 requests;
	char				**answers;	/* collected while not streaming */
	size_t				 nanswers;
	const struct gzip_static	*answer0_gzip;	/* answers[0] can be sent gzip'd */
	int				 holds;		/* open requests, +1 while dispatching */
	int				 made;		/* requests made */
	int				 batch, prime;
	char				*subject;
	struct mcp_session		 session;
	int				 has_session;
};

static void exchange_on_close(struct evhttp_connection *, void *);

struct exchange *
exchange_new(struct worker *w, struct evhttp_request *req, const char *subject,
    const struct mcp_session *session, const char *version, int batch)
{
	struct exchange *ex = calloc(1, sizeof(*ex));

	if (ex == NULL || (ex->subject = strdup(subject)) == NULL)
		fatal("exchange_new");
	ex->w = w;
	ex->req = req;
	ex->batch = batch;
	ex->holds = 1;
	ex->prime = strcmp(version, "2025-11-25") >= 0;	/* priming events came with 2025-11-25 */
	TAILQ_INIT(&ex->requests);
	if (session != NULL) {
		ex->session = *session;
		ex->has_session = 1;
	}
	conn_guard_set_closecb(w->conns, evhttp_request_get_connection(req), exchange_on_close, ex);
	return ex;
}

void
exchange_add_header(struct exchange *ex, const char *name, const char *value)
{
	if (ex->req != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(ex->req), name, value);
}

static void
exchange_unwatch(struct exchange *ex)
{
	if (ex->ev_peer != NULL)
		event_free(ex->ev_peer);
	ex->ev_peer = NULL;
}

static void
exchange_free(struct exchange *ex)
{
	exchange_unwatch(ex);
	for (size_t i = 0; i < ex->nanswers; i++)
		free(ex->answers[i]);
	free(ex->answers);
	free(ex->subject);
	free(ex);
}

static void
exchange_free_answer(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* An answer of its own with a gzip form, to a client that accepts gzip. */
static int
exchange_gzip_wanted(const struct exchange *ex)
{
	return !ex->batch && ex->nanswers == 1 && ex->answer0_gzip != NULL &&
	    accept_encoding_gzip(http_header_get(evhttp_request_get_input_headers(ex->req),
	    "Accept-Encoding"));
}

/*
 * The collected answers: one object, or an array for a batch.  The answers
 * are handed to the output buffer as they are, not copied: they can be tens of
 * kilobytes, and a copy would fault in fresh pages for every answer.
 */
static void
exchange_send_json(struct exchange *ex)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(ex->req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(headers, "Content-Type", "application/json");
	if (ex->answer0_gzip != NULL)
		evhttp_add_header(headers, "Vary", "Accept-Encoding");
	if (exchange_gzip_wanted(ex) && gzip_static_member(ex->answer0_gzip, ex->answers[0],
	    strlen(ex->answers[0]), out) == 0) {
		evhttp_add_header(headers, "Content-Encoding", "gzip");
		evhttp_send_reply(ex->req, 200, "OK", out);
		evbuffer_free(out);
		return;
	}
	if (ex->batch)
		evbuffer_add(out, "[", 1);
	for (size_t i = 0; i < ex->nanswers; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		if (evbuffer_add_reference(out, ex->answers[i], strlen(ex->answers[i]),
		    exchange_free_answer, NULL) == -1)
			fatalx("exchange_send_json: evbuffer_add_reference");
		ex->answers[i] = NULL;	/* the buffer frees it once sent */
	}
	if (ex->batch)
		evbuffer_add(out, "]", 1);
	evhttp_send_reply(ex->req, 200, "OK", out);
	evbuffer_free(out);
}

static void
exchange_finish(struct exchange *ex)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(ex->req);

	conn_guard_set_closecb(ex->w->conns, evhttp_request_get_connection(ex->req), NULL, NULL);
	exchange_unwatch(ex);
	if (ex->sse != NULL)
		sse_end(ex->sse);
	else if (ex->made == 0 && ex->nanswers == 0)
		evhttp_send_reply(ex->req, 202, "Accepted", NULL);	/* notifications, responses */
	else if (ex->nanswers == 0) {
		/* every request was cancelled: an empty stream, no response */
		evhttp_add_header(headers, "Content-Type", "text/event-stream");
		evhttp_send_reply(ex->req, 200, "OK", NULL);
	} else
		exchange_send_json(ex);
	exchange_free(ex);
}

static void
exchange_release(struct exchange *ex)
{
	if (--ex->holds == 0)
		exchange_finish(ex);
}

/*
 * While a request waits for its answer, libevent does not read from the
 * connection, so it would notice a client that left only when the answer is
 * written.  A streamed response finds out from its keep-alives; a plain one
 * watches the socket for the end of file, and frees the connection (which
 * abandons the requests) when the client is gone.
 */
static void
exchange_on_peer(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	(void)what;
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		event_add(ex->ev_peer, NULL);
		return;
	}
	if (n > 0)
		return;		/* a pipelined request: it waits its turn, and keeps the client */
	evhttp_connection_free(evhttp_request_get_connection(ex->req));	/* frees ex */
}

static void
exchange_watch(struct exchange *ex)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(ex->req);
	evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));

	ex->ev_peer = event_new(ex->w->base, fd, EV_READ, exchange_on_peer, ex);
	event_add(ex->ev_peer, NULL);
}

void
exchange_done(struct exchange *ex)
{
	if (ex->holds > 1 && ex->sse == NULL)
		exchange_watch(ex);
	exchange_release(ex);
}

/* Turn the response into an SSE stream, sending what was collected so far. */
static int
exchange_stream(struct exchange *ex)
{
	if (ex->sse != NULL)
		return 0;
	if (ex->req == NULL || (ex->sse = sse_start(ex->w->sse, ex->req, ex->prime)) == NULL)
		return -1;
	exchange_unwatch(ex);
	for (size_t i = 0; i < ex->nanswers; i++) {
		sse_send(ex->sse, ex->answers[i]);
		free(ex->answers[i]);
	}
	ex->nanswers = 0;
	return 0;
}

/*
 * One complete JSON-RPC message for the client; text (malloc'd) is taken
 * over.  gz, if not NULL, can make the gzip form of text.
 */
static void
exchange_emit_coded(struct exchange *ex, char *text, const struct gzip_static *gz)
{
	char **grown;

	if (ex->req == NULL || ex->sse != NULL) {
		if (ex->req != NULL)
			sse_send(ex->sse, text);
		free(text);
		return;
	}
	if ((grown = realloc(ex->answers, (ex->nanswers + 1) * sizeof(*grown))) == NULL)
		fatal("exchange_emit");
	grown[ex->nanswers] = text;
	ex->answers = grown;
	if (ex->nanswers == 0)
		ex->answer0_gzip = gz;
	ex->nanswers++;
}

static void
exchange_emit(struct exchange *ex, char *text)
{
	exchange_emit_coded(ex, text, NULL);
}

static char *
mcp_error_text(const char *id, int code, const char *message)
{
	json_object *msg = json_object_new_string(message);
	char *text;

	if (asprintf(&text, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":%s}}",
	    id != NULL ? id : "null", code, json_object_to_json_string_ext(msg, MCP_JSON_FLAGS)) == -1)
		fatal("mcp_error_text");
	json_object_put(msg);
	return text;
}

void
exchange_error(struct exchange *ex, int code, const char *message)
{
	exchange_emit(ex, mcp_error_text(NULL, code, message));
}

/* ---- requests ---- */

static json_object *
mcp_progress_token(json_object *params)
{
	json_object *meta, *token;

	if (params == NULL || !json_object_object_get_ex(params, "_meta", &meta) ||
	    !json_object_object_get_ex(meta, "progressToken", &token))
		return NULL;
	if (!json_object_is_type(token, json_type_string) && !json_object_is_type(token, json_type_int))
		return NULL;
	return json_object_get(token);
}

struct mcp_request *
exchange_request(struct exchange *ex, json_object *id, json_object *params)
{
	struct mcp_request *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->id = strdup(json_object_to_json_string_ext(id, MCP_JSON_FLAGS))) == NULL)
		fatal("exchange_request");
	r->w = ex->w;
	r->ex = ex;
	r->subject = ex->subject;
	r->session = ex->has_session ? &ex->session : NULL;
	r->params = json_object_get(params);
	r->progress_token = mcp_progress_token(params);
	TAILQ_INSERT_TAIL(&ex->w->requests, r, live);
	TAILQ_INSERT_TAIL(&ex->requests, r, sibling);
	ex->holds++;
	ex->made++;
	return r;
}

static void
mcp_request_free(struct mcp_request *r)
{
	TAILQ_REMOVE(&r->w->requests, r, live);
	TAILQ_REMOVE(&r->ex->requests, r, sibling);
	if (r->ev_ask_timeout != NULL)
		event_free(r->ev_ask_timeout);
	json_object_put(r->params);
	json_object_put(r->progress_token);
	free(r->id);
	free(r);
}

static void
mcp_request_end(struct mcp_request *r)
{
	struct exchange *ex = r->ex;

	mcp_request_free(r);
	exchange_release(ex);
}

/* text (malloc'd) is taken over */
static void
mcp_answer(struct mcp_request *r, char *text)
{
	exchange_emit(r->ex, text);
	mcp_request_end(r);
}

static const char answer_head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
static const char result_key[] = ",\"result\":";

/* A result can be tens of kilobytes (tools/list, a page of notes): one exact allocation. */
static char *
answer_text(const char *id, const char *result_json)
{
	return jsonstr_concat(answer_head, id, result_key, result_json, "}", NULL);
}

void
mcp_reply(struct mcp_request *r, const char *result_json)
{
	mcp_answer(r, answer_text(r->id, result_json));
}

struct mcp_static_result {
	char			*json;
	struct gzip_static	*gzip;	/* of what follows the id: ,"result":<json>} */
};

struct mcp_static_result *
mcp_static_result_new(const char *result_json)
{
	struct mcp_static_result *sr = calloc(1, sizeof(*sr));
	char *tail;

	if (sr == NULL || (sr->json = strdup(result_json)) == NULL)
		fatal("mcp_static_result_new");
	tail = jsonstr_concat(result_key, result_json, "}", NULL);
	if ((sr->gzip = gzip_static_new(tail, strlen(tail))) == NULL)
		log_warnx("worker: zlib could not deflate a constant answer; it is sent uncompressed");
	free(tail);
	return sr;
}

void
mcp_static_result_free(struct mcp_static_result *sr)
{
	if (sr == NULL)
		return;
	gzip_static_free(sr->gzip);
	free(sr->json);
	free(sr);
}

void
mcp_reply_static(struct mcp_request *r, const struct mcp_static_result *sr)
{
	exchange_emit_coded(r->ex, answer_text(r->id, sr->json), sr->gzip);
	mcp_request_end(r);
}

void
mcp_reply_error(struct mcp_request *r, int code, const char *message)
{
	mcp_answer(r, mcp_error_text(r->id, code, message));
}

/* {"jsonrpc":"2.0",[id,]method,params} on the request's stream. */
static int
mcp_send_message(struct mcp_request *r, const char *id, const char *method, json_object *params)
{
	json_object *msg = json_object_new_object();
	int rc = -1;

	json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
	if (id != NULL)
		json_object_object_add(msg, "id", json_object_new_string(id));
	json_object_object_add(msg, "method", json_object_new_string(method));
	if (params != NULL)
		json_object_object_add(msg, "params", params);
	if (exchange_stream(r->ex) == 0) {
		sse_send(r->ex->sse, json_object_to_json_string_ext(msg, MCP_JSON_FLAGS));
		rc = 0;
	}
	json_object_put(msg);
	return rc;
}

void
mcp_notify(struct mcp_request *r, const char *method, json_object *params)
{
	mcp_send_message(r, NULL, method, params);
}

void
mcp_progress(struct mcp_request *r, double progress, double total, const char *message)
{
	json_object *params;

	if (r->progress_token == NULL)
		return;
	params = json_object_new_object();
	json_object_object_add(params, "progressToken", json_object_get(r->progress_token));
	json_object_object_add(params, "progress", json_object_new_double(progress));
	if (total > 0)
		json_object_object_add(params, "total", json_object_new_double(total));
	if (message != NULL)
		json_object_object_add(params, "message", json_object_new_string(message));
	mcp_notify(r, "notifications/progress", params);
}

void
mcp_log(struct mcp_request *r, enum mcp_log_level level, const char *logger, json_object *data)
{
	json_object *params;

	if (r->session == NULL || level < session_state_log_level(r->w->session_state, r->session->tag)) {
		json_object_put(data);
		return;
	}
	params = json_object_new_object();
	json_object_object_add(params, "level", json_object_new_string(mcp_log_level_name(level)));
	if (logger != NULL)
		json_object_object_add(params, "logger", json_object_new_string(logger));
	json_object_object_add(params, "data", data);
	mcp_notify(r, "notifications/message", params);
}

static void
mcp_ask_end(struct mcp_request *r, json_object *result, json_object *error)
{
	mcp_answer_fn answer = r->on_answer;

	r->ask_id[0] = '\0';
	r->on_answer = NULL;
	if (r->ev_ask_timeout != NULL) {
		event_free(r->ev_ask_timeout);
		r->ev_ask_timeout = NULL;
	}
	answer(r, result, error);
}

static void
mcp_on_ask_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mcp_ask_end(arg, NULL, NULL);
}

int
mcp_ask(struct mcp_request *r, const char *method, json_object *params, mcp_answer_fn answer,
    int timeout_sec)
{
	struct timeval tv = { timeout_sec, 0 };

	routing_new_id(r->w->routing, r->ask_id);
	if (mcp_send_message(r, r->ask_id, method, params) == -1) {
		r->ask_id[0] = '\0';
		return -1;
	}
	r->on_answer = answer;
	r->ev_ask_timeout = evtimer_new(r->w->base, mcp_on_ask_timeout, r);
	evtimer_add(r->ev_ask_timeout, &tv);
	return 0;
}

static int
mcp_same_session(const struct mcp_request *r, const unsigned char *tag)
{
	return r->session != NULL && memcmp(r->session->tag, tag, MCP_SESSION_TAG_LEN) == 0;
}

int
mcp_requests_answer(struct worker *w, const unsigned char tag[MCP_SESSION_TAG_LEN], json_object *msg)
{
	json_object *id, *result = NULL, *error = NULL;
	struct mcp_request *r;

	if (!json_object_object_get_ex(msg, "id", &id) || !json_object_is_type(id, json_type_string))
		return 0;
	TAILQ_FOREACH(r, &w->requests, live) {
		if (r->ask_id[0] != '\0' && strcmp(r->ask_id, json_object_get_string(id)) == 0 &&
		    mcp_same_session(r, tag)) {
			json_object_object_get_ex(msg, "result", &result);
			json_object_object_get_ex(msg, "error", &error);
			mcp_ask_end(r, result, error != NULL ? error : (result == NULL ? msg : NULL));
			return 1;
		}
	}
	return 0;
}

static void
mcp_request_cancel(struct mcp_request *r)
{
	if (r->on_cancel != NULL)
		r->on_cancel(r);
}

int
mcp_requests_cancel(struct worker *w, const unsigned char tag[MCP_SESSION_TAG_LEN],
    json_object *request_id)
{
	const char *want = json_object_to_json_string_ext(request_id, MCP_JSON_FLAGS);
	struct mcp_request *r;

	TAILQ_FOREACH(r, &w->requests, live) {
		if (mcp_same_session(r, tag) && strcmp(r->id, want) == 0) {
			mcp_request_cancel(r);
			mcp_request_end(r);	/* no response: the client gave up on it */
			return 1;
		}
	}
	return 0;
}

/* The client closed the connection: every request of the exchange is abandoned. */
static void
exchange_on_close(struct evhttp_connection *evcon, void *arg)
{
	struct exchange *ex = arg;
	struct mcp_request *r;

	(void)evcon;
	exchange_unwatch(ex);
	if (ex->sse != NULL)
		sse_abandon(ex->sse);
	else if (evhttp_request_get_connection(ex->req) == NULL)
		evhttp_request_free(ex->req);	/* detached by libevent: ours to free */
	ex->req = NULL;
	while ((r = TAILQ_FIRST(&ex->requests)) != NULL) {
		mcp_request_cancel(r);
		mcp_request_free(r);
	}
	exchange_free(ex);
}

/* The request's correlation id (observe.c gives every HTTP request one), so that the access,
 * audit and API child's lines of one call share it; written into cid (40 bytes). */
void
mcp_request_correlation_id(const struct mcp_request *r, char cid[40])
{
	const char *given = NULL;

	if (r->ex->req != NULL)
		given = http_header_get(evhttp_request_get_input_headers(r->ex->req),
		    OBSERVE_CID_HEADER);
	if (given != NULL && strlen(given) < 40)
		strcpy(cid, given);
	else
		uuid_generate(cid);
}
