#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "exchange.h"
#include "fixtures.h"
#include "log.h"
#include "worker.h"

/* A 1x1 red PNG and a few samples of silence as WAV. */
#define PNG_BASE64 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
#define WAV_BASE64 "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA=="

#define NO_ARGS		"{\"type\":\"object\",\"properties\":{}}"
#define STEP_MS		50
#define ASK_TIMEOUT_SEC	120

struct fixture_tool {
	const char	*name;
	const char	*description;
	const char	*input_schema;	/* JSON text */
	const char	*result;	/* a fixed CallToolResult (JSON text), or NULL: run */
	void		(*run)(struct mcp_request *, json_object *args);
};

static void fixture_logging(struct mcp_request *, json_object *);
static void fixture_progress(struct mcp_request *, json_object *);
static void fixture_slow(struct mcp_request *, json_object *);
static void fixture_sampling(struct mcp_request *, json_object *);
static void fixture_elicitation(struct mcp_request *, json_object *);
static void fixture_elicitation_defaults(struct mcp_request *, json_object *);
static void fixture_elicitation_enums(struct mcp_request *, json_object *);

static const struct fixture_tool fixture_tools[] = {
	{ "test_simple_text", "Returns a simple text response.", NO_ARGS,
	  "{\"content\":[{\"type\":\"text\",\"text\":\"This is a simple text response for testing.\"}]}",
	  NULL },
	{ "test_image_content", "Returns an image (a 1x1 red PNG).", NO_ARGS,
	  "{\"content\":[{\"type\":\"image\",\"data\":\"" PNG_BASE64 "\",\"mimeType\":\"image/png\"}]}",
	  NULL },
	{ "test_audio_content", "Returns a short WAV sound.", NO_ARGS,
	  "{\"content\":[{\"type\":\"audio\",\"data\":\"" WAV_BASE64 "\",\"mimeType\":\"audio/wav\"}]}",
	  NULL },
	{ "test_embedded_resource", "Returns an embedded resource.", NO_ARGS,
	  "{\"content\":[{\"type\":\"resource\",\"resource\":{\"uri\":\"test://embedded-resource\","
	  "\"mimeType\":\"text/plain\",\"text\":\"This is an embedded resource content.\"}}]}", NULL },
	{ "test_multiple_content_types", "Returns text, an image and a resource.", NO_ARGS,
	  "{\"content\":[{\"type\":\"text\",\"text\":\"Multiple content types test:\"},"
	  "{\"type\":\"image\",\"data\":\"" PNG_BASE64 "\",\"mimeType\":\"image/png\"},"
	  "{\"type\":\"resource\",\"resource\":{\"uri\":\"test://mixed-content-resource\","
	  "\"mimeType\":\"application/json\",\"text\":\"{\\\"test\\\":\\\"data\\\",\\\"value\\\":123}\"}}]}",
	  NULL },
	{ "test_error_handling", "Always fails with an error result.", NO_ARGS,
	  "{\"isError\":true,\"content\":[{\"type\":\"text\","
	  "\"text\":\"This tool intentionally returns an error for testing\"}]}", NULL },
	{ "test_tool_with_logging", "Sends three log messages while it runs.", NO_ARGS, NULL,
	  fixture_logging },
	{ "test_tool_with_progress", "Reports progress 0, 50 and 100 of 100.", NO_ARGS, NULL,
	  fixture_progress },
	{ "test_sampling", "Asks the client's model to answer a prompt.",
	  "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\","
	  "\"description\":\"The prompt to send to the LLM\"}},\"required\":[\"prompt\"]}", NULL,
	  fixture_sampling },
	{ "test_elicitation", "Asks the user for a username and an email address.",
	  "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\","
	  "\"description\":\"The message to show the user\"}},\"required\":[\"message\"]}", NULL,
	  fixture_elicitation },
	{ "test_elicitation_sep1034_defaults", "Asks the user with defaults for every field type.",
	  NO_ARGS, NULL, fixture_elicitation_defaults },
	{ "test_elicitation_sep1330_enums", "Asks the user with every kind of enum field.", NO_ARGS,
	  NULL, fixture_elicitation_enums },
	{ "json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
	  "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
	  "\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"},"
	  "\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":\"string\"},"
	  "\"address\":{\"$ref\":\"#/$defs/address\"}},\"additionalProperties\":false}",
	  "{\"content\":[{\"type\":\"text\",\"text\":\"JSON Schema 2020-12 tool called.\"}]}", NULL },
	{ "test_slow", "Runs for the given number of seconds (default 30), reporting progress "
	  "every second; for testing cancellation.",
	  "{\"type\":\"object\",\"properties\":{\"seconds\":{\"type\":\"integer\",\"minimum\":0,"
	  "\"maximum\":3600}}}", NULL, fixture_slow },
};

#define NFIXTURE_TOOLS (sizeof(fixture_tools) / sizeof(fixture_tools[0]))

void
fixtures_add_tools(json_object *list)
{
	for (size_t i = 0; i < NFIXTURE_TOOLS; i++) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "name", json_object_new_string(fixture_tools[i].name));
		json_object_object_add(t, "description",
		    json_object_new_string(fixture_tools[i].description));
		json_object_object_add(t, "inputSchema", json_tokener_parse(fixture_tools[i].input_schema));
		json_object_array_add(list, t);
	}
}

int
fixtures_call_tool(struct mcp_request *r, const char *name, json_object *args)
{
	for (size_t i = 0; i < NFIXTURE_TOOLS; i++) {
		if (strcmp(fixture_tools[i].name, name) != 0)
			continue;
		if (fixture_tools[i].result != NULL)
			mcp_reply(r, fixture_tools[i].result);
		else
			fixture_tools[i].run(r, args);
		return 0;
	}
	return -1;
}

/* ---- results ---- */

static void
fixture_reply_text(struct mcp_request *r, const char *text, int is_error)
{
	json_object *result = json_object_new_object(), *content = json_object_new_array();
	json_object *block = json_object_new_object();

	json_object_object_add(block, "type", json_object_new_string("text"));
	json_object_object_add(block, "text", json_object_new_string(text));
	json_object_array_add(content, block);
	json_object_object_add(result, "content", content);
	if (is_error)
		json_object_object_add(result, "isError", json_object_new_boolean(1));
	mcp_reply(r, json_object_to_json_string_ext(result, MCP_JSON_FLAGS));
	json_object_put(result);
}

/* ---- timed fixtures: logging, progress, slow ---- */

struct fixture_timer {
	struct mcp_request	*r;
	struct event		*ev;
	int			 step, steps;
	void			(*tick)(struct fixture_timer *);
};

static void
fixture_timer_free(struct fixture_timer *t)
{
	event_free(t->ev);
	free(t);
}

static void
fixture_timer_cancel(struct mcp_request *r)
{
	log_debug("fixtures: call %s cancelled at step %d", r->id,
	    ((struct fixture_timer *)r->data)->step);
	fixture_timer_free(r->data);
}

static void
fixture_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fixture_timer *t = arg;

	(void)fd;
	(void)what;
	t->tick(t);
}

static void
fixture_timer_start(struct mcp_request *r, int steps, int interval_ms,
    void (*tick)(struct fixture_timer *))
{
	struct fixture_timer *t = calloc(1, sizeof(*t));
	struct timeval tv = { interval_ms / 1000, (interval_ms % 1000) * 1000 };

	if (t == NULL)
		fatal("fixture_timer_start");
	t->r = r;
	t->steps = steps;
	t->tick = tick;
	t->ev = event_new(r->w->base, -1, EV_PERSIST, fixture_on_timer, t);
	r->data = t;
	r->on_cancel = fixture_timer_cancel;
	tick(t);		/* the first step at once */
	if (t->step < t->steps)
		event_add(t->ev, &tv);
}

/* Ends the call with text after the last step. */
static void
fixture_timer_finish(struct fixture_timer *t, const char *text)
{
	struct mcp_request *r = t->r;

	if (t->step < t->steps)
		return;
	fixture_timer_free(t);
	fixture_reply_text(r, text, 0);
}

static void
fixture_logging_tick(struct fixture_timer *t)
{
	static const char *const lines[] = {
		"Tool execution started", "Tool processing data", "Tool execution completed"
	};

	mcp_log(t->r, MCP_LOG_INFO, "test_tool_with_logging", json_object_new_string(lines[t->step++]));
	fixture_timer_finish(t, "Tool with logging executed successfully");
}

static void
fixture_logging(struct mcp_request *r, json_object *args)
{
	(void)args;
	fixture_timer_start(r, 3, STEP_MS, fixture_logging_tick);
}

static void
fixture_progress_tick(struct fixture_timer *t)
{
	mcp_progress(t->r, t->step * 50, 100, NULL);
	t->step++;
	fixture_timer_finish(t, "Tool with progress executed successfully");
}

static void
fixture_progress(struct mcp_request *r, json_object *args)
{
	(void)args;
	fixture_timer_start(r, 3, STEP_MS, fixture_progress_tick);
}

static void
fixture_slow_tick(struct fixture_timer *t)
{
	mcp_progress(t->r, t->step, t->steps, NULL);
	t->step++;
	fixture_timer_finish(t, "Slow operation completed");
}

static void
fixture_slow(struct mcp_request *r, json_object *args)
{
	json_object *v;
	int seconds = 30;

	if (args != NULL && json_object_object_get_ex(args, "seconds", &v))
		seconds = json_object_get_int(v);
	if (seconds < 0 || seconds > 3600) {
		fixture_reply_text(r, "seconds must be an integer from 0 to 3600", 1);
		return;
	}
	log_info("fixtures: test_slow %s runs for %d s", r->id, seconds);
	fixture_timer_start(r, seconds + 1, 1000, fixture_slow_tick);
}

/* ---- sampling and elicitation: requests to the client ---- */

static const char *
fixture_string_arg(json_object *args, const char *name)
{
	json_object *v;

	if (args == NULL || !json_object_object_get_ex(args, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* "<prefix>: <the client's error or that none came>" as an error result. */
static void
fixture_reply_no_answer(struct mcp_request *r, const char *what, json_object *error)
{
	char text[512];

	snprintf(text, sizeof(text), "%s failed: %s", what, error != NULL ?
	    json_object_to_json_string_ext(error, MCP_JSON_FLAGS) : "the client did not answer in time");
	fixture_reply_text(r, text, 1);
}

static void
fixture_on_sampled(struct mcp_request *r, json_object *result, json_object *error)
{
	json_object *content, *text;
	char *reply;

	if (result == NULL) {
		fixture_reply_no_answer(r, "Sampling", error);
		return;
	}
	if (!json_object_object_get_ex(result, "content", &content) ||
	    !json_object_object_get_ex(content, "text", &text))
		text = content = NULL;
	if (asprintf(&reply, "LLM response: %s", text != NULL ? json_object_get_string(text) :
	    json_object_to_json_string_ext(result, MCP_JSON_FLAGS)) == -1)
		fatal("fixture_on_sampled");
	fixture_reply_text(r, reply, 0);
	free(reply);
}

static void
fixture_sampling(struct mcp_request *r, json_object *args)
{
	const char *prompt = fixture_string_arg(args, "prompt");
	json_object *params, *messages, *message, *content;

	if (prompt == NULL) {
		fixture_reply_text(r, "missing required argument 'prompt' (a string)", 1);
		return;
	}
	if (!(r->session->flags & MCP_SESSION_SAMPLING)) {
		fixture_reply_text(r, "The client does not support sampling.", 1);
		return;
	}
	content = json_object_new_object();
	json_object_object_add(content, "type", json_object_new_string("text"));
	json_object_object_add(content, "text", json_object_new_string(prompt));
	message = json_object_new_object();
	json_object_object_add(message, "role", json_object_new_string("user"));
	json_object_object_add(message, "content", content);
	messages = json_object_new_array();
	json_object_array_add(messages, message);
	params = json_object_new_object();
	json_object_object_add(params, "messages", messages);
	json_object_object_add(params, "maxTokens", json_object_new_int(100));
	if (mcp_ask(r, "sampling/createMessage", params, fixture_on_sampled, ASK_TIMEOUT_SEC) == -1)
		fixture_reply_text(r, "Too many open streams; try again later.", 1);
}

static void
fixture_on_elicited(struct mcp_request *r, json_object *result, json_object *error)
{
	json_object *action = NULL, *content = NULL;
	char *reply;

	if (result == NULL) {
		fixture_reply_no_answer(r, "Elicitation", error);
		return;
	}
	json_object_object_get_ex(result, "action", &action);
	json_object_object_get_ex(result, "content", &content);
	if (asprintf(&reply, "%s: action=%s, content=%s",
	    strcmp(r->data, "test_elicitation") == 0 ? "User response" : "Elicitation completed",
	    action != NULL ? json_object_get_string(action) : "none",
	    content != NULL ? json_object_to_json_string_ext(content, MCP_JSON_FLAGS) : "{}") == -1)
		fatal("fixture_on_elicited");
	fixture_reply_text(r, reply, 0);
	free(reply);
}

static void
fixture_elicit(struct mcp_request *r, const char *tool, const char *message, const char *schema)
{
	json_object *params = json_object_new_object();

	if (!(r->session->flags & MCP_SESSION_ELICITATION)) {
		json_object_put(params);
		fixture_reply_text(r, "The client does not support elicitation.", 1);
		return;
	}
	r->data = (void *)tool;
	json_object_object_add(params, "message", json_object_new_string(message));
	json_object_object_add(params, "requestedSchema", json_tokener_parse(schema));
	if (mcp_ask(r, "elicitation/create", params, fixture_on_elicited, ASK_TIMEOUT_SEC) == -1)
		fixture_reply_text(r, "Too many open streams; try again later.", 1);
}

static void
fixture_elicitation(struct mcp_request *r, json_object *args)
{
	const char *message = fixture_string_arg(args, "message");

	if (message == NULL) {
		fixture_reply_text(r, "missing required argument 'message' (a string)", 1);
		return;
	}
	fixture_elicit(r, "test_elicitation", message,
	    "{\"type\":\"object\",\"properties\":{\"username\":{\"type\":\"string\","
	    "\"description\":\"User's response\"},\"email\":{\"type\":\"string\","
	    "\"description\":\"User's email address\"}},\"required\":[\"username\",\"email\"]}");
}

static void
fixture_elicitation_defaults(struct mcp_request *r, json_object *args)
{
	(void)args;
	fixture_elicit(r, "test_elicitation_sep1034_defaults", "Please review and update the form fields",
	    "{\"type\":\"object\",\"properties\":{"
	    "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John Doe\"},"
	    "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
	    "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
	    "\"status\":{\"type\":\"string\",\"description\":\"User status\","
	    "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
	    "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification status\",\"default\":true}"
	    "}}");
}

static void
fixture_elicitation_enums(struct mcp_request *r, json_object *args)
{
	(void)args;
	fixture_elicit(r, "test_elicitation_sep1330_enums", "Please select your options",
	    "{\"type\":\"object\",\"properties\":{"
	    "\"untitledSingle\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]},"
	    "\"titledSingle\":{\"type\":\"string\",\"oneOf\":["
	    "{\"const\":\"value1\",\"title\":\"First Option\"},"
	    "{\"const\":\"value2\",\"title\":\"Second Option\"},"
	    "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
	    "\"legacyEnum\":{\"type\":\"string\",\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"
	    "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
	    "\"untitledMulti\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
	    "\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
	    "\"titledMulti\":{\"type\":\"array\",\"items\":{\"anyOf\":["
	    "{\"const\":\"value1\",\"title\":\"First Choice\"},"
	    "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
	    "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}"
	    "}}");
}

/* ---- resources ---- */

#define TEMPLATE_PREFIX	"test://template/"
#define TEMPLATE_SUFFIX	"/data"

struct fixture_resource {
	const char	*uri, *name, *description, *mime_type;
	const char	*text, *blob;	/* one of them */
};

static const struct fixture_resource fixture_resources[] = {
	{ "test://static-text", "Static text", "A fixed text resource.", "text/plain",
	  "This is the content of the static text resource.", NULL },
	{ "test://static-binary", "Static binary", "A fixed PNG image.", "image/png", NULL, PNG_BASE64 },
	{ "test://watched-resource", "Watched resource", "A resource clients can subscribe to.",
	  "text/plain", "Watched resource content.", NULL },
};

#define NFIXTURE_RESOURCES (sizeof(fixture_resources) / sizeof(fixture_resources[0]))

json_object *
fixtures_resources(void)
{
	json_object *list = json_object_new_array();

	for (size_t i = 0; i < NFIXTURE_RESOURCES; i++) {
		const struct fixture_resource *fr = &fixture_resources[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "uri", json_object_new_string(fr->uri));
		json_object_object_add(o, "name", json_object_new_string(fr->name));
		json_object_object_add(o, "description", json_object_new_string(fr->description));
		json_object_object_add(o, "mimeType", json_object_new_string(fr->mime_type));
		json_object_array_add(list, o);
	}
	return list;
}

json_object *
fixtures_resource_templates(void)
{
	return json_tokener_parse("[{\"uriTemplate\":\"test://template/{id}/data\","
	    "\"name\":\"Template data\",\"description\":\"Data for the id in the URI.\","
	    "\"mimeType\":\"application/json\"}]");
}

static json_object *
fixture_contents(const char *uri, const char *mime_type, const char *text, const char *blob)
{
	json_object *result = json_object_new_object(), *contents = json_object_new_array();
	json_object *c = json_object_new_object();

	json_object_object_add(c, "uri", json_object_new_string(uri));
	json_object_object_add(c, "mimeType", json_object_new_string(mime_type));
	if (text != NULL)
		json_object_object_add(c, "text", json_object_new_string(text));
	else
		json_object_object_add(c, "blob", json_object_new_string(blob));
	json_object_array_add(contents, c);
	json_object_object_add(result, "contents", contents);
	return result;
}

/* The {id} of "test://template/{id}/data", or NULL. */
static char *
fixture_template_id(const char *uri)
{
	size_t plen = strlen(TEMPLATE_PREFIX), slen = strlen(TEMPLATE_SUFFIX), len = strlen(uri);

	if (len <= plen + slen || strncmp(uri, TEMPLATE_PREFIX, plen) != 0 ||
	    strcmp(uri + len - slen, TEMPLATE_SUFFIX) != 0 ||
	    memchr(uri + plen, '/', len - plen - slen) != NULL)
		return NULL;
	return strndup(uri + plen, len - plen - slen);
}

/* The template's contents for id: {"id":…,"templateTest":true,"data":"Data for ID: …"}. */
static json_object *
fixture_template_read(const char *uri, const char *id)
{
	json_object *data = json_object_new_object(), *result;
	char *text;

	if (asprintf(&text, "Data for ID: %s", id) == -1)
		fatal("fixture_template_read");
	json_object_object_add(data, "id", json_object_new_string(id));
	json_object_object_add(data, "templateTest", json_object_new_boolean(1));
	json_object_object_add(data, "data", json_object_new_string(text));
	result = fixture_contents(uri, "application/json",
	    json_object_to_json_string_ext(data, MCP_JSON_FLAGS), NULL);
	json_object_put(data);
	free(text);
	return result;
}

json_object *
fixtures_read_resource(const char *uri)
{
	json_object *result;
	char *id;

	for (size_t i = 0; i < NFIXTURE_RESOURCES; i++)
		if (strcmp(fixture_resources[i].uri, uri) == 0)
			return fixture_contents(uri, fixture_resources[i].mime_type,
			    fixture_resources[i].text, fixture_resources[i].blob);
	if ((id = fixture_template_id(uri)) == NULL)
		return NULL;
	result = fixture_template_read(uri, id);
	free(id);
	return result;
}

int
fixtures_has_resource(const char *uri)
{
	json_object *r = fixtures_read_resource(uri);

	json_object_put(r);
	return r != NULL;
}

/* ---- prompts ---- */

json_object *
fixtures_prompts(void)
{
	return json_tokener_parse("["
	    "{\"name\":\"test_simple_prompt\",\"description\":\"A simple prompt without arguments\"},"
	    "{\"name\":\"test_prompt_with_arguments\",\"description\":\"A prompt with two arguments\","
	    "\"arguments\":[{\"name\":\"arg1\",\"description\":\"First test argument\",\"required\":true},"
	    "{\"name\":\"arg2\",\"description\":\"Second test argument\",\"required\":true}]},"
	    "{\"name\":\"test_prompt_with_embedded_resource\","
	    "\"description\":\"A prompt that embeds a resource\",\"arguments\":[{\"name\":\"resourceUri\","
	    "\"description\":\"URI of the resource to embed\",\"required\":true}]},"
	    "{\"name\":\"test_prompt_with_image\",\"description\":\"A prompt with an image\"}]");
}

static json_object *
fixture_message(json_object *content)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "role", json_object_new_string("user"));
	json_object_object_add(m, "content", content);
	return m;
}

static json_object *
fixture_text_block(const char *text)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "type", json_object_new_string("text"));
	json_object_object_add(c, "text", json_object_new_string(text));
	return c;
}

static json_object *
fixture_prompt_args(json_object *args, char *err, size_t cap)
{
	const char *a1 = fixture_string_arg(args, "arg1"), *a2 = fixture_string_arg(args, "arg2");
	char *text;
	json_object *m;

	if (a1 == NULL || a2 == NULL) {
		snprintf(err, cap, "arguments arg1 and arg2 (strings) are required");
		return NULL;
	}
	if (asprintf(&text, "Prompt with arguments: arg1='%s', arg2='%s'", a1, a2) == -1)
		fatal("fixture_prompt_args");
	m = fixture_message(fixture_text_block(text));
	free(text);
	return m;
}

static json_object *
fixture_prompt_resource(json_object *args, char *err, size_t cap)
{
	const char *uri = fixture_string_arg(args, "resourceUri");
	json_object *c, *res;

	if (uri == NULL) {
		snprintf(err, cap, "argument resourceUri (a string) is required");
		return NULL;
	}
	res = json_object_new_object();
	json_object_object_add(res, "uri", json_object_new_string(uri));
	json_object_object_add(res, "mimeType", json_object_new_string("text/plain"));
	json_object_object_add(res, "text", json_object_new_string("Embedded resource content for testing."));
	c = json_object_new_object();
	json_object_object_add(c, "type", json_object_new_string("resource"));
	json_object_object_add(c, "resource", res);
	return fixture_message(c);
}

static json_object *
fixture_image_message(void)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "type", json_object_new_string("image"));
	json_object_object_add(c, "data", json_object_new_string(PNG_BASE64));
	json_object_object_add(c, "mimeType", json_object_new_string("image/png"));
	return fixture_message(c);
}

json_object *
fixtures_get_prompt(const char *name, json_object *args, char *err, size_t cap)
{
	json_object *messages = json_object_new_array(), *result, *first;

	if (strcmp(name, "test_simple_prompt") == 0)
		first = fixture_message(fixture_text_block("This is a simple prompt for testing."));
	else if (strcmp(name, "test_prompt_with_arguments") == 0)
		first = fixture_prompt_args(args, err, cap);
	else if (strcmp(name, "test_prompt_with_embedded_resource") == 0)
		first = fixture_prompt_resource(args, err, cap);
	else if (strcmp(name, "test_prompt_with_image") == 0)
		first = fixture_image_message();
	else {
		snprintf(err, cap, "unknown prompt '%s'", name);
		first = NULL;
	}
	if (first == NULL) {
		json_object_put(messages);
		return NULL;
	}
	json_object_array_add(messages, first);
	if (strcmp(name, "test_prompt_with_embedded_resource") == 0)
		json_object_array_add(messages, fixture_message(fixture_text_block(
		    "Please process the embedded resource above.")));
	else if (strcmp(name, "test_prompt_with_image") == 0)
		json_object_array_add(messages, fixture_message(fixture_text_block(
		    "Please analyze the image above.")));
	result = json_object_new_object();
	json_object_object_add(result, "messages", messages);
	return result;
}

/* ---- completion ---- */

static json_object *
fixture_candidates(json_object *ref, const char *argument)
{
	const char *type = NULL, *name = NULL;
	json_object *v;

	if (json_object_object_get_ex(ref, "type", &v))
		type = json_object_get_string(v);
	if (json_object_object_get_ex(ref, "name", &v) || json_object_object_get_ex(ref, "uri", &v))
		name = json_object_get_string(v);
	if (type == NULL || name == NULL)
		return NULL;
	if (strcmp(type, "ref/prompt") == 0 && strcmp(name, "test_prompt_with_arguments") == 0 &&
	    strcmp(argument, "arg1") == 0)
		return json_tokener_parse("[\"paris\",\"park\",\"party\",\"test\",\"testing\"]");
	if (strcmp(type, "ref/resource") == 0 && strcmp(name, "test://template/{id}/data") == 0 &&
	    strcmp(argument, "id") == 0)
		return json_tokener_parse("[\"1\",\"2\",\"3\",\"123\"]");
	return NULL;
}

json_object *
fixtures_complete(json_object *ref, json_object *argument)
{
	json_object *values = json_object_new_array(), *candidates, *name, *value;
	const char *prefix;

	if (ref == NULL || argument == NULL || !json_object_object_get_ex(argument, "name", &name) ||
	    (candidates = fixture_candidates(ref, json_object_get_string(name))) == NULL)
		return values;
	prefix = json_object_object_get_ex(argument, "value", &value) ? json_object_get_string(value) : "";
	for (size_t i = 0; i < json_object_array_length(candidates); i++) {
		json_object *c = json_object_array_get_idx(candidates, i);

		if (strncmp(json_object_get_string(c), prefix, strlen(prefix)) == 0)
			json_object_array_add(values, json_object_get(c));
	}
	json_object_put(candidates);
	return values;
}
