/*
 * A worker's HTTP side.  POST /mcp carries one JSON-RPC message; the client is
 * authenticated by its bearer token, the session id is verified on its own
 * (see mcp_session.h), and tools/call goes asynchronously to the API child.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "backend.h"
#include "codec.h"
#include "keys.h"
#include "log.h"
#include "mcp_http.h"
#include "mcp_session.h"
#include "tools.h"
#include "worker.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define LATEST_VERSION "2025-11-25"

static const char *const supported_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26" };

/* One tools/call waiting for the API child. */
struct mcp_call {
	struct worker		*w;
	struct evhttp_request	*req;
	struct backend_call	*backend;
	const struct tool	*tool;
	char			*id;		/* the request's JSON-RPC id, as JSON text */
	char			 cid[40];
};

static const char *
mcp_header(struct evhttp_request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

static void
mcp_add_header(struct evhttp_request *req, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), name, value);
}

static void
mcp_send(struct evhttp_request *req, int status, const char *content_type, const char *body)
{
	struct evbuffer *out = evbuffer_new();

	if (content_type != NULL)
		mcp_add_header(req, "Content-Type", content_type);
	if (body != NULL)
		evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, status, NULL, out);
	evbuffer_free(out);
}

static void
mcp_send_result(struct evhttp_request *req, const char *id, const char *result)
{
	struct evbuffer *out = evbuffer_new();

	mcp_add_header(req, "Content-Type", "application/json");
	evbuffer_add_printf(out, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":", id);
	evbuffer_add(out, result, strlen(result));
	evbuffer_add(out, "}", 1);
	evhttp_send_reply(req, 200, NULL, out);
	evbuffer_free(out);
}

/* A JSON-RPC error; status is the HTTP status (200 for protocol-level errors). */
static void
mcp_send_error(struct evhttp_request *req, int status, const char *id, int code, const char *message)
{
	json_object *msg = json_object_new_string(message);
	char body[1024];

	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":%s},\"id\":%s}",
	    code, json_object_to_json_string_ext(msg, JSON_FLAGS), id != NULL ? id : "null");
	json_object_put(msg);
	mcp_send(req, status, "application/json", body);
}

static int
mcp_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++)
		if (strcmp(v, supported_versions[i]) == 0)
			return 1;
	return 0;
}

/* ---- authentication ---- */

static void
mcp_send_unauthorized(struct worker *w, struct evhttp_request *req, int token_sent)
{
	char value[512];
	const char *host = mcp_header(req, "Host");

	snprintf(value, sizeof(value), "Bearer resource_metadata=\"http://%s/.well-known/"
	    "oauth-protected-resource%s\"%s", host != NULL ? host : w->cf->listen, w->cf->mcp_path,
	    token_sent ? ", error=\"invalid_token\"" : "");
	mcp_add_header(req, "WWW-Authenticate", value);
	mcp_send_error(req, 401, NULL, -32001, token_sent ? "invalid token" : "authentication required");
}

static const char *
mcp_authenticate(struct worker *w, struct evhttp_request *req)
{
	const char *auth = mcp_header(req, "Authorization"), *subject;

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		mcp_send_unauthorized(w, req, 0);
		return NULL;
	}
	if ((subject = keys_lookup(w->keys, auth + 7)) == NULL)
		mcp_send_unauthorized(w, req, 1);
	return subject;
}

/* ---- methods ---- */

static void
mcp_initialize(struct worker *w, struct evhttp_request *req, const char *id, json_object *params,
    const char *subject)
{
	char session[MCP_SESSION_ID_MAX], result[1024];
	json_object *v;
	const char *version = LATEST_VERSION;

	if (params != NULL && json_object_object_get_ex(params, "protocolVersion", &v) &&
	    json_object_is_type(v, json_type_string) && mcp_version_supported(json_object_get_string(v)))
		version = json_object_get_string(v);
	mcp_session_issue(&w->session_key, subject, version, (long long)time(NULL), session);
	snprintf(result, sizeof(result), "{\"protocolVersion\":\"%s\",\"capabilities\":{\"tools\":"
	    "{\"listChanged\":false}},\"serverInfo\":{\"name\":\"trestle\",\"version\":\"%s\"},"
	    "\"instructions\":\"Tools for the user's notes, tasks, comments, chats and chat messages.\"}",
	    version, PACKAGE_VERSION);
	mcp_add_header(req, "Mcp-Session-Id", session);
	mcp_send_result(req, id, result);
}

static void
mcp_call_free(struct mcp_call *c)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(c->req);

	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	free(c->id);
	free(c);
}

static void
mcp_on_api_answer(const struct api_response *resp, void *arg)
{
	struct mcp_call *c = arg;
	char *result = tool_result_from_api(c->tool, resp);

	c->backend = NULL;
	if (resp->status == 0 || resp->status >= 500)
		log_cid(LOG_LEVEL_WARN, c->cid, "worker: %s: API child: %s", c->tool->name,
		    resp->status == 0 ? resp->error : "server error");
	mcp_send_result(c->req, c->id, result);
	free(result);
	mcp_call_free(c);
}

static void
mcp_on_client_gone(struct evhttp_connection *evcon, void *arg)
{
	struct mcp_call *c = arg;

	(void)evcon;
	if (c->backend != NULL)
		backend_call_cancel(c->backend);
	mcp_call_free(c);
}

static void
mcp_tools_call(struct worker *w, struct evhttp_request *req, const char *id, json_object *params,
    const char *subject)
{
	json_object *name = NULL, *args = NULL, *valid;
	const struct tool *tool;
	struct tool_request treq = { .body = NULL };
	struct mcp_call *c;
	char err[512], *result;

	if (params != NULL)
		json_object_object_get_ex(params, "name", &name);
	if (name == NULL || (tool = tool_find(json_object_get_string(name))) == NULL) {
		mcp_send_error(req, 200, id, -32602, "unknown tool");
		return;
	}
	json_object_object_get_ex(params, "arguments", &args);
	if ((valid = tool_validate(tool, args, err, sizeof(err))) == NULL) {
		result = tool_result_error(err);
		mcp_send_result(req, id, result);
		free(result);
		return;
	}
	tool->build(tool, valid, &treq);
	json_object_put(valid);
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->id = strdup(id)) == NULL)
		fatal("mcp_tools_call");
	c->w = w;
	c->req = req;
	c->tool = tool;
	uuid_generate(c->cid);
	c->backend = backend_send(w->backend, &(struct backend_request){ .subject = subject,
	    .correlation_id = c->cid, .method = treq.method, .path = treq.path, .body = treq.body },
	    mcp_on_api_answer, c);
	free(treq.body);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), mcp_on_client_gone, c);
}

static void
mcp_dispatch(struct worker *w, struct evhttp_request *req, json_object *msg, const char *subject)
{
	json_object *jid = NULL, *jmethod = NULL, *params = NULL;
	const char *method, *id;

	json_object_object_get_ex(msg, "id", &jid);
	json_object_object_get_ex(msg, "method", &jmethod);
	json_object_object_get_ex(msg, "params", &params);
	if (jid == NULL) {		/* a notification or a client's response: nothing to answer */
		mcp_send(req, 202, NULL, NULL);
		return;
	}
	id = json_object_to_json_string_ext(jid, JSON_FLAGS);
	if (jmethod == NULL || !json_object_is_type(jmethod, json_type_string)) {
		mcp_send_error(req, 400, id, -32600, "invalid request: method must be a string");
		return;
	}
	method = json_object_get_string(jmethod);
	if (strcmp(method, "initialize") == 0)
		mcp_initialize(w, req, id, params, subject);
	else if (strcmp(method, "ping") == 0)
		mcp_send_result(req, id, "{}");
	else if (strcmp(method, "tools/list") == 0)
		mcp_send_result(req, id, w->tools_list);
	else if (strcmp(method, "tools/call") == 0)
		mcp_tools_call(w, req, id, params, subject);
	else
		mcp_send_error(req, 200, id, -32601, "method not found");
}

/* ---- transport checks ---- */

static int
mcp_accepts(struct evhttp_request *req)
{
	const char *accept = mcp_header(req, "Accept");

	if (accept == NULL || strstr(accept, "*/*") != NULL)
		return 1;
	return strstr(accept, "application/json") != NULL && strstr(accept, "text/event-stream") != NULL;
}

static int
mcp_is_json(struct evhttp_request *req)
{
	const char *ct = mcp_header(req, "Content-Type");

	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

static int
mcp_is_initialize(json_object *msg)
{
	json_object *m;

	return json_object_object_get_ex(msg, "method", &m) &&
	    json_object_is_type(m, json_type_string) &&
	    strcmp(json_object_get_string(m), "initialize") == 0;
}

/* 0 when the session header is valid for subject (or not needed); else answered. */
static int
mcp_check_session(struct worker *w, struct evhttp_request *req, json_object *msg, const char *subject)
{
	const char *sid = mcp_header(req, "Mcp-Session-Id");
	const char *version = mcp_header(req, "MCP-Protocol-Version");
	char negotiated[MCP_VERSION_MAX];

	if (version != NULL && !mcp_version_supported(version)) {
		mcp_send_error(req, 400, NULL, -32000, "unsupported MCP-Protocol-Version");
		return -1;
	}
	if (mcp_is_initialize(msg))
		return 0;
	if (sid == NULL) {
		mcp_send_error(req, 400, NULL, -32000, "Bad Request: Mcp-Session-Id header is required");
		return -1;
	}
	if (mcp_session_verify(&w->session_key, sid, subject, negotiated) == -1) {
		mcp_send_error(req, 404, NULL, -32001, "Session not found");
		return -1;
	}
	return 0;
}

static json_object *
mcp_parse_body(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct json_tokener *tok = json_tokener_new();
	json_object *msg;

	msg = json_tokener_parse_ex(tok, (const char *)evbuffer_pullup(in, -1), (int)len);
	if (msg != NULL && tok->char_offset != (int)len) {
		json_object_put(msg);	/* trailing garbage */
		msg = NULL;
	}
	json_tokener_free(tok);
	return msg;
}

static void
mcp_post(struct worker *w, struct evhttp_request *req)
{
	const char *subject;
	json_object *msg;

	if ((subject = mcp_authenticate(w, req)) == NULL)
		return;
	if (!mcp_accepts(req)) {
		mcp_send_error(req, 406, NULL, -32000,
		    "Not Acceptable: Accept must list application/json and text/event-stream");
		return;
	}
	if (!mcp_is_json(req)) {
		mcp_send_error(req, 415, NULL, -32000, "Unsupported Media Type: send application/json");
		return;
	}
	if ((msg = mcp_parse_body(req)) == NULL) {
		mcp_send_error(req, 400, NULL, -32700, "Parse error");
		return;
	}
	if (!json_object_is_type(msg, json_type_object))
		mcp_send_error(req, 400, NULL, -32600, "Invalid Request: send one JSON-RPC object");
	else if (mcp_check_session(w, req, msg, subject) == 0)
		mcp_dispatch(w, req, msg, subject);
	json_object_put(msg);
}

static void
mcp_on_request(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (path != NULL && strcmp(path, "/healthz") == 0 && cmd == EVHTTP_REQ_GET) {
		mcp_send(req, 200, "text/plain; charset=utf-8", "ok");
		return;
	}
	if (path == NULL || strcmp(path, w->cf->mcp_path) != 0) {
		mcp_send(req, 404, "text/plain; charset=utf-8", "not found");
		return;
	}
	if (cmd == EVHTTP_REQ_POST) {
		mcp_post(w, req);
		return;
	}
	mcp_add_header(req, "Allow", "POST");
	mcp_send(req, 405, "text/plain; charset=utf-8", "method not allowed");
}

int
mcp_http_start(struct worker *w, int listen_fd)
{
	if ((w->http = evhttp_new(w->base)) == NULL)
		fatalx("worker: evhttp_new");
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_max_body_size(w->http, (ev_ssize_t)w->cf->max_body_bytes);
	evhttp_set_timeout(w->http, 60);
	evhttp_set_gencb(w->http, mcp_on_request, w);
	if (evhttp_accept_socket(w->http, listen_fd) == -1)
		fatalx("worker: cannot serve on the inherited listener");
	return 0;
}
