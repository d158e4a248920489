#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "codec.h"
#include "log.h"
#include "tools.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static int tool_build_create(const struct tool *, json_object *, struct tool_request *);
static int tool_build_get(const struct tool *, json_object *, struct tool_request *);
static int tool_build_list(const struct tool *, json_object *, struct tool_request *);

static const struct tool_param list_params[] = {
	{ "limit", TOOL_INTEGER, 0, "Items per page, 1 to 1000 (default 100).", 1, 1000 },
	{ "cursor", TOOL_STRING, 0, "The nextCursor of the previous page, to read the next one.", 0, 0 },
	{ "include_deleted", TOOL_BOOLEAN, 0, "Also return deleted items (default false).", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

static const struct tool_param get_params[] = {
	{ "uid", TOOL_STRING, 1, "The item's uid (a UUID).", 0, 0 },
	{ "include_deleted", TOOL_BOOLEAN, 0, "Return the item even if it was deleted.", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

static const struct tool_param create_note_params[] = {
	{ "title", TOOL_STRING, 1, "The note's title.", 0, 0 },
	{ "content", TOOL_STRING, 1, "The note's text.", 0, 0 },
	{ "tags", TOOL_STRING_LIST, 0, "Tags, e.g. [\"work\", \"idea\"].", 0, 0 },
	{ "additional_fields", TOOL_OBJECT, 0, "Any other fields to store on the note.", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

static const struct tool tools[] = {
	{ "list_notes", "List notes",
	  "List the user's notes, oldest change first, one page at a time. Pass the returned "
	  "nextCursor as cursor to read the next page.",
	  "notes", list_params, TOOL_READ_ONLY | TOOL_IDEMPOTENT, tool_build_list },
	{ "get_note", "Get a note",
	  "Get one note by its uid, with its version (use it as if_match when updating).",
	  "notes", get_params, TOOL_READ_ONLY | TOOL_IDEMPOTENT, tool_build_get },
	{ "create_note", "Create a note",
	  "Create a note with a title and content; returns it with its new uid and version 1.",
	  "notes", create_note_params, 0, tool_build_create },
};

#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

const struct tool *
tool_find(const char *name)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

/* ---- tools/list ---- */

static json_object *
tool_param_schema(const struct tool_param *p)
{
	static const char *const type_names[] = { "string", "integer", "boolean", "array", "object" };
	json_object *s = json_object_new_object();

	json_object_object_add(s, "type", json_object_new_string(type_names[p->type]));
	json_object_object_add(s, "description", json_object_new_string(p->description));
	if (p->type == TOOL_STRING_LIST) {
		json_object *items = json_object_new_object();

		json_object_object_add(items, "type", json_object_new_string("string"));
		json_object_object_add(s, "items", items);
	}
	if (p->type == TOOL_INTEGER && p->max > p->min) {
		json_object_object_add(s, "minimum", json_object_new_int64(p->min));
		json_object_object_add(s, "maximum", json_object_new_int64(p->max));
	}
	return s;
}

static json_object *
tool_input_schema(const struct tool *t)
{
	json_object *schema = json_object_new_object(), *props = json_object_new_object();
	json_object *required = json_object_new_array();

	json_object_object_add(schema, "type", json_object_new_string("object"));
	for (const struct tool_param *p = t->params; p->name != NULL; p++) {
		json_object_object_add(props, p->name, tool_param_schema(p));
		if (p->required)
			json_object_array_add(required, json_object_new_string(p->name));
	}
	json_object_object_add(schema, "properties", props);
	json_object_object_add(schema, "required", required);
	return schema;
}

static json_object *
tool_annotations(const struct tool *t)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "title", json_object_new_string(t->title));
	json_object_object_add(a, "readOnlyHint", json_object_new_boolean(t->hints & TOOL_READ_ONLY));
	json_object_object_add(a, "destructiveHint",
	    json_object_new_boolean(t->hints & TOOL_DESTRUCTIVE));
	json_object_object_add(a, "idempotentHint", json_object_new_boolean(t->hints & TOOL_IDEMPOTENT));
	json_object_object_add(a, "openWorldHint", json_object_new_boolean(0));
	return a;
}

char *
tools_list_build(void)
{
	json_object *result = json_object_new_object(), *list = json_object_new_array();
	char *text;

	for (size_t i = 0; i < NTOOLS; i++) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "name", json_object_new_string(tools[i].name));
		json_object_object_add(t, "title", json_object_new_string(tools[i].title));
		json_object_object_add(t, "description", json_object_new_string(tools[i].description));
		json_object_object_add(t, "inputSchema", tool_input_schema(&tools[i]));
		json_object_object_add(t, "annotations", tool_annotations(&tools[i]));
		json_object_array_add(list, t);
	}
	json_object_object_add(result, "tools", list);
	text = strdup(json_object_to_json_string_ext(result, JSON_FLAGS));
	json_object_put(result);
	return text;
}

/* ---- validation ---- */

/* Models send objects and lists both as JSON and as JSON-encoded strings. */
static json_object *
tool_decode_if_string(json_object *v, json_type want)
{
	json_object *decoded;

	if (!json_object_is_type(v, json_type_string))
		return json_object_get(v);
	decoded = json_tokener_parse(json_object_get_string(v));
	if (decoded != NULL && json_object_is_type(decoded, want))
		return decoded;
	json_object_put(decoded);
	return json_object_get(v);
}

static int
tool_check_list(json_object *v)
{
	if (!json_object_is_type(v, json_type_array))
		return -1;
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return -1;
	return 0;
}

/* The value, normalized, or NULL when its type is wrong. */
static json_object *
tool_check_param(const struct tool_param *p, json_object *v)
{
	json_object *n;

	switch (p->type) {
	case TOOL_STRING:
		return json_object_is_type(v, json_type_string) ? json_object_get(v) : NULL;
	case TOOL_INTEGER:
		if (!json_object_is_type(v, json_type_int))
			return NULL;
		if (p->max > p->min && (json_object_get_int64(v) < p->min ||
		    json_object_get_int64(v) > p->max))
			return NULL;
		return json_object_get(v);
	case TOOL_BOOLEAN:
		return json_object_is_type(v, json_type_boolean) ? json_object_get(v) : NULL;
	case TOOL_STRING_LIST:
		n = tool_decode_if_string(v, json_type_array);
		break;
	case TOOL_OBJECT:
		n = tool_decode_if_string(v, json_type_object);
		if (json_object_is_type(n, json_type_object))
			return n;
		json_object_put(n);
		return NULL;
	default:
		return NULL;
	}
	if (tool_check_list(n) == 0)
		return n;
	json_object_put(n);
	return NULL;
}

static const char *
tool_type_words(const struct tool_param *p)
{
	static char buf[96];

	switch (p->type) {
	case TOOL_STRING: return "a string";
	case TOOL_BOOLEAN: return "true or false";
	case TOOL_STRING_LIST: return "a list of strings";
	case TOOL_OBJECT: return "an object";
	case TOOL_INTEGER:
		if (p->max > p->min) {
			snprintf(buf, sizeof(buf), "an integer from %ld to %ld", p->min, p->max);
			return buf;
		}
		return "an integer";
	}
	return "?";
}

static const struct tool_param *
tool_param_find(const struct tool *t, const char *name)
{
	for (const struct tool_param *p = t->params; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

json_object *
tool_validate(const struct tool *t, json_object *args, char *err, size_t cap)
{
	json_object *out = json_object_new_object(), *v, *n;

	if (args != NULL && !json_object_is_type(args, json_type_object)) {
		snprintf(err, cap, "arguments must be an object");
		goto bad;
	}
	for (const struct tool_param *p = t->params; p->name != NULL; p++) {
		if (args == NULL || !json_object_object_get_ex(args, p->name, &v) ||
		    json_object_is_type(v, json_type_null)) {
			if (p->required) {
				snprintf(err, cap, "missing required argument '%s' (%s)", p->name,
				    tool_type_words(p));
				goto bad;
			}
			continue;
		}
		if ((n = tool_check_param(p, v)) == NULL) {
			snprintf(err, cap, "argument '%s' must be %s", p->name, tool_type_words(p));
			goto bad;
		}
		json_object_object_add(out, p->name, n);
	}
	if (args != NULL) {
		json_object_object_foreach(args, key, val) {
			(void)val;
			if (tool_param_find(t, key) == NULL) {
				snprintf(err, cap, "unknown argument '%s'", key);
				goto bad;
			}
		}
	}
	return out;
bad:
	json_object_put(out);
	return NULL;
}

/* ---- requests ---- */

static const char *
tool_arg_string(json_object *args, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(args, name, &v) ? json_object_get_string(v) : NULL;
}

static int
tool_arg_true(json_object *args, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(args, name, &v) && json_object_get_boolean(v);
}

static int
tool_build_create(const struct tool *t, json_object *args, struct tool_request *out)
{
	json_object *body = json_object_new_object(), *extra, *v;

	if (json_object_object_get_ex(args, "additional_fields", &extra)) {
		json_object_object_foreach(extra, key, val)
			json_object_object_add(body, key, json_object_get(val));
	}
	for (const struct tool_param *p = t->params; p->name != NULL; p++)
		if (strcmp(p->name, "additional_fields") != 0 &&
		    json_object_object_get_ex(args, p->name, &v))
			json_object_object_add(body, p->name, json_object_get(v));
	strcpy(out->method, "POST");
	snprintf(out->path, sizeof(out->path), "/v1/%s", t->entity);
	out->body = strdup(json_object_to_json_string_ext(body, JSON_FLAGS));
	json_object_put(body);
	return 0;
}

static int
tool_build_get(const struct tool *t, json_object *args, struct tool_request *out)
{
	char *uid = evhttp_encode_uri(tool_arg_string(args, "uid"));

	strcpy(out->method, "GET");
	snprintf(out->path, sizeof(out->path), "/v1/%s/%s%s", t->entity, uid,
	    tool_arg_true(args, "include_deleted") ? "?includeDeleted=true" : "");
	free(uid);
	return 0;
}

static int
tool_build_list(const struct tool *t, json_object *args, struct tool_request *out)
{
	const char *cursor = tool_arg_string(args, "cursor");
	json_object *v;
	int limit = json_object_object_get_ex(args, "limit", &v) ? json_object_get_int(v) : 100;
	char *enc = evhttp_encode_uri(cursor != NULL ? cursor : "");

	strcpy(out->method, "GET");
	snprintf(out->path, sizeof(out->path), "/v1/%s?limit=%d%s%s%s", t->entity, limit,
	    enc[0] != '\0' ? "&cursor=" : "", enc,
	    tool_arg_true(args, "include_deleted") ? "&includeDeleted=true" : "");
	free(enc);
	return 0;
}

/* ---- results ---- */

static char *
tool_result(const char *text, json_object *structured, int is_error)
{
	json_object *r = json_object_new_object(), *content = json_object_new_array();
	json_object *block = json_object_new_object();
	char *out;

	json_object_object_add(block, "type", json_object_new_string("text"));
	json_object_object_add(block, "text", json_object_new_string(text));
	json_object_array_add(content, block);
	json_object_object_add(r, "content", content);
	if (structured != NULL)
		json_object_object_add(r, "structuredContent", json_object_get(structured));
	json_object_object_add(r, "isError", json_object_new_boolean(is_error));
	out = strdup(json_object_to_json_string_ext(r, JSON_FLAGS));
	json_object_put(r);
	return out;
}

char *
tool_result_error(const char *text)
{
	return tool_result(text, NULL, 1);
}

static char *
tool_result_api_error(const struct api_response *resp)
{
	json_object *body = json_tokener_parse(resp->body), *err;
	char text[1024];
	const char *why = resp->body;

	if (body != NULL && json_object_object_get_ex(body, "error", &err))
		why = json_object_get_string(err);
	if (resp->status == 404)
		snprintf(text, sizeof(text), "Not found (%s). Check the uid, e.g. with a list tool.", why);
	else if (resp->status >= 500 || resp->status == 429)
		snprintf(text, sizeof(text), "The service could not answer (HTTP %ld: %s). "
		    "Try again in a moment.", resp->status, why);
	else
		snprintf(text, sizeof(text), "The request was refused (HTTP %ld): %s", resp->status, why);
	json_object_put(body);
	return tool_result_error(text);
}

char *
tool_result_from_api(const struct tool *t, const struct api_response *resp)
{
	json_object *body;
	char *out, text[512];

	(void)t;
	if (resp->status == 0) {
		snprintf(text, sizeof(text), "The notes service is unavailable (%s). Try again in a moment.",
		    resp->error != NULL ? resp->error : "no answer");
		return tool_result_error(text);
	}
	if (resp->status < 200 || resp->status > 299)
		return tool_result_api_error(resp);
	if ((body = json_tokener_parse(resp->body)) == NULL)
		return tool_result_error("The service answered with something that is not JSON.");
	out = tool_result(json_object_to_json_string_ext(body, JSON_FLAGS), body, 0);
	json_object_put(body);
	return out;
}
