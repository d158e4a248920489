/*
 * A worker's JSON-RPC message handling (src/mcp/mcp_http.c, dispatch.c), up
 * to where a message would be served: the POST body parsed as the worker
 * parses it, a batch taken apart, each message classified (request,
 * notification, response or invalid) and the parameters the methods read
 * taken out of it; a tools/call's arguments are validated and its request
 * to the API child built.  Input: a mode byte, then
 *
 *	mode & 1 == 0	the body
 *	mode & 1 == 1	NUL-separated Accept, Content-Type and MCP-Protocol-Version
 *			header values, then the body
 *
 * mcp_http.c is included for its static parser and header checks; the
 * request is a libevent request without a connection.
 */
#include "config.h"

#include "mcp_http.c"

#include "fuzz.h"
#include "session_state.h"
#include "tools.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

static const char *
fuzz_param_string(json_object *params, const char *name)
{
	json_object *v;

	if (params == NULL || !json_object_object_get_ex(params, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* What tools/call does with its params before the API child is called. */
static void
fuzz_tools_call(json_object *params)
{
	const char *name = fuzz_param_string(params, "name");
	json_object *args = NULL, *valid;
	const struct tool *t;
	struct tool_request treq;
	char err[1024];

	if (params != NULL)
		json_object_object_get_ex(params, "arguments", &args);
	if (name == NULL || (t = tool_find(name)) == NULL)
		return;
	if ((valid = tool_validate(t, args, err, sizeof(err))) == NULL)
		return;
	tool_build_request(t, valid, &treq);
	free(treq.body);
	json_object_put(valid);
}

static void
fuzz_request(json_object *msg)
{
	json_object *id = NULL, *method = NULL, *params = NULL, *caps, *v;
	const char *name, *s;

	json_object_object_get_ex(msg, "id", &id);
	json_object_object_get_ex(msg, "method", &method);
	json_object_object_get_ex(msg, "params", &params);
	if (!json_object_is_type(method, json_type_string))
		abort();	/* classified as a request without a method name */
	/* exchange_request keeps the id as JSON text, to answer with it */
	free(strdup(json_object_to_json_string_ext(id, MCP_JSON_FLAGS)));
	name = json_object_get_string(method);
	if (strcmp(name, "initialize") == 0) {
		if ((s = fuzz_param_string(params, "protocolVersion")) != NULL)
			mcp_version_supported(s);
		if (params != NULL && json_object_object_get_ex(params, "capabilities", &caps))
			json_object_object_get_ex(caps, "sampling", &v);
	} else if (strcmp(name, "logging/setLevel") == 0) {
		if ((s = fuzz_param_string(params, "level")) != NULL)
			mcp_log_level_parse(s);
	} else if (strcmp(name, "tools/call") == 0)
		fuzz_tools_call(params);
}

static void
fuzz_message(json_object *msg)
{
	json_object *params, *id;

	switch (jsonrpc_kind(msg)) {
	case JSONRPC_REQUEST:
		fuzz_request(msg);
		break;
	case JSONRPC_NOTIFICATION:
		/* notifications/cancelled: the id of the request, as JSON text */
		if (json_object_object_get_ex(msg, "params", &params) &&
		    json_object_object_get_ex(params, "requestId", &id))
			json_object_to_json_string_ext(id, MCP_JSON_FLAGS);
		break;
	case JSONRPC_RESPONSE:
		if (!json_object_object_get_ex(msg, "id", &id) || id == NULL)
			abort();	/* a response names the request it answers */
		break;
	case JSONRPC_INVALID:
		break;
	}
}

static void
fuzz_body(struct evhttp_request *req)
{
	json_object *msg = mcp_parse_body(req);
	size_t n;

	if (msg == NULL)
		return;
	if (json_object_is_type(msg, json_type_array)) {
		n = json_object_array_length(msg);
		for (size_t i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(msg, i);

			if (!jsonrpc_is_initialize(m))	/* initialize is refused in a batch */
				fuzz_message(m);
		}
	} else {
		jsonrpc_is_initialize(msg);
		fuzz_message(msg);
	}
	json_object_put(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const headers[] = { "Accept", "Content-Type", "MCP-Protocol-Version" };
	struct evhttp_request *req;
	const uint8_t *body = data + 1;
	size_t body_len = size - 1;

	if (size < 1)
		return 0;
	if ((req = evhttp_request_new(NULL, NULL)) == NULL)
		abort();
	if (data[0] & 1) {
		struct fuzz_fields ff;

		fuzz_fields_split(&ff, data + 1, size - 1);
		for (size_t i = 0; i < 3; i++)
			if (i < ff.n - 1)
				evhttp_add_header(evhttp_request_get_input_headers(req), headers[i],
				    ff.f[i]);
		mcp_accepts(req, 1);
		mcp_accepts(req, 0);
		mcp_is_json(req);
		if (mcp_header(req, "MCP-Protocol-Version") != NULL)
			mcp_version_supported(mcp_header(req, "MCP-Protocol-Version"));
		/* the body: what follows the third NUL */
		for (size_t i = 0, nul = 0; i < size - 1 && nul < 3; i++)
			if (data[1 + i] == '\0' && ++nul == 3) {
				body = data + 2 + i;
				body_len = size - 2 - i;
			}
		fuzz_fields_free(&ff);
	}
	evbuffer_add(evhttp_request_get_input_buffer(req), body, body_len);
	fuzz_body(req);
	evhttp_request_free(req);
	return 0;
}
