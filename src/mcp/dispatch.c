#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "dispatch.h"
#include "exchange.h"
#include "fixtures.h"
#include "log.h"
#include "revocation.h"
#include "session_state.h"
#include "tool_call.h"
#include "tools.h"
#include "worker.h"

#define LATEST_VERSION	"2025-11-25"

/* JSON-RPC and MCP error codes. */
#define ERR_INVALID_REQUEST	-32600
#define ERR_METHOD_NOT_FOUND	-32601
#define ERR_INVALID_PARAMS	-32602
#define ERR_RESOURCE_NOT_FOUND	-32002

static const char *const supported_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26" };

struct dispatch {
	struct mcp_static_result	*tools_user;	/* tools/list result for an authenticated client */
	struct mcp_static_result	*tools_anonymous;	/* the same without token: fixtures only */
	int				 fixtures;
};

typedef void (*method_fn)(struct mcp_request *);

struct method {
	const char	*name;
	method_fn	 fn;
};

/* ---- the tools/list results, built once ---- */

static struct mcp_static_result *
dispatch_tools_result(const char *base, int fixtures)
{
	json_object *result = json_tokener_parse(base), *list;
	struct mcp_static_result *sr;

	if (result == NULL || !json_object_object_get_ex(result, "tools", &list))
		fatalx("dispatch: the tool table's list is not a tools/list result");
	if (fixtures)
		fixtures_add_tools(list);
	sr = mcp_static_result_new(json_object_to_json_string_ext(result, MCP_JSON_FLAGS));
	json_object_put(result);
	return sr;
}

struct dispatch *
dispatch_new(struct worker *w)
{
	struct dispatch *d = calloc(1, sizeof(*d));

	if (d == NULL)
		fatal("dispatch_new");
	d->fixtures = w->cf->mcp_conformance_fixtures;
	d->tools_user = dispatch_tools_result(w->tools_list, d->fixtures);
	d->tools_anonymous = dispatch_tools_result("{\"tools\":[]}", d->fixtures);
	return d;
}

void
dispatch_free(struct dispatch *d)
{
	if (d == NULL)
		return;
	mcp_static_result_free(d->tools_user);
	mcp_static_result_free(d->tools_anonymous);
	free(d);
}

/* ---- helpers ---- */

static int
version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++)
		if (strcmp(v, supported_versions[i]) == 0)
			return 1;
	return 0;
}

static const char *
param_string(const struct mcp_request *r, const char *name)
{
	json_object *v;

	if (r->params == NULL || !json_object_object_get_ex(r->params, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *
param_object(const struct mcp_request *r, const char *name)
{
	json_object *v;

	if (r->params == NULL || !json_object_object_get_ex(r->params, name, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* Answer with result (taken over). */
static void
reply_object(struct mcp_request *r, json_object *result)
{
	mcp_reply(r, json_object_to_json_string_ext(result, MCP_JSON_FLAGS));
	json_object_put(result);
}

/* {"<key>": list} (list taken over). */
static void
reply_list(struct mcp_request *r, const char *key, json_object *list)
{
	json_object *result = json_object_new_object();

	json_object_object_add(result, key, list);
	reply_object(r, result);
}

static int
is_anonymous(const struct mcp_request *r)
{
	return strcmp(r->subject, MCP_ANONYMOUS) == 0;
}

static int
fixtures_on(const struct mcp_request *r)
{
	return r->w->dispatch->fixtures;
}

/* ---- lifecycle and utilities ---- */

static unsigned
client_flags(const struct mcp_request *r)
{
	json_object *caps = param_object(r, "capabilities"), *v;
	unsigned flags = 0;

	if (caps != NULL && json_object_object_get_ex(caps, "sampling", &v))
		flags |= MCP_SESSION_SAMPLING;
	if (caps != NULL && json_object_object_get_ex(caps, "elicitation", &v))
		flags |= MCP_SESSION_ELICITATION;
	return flags;
}

static json_object *
server_capabilities(int fixtures)
{
	json_object *caps = json_tokener_parse("{\"tools\":{\"listChanged\":false},\"logging\":{}}");

	if (fixtures) {
		json_object_object_add(caps, "resources",
		    json_tokener_parse("{\"subscribe\":true,\"listChanged\":false}"));
		json_object_object_add(caps, "prompts", json_tokener_parse("{\"listChanged\":false}"));
		json_object_object_add(caps, "completions", json_object_new_object());
	}
	return caps;
}

static void
method_initialize(struct mcp_request *r)
{
	const char *asked = param_string(r, "protocolVersion");
	const char *version = asked != NULL && version_supported(asked) ? asked : LATEST_VERSION;
	json_object *result = json_object_new_object(), *info = json_object_new_object();
	char session[MCP_SESSION_ID_MAX];

	mcp_session_issue(&r->w->session_key, r->subject, version, client_flags(r),
	    (long long)time(NULL), session, NULL);
	exchange_add_header(r->ex, "Mcp-Session-Id", session);
	json_object_object_add(info, "name", json_object_new_string("trestle"));
	json_object_object_add(info, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(result, "protocolVersion", json_object_new_string(version));
	json_object_object_add(result, "capabilities", server_capabilities(fixtures_on(r)));
	json_object_object_add(result, "serverInfo", info);
	json_object_object_add(result, "instructions", json_object_new_string(
	    "Tools for the user's notes, tasks, comments, chats and chat messages."));
	reply_object(r, result);
}

static void
method_ping(struct mcp_request *r)
{
	mcp_reply(r, "{}");
}

static void
method_set_level(struct mcp_request *r)
{
	const char *name = param_string(r, "level");
	int level = name != NULL ? mcp_log_level_parse(name) : -1;

	if (level == -1) {
		mcp_reply_error(r, ERR_INVALID_PARAMS, "level must be one of debug, info, notice, "
		    "warning, error, critical, alert, emergency");
		return;
	}
	session_state_set_log_level(r->w->session_state, r->session->tag, (enum mcp_log_level)level);
	mcp_reply(r, "{}");
}

static void
method_complete(struct mcp_request *r)
{
	json_object *values, *completion = json_object_new_object();
	size_t n;

	values = fixtures_on(r) ? fixtures_complete(param_object(r, "ref"),
	    param_object(r, "argument")) : json_object_new_array();
	n = json_object_array_length(values);
	json_object_object_add(completion, "values", values);
	json_object_object_add(completion, "total", json_object_new_int((int)n));
	json_object_object_add(completion, "hasMore", json_object_new_boolean(0));
	reply_list(r, "completion", completion);
}

/* ---- tools ---- */

static void
method_tools_list(struct mcp_request *r)
{
	/* everything fits one page, so no cursor is valid */
	if (r->params != NULL && json_object_object_get_ex(r->params, "cursor", NULL)) {
		mcp_reply_error(r, ERR_INVALID_PARAMS, "invalid cursor");
		return;
	}
	mcp_reply_static(r, is_anonymous(r) ? r->w->dispatch->tools_anonymous :
	    r->w->dispatch->tools_user);
}

static void
method_tools_call(struct mcp_request *r)
{
	const char *name = param_string(r, "name");
	json_object *args = NULL;

	if (r->params != NULL)
		json_object_object_get_ex(r->params, "arguments", &args);
	if (name == NULL) {
		mcp_reply_error(r, ERR_INVALID_PARAMS, "params.name (a string) is required");
		return;
	}
	if (fixtures_on(r) && fixtures_call_tool(r, name, args) == 0)
		return;
	if (!is_anonymous(r) && tool_call_start(r, name, args) == 0)
		return;
	mcp_reply_error(r, ERR_INVALID_PARAMS, "unknown tool");
}

/* ---- resources and prompts: only the fixtures have any ---- */

static void
method_resources_list(struct mcp_request *r)
{
	reply_list(r, "resources", fixtures_on(r) ? fixtures_resources() : json_object_new_array());
}

static void
method_resource_templates(struct mcp_request *r)
{
	reply_list(r, "resourceTemplates", fixtures_on(r) ? fixtures_resource_templates() :
	    json_object_new_array());
}

static void
method_resources_read(struct mcp_request *r)
{
	const char *uri = param_string(r, "uri");
	json_object *result = uri != NULL && fixtures_on(r) ? fixtures_read_resource(uri) : NULL;

	if (result == NULL)
		mcp_reply_error(r, ERR_RESOURCE_NOT_FOUND, "Resource not found");
	else
		reply_object(r, result);
}

/* Subscriptions are accepted; the fixture resources never change, so nothing is ever sent. */
static void
method_resources_subscribe(struct mcp_request *r)
{
	const char *uri = param_string(r, "uri");

	if (uri == NULL || !fixtures_on(r) || !fixtures_has_resource(uri))
		mcp_reply_error(r, ERR_RESOURCE_NOT_FOUND, "Resource not found");
	else
		mcp_reply(r, "{}");
}

static void
method_prompts_list(struct mcp_request *r)
{
	reply_list(r, "prompts", fixtures_on(r) ? fixtures_prompts() : json_object_new_array());
}

static void
method_prompts_get(struct mcp_request *r)
{
	const char *name = param_string(r, "name");
	json_object *result = NULL;
	char err[256] = "unknown prompt";

	if (name != NULL && fixtures_on(r))
		result = fixtures_get_prompt(name, param_object(r, "arguments"), err, sizeof(err));
	if (result == NULL)
		mcp_reply_error(r, ERR_INVALID_PARAMS, err);
	else
		reply_object(r, result);
}

static const struct method methods[] = {
	{ "initialize",			method_initialize },
	{ "ping",			method_ping },
	{ "logging/setLevel",		method_set_level },
	{ "completion/complete",	method_complete },
	{ "tools/list",			method_tools_list },
	{ "tools/call",			method_tools_call },
	{ "resources/list",		method_resources_list },
	{ "resources/templates/list",	method_resource_templates },
	{ "resources/read",		method_resources_read },
	{ "resources/subscribe",	method_resources_subscribe },
	{ "resources/unsubscribe",	method_resources_subscribe },
	{ "prompts/list",		method_prompts_list },
	{ "prompts/get",		method_prompts_get },
};

/* ---- messages ---- */

/* MCP's ids are strings or integers, never null (unlike JSON-RPC's). */
static int
jsonrpc_id_valid(json_object *id)
{
	return json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
}

enum jsonrpc_kind
jsonrpc_kind(json_object *msg)
{
	json_object *v, *method = NULL, *id = NULL, *params = NULL;
	int has_id;

	if (!json_object_is_type(msg, json_type_object) ||
	    !json_object_object_get_ex(msg, "jsonrpc", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0") != 0)
		return JSONRPC_INVALID;
	json_object_object_get_ex(msg, "method", &method);
	has_id = json_object_object_get_ex(msg, "id", &id);
	if (has_id && !jsonrpc_id_valid(id))
		return JSONRPC_INVALID;
	if (json_object_object_get_ex(msg, "params", &params) && params != NULL &&
	    !json_object_is_type(params, json_type_object))
		return JSONRPC_INVALID;	/* MCP's params are always an object */
	if (method != NULL)
		return !json_object_is_type(method, json_type_string) ? JSONRPC_INVALID :
		    id != NULL ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
	if (id != NULL && (json_object_object_get_ex(msg, "result", NULL) ||
	    json_object_object_get_ex(msg, "error", NULL)))
		return JSONRPC_RESPONSE;
	return JSONRPC_INVALID;
}

int
jsonrpc_is_initialize(json_object *msg)
{
	json_object *m;

	return json_object_is_type(msg, json_type_object) &&
	    json_object_object_get_ex(msg, "method", &m) && json_object_is_type(m, json_type_string) &&
	    strcmp(json_object_get_string(m), "initialize") == 0;
}

static void
dispatch_request(struct mcp_request *r, const char *method)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(methods[i].name, method) == 0) {
			methods[i].fn(r);
			return;
		}
	}
	mcp_reply_error(r, ERR_METHOD_NOT_FOUND, "Method not found");
}

/* notifications/cancelled: the request is here, or on another worker. */
static void
dispatch_cancelled(struct worker *w, const struct mcp_session *s, json_object *msg)
{
	json_object *params, *id;

	if (!json_object_object_get_ex(msg, "params", &params) ||
	    !json_object_object_get_ex(params, "requestId", &id))
		return;
	if (mcp_requests_cancel(w, s->tag, id) == 1)
		return;
	log_debug("worker: cancellation of request %s sent to the other workers",
	    json_object_to_json_string_ext(id, MCP_JSON_FLAGS));
	routing_broadcast_cancel(w->routing, s->tag, json_object_to_json_string_ext(msg, MCP_JSON_FLAGS));
}

/* The client's answer to a server-to-client request: to the worker that asked. */
static void
dispatch_response(struct worker *w, const struct mcp_session *s, json_object *msg)
{
	json_object *id;
	const char *ask;

	json_object_object_get_ex(msg, "id", &id);
	if (!json_object_is_type(id, json_type_string))
		return;
	ask = json_object_get_string(id);
	if (routing_id_is_local(w->routing, ask)) {
		if (mcp_requests_answer(w, s->tag, msg) == 0)
			log_debug("worker: an answer to %s matches no request here", ask);
	} else if (routing_send_answer(w->routing, ask, s->tag,
	    json_object_to_json_string_ext(msg, MCP_JSON_FLAGS)) == 0)
		log_debug("worker: answer to %s routed to its owner", ask);
}

void
dispatch_message(struct worker *w, struct exchange *ex, const struct mcp_session *s,
    json_object *msg)
{
	json_object *id = NULL, *method = NULL, *params = NULL;
	struct mcp_request *r;

	json_object_object_get_ex(msg, "id", &id);
	json_object_object_get_ex(msg, "method", &method);
	json_object_object_get_ex(msg, "params", &params);
	switch (jsonrpc_kind(msg)) {
	case JSONRPC_REQUEST:
		r = exchange_request(ex, id, params);
		dispatch_request(r, json_object_get_string(method));
		break;
	case JSONRPC_NOTIFICATION:
		if (s != NULL && strcmp(json_object_get_string(method), "notifications/cancelled") == 0)
			dispatch_cancelled(w, s, msg);
		break;
	case JSONRPC_RESPONSE:
		if (s != NULL)
			dispatch_response(w, s, msg);
		break;
	case JSONRPC_INVALID:
		exchange_error(ex, ERR_INVALID_REQUEST, "Invalid Request");
		break;
	}
}

void
dispatch_routed(enum routing_kind kind, const unsigned char tag[MCP_SESSION_TAG_LEN],
    const char *json, void *arg)
{
	struct worker *w = arg;
	json_object *msg = json_tokener_parse(json), *params, *id;

	if (msg == NULL)
		return;
	if (kind == ROUTING_ANSWER && mcp_requests_answer(w, tag, msg) == 0)
		log_debug("worker: a routed answer matches no request here");
	if (kind == ROUTING_CANCEL && json_object_object_get_ex(msg, "params", &params) &&
	    json_object_object_get_ex(params, "requestId", &id) && mcp_requests_cancel(w, tag, id))
		log_debug("worker: request %s cancelled by another worker",
		    json_object_to_json_string_ext(id, MCP_JSON_FLAGS));
	json_object_put(msg);
}
