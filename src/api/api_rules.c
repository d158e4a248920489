/*
 * Each entity's rules (contract §3): which parent a row needs, what archiving
 * changes, and the actions of POST /{uid}/process.  Changes are JSON objects
 * merged into the payload by the mutation statement.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "api_store.h"
#include "codec.h"

struct api_action {
	const char	*table;
	const char	*action;
	const char	*change;
};

static const struct api_action api_actions[] = {
	{ "note", "pin", "{\"pinned\":true}" },
	{ "note", "unpin", "{\"pinned\":false}" },
	{ "note", "archive", "{\"status\":\"archived\"}" },
	{ "note", "unarchive", "{\"status\":\"active\"}" },
	{ "task", "start", "{\"status\":\"in_progress\"}" },
	{ "task", "complete", "{\"status\":\"completed\"}" },
	{ "task", "reopen", "{\"status\":\"open\"}" },
	{ "comment", "resolve", "{\"status\":\"resolved\"}" },
	{ "comment", "reopen", "{\"status\":\"open\"}" },
	{ "chat", "resolve", "{\"status\":\"resolved\"}" },
	{ "chat", "reopen", "{\"status\":\"active\"}" },
	{ "chat_message", "mark_read", "{\"read\":true}" },
	{ "chat_message", "mark_delivered", "{\"delivered\":true}" },
};

const char *
api_rules_action(const struct api_entity *e, const char *action)
{
	for (size_t i = 0; i < sizeof(api_actions) / sizeof(api_actions[0]); i++)
		if (strcmp(api_actions[i].table, e->table) == 0 &&
		    strcmp(api_actions[i].action, action) == 0)
			return api_actions[i].change;
	return NULL;
}

/* Notes, tasks and comments have a status; chats and messages a flag. */
const char *
api_rules_archive(const struct api_entity *e)
{
	if (strcmp(e->table, "chat") == 0 || strcmp(e->table, "chat_message") == 0)
		return "{\"archived\":true}";
	return "{\"status\":\"archived\"}";
}

/*
 * A string field: 1 when present and valid, 0 when absent (an error only when
 * required), -1 when present but invalid.
 */
static int
api_rules_field(json_object *obj, const char *key, int (*valid)(const char *), const char **value)
{
	json_object *v;

	*value = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*value = json_object_get_string(v);
	return valid(*value) ? 1 : -1;
}

static int
api_rules_parent_type(const char *s)
{
	return strcmp(s, "note") == 0 || strcmp(s, "task") == 0;
}

static int
api_rules_one(json_object *obj, const char *key, int (*valid)(const char *), int require_all,
    char *msg, size_t cap)
{
	const char *value;

	switch (api_rules_field(obj, key, valid, &value)) {
	case 0:
		if (!require_all)
			return 0;
		snprintf(msg, cap, "missing %s", key);
		return -1;
	case -1:
		if (value != NULL && valid == api_rules_parent_type)
			snprintf(msg, cap, "invalid parentType: %.64s (must be 'note' or 'task')", value);
		else
			snprintf(msg, cap, "invalid %s: must be a UUID", key);
		return -1;
	}
	return 0;
}

/*
 * The form of a comment's or message's parent fields; whether the parent is a
 * live row is checked by the statement that writes.  require_all: the object is
 * the whole payload (create, replace, push), else a patch of some keys.
 */
int
api_rules_check_parent(const struct api_entity *e, json_object *obj, int require_all,
    char *msg, size_t cap)
{
	if (strcmp(e->table, "comment") == 0)
		return api_rules_one(obj, "parentType", api_rules_parent_type, require_all, msg, cap) == -1 ||
		    api_rules_one(obj, "parentUid", uuid_is_valid, require_all, msg, cap) == -1 ? -1 : 0;
	if (strcmp(e->table, "chat_message") == 0)
		return api_rules_one(obj, "chatUid", uuid_is_valid, require_all, msg, cap);
	return 0;
}
