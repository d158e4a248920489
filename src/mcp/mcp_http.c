/*
 * A worker's HTTP side.  Every request to the MCP endpoint passes the
 * Host/Origin policy and the client's bearer token; a session id is verified
 * on its own (mcp_session.h) and checked against the sessions ended by
 * DELETE (revocation.h).  POST carries JSON-RPC messages (exchange.h,
 * dispatch.h), DELETE ends a session for every worker, and GET opens a stream
 * for server-initiated messages.  The server has none to send yet (what
 * belongs to a call goes on the call's own stream), so a GET stream carries
 * its priming event and keep-alives only, until the client or the worker
 * closes it; it is offered rather than refused with 405 so that clients keep
 * one connection ready for such messages.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "accept_pace.h"
#include "codec.h"
#include "connguard.h"
#include "dispatch.h"
#include "exchange.h"
#include "http_headers.h"
#include "log.h"
#include "mcp_auth.h"
#include "mcp_http.h"
#include "mcp_session.h"
#include "oauth_metadata.h"
#include "observe.h"
#include "origin.h"
#include "ratelimit.h"
#include "readiness.h"
#include "revocation.h"
#include "routing.h"
#include "session_state.h"
#include "shm_metrics.h"
#include "sse.h"
#include "tools.h"
#include "worker.h"

#define MAX_HEADERS_BYTES	(64 * 1024)
#define BATCH_VERSION		"2025-03-26"	/* the only version with JSON-RPC batches */
#define DEFAULT_VERSION		"2025-03-26"	/* assumed when nothing says otherwise */

static const char *const supported_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26" };

/* What a request to the MCP endpoint has been found to be. */
struct mcp_call_ctx {
	const char		*subject;
	struct mcp_session	 session;
	const char		*version;	/* from the header, else the session's */
	int			 limited;	/* over the rate limit: seconds to wait; 0: not */
};

static const char *
mcp_header(struct evhttp_request *req, const char *name)
{
	return http_header_get(evhttp_request_get_input_headers(req), name);
}

static void
mcp_add_header(struct evhttp_request *req, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), name, value);
}

/* A transport error: HTTP status and a JSON-RPC error body with id null. */
static void
mcp_send_error(struct evhttp_request *req, int status, int code, const char *message)
{
	json_object *msg = json_object_new_string(message);
	struct evbuffer *out = evbuffer_new();

	evbuffer_add_printf(out, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":%s},"
	    "\"id\":null}", code, json_object_to_json_string_ext(msg, MCP_JSON_FLAGS));
	mcp_add_header(req, "Content-Type", "application/json");
	evhttp_send_reply(req, status, NULL, out);
	evbuffer_free(out);
	json_object_put(msg);
}

static int
mcp_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++)
		if (strcmp(v, supported_versions[i]) == 0)
			return 1;
	return 0;
}

/* ---- transport checks ---- */

static int
mcp_accepts(struct evhttp_request *req, int need_json)
{
	const char *accept = mcp_header(req, "Accept");

	if (accept == NULL || strstr(accept, "*/*") != NULL)
		return 1;
	return strstr(accept, "text/event-stream") != NULL &&
	    (!need_json || strstr(accept, "application/json") != NULL);
}

static int
mcp_is_json(struct evhttp_request *req)
{
	const char *ct = mcp_header(req, "Content-Type");

	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* 0 when the MCP-Protocol-Version header is absent or supported; else answered 400. */
static int
mcp_check_version(struct evhttp_request *req)
{
	const char *version = mcp_header(req, "MCP-Protocol-Version");

	if (version == NULL || mcp_version_supported(version))
		return 0;
	mcp_send_error(req, 400, -32000, "Bad Request: unsupported MCP-Protocol-Version");
	return -1;
}

/* 0 when the request names a live session of ctx->subject; else answered 400 or 404. */
static int
mcp_check_session(struct worker *w, struct evhttp_request *req, struct mcp_call_ctx *ctx)
{
	const char *sid = mcp_header(req, "Mcp-Session-Id");
	const char *version = mcp_header(req, "MCP-Protocol-Version");

	if (sid == NULL) {
		mcp_send_error(req, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
		return -1;
	}
	if (mcp_session_verify(&w->session_key, sid, ctx->subject, &ctx->session) == -1 ||
	    revocation_contains(w->revoked, ctx->session.tag)) {
		mcp_send_error(req, 404, -32001, "Session not found");
		return -1;
	}
	ctx->version = version != NULL ? version : ctx->session.version;
	return 0;
}

/* One tokener, reset for each body: a new one is a large allocation every request. */
static json_object *
mcp_parse_body(struct evhttp_request *req)
{
	static struct json_tokener *tok;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const unsigned char *text = evbuffer_pullup(in, -1);
	json_object *msg;

	/*
	 * JSON text is UTF-8, strictly: json-c's own check lets surrogates and
	 * code points above U+10FFFF through, and PostgreSQL would refuse them
	 * only once the call reached it.
	 */
	if (text == NULL || !utf8_valid(text, len))
		return NULL;
	if (tok == NULL && (tok = json_tokener_new()) == NULL)
		fatal("mcp_parse_body");
	json_tokener_reset(tok);
	msg = json_tokener_parse_ex(tok, (const char *)text, (int)len);
	if (msg != NULL && tok->char_offset != (int)len) {
		json_object_put(msg);	/* trailing garbage */
		msg = NULL;
	}
	return msg;
}

/* ---- the per-user rate limit ---- */

/*
 * One request of the client: 0, or the seconds it must wait (counted as
 * refused).  Clients without a token exist only with the conformance
 * fixtures, a test mode whose suite is a burst by design: not limited.
 */
static int
mcp_rate_take(struct worker *w, const char *subject)
{
	char key[512];
	int wait;

	if (strcmp(subject, MCP_ANONYMOUS) == 0)
		return 0;
	snprintf(key, sizeof(key), "user:%s", subject);
	if ((wait = ratelimit_take(w->ratelimit, key)) > 0) {
		metrics_count_rate_limited();
		log_debug("worker: rate limit: %s must wait %d s", subject, wait);
	}
	return wait;
}

/* Anything but a tool call over the limit: 429 with Retry-After. */
static void
mcp_refuse_rate(struct evhttp_request *req, int wait)
{
	char retry[16], message[128];

	snprintf(retry, sizeof(retry), "%d", wait);
	snprintf(message, sizeof(message), "Too Many Requests: rate limit exceeded, retry after "
	    "%d s", wait);
	mcp_add_header(req, "Retry-After", retry);
	mcp_send_error(req, 429, -32000, message);
}

static int
mcp_is_tool_call(json_object *msg)
{
	json_object *m;

	return jsonrpc_kind(msg) == JSONRPC_REQUEST && json_object_object_get_ex(msg, "method", &m) &&
	    strcmp(json_object_get_string(m), "tools/call") == 0;
}

/* A tool call over the limit: a result the model can act on, not a transport error. */
static void
mcp_reply_rate_limited(struct worker *w, struct exchange *ex, json_object *msg, int wait)
{
	json_object *id = NULL, *params = NULL;
	struct mcp_request *r;
	char text[256], *result;

	json_object_object_get_ex(msg, "id", &id);
	json_object_object_get_ex(msg, "params", &params);
	r = exchange_request(ex, id, params);
	/* as the API child's 429 is told (tools.c), with the limit itself */
	snprintf(text, sizeof(text), "Too many requests: this user's rate limit was reached and "
	    "nothing was done. Wait %d second%s, then try again (the limit is %d requests a "
	    "minute, %d at once).", wait, wait == 1 ? "" : "s", w->cf->mcp_rate_limit_per_minute,
	    w->cf->mcp_rate_limit_burst);
	result = tool_result_error(text);
	mcp_reply(r, result);
	free(result);
}

/* ---- POST: JSON-RPC messages ---- */

static void
mcp_post_batch(struct worker *w, struct evhttp_request *req, struct mcp_call_ctx *ctx,
    json_object *batch)
{
	size_t n = json_object_array_length(batch);
	struct exchange *ex;

	if (strcmp(ctx->version, BATCH_VERSION) != 0 || n == 0) {
		mcp_send_error(req, 400, -32600, n == 0 ? "Invalid Request: empty batch" :
		    "Invalid Request: JSON-RPC batches are not supported in this protocol version");
		return;
	}
	ex = exchange_new(w, req, ctx->subject, &ctx->session, ctx->version, 1);
	for (size_t i = 0; i < n; i++) {
		json_object *msg = json_object_array_get_idx(batch, i);

		if (jsonrpc_is_initialize(msg))
			exchange_error(ex, -32600, "Invalid Request: initialize cannot be batched");
		else
			dispatch_message(w, ex, &ctx->session, msg);
	}
	exchange_done(ex);
}

static void
mcp_post_message(struct worker *w, struct evhttp_request *req, struct mcp_call_ctx *ctx,
    json_object *msg)
{
	int init = jsonrpc_is_initialize(msg);
	struct exchange *ex;

	if (jsonrpc_kind(msg) == JSONRPC_INVALID) {
		mcp_send_error(req, 400, -32600, "Invalid Request: not a JSON-RPC 2.0 message");
		return;
	}
	if (!init && mcp_check_session(w, req, ctx) == -1)
		return;
	ex = exchange_new(w, req, ctx->subject, init ? NULL : &ctx->session, init ?
	    DEFAULT_VERSION : ctx->version, 0);
	if (ctx->limited > 0)
		mcp_reply_rate_limited(w, ex, msg, ctx->limited);
	else
		dispatch_message(w, ex, init ? NULL : &ctx->session, msg);
	exchange_done(ex);
}

static void
mcp_post(struct worker *w, struct evhttp_request *req, struct mcp_call_ctx *ctx)
{
	json_object *msg;

	if (!mcp_accepts(req, 1)) {
		mcp_send_error(req, 406, -32000,
		    "Not Acceptable: Accept must list application/json and text/event-stream");
		return;
	}
	if (!mcp_is_json(req)) {
		mcp_send_error(req, 415, -32000, "Unsupported Media Type: send application/json");
		return;
	}
	if ((msg = mcp_parse_body(req)) == NULL) {
		mcp_send_error(req, 400, -32700, "Parse error");
		return;
	}
	if (ctx->limited > 0 && !mcp_is_tool_call(msg))
		mcp_refuse_rate(req, ctx->limited);
	else if (json_object_is_type(msg, json_type_array)) {
		if (mcp_check_session(w, req, ctx) == 0)
			mcp_post_batch(w, req, ctx, msg);
	} else
		mcp_post_message(w, req, ctx, msg);
	json_object_put(msg);
}

/* ---- GET: a stream for server-initiated messages ---- */

static void
mcp_get_on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	sse_abandon(arg);
}

static void
mcp_get(struct worker *w, struct evhttp_request *req, struct mcp_call_ctx *ctx)
{
	struct sse *sse;

	if (!mcp_accepts(req, 0)) {
		mcp_send_error(req, 406, -32000, "Not Acceptable: Accept must list text/event-stream");
		return;
	}
	if (mcp_check_session(w, req, ctx) == -1)
		return;
	if ((sse = sse_start(w->sse, req, strcmp(ctx->version, "2025-11-25") >= 0)) == NULL) {
		mcp_add_header(req, "Retry-After", "5");
		mcp_send_error(req, 503, -32000, "Service Unavailable: too many open streams");
		return;
	}
	conn_guard_set_closecb(w->conns, evhttp_request_get_connection(req), mcp_get_on_close, sse);
}

/* ---- DELETE: the session ends for every worker, for good ---- */

static void
mcp_delete(struct worker *w, struct evhttp_request *req, struct mcp_call_ctx *ctx)
{
	if (mcp_check_session(w, req, ctx) == -1)
		return;
	if (revocation_add(w->revoked, ctx->session.tag) == -1) {
		mcp_send_error(req, 500, -32603, "Internal error: the session could not be ended");
		return;
	}
	evhttp_send_reply(req, 204, "No Content", NULL);
}

/* ---- the endpoint ---- */

/* The client is subject (mcp_auth.h): the remaining checks, then the method. */
static void
mcp_on_authenticated(struct evhttp_request *req, const char *subject, void *arg)
{
	struct worker *w = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct mcp_call_ctx ctx = { .subject = subject };

	if (mcp_check_version(req) == -1)
		return;
	ctx.limited = mcp_rate_take(w, subject);
	if (cmd == EVHTTP_REQ_POST)
		mcp_post(w, req, &ctx);
	else if (ctx.limited > 0)
		mcp_refuse_rate(req, ctx.limited);
	else if (cmd == EVHTTP_REQ_GET)
		mcp_get(w, req, &ctx);
	else
		mcp_delete(w, req, &ctx);
}

static void
mcp_endpoint(struct worker *w, struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (!origin_allowed(w->origins, mcp_header(req, "Host"), mcp_header(req, "Origin"))) {
		mcp_send_error(req, 403, -32000, "Forbidden: Host or Origin not allowed");
		return;
	}
	if (cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_DELETE) {
		mcp_add_header(req, "Allow", "GET, POST, DELETE");
		mcp_send_error(req, 405, -32000, "Method Not Allowed");
		return;
	}
	mcp_auth_request(w->auth, req, mcp_on_authenticated, w);	/* may answer later */
}

/* Over a connection limit: 503, and the connection closes after the answer. */
static void
mcp_refuse_connection(struct evhttp_request *req, const char *why)
{
	char message[128];

	log_debug("worker: connection refused: %s", why);
	snprintf(message, sizeof(message), "Service Unavailable: %s", why);
	mcp_add_header(req, "Connection", "close");
	mcp_add_header(req, "Retry-After", "1");
	mcp_send_error(req, 503, -32000, message);
}

static void
mcp_on_request(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	const char *why;

	conn_guard_request_read(w->conns, req);	/* in time: its deadline is off */
	if (observe_request(w, req))	/* access log and metrics; answers GET /metrics */
		return;
	if (path != NULL && strcmp(path, "/healthz") == 0 &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		mcp_add_header(req, "Content-Type", "text/plain; charset=utf-8");
		evbuffer_add(evhttp_request_get_output_buffer(req), "ok", 2);
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	if (path != NULL && strcmp(path, "/readyz") == 0 &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		readiness_serve(w->readiness, req);
		return;
	}
	if (conn_guard_admit(w->conns, req, &why) == -1) {
		mcp_refuse_connection(req, why);
		return;
	}
	if (path != NULL && oauth_metadata_path(w->cf, path)) {
		oauth_metadata_serve(w->cf, req);
		return;
	}
	if (path == NULL || strcmp(path, w->cf->mcp_path) != 0) {
		mcp_send_error(req, 404, -32000, "Not Found");
		return;
	}
	mcp_endpoint(w, req);
}

static void
mcp_open_modules(struct worker *w)
{
	char err[512] = "", prefix[64];

	w->origins = origin_policy_new(w->cf->mcp_allowed_hosts, w->cf->mcp_allowed_origins);
	if ((w->revoked = revocation_open(w->cf->state_dir, err, sizeof(err))) == NULL ||
	    (w->ratelimit = ratelimit_open(w->cf->runtime_dir, w->cf->mcp_rate_limit_per_minute,
	    w->cf->mcp_rate_limit_burst, err, sizeof(err))) == NULL ||
	    (w->session_state = session_state_open(w->cf->runtime_dir, err, sizeof(err))) == NULL ||
	    (w->routing = routing_open(w->base, w->cf->runtime_dir, w->slot, w->generation,
	    dispatch_routed, w, err, sizeof(err))) == NULL) {
		log_errorx("worker: %s", err);
		exit(CONF_EXIT_INVALID);	/* the directories are configuration: no point retrying */
	}
	snprintf(prefix, sizeof(prefix), "%s", routing_instance(w->routing));
	w->sse = sse_hub_new(w->base, w->cf->mcp_max_streams, w->cf->mcp_http_timeout_sec, prefix);
	w->dispatch = dispatch_new(w);
	w->conns = conn_guard_new(w->cf->mcp_max_connections, w->cf->mcp_max_connections_per_ip,
	    w->cf->mcp_http_timeout_sec);
	TAILQ_INIT(&w->requests);
}

/*
 * Answers go out at once: with Nagle's algorithm the last segment of an
 * answer larger than one segment waits for the client's delayed ACK (40 ms).
 * evhttp gives no hook with an accepted connection's descriptor, but accepted
 * TCP sockets inherit the option from their listener (Linux, the BSDs); on a
 * Unix-domain listener the call fails harmlessly.
 */
static void
mcp_set_nodelay(int listen_fd)
{
	int on = 1;

	(void)setsockopt(listen_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int
mcp_http_start(struct worker *w, int listen_fd)
{
	mcp_open_modules(w);
	mcp_set_nodelay(listen_fd);
	if ((w->http = evhttp_new(w->base)) == NULL)
		fatalx("worker: evhttp_new");
	if ((w->pace = accept_pace_new(w->base, w->http)) == NULL)
		fatalx("worker: accept_pace_new");
	conn_guard_watch(w->conns, w->http, accept_pace_took_one, w->pace);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_max_body_size(w->http, (ev_ssize_t)w->cf->max_body_bytes);
	evhttp_set_max_headers_size(w->http, MAX_HEADERS_BYTES);
	evhttp_set_timeout(w->http, w->cf->mcp_http_timeout_sec);
	evhttp_set_gencb(w->http, mcp_on_request, w);
	if (evhttp_accept_socket(w->http, listen_fd) == -1)
		fatalx("worker: cannot serve on the inherited listener");
	return 0;
}

void
mcp_http_stop(struct worker *w)
{
	accept_pace_free(w->pace);
	w->pace = NULL;
	if (w->http != NULL)
		evhttp_free(w->http);	/* closes every connection: open requests are abandoned */
	w->http = NULL;
	dispatch_free(w->dispatch);
	sse_hub_free(w->sse);
	routing_free(w->routing);
	session_state_free(w->session_state);
	revocation_free(w->revoked);
	origin_policy_free(w->origins);
	ratelimit_free(w->ratelimit);
	conn_guard_free(w->conns);	/* after evhttp_free: its close callbacks have run */
}
