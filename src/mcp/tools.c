/*
 * The 41 tools: eight for each of the five entities and health_check.  The
 * table below is the only place a tool is described; tools/list, argument
 * checks, requests and the words of failures are all derived from it.
 *
 * update_* is sent as PATCH, not PUT: the reference's PUT replaces the whole
 * payload, so a field the model did not resend (a comment's parent, a
 * message's chat, a note's tags) was lost.  A shallow merge of the given
 * fields changes what the model asked for and nothing else.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "codec.h"
#include "json_check.h"
#include "jsonstr.h"
#include "log.h"
#include "tools.h"

#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define TEXT_MAX	1024

/* ---- parameters ---- */

#define P_END		{ .name = NULL }
#define P_UID(what)	{ .name = "uid", .type = TOOL_UUID, .required = 1, \
	.description = "The uid (a UUID) of the " what ", as returned by the create and list tools." }
#define P_IF_MATCH	{ .name = "if_match", .type = TOOL_INTEGER, .min = 1, .max = INT_MAX, \
	.description = "Optional optimistic lock: the version you last read. If the item has " \
	"changed since, nothing is written and the current version is reported." }
#define P_EXTRA(what)	{ .name = "additional_fields", .type = TOOL_OBJECT, \
	.description = "Any other fields to store on the " what ", as an object, e.g. " \
	"{\"priority\": \"high\"}. They are merged into the stored fields." }
#define P_TAGS		{ .name = "tags", .type = TOOL_STRING_LIST, .field = "tags", \
	.description = "Tags, e.g. [\"work\", \"idea\"]." }
#define P_TEXT(n, fld, req, desc) { .name = n, .type = TOOL_STRING, .required = req, \
	.field = fld, .description = desc }

static const struct tool_param list_params[] = {
	{ .name = "limit", .type = TOOL_INTEGER, .min = 1, .max = 1000, .default_json = "100",
	  .description = "Items per page, 1 to 1000 (default 100)." },
	{ .name = "cursor", .type = TOOL_STRING,
	  .description = "The nextCursor of the previous page, to read the next one." },
	{ .name = "include_deleted", .type = TOOL_BOOLEAN, .default_json = "false",
	  .description = "Also return deleted items, which carry deletedAt (default false)." },
	P_END
};

static const struct tool_param get_params[] = {
	P_UID("item"),
	{ .name = "include_deleted", .type = TOOL_BOOLEAN, .default_json = "false",
	  .description = "Return the item even if it was deleted (default false)." },
	P_END
};

static const struct tool_param uid_params[] = { P_UID("item"), P_END };

static const struct tool_param patch_params[] = {
	P_UID("item"),
	{ .name = "updates", .type = TOOL_OBJECT, .required = 1,
	  .description = "The fields to change and their new values, e.g. {\"title\": \"New "
	  "title\"}. Fields not named keep their values." },
	P_IF_MATCH,
	P_END
};

static const struct tool_param create_note_params[] = {
	P_TEXT("title", "title", 1, "The note's title."),
	P_TEXT("content", "content", 1, "The note's text (Markdown)."),
	P_TAGS, P_EXTRA("note"), P_END
};

static const struct tool_param update_note_params[] = {
	P_UID("note"),
	P_TEXT("title", "title", 1, "The new title."),
	P_TEXT("content", "content", 1, "The new text (Markdown)."),
	P_IF_MATCH, P_EXTRA("note"), P_END
};

static const struct tool_param create_task_params[] = {
	P_TEXT("title", "title", 1, "The task's title."),
	P_TEXT("description", "description", 0, "What the task is about."),
	P_TEXT("status", "status", 0, "Status, e.g. open, in_progress, completed."),
	P_TEXT("priority", "priority", 0, "Priority, e.g. low, medium, high."),
	P_TEXT("due_date", "dueDate", 0, "Due date, ISO 8601 (e.g. 2025-12-31T17:00:00Z)."),
	P_TAGS, P_EXTRA("task"), P_END
};

static const struct tool_param update_task_params[] = {
	P_UID("task"),
	P_TEXT("title", "title", 1, "The new title."),
	P_TEXT("description", "description", 0, "The new description."),
	P_TEXT("status", "status", 0, "The new status, e.g. open, in_progress, completed."),
	P_IF_MATCH, P_EXTRA("task"), P_END
};

static const char *const parent_types[] = { "note", "task", NULL };

static const struct tool_param create_comment_params[] = {
	P_TEXT("content", "content", 1, "The comment's text (Markdown)."),
	{ .name = "parent_type", .type = TOOL_STRING, .required = 1, .field = "parentType",
	  .choices = parent_types, .description = "What the comment is on: note or task." },
	{ .name = "parent_uid", .type = TOOL_UUID, .required = 1, .field = "parentUid",
	  .description = "The uid of the note or task the comment is on." },
	P_TEXT("author", "author", 0, "Who wrote the comment."),
	P_TAGS, P_EXTRA("comment"), P_END
};

static const struct tool_param update_comment_params[] = {
	P_UID("comment"),
	P_TEXT("content", "content", 1, "The new text (Markdown)."),
	P_IF_MATCH, P_EXTRA("comment"), P_END
};

static const struct tool_param create_chat_params[] = {
	P_TEXT("title", "title", 1, "The chat's title."),
	P_TEXT("description", "description", 0, "What the chat is about."),
	{ .name = "participants", .type = TOOL_STRING_LIST, .field = "participants",
	  .description = "Who takes part, e.g. [\"alice\", \"bob\"]." },
	{ .name = "archived", .type = TOOL_BOOLEAN, .field = "archived", .default_json = "false",
	  .description = "Create the chat already archived (default false)." },
	P_TAGS, P_EXTRA("chat"), P_END
};

static const struct tool_param update_chat_params[] = {
	P_UID("chat"),
	P_TEXT("title", "title", 1, "The new title."),
	P_TEXT("description", "description", 0, "The new description."),
	P_IF_MATCH, P_EXTRA("chat"), P_END
};

static const struct tool_param create_message_params[] = {
	{ .name = "chat_uid", .type = TOOL_UUID, .required = 1, .field = "chatUid",
	  .description = "The uid of the chat the message belongs to." },
	P_TEXT("content", "content", 1, "The message's text."),
	P_TEXT("sender", "sender", 0, "Who sent the message."),
	P_TEXT("message_type", "messageType", 0, "The kind of message, e.g. text or system."),
	P_TAGS, P_EXTRA("chat message"), P_END
};

static const struct tool_param update_message_params[] = {
	P_UID("chat message"),
	P_TEXT("content", "content", 1, "The new text."),
	P_IF_MATCH, P_EXTRA("chat message"), P_END
};

#define P_PROCESS(what, list, words) \
	P_UID(what), \
	{ .name = "action", .type = TOOL_STRING, .required = 1, .choices = list, \
	  .description = words }, \
	{ .name = "metadata", .type = TOOL_OBJECT, \
	  .description = "Optional details about the action, as an object." }, \
	P_END

static const char *const note_actions[] = { "pin", "unpin", "archive", "unarchive", NULL };
static const char *const task_actions[] = { "start", "complete", "reopen", NULL };
static const char *const comment_actions[] = { "resolve", "reopen", NULL };
static const char *const chat_actions[] = { "resolve", "reopen", NULL };
static const char *const message_actions[] = { "mark_read", "mark_delivered", NULL };

static const struct tool_param process_note_params[] = { P_PROCESS("note", note_actions,
	"pin (pinned=true), unpin (pinned=false), archive (status archived) or unarchive "
	"(status active).") };
static const struct tool_param process_task_params[] = { P_PROCESS("task", task_actions,
	"start (status in_progress), complete (status completed) or reopen (status open).") };
static const struct tool_param process_comment_params[] = { P_PROCESS("comment",
	comment_actions, "resolve (status resolved) or reopen (status open).") };
static const struct tool_param process_chat_params[] = { P_PROCESS("chat", chat_actions,
	"resolve (status resolved) or reopen (status active).") };
static const struct tool_param process_message_params[] = { P_PROCESS("chat message",
	message_actions, "mark_read (read=true) or mark_delivered (delivered=true).") };

static const struct tool_param no_params[] = { P_END };

/* ---- the table ---- */

static const struct tool_entity ent_notes = { "notes", "note", "get_note", "list_notes" };
static const struct tool_entity ent_tasks = { "tasks", "task", "get_task", "list_tasks" };
static const struct tool_entity ent_comments = { "comments", "comment", "get_comment",
	"list_comments" };
static const struct tool_entity ent_chats = { "chats", "chat", "get_chat", "list_chats" };
static const struct tool_entity ent_messages = { "chat_messages", "chat message",
	"get_chat_message", "list_chat_messages" };

#define RO	(TOOL_READ_ONLY | TOOL_IDEMPOTENT)

/*
 * The six tools every entity has alike.  E: entity, S: tool suffix, P: plural
 * suffix, N/NS: noun and plural in prose, T/TS: the same capitalized.
 */
#define COMMON_TOOLS(E, S, P, N, NS, T, TS) \
	{ "list_" P, "List " NS, \
	  "List the user's " NS ", oldest change first, one page at a time. Each item has its " \
	  "uid, version, updatedAt and payload (the stored fields). Pass the answer's " \
	  "nextCursor as cursor to read the next page; a page with no items is the end.", \
	  TOOL_LIST, &E, list_params, RO }, \
	{ "get_" S, "Get a " N, \
	  "Get one " N " by its uid, with its current version (pass it as if_match to update " \
	  "safely). A deleted " N " is reported as deleted unless include_deleted is true.", \
	  TOOL_GET, &E, get_params, RO }, \
	{ "patch_" S, "Change some fields of a " N, \
	  "Change only the named fields of a " N ": updates is an object of field names and " \
	  "new values; every other field keeps its value. Returns the " N " with its new " \
	  "version.", TOOL_PATCH, &E, patch_params, TOOL_DESTRUCTIVE }, \
	{ "delete_" S, "Delete a " N, \
	  "Delete a " N " (a soft delete: it disappears from lists, can still be read with " \
	  "include_deleted, and can no longer be changed). Returns it with deletedAt.", \
	  TOOL_DELETE, &E, uid_params, TOOL_DESTRUCTIVE | TOOL_IDEMPOTENT }, \
	{ "archive_" S, "Archive a " N, \
	  "Archive a " N ": it stays in lists and can still be changed, marked as archived. " \
	  "Returns it with its new version.", TOOL_ARCHIVE, &E, uid_params, 0 }

#define UPDATE_TOOL(E, S, N, PARAMS, FIELDS) \
	{ "update_" S, "Update a " N, \
	  "Update a " N ": sets " FIELDS " and any additional_fields; every field not given " \
	  "keeps its value. Pass if_match (the version you read) to refuse the change if the " \
	  N " changed meanwhile.", TOOL_UPDATE, &E, PARAMS, TOOL_DESTRUCTIVE }

#define PROCESS_TOOL(E, S, N, PARAMS) \
	{ "process_" S, "Apply an action to a " N, \
	  "Apply a state change to a " N " (see action for the choices). Returns the " N \
	  " with its new version.", TOOL_PROCESS, &E, PARAMS, 0 }

static const struct tool tools[] = {
	COMMON_TOOLS(ent_notes, "note", "notes", "note", "notes", "Note", "Notes"),
	{ "create_note", "Create a note",
	  "Create a note with a title and Markdown content, optionally tags and other fields. "
	  "Returns it with its new uid and version 1.",
	  TOOL_CREATE, &ent_notes, create_note_params, 0 },
	UPDATE_TOOL(ent_notes, "note", "note", update_note_params, "title and content"),
	PROCESS_TOOL(ent_notes, "note", "note", process_note_params),

	COMMON_TOOLS(ent_tasks, "task", "tasks", "task", "tasks", "Task", "Tasks"),
	{ "create_task", "Create a task",
	  "Create a task with a title and optionally a description, status, priority, due date "
	  "and tags. Returns it with its new uid and version 1.",
	  TOOL_CREATE, &ent_tasks, create_task_params, 0 },
	UPDATE_TOOL(ent_tasks, "task", "task", update_task_params,
	    "the title and, when given, description and status"),
	PROCESS_TOOL(ent_tasks, "task", "task", process_task_params),

	COMMON_TOOLS(ent_comments, "comment", "comments", "comment", "comments", "Comment",
	    "Comments"),
	{ "create_comment", "Comment on a note or task",
	  "Add a comment to a note or a task of the user (parent_type and parent_uid name it). "
	  "Returns the comment with its new uid and version 1.",
	  TOOL_CREATE, &ent_comments, create_comment_params, 0 },
	UPDATE_TOOL(ent_comments, "comment", "comment", update_comment_params,
	    "the content (the comment stays on its note or task)"),
	PROCESS_TOOL(ent_comments, "comment", "comment", process_comment_params),

	COMMON_TOOLS(ent_chats, "chat", "chats", "chat", "chats", "Chat", "Chats"),
	{ "create_chat", "Create a chat",
	  "Create a chat (a conversation that holds chat messages) with a title and optionally "
	  "a description, participants and tags. Returns it with its new uid and version 1.",
	  TOOL_CREATE, &ent_chats, create_chat_params, 0 },
	UPDATE_TOOL(ent_chats, "chat", "chat", update_chat_params,
	    "the title and, when given, the description"),
	PROCESS_TOOL(ent_chats, "chat", "chat", process_chat_params),

	COMMON_TOOLS(ent_messages, "chat_message", "chat_messages", "chat message",
	    "chat messages", "Chat message", "Chat messages"),
	{ "create_chat_message", "Add a message to a chat",
	  "Add a message to one of the user's chats (chat_uid names it). Returns the message "
	  "with its new uid and version 1.",
	  TOOL_CREATE, &ent_messages, create_message_params, 0 },
	UPDATE_TOOL(ent_messages, "chat_message", "chat message", update_message_params,
	    "the content (the message stays in its chat)"),
	PROCESS_TOOL(ent_messages, "chat_message", "chat message", process_message_params),

	{ "health_check", "Check the service",
	  "Check that the notes service and its database answer. Returns status \"healthy\".",
	  TOOL_HEALTH, NULL, no_params, RO },
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

size_t
tools_count(void)
{
	return NTOOLS;
}

int
tool_is_write(const struct tool *t)
{
	return !(t->hints & TOOL_READ_ONLY);
}

/* ---- tools/list ---- */

static const char item_schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"uid\":{\"type\":\"string\",\"description\":\"The item's uid (a UUID).\"},"
	"\"version\":{\"type\":\"integer\",\"minimum\":1,"
	"\"description\":\"Starts at 1; each change adds 1. Use it as if_match.\"},"
	"\"updatedAt\":{\"type\":\"string\",\"description\":\"Last change, RFC 3339 UTC.\"},"
	"\"deletedAt\":{\"type\":\"string\",\"description\":\"When it was deleted; absent if "
	"alive.\"},"
	"\"payload\":{\"type\":\"object\",\"description\":\"The stored fields.\"}},"
	"\"required\":[\"uid\",\"version\",\"updatedAt\",\"payload\"]}";

static const char health_schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"status\":{\"type\":\"string\",\"enum\":[\"healthy\"]},"
	"\"api\":{\"type\":\"string\",\"description\":\"The notes service's own answer.\"}},"
	"\"required\":[\"status\"]}";

static json_object *
tool_output_schema(const struct tool *t)
{
	json_object *list, *props, *items;

	if (t->kind == TOOL_HEALTH)
		return json_tokener_parse(health_schema);
	if (t->kind != TOOL_LIST)
		return json_tokener_parse(item_schema);
	list = json_object_new_object();
	props = json_object_new_object();
	items = json_object_new_object();
	json_object_object_add(items, "type", json_object_new_string("array"));
	json_object_object_add(items, "items", json_tokener_parse(item_schema));
	json_object_object_add(props, "items", items);
	json_object_object_add(props, "nextCursor", json_tokener_parse("{\"type\":\"string\","
	    "\"description\":\"Present when there is a next page: pass it as cursor.\"}"));
	json_object_object_add(list, "type", json_object_new_string("object"));
	json_object_object_add(list, "properties", props);
	json_object_object_add(list, "required", json_tokener_parse("[\"items\"]"));
	return list;
}

static json_object *
tool_param_schema(const struct tool_param *p)
{
	static const char *const type_names[] = { "string", "string", "integer", "boolean",
	    "array", "object" };
	json_object *s = json_object_new_object(), *choices;

	json_object_object_add(s, "type", json_object_new_string(type_names[p->type]));
	json_object_object_add(s, "description", json_object_new_string(p->description));
	if (p->type == TOOL_STRING_LIST)
		json_object_object_add(s, "items", json_tokener_parse("{\"type\":\"string\"}"));
	if (p->type == TOOL_INTEGER && p->max > p->min) {
		json_object_object_add(s, "minimum", json_object_new_int64(p->min));
		json_object_object_add(s, "maximum", json_object_new_int64(p->max));
	}
	if (p->choices != NULL) {
		choices = json_object_new_array();
		for (const char *const *c = p->choices; *c != NULL; c++)
			json_object_array_add(choices, json_object_new_string(*c));
		json_object_object_add(s, "enum", choices);
	}
	if (p->default_json != NULL)
		json_object_object_add(s, "default", json_tokener_parse(p->default_json));
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
	json_object_object_add(a, "readOnlyHint",
	    json_object_new_boolean(t->hints & TOOL_READ_ONLY));
	json_object_object_add(a, "destructiveHint",
	    json_object_new_boolean(t->hints & TOOL_DESTRUCTIVE));
	json_object_object_add(a, "idempotentHint",
	    json_object_new_boolean(t->hints & TOOL_IDEMPOTENT));
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
		json_object_object_add(t, "description",
		    json_object_new_string(tools[i].description));
		json_object_object_add(t, "inputSchema", tool_input_schema(&tools[i]));
		json_object_object_add(t, "outputSchema", tool_output_schema(&tools[i]));
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

/* An integer, also when sent as a string of digits; NULL when not one. */
static json_object *
tool_check_integer(const struct tool_param *p, json_object *v)
{
	json_object *n = tool_decode_if_string(v, json_type_int);
	long long x;

	if (!json_object_is_type(n, json_type_int)) {
		json_object_put(n);
		return NULL;
	}
	x = json_object_get_int64(n);
	if (p->max > p->min && (x < p->min || x > p->max)) {
		json_object_put(n);
		return NULL;
	}
	return n;
}

static json_object *
tool_check_string(const struct tool_param *p, json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (p->type == TOOL_UUID && !uuid_is_valid(s))
		return NULL;
	if (p->choices != NULL) {
		const char *const *c = p->choices;

		while (*c != NULL && strcmp(*c, s) != 0)
			c++;
		if (*c == NULL)
			return NULL;
	}
	return json_object_get(v);
}

/* The value, normalized, or NULL when its type is wrong. */
static json_object *
tool_check_param(const struct tool_param *p, json_object *v)
{
	json_object *n;

	switch (p->type) {
	case TOOL_STRING:
	case TOOL_UUID:
		return tool_check_string(p, v);
	case TOOL_INTEGER:
		return tool_check_integer(p, v);
	case TOOL_BOOLEAN:
		n = tool_decode_if_string(v, json_type_boolean);
		break;
	case TOOL_STRING_LIST:
		n = tool_decode_if_string(v, json_type_array);
		if (tool_check_list(n) == 0)
			return n;
		json_object_put(n);
		return NULL;
	case TOOL_OBJECT:
		n = tool_decode_if_string(v, json_type_object);
		break;
	default:
		return NULL;
	}
	if (json_object_is_type(n, p->type == TOOL_BOOLEAN ? json_type_boolean : json_type_object))
		return n;
	json_object_put(n);
	return NULL;
}

static void
tool_type_words(const struct tool_param *p, char *buf, size_t cap)
{
	size_t n;

	switch (p->type) {
	case TOOL_STRING:
		if (p->choices == NULL) {
			snprintf(buf, cap, "a string");
			return;
		}
		n = (size_t)snprintf(buf, cap, "one of");
		for (const char *const *c = p->choices; *c != NULL && n < cap; c++)
			n += (size_t)snprintf(buf + n, cap - n, "%s %s", c == p->choices ? "" : ",",
			    *c);
		return;
	case TOOL_UUID: snprintf(buf, cap, "a UUID, e.g. \"3f1c2a64-5b7e-4c1d-9a2b-0e6f8d4c2b1a\"");
		return;
	case TOOL_BOOLEAN: snprintf(buf, cap, "true or false"); return;
	case TOOL_STRING_LIST: snprintf(buf, cap, "a list of strings"); return;
	case TOOL_OBJECT: snprintf(buf, cap, "an object"); return;
	case TOOL_INTEGER:
		if (p->max > p->min)
			snprintf(buf, cap, "an integer from %ld to %ld", p->min, p->max);
		else
			snprintf(buf, cap, "an integer");
		return;
	}
	snprintf(buf, cap, "?");
}

static const struct tool_param *
tool_param_find(const struct tool *t, const char *name)
{
	for (const struct tool_param *p = t->params; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static void
tool_param_names(const struct tool *t, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const struct tool_param *p = t->params; p->name != NULL && n < cap; p++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n == 0 ? "" : ", ", p->name);
	if (n == 0)
		snprintf(buf, cap, "none");
}

/* -1 and err when an argument is not one of the tool's parameters. */
static int
tool_check_unknown(const struct tool *t, json_object *args, char *err, size_t cap)
{
	char names[512];

	json_object_object_foreach(args, key, val) {
		(void)val;
		if (tool_param_find(t, key) == NULL) {
			tool_param_names(t, names, sizeof(names));
			snprintf(err, cap, "unknown argument '%.64s' (%s takes: %s)", key, t->name,
			    names);
			return -1;
		}
	}
	return 0;
}

/* -1 and err when a parameter's value is missing or wrong; else added to out. */
static int
tool_check_one(const struct tool_param *p, json_object *args, json_object *out, char *err,
    size_t cap)
{
	char words[256];
	json_object *v, *n;

	if (args == NULL || !json_object_object_get_ex(args, p->name, &v) ||
	    json_object_is_type(v, json_type_null)) {
		if (!p->required)
			return 0;
		tool_type_words(p, words, sizeof(words));
		snprintf(err, cap, "missing required argument '%s' (%s)", p->name, words);
		return -1;
	}
	if ((n = tool_check_param(p, v)) == NULL) {
		tool_type_words(p, words, sizeof(words));
		snprintf(err, cap, "argument '%s' must be %s", p->name, words);
		return -1;
	}
	if (strcmp(p->name, "updates") == 0 && json_object_object_length(n) == 0) {
		json_object_put(n);
		snprintf(err, cap, "argument 'updates' must name at least one field to change");
		return -1;
	}
	json_object_object_add(out, p->name, n);
	return 0;
}

json_object *
tool_validate(const struct tool *t, json_object *args, char *err, size_t cap)
{
	json_object *out = json_object_new_object();
	char why[768];

	if (args != NULL && !json_object_is_type(args, json_type_object)) {
		snprintf(why, sizeof(why), "arguments must be an object");
		goto bad;
	}
	if (args != NULL && tool_check_unknown(t, args, why, sizeof(why)) == -1)
		goto bad;
	for (const struct tool_param *p = t->params; p->name != NULL; p++)
		if (tool_check_one(p, args, out, why, sizeof(why)) == -1)
			goto bad;
	return out;
bad:
	snprintf(err, cap, "Invalid arguments for %s: %s. Nothing was changed; call %s again "
	    "with corrected arguments.", t->name, why, t->name);
	json_object_put(out);
	return NULL;
}

/* ---- requests ---- */

static json_object *
tool_arg(json_object *args, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(args, name, &v) ? v : NULL;
}

static const char *
tool_arg_string(json_object *args, const char *name)
{
	json_object *v = tool_arg(args, name);

	return v != NULL ? json_object_get_string(v) : NULL;
}

static int
tool_arg_true(json_object *args, const char *name)
{
	json_object *v = tool_arg(args, name);

	return v != NULL && json_object_get_boolean(v);
}

static char *
tool_json_text(json_object *obj)
{
	char *text = strdup(json_object_to_json_string_ext(obj, JSON_FLAGS));

	if (text == NULL)
		fatal("tool_json_text");
	return text;
}

/* The payload fields of create and update, then additional_fields over them (as the reference). */
static char *
tool_payload(const struct tool *t, json_object *args)
{
	json_object *body = json_object_new_object(), *v, *extra;
	char *text;

	for (const struct tool_param *p = t->params; p->name != NULL; p++) {
		if (p->field == NULL)
			continue;
		if ((v = tool_arg(args, p->name)) != NULL)
			json_object_object_add(body, p->field, json_object_get(v));
		else if (p->default_json != NULL && t->kind == TOOL_CREATE)
			json_object_object_add(body, p->field, json_tokener_parse(p->default_json));
	}
	if ((extra = tool_arg(args, "additional_fields")) != NULL) {
		json_object_object_foreach(extra, key, val)
			json_object_object_add(body, key, json_object_get(val));
	}
	text = tool_json_text(body);
	json_object_put(body);
	return text;
}

static char *
tool_empty_body(void)
{
	char *text = strdup("{}");

	if (text == NULL)
		fatal("tool_empty_body");
	return text;
}

static char *
tool_process_body(json_object *args)
{
	json_object *body = json_object_new_object(), *v;
	char *text;

	json_object_object_add(body, "action", json_object_get(tool_arg(args, "action")));
	if ((v = tool_arg(args, "metadata")) != NULL)
		json_object_object_add(body, "metadata", json_object_get(v));
	text = tool_json_text(body);
	json_object_put(body);
	return text;
}

static void
tool_list_path(const struct tool *t, json_object *args, struct tool_request *out)
{
	const char *cursor = tool_arg_string(args, "cursor");
	json_object *v = tool_arg(args, "limit");
	char *enc = evhttp_encode_uri(cursor != NULL ? cursor : "");

	snprintf(out->path, sizeof(out->path), "/v1/%s?limit=%d%s%s%s", t->entity->path,
	    v != NULL ? json_object_get_int(v) : 100, enc[0] != '\0' ? "&cursor=" : "", enc,
	    tool_arg_true(args, "include_deleted") ? "&includeDeleted=true" : "");
	free(enc);
}

/* uid was checked to be a UUID: it needs no escaping. */
static void
tool_item_path(const struct tool *t, json_object *args, const char *suffix,
    struct tool_request *out)
{
	snprintf(out->path, sizeof(out->path), "/v1/%s/%s%s", t->entity->path,
	    tool_arg_string(args, "uid"), suffix);
}

void
tool_build_request(const struct tool *t, json_object *args, struct tool_request *out)
{
	json_object *v;

	memset(out, 0, sizeof(*out));
	if ((v = tool_arg(args, "if_match")) != NULL)
		snprintf(out->if_match, sizeof(out->if_match), "%lld",
		    (long long)json_object_get_int64(v));
	switch (t->kind) {
	case TOOL_LIST:
		strcpy(out->method, "GET");
		tool_list_path(t, args, out);
		break;
	case TOOL_GET:
		strcpy(out->method, "GET");
		tool_item_path(t, args, tool_arg_true(args, "include_deleted") ?
		    "?includeDeleted=true" : "", out);
		break;
	case TOOL_CREATE:
		strcpy(out->method, "POST");
		snprintf(out->path, sizeof(out->path), "/v1/%s", t->entity->path);
		out->body = tool_payload(t, args);
		break;
	case TOOL_UPDATE:
		strcpy(out->method, "PATCH");
		tool_item_path(t, args, "", out);
		out->body = tool_payload(t, args);
		break;
	case TOOL_PATCH:
		strcpy(out->method, "PATCH");
		tool_item_path(t, args, "", out);
		out->body = tool_json_text(tool_arg(args, "updates"));
		break;
	case TOOL_DELETE:
		strcpy(out->method, "DELETE");
		tool_item_path(t, args, "", out);
		break;
	case TOOL_ARCHIVE:
		strcpy(out->method, "POST");
		tool_item_path(t, args, "/archive", out);
		out->body = tool_empty_body();
		break;
	case TOOL_PROCESS:
		strcpy(out->method, "POST");
		tool_item_path(t, args, "/process", out);
		out->body = tool_process_body(args);
		break;
	case TOOL_HEALTH:
		strcpy(out->method, "GET");
		strcpy(out->path, "/healthz");
		break;
	}
}

const char *
tool_subject_uid(json_object *args, json_object *answer)
{
	json_object *v;

	if (args != NULL && json_object_object_get_ex(args, "uid", &v))
		return json_object_get_string(v);
	if (answer != NULL && json_object_is_type(answer, json_type_object) &&
	    json_object_object_get_ex(answer, "uid", &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
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
	out = tool_json_text(r);
	json_object_put(r);
	return out;
}

char *
tool_result_error(const char *text)
{
	return tool_result(text, NULL, 1);
}

/*
 * A successful result from the JSON text of an object: as it is for
 * structuredContent, and quoted for the text block.  Same keys, same order.
 */
static char *
tool_result_json_text(const char *text)
{
	static const char head[] = "{\"content\":[{\"type\":\"text\",\"text\":",
	    middle[] = "}],\"structuredContent\":", tail[] = ",\"isError\":false}";
	size_t len = strlen(text), cap;
	struct jsonstr js;
	char *out;

	cap = sizeof(head) + jsonstr_quoted_len(text) + sizeof(middle) + len + sizeof(tail);
	if ((out = malloc(cap)) == NULL)
		fatal("tool_result_json_text");
	jsonstr_init(&js, out, cap);
	jsonstr_raw(&js, head);
	jsonstr_quote(&js, text);
	jsonstr_raw(&js, middle);
	jsonstr_raw(&js, text);
	jsonstr_raw(&js, tail);
	return out;
}

/* A successful result: structured serialized once, for both of its places. */
static char *
tool_result_structured(json_object *structured)
{
	return tool_result_json_text(json_object_to_json_string_ext(structured, JSON_FLAGS));
}

/*
 * The API child did not answer: down, too slow, or gone while it had the
 * request.  Only a call that never reached it ("unreachable": no connection)
 * certainly changed nothing.
 */
static char *
tool_result_unreachable(const struct tool *t, const struct api_response *resp)
{
	char text[TEXT_MAX];

	if (resp->error != NULL && strstr(resp->error, "timed out") != NULL)
		snprintf(text, sizeof(text), "The notes service did not answer in time. %s",
		    tool_is_write(t) ? "The change may or may not have been made: read the item "
		    "again (get or list tools) before retrying." : "Try again in a moment.");
	else if (tool_is_write(t))
		/*
		 * Even "unreachable" proves nothing for a write: the link sends an update
		 * or a delete again when its kept-alive connection ends before any answer
		 * (http_link.c), so a refused connection can follow a first attempt the
		 * API child applied.
		 */
		snprintf(text, sizeof(text), "The notes service went away while it had the "
		    "request. The change may or may not have been made: read the item again "
		    "(get or list tools) before retrying.");
	else
		snprintf(text, sizeof(text), "The notes service is unavailable right now (it is "
		    "not accepting connections). Nothing was changed. Try again in a few seconds.");
	return tool_result_error(text);
}

/* What the API child's error body says: its "error" member, or the text itself. */
static const char *
tool_api_reason(json_object *body, const struct api_response *resp)
{
	json_object *err;

	if (body != NULL && json_object_object_get_ex(body, "error", &err))
		return json_object_get_string(err);
	return resp->body_len > 0 ? resp->body : "no details";
}

static const char *
tool_noun(const struct tool *t)
{
	return t->entity != NULL ? t->entity->noun : "item";
}

static const char *
tool_get_tool(const struct tool *t)
{
	return t->entity != NULL ? t->entity->get_tool : "a get tool";
}

static const char *
tool_arg_text(json_object *args, const char *name)
{
	const char *s = tool_arg_string(args, name);

	return s != NULL ? s : "?";
}

static void
tool_text_404(const struct tool *t, json_object *args, const char *why, char *text, size_t cap)
{
	const char *uid = tool_arg_text(args, "uid");

	if (strncmp(why, "parent ", 7) == 0)
		snprintf(text, cap, "The %s was not saved: %.200s (it does not exist for this user "
		    "or was deleted). Find the right uid with list_notes, list_tasks or list_chats "
		    "and try again.", tool_noun(t), why);
	else
		snprintf(text, cap, "No %s with uid %s exists for this user. Check the uid, e.g. "
		    "with %s.", tool_noun(t), uid,
		    t->entity != NULL ? t->entity->list_tool : "a list tool");
}

static void
tool_text_410(const struct tool *t, json_object *args, json_object *body, char *text,
    size_t cap)
{
	json_object *v;
	const char *when = body != NULL && json_object_object_get_ex(body, "deletedAt", &v) ?
	    json_object_get_string(v) : "an unknown time";

	snprintf(text, cap, "The %s %s was deleted at %s%s. Read it with %s and "
	    "include_deleted=true, or create a new one.", tool_noun(t),
	    tool_arg_text(args, "uid"), when, t->kind == TOOL_GET ? "" :
	    ", so it can no longer be changed", tool_get_tool(t));
}

/* "version mismatch: expected 2, actual 5": the current version is what follows "actual ". */
static void
tool_text_412(const struct tool *t, json_object *args, const char *why, char *text, size_t cap)
{
	const char *actual = strstr(why, "actual ");
	char current[24] = "unknown";

	if (actual != NULL)
		snprintf(current, sizeof(current), "%.20s", actual + 7);
	snprintf(text, cap, "Nothing was changed: the %s %s is now at version %s, not the "
	    "version %s you passed as if_match (someone changed it since you read it). Get it "
	    "again with %s, check your change still applies, then retry with if_match=%s.",
	    tool_noun(t), tool_arg_text(args, "uid"), current,
	    tool_arg_text(args, "if_match"), tool_get_tool(t), current);
}

static void
tool_text_429(const struct api_response *resp, char *text, size_t cap)
{
	const char *retry = api_response_header(resp, "Retry-After");

	snprintf(text, cap, "Too many requests: this user's rate limit was reached and nothing "
	    "was done. Wait %s second%s, then try again.", retry != NULL ? retry : "a few",
	    retry != NULL && strcmp(retry, "1") == 0 ? "" : "s");
}

static char *
tool_result_refused(const struct tool *t, json_object *args, const struct api_response *resp)
{
	json_object *body = json_tokener_parse(resp->body);
	const char *why = tool_api_reason(body, resp);
	char text[TEXT_MAX];
	char *out;

	switch (resp->status) {
	case 400:
		snprintf(text, sizeof(text), "The request was refused: %.300s. Nothing was "
		    "changed; correct the arguments and call %s again.", why, t->name);
		break;
	case 404:
		tool_text_404(t, args, why, text, sizeof(text));
		break;
	case 409:
		snprintf(text, sizeof(text), "The user's data was reset while this call ran "
		    "(the sync epoch changed). Read the items again with %s, then retry.",
		    t->entity != NULL ? t->entity->list_tool : "the list tools");
		break;
	case 410:
		tool_text_410(t, args, body, text, sizeof(text));
		break;
	case 412:
		tool_text_412(t, args, why, text, sizeof(text));
		break;
	case 429:
		tool_text_429(resp, text, sizeof(text));
		break;
	default:
		snprintf(text, sizeof(text), "The notes service could not do this (HTTP %ld: "
		    "%.300s). Try again in a moment; if it keeps failing, tell the user the "
		    "service has a problem.", resp->status, why);
	}
	json_object_put(body);
	out = tool_result_error(text);
	return out;
}

static char *
tool_result_health(const struct api_response *resp)
{
	json_object *s = json_object_new_object();
	char *out;

	json_object_object_add(s, "status", json_object_new_string("healthy"));
	json_object_object_add(s, "api", json_object_new_string_len(resp->body,
	    resp->body_len > 64 ? 64 : (int)resp->body_len));
	out = tool_result_structured(s);
	json_object_put(s);
	return out;
}

/*
 * json_tokener_parse() without a new tokener (a large allocation) for every
 * answer: a write's answer is parsed for the uid of its audit line.
 */
static json_object *
tool_parse_answer(const char *text)
{
	static struct json_tokener *tok;

	if (tok == NULL && (tok = json_tokener_new()) == NULL)
		fatal("tool_parse_answer");
	json_tokener_reset(tok);
	return json_tokener_parse_ex(tok, text, -1);
}

char *
tool_result_from_api(const struct tool *t, json_object *args, const struct api_response *resp,
    json_object **answer)
{
	*answer = NULL;
	if (resp->status == 0)
		return tool_result_unreachable(t, resp);
	if (resp->status < 200 || resp->status > 299)
		return tool_result_refused(t, args, resp);
	if (t->kind == TOOL_HEALTH)
		return tool_result_health(resp);
	/* The text is passed on as it is (tool_result_json_text): it must be standard JSON. */
	if (!json_check_object(resp->body, resp->body_len))
		return tool_result_error("The notes service answered with something that is not "
		    "a JSON object. Try again in a moment.");
	if (tool_is_write(t))
		*answer = tool_parse_answer(resp->body);
	return tool_result_json_text(resp->body);
}
