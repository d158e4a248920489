/*
 * The tool table without a server: the 41 tools in tools/list, argument
 * validation, the requests they make (update is a PATCH that keeps other
 * fields), and the words of every failure kind, including those hard to
 * provoke end to end (409 after the worker's retry, 5xx).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tap.h"
#include "tools.h"

#define UID	"3f1c2a64-5b7e-4c1d-9a2b-0e6f8d4c2b1a"

static json_object *
validate(const char *tool, const char *args_json, char *err, size_t cap)
{
	json_object *args = json_tokener_parse(args_json), *v;

	err[0] = '\0';
	v = tool_validate(tool_find(tool), args, err, cap);
	json_object_put(args);
	return v;
}

/* The text of a CallToolResult's first content block; NULL if there is none. */
static const char *
text_block(json_object *result)
{
	json_object *content;

	if (!json_object_object_get_ex(result, "content", &content) ||
	    !json_object_is_type(content, json_type_array))
		return NULL;
	return json_object_get_string(json_object_object_get(json_object_array_get_idx(content,
	    0), "text"));
}

/* The text of the CallToolResult for an answer of status with body (and headers). */
static char *
result_text(const char *tool, const char *args_json, long status, const char *body,
    const char *headers, size_t headers_len, const char *error)
{
	struct api_response resp = { status, body, strlen(body), error, headers, headers_len };
	json_object *args = json_tokener_parse(args_json), *answer, *r;
	char *json = tool_result_from_api(tool_find(tool), args, &resp, &answer), *out;
	const char *text;

	r = json_tokener_parse(json);	/* NULL if the result is not JSON */
	text = text_block(r);
	out = strdup(text != NULL ? text : "(no text block)");
	if (status < 200 || status > 299)
		ok(json_object_get_boolean(json_object_object_get(r, "isError")) &&
		    !json_object_object_get_ex(r, "structuredContent", NULL),
		    "%s, HTTP %ld: an isError result without structured content", tool, status);
	json_object_put(r);
	json_object_put(args);
	json_object_put(answer);
	free(json);
	return out;
}

static void
expect_text(char *text, const char *needle, const char *desc)
{
	ok(text != NULL && strstr(text, needle) != NULL, "%s", desc);
	if (text == NULL || strstr(text, needle) == NULL)
		printf("#   text: %s\n#   missing: %s\n", text, needle);
	free(text);
}

static void
test_list(void)
{
	char *text = tools_list_build();
	json_object *list = json_tokener_parse(text), *tools, *t;
	int annotated = 0;

	json_object_object_get_ex(list, "tools", &tools);
	ok(tools_count() == 41 && json_object_array_length(tools) == 41, "41 tools");
	for (size_t i = 0; i < json_object_array_length(tools); i++) {
		t = json_object_array_get_idx(tools, i);
		annotated += json_object_object_get_ex(t, "outputSchema", NULL) &&
		    json_object_object_get_ex(t, "annotations", NULL) &&
		    json_object_object_get_ex(t, "inputSchema", NULL);
	}
	ok(annotated == 41, "each with inputSchema, outputSchema and annotations");
	ok(tool_find("list_chat_messages") != NULL && tool_find("process_chat_message") != NULL &&
	    tool_find("health_check") != NULL && tool_find("list_chat_message") == NULL,
	    "the reference's names");
	ok(tool_is_write(tool_find("update_note")) && !tool_is_write(tool_find("get_task")),
	    "update is a write, get is not");
	json_object_put(list);
	free(text);
}

static void
test_validation(void)
{
	char err[1024];
	json_object *v;

	v = validate("create_note", "{\"title\":\"t\",\"content\":\"c\",\"tags\":\"[\\\"a\\\"]\","
	    "\"additional_fields\":\"{\\\"x\\\":1}\"}", err, sizeof(err));
	ok(v != NULL && json_object_is_type(json_object_object_get(v, "tags"), json_type_array) &&
	    json_object_is_type(json_object_object_get(v, "additional_fields"), json_type_object),
	    "lists and objects sent as JSON strings are decoded");
	json_object_put(v);
	v = validate("list_notes", "{\"limit\":\"5\",\"include_deleted\":\"true\"}", err, sizeof(err));
	ok(v != NULL && json_object_get_int(json_object_object_get(v, "limit")) == 5,
	    "an integer and a boolean sent as strings are taken");
	json_object_put(v);
	ok(validate("list_notes", "{\"limit\":0}", err, sizeof(err)) == NULL &&
	    strstr(err, "'limit' must be an integer from 1 to 1000") != NULL, "limit 0: %s", err);
	ok(validate("get_note", "{\"uid\":\"../x\"}", err, sizeof(err)) == NULL &&
	    strstr(err, "must be a UUID") != NULL, "a uid that is not a UUID");
	ok(validate("patch_note", "{\"uid\":\"" UID "\",\"updates\":{}}", err, sizeof(err)) == NULL &&
	    strstr(err, "at least one field") != NULL, "patch with no field");
	ok(validate("process_task", "{\"uid\":\"" UID "\",\"action\":\"pin\"}", err, sizeof(err)) ==
	    NULL && strstr(err, "one of start, complete, reopen") != NULL, "an action of another entity");
	ok(validate("health_check", "{\"x\":1}", err, sizeof(err)) == NULL &&
	    strstr(err, "health_check takes: none") != NULL, "health_check takes no argument");
	ok(validate("get_note", "[1]", err, sizeof(err)) == NULL &&
	    strstr(err, "arguments must be an object") != NULL, "arguments that are not an object");
}

static void
test_requests(void)
{
	char err[256];
	struct tool_request req;
	json_object *v;

	v = validate("update_comment", "{\"uid\":\"" UID "\",\"content\":\"c\",\"if_match\":3,"
	    "\"additional_fields\":{\"k\":true}}", err, sizeof(err));
	tool_build_request(tool_find("update_comment"), v, &req);
	is_str(req.method, "PATCH", "update_comment is a PATCH (the parent stays)");
	is_str(req.path, "/v1/comments/" UID, "of the comment");
	is_str(req.body, "{\"content\":\"c\",\"k\":true}", "with the fields and additional_fields");
	is_str(req.if_match, "3", "and If-Match");
	free(req.body);
	json_object_put(v);
	v = validate("create_chat_message", "{\"chat_uid\":\"" UID "\",\"content\":\"hi\","
	    "\"message_type\":\"text\"}", err, sizeof(err));
	tool_build_request(tool_find("create_chat_message"), v, &req);
	is_str(req.body, "{\"chatUid\":\"" UID "\",\"content\":\"hi\",\"messageType\":\"text\"}",
	    "create_chat_message: the payload's names");
	free(req.body);
	json_object_put(v);
	v = validate("create_chat", "{\"title\":\"t\"}", err, sizeof(err));
	tool_build_request(tool_find("create_chat"), v, &req);
	is_str(req.body, "{\"title\":\"t\",\"archived\":false}", "create_chat: archived false by default");
	free(req.body);
	json_object_put(v);
	v = validate("list_tasks", "{\"cursor\":\"a b&c\",\"include_deleted\":true}", err, sizeof(err));
	tool_build_request(tool_find("list_tasks"), v, &req);
	is_str(req.path, "/v1/tasks?limit=100&cursor=a%20b%26c&includeDeleted=true",
	    "list_tasks: default limit, cursor escaped");
	json_object_put(v);
	v = validate("process_chat", "{\"uid\":\"" UID "\",\"action\":\"resolve\"}", err, sizeof(err));
	tool_build_request(tool_find("process_chat"), v, &req);
	is_str(req.body, "{\"action\":\"resolve\"}", "process_chat: the action");
	free(req.body);
	json_object_put(v);
}

static void
test_failures(void)
{
	static const char retry[] = "Retry-After: 7";
	const char *args = "{\"uid\":\"" UID "\",\"if_match\":2}";

	expect_text(result_text("update_note", args, 412, "{\"error\":\"version mismatch: expected 2, "
	    "actual 5\"}", NULL, 0, NULL), "now at version 5, not the version 2 you passed as "
	    "if_match", "412: the current version, and what to do");
	expect_text(result_text("delete_task", args, 410, "{\"error\":\"task already deleted\","
	    "\"deletedAt\":\"2030-01-01T00:00:00.000Z\"}", NULL, 0, NULL),
	    "The task " UID " was deleted at 2030-01-01T00:00:00.000Z", "410: deleted, and when");
	expect_text(result_text("get_chat", args, 404, "{\"error\":\"chat not found\"}", NULL, 0,
	    NULL), "No chat with uid " UID " exists for this user. Check the uid, e.g. with "
	    "list_chats.", "404: not found, and how to find it");
	expect_text(result_text("patch_note", args, 409, "{\"error\":\"epoch_mismatch\",\"epoch\":3}",
	    NULL, 0, NULL), "reset while this call ran", "409: the data was reset, read again");
	expect_text(result_text("list_notes", "{}", 429, "{\"error\":\"Rate limit exceeded.\"}",
	    retry, sizeof(retry), NULL), "Wait 7 seconds, then try again", "429: how long to wait");
	expect_text(result_text("get_note", args, 503, "{\"error\":\"database unavailable\"}", NULL,
	    0, NULL), "could not do this (HTTP 503: database unavailable)", "503: try again later");
	expect_text(result_text("create_note", "{}", 0, "", NULL, 0,
	    "API child timed out after 1500 ms"), "did not answer in time. The change may or may "
	    "not have been made", "the API child slow: a write may have been made");
	expect_text(result_text("get_note", args, 0, "", NULL, 0,
	    "API child unreachable at /run/api.sock: Connection refused"),
	    "unavailable right now", "the API child down: try again, no path shown");
	expect_text(result_text("create_note", "{}", 0, "", NULL, 0,
	    "API child unreachable at /run/api.sock: Connection refused"),
	    "The change may or may not have been made", "the API child down: a write may have been made");
	expect_text(result_text("health_check", "{}", 200, "ok", NULL, 0, NULL),
	    "{\"status\":\"healthy\",\"api\":\"ok\"}", "health_check: healthy");
}

/*
 * A 200 answer's text goes into the result as it is: the result must still be
 * JSON whose structuredContent and text block are the answer's object; and an
 * answer that is not strictly one JSON object must not get in at all.
 */
static void
expect_passed_on(const char *body, const char *desc)
{
	const char *args = "{\"uid\":\"00000000-0000-4000-8000-000000000001\"}";
	struct api_response resp = { 200, body, strlen(body), NULL, NULL, 0 };
	json_object *a = json_tokener_parse(args), *answer, *r, *want, *from_text;
	char *json = tool_result_from_api(tool_find("get_note"), a, &resp, &answer);
	const char *text;

	r = json_tokener_parse(json);	/* NULL if the result is not JSON */
	want = json_tokener_parse(body);
	text = text_block(r);
	from_text = text != NULL ? json_tokener_parse(text) : NULL;
	ok(r != NULL && want != NULL &&
	    !json_object_get_boolean(json_object_object_get(r, "isError")) &&
	    json_object_equal(json_object_object_get(r, "structuredContent"), want) &&
	    json_object_equal(from_text, want), "%s", desc);
	json_object_put(from_text);
	json_object_put(want);
	json_object_put(r);
	json_object_put(a);
	json_object_put(answer);
	free(json);
}

static void
test_answers(void)
{
	expect_passed_on("{\"uid\":\"u1\",\"title\":\"a \\\"quoted\\\" \\\\ title\",\"n\":1.5,"
	    "\"tags\":[\"\\u0001\",\"\xc3\xa9\"],\"sync\":{\"version\":2,\"isDeleted\":false}}",
	    "a 200 answer is structuredContent and, quoted, the text block");
	expect_passed_on("{\"uid\": \"u1\",\t\"payload\": {\"a\": [1, 2]}}",
	    "an answer with white space between its tokens");
	expect_passed_on(" {\"uid\":\"u1\"}\r\n", "an answer with white space around it");
	expect_text(result_text("get_note", "{}", 200, "{'uid':'u1'}", NULL, 0, NULL),
	    "not a JSON object", "single quotes are not JSON: refused");
	expect_text(result_text("get_note", "{}", 200, "{\"uid\":\"u1\"} {\"x\":1}", NULL, 0,
	    NULL), "not a JSON object", "something after the object: refused");
	expect_text(result_text("get_note", "{}", 200, "{\"uid\":\"u1\",}", NULL, 0, NULL),
	    "not a JSON object", "a trailing comma: refused");
	expect_text(result_text("get_note", "{}", 200, "[{\"uid\":\"u1\"}]", NULL, 0, NULL),
	    "not a JSON object", "an array: refused");
}

int
main(void)
{
	test_list();
	test_validation();
	test_requests();
	test_failures();
	test_answers();
	return done_testing();
}
