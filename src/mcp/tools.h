/*
 * The tool table: one declaration per tool drives tools/list (description,
 * inputSchema, outputSchema, annotations), argument validation, the request
 * sent to the API child and the words of its results, so they can never
 * disagree.  The 41 tools keep the reference's names and parameters.
 */
#ifndef TRESTLE_TOOLS_H
#define TRESTLE_TOOLS_H

#include <stddef.h>

#include <json-c/json.h>

#include "api_client.h"

enum tool_param_type {
	TOOL_STRING, TOOL_UUID, TOOL_INTEGER, TOOL_BOOLEAN, TOOL_STRING_LIST, TOOL_OBJECT
};

enum tool_kind {
	TOOL_LIST, TOOL_GET, TOOL_CREATE, TOOL_UPDATE, TOOL_PATCH, TOOL_DELETE, TOOL_ARCHIVE,
	TOOL_PROCESS, TOOL_HEALTH
};

enum tool_hints {
	TOOL_READ_ONLY		= 1 << 0,
	TOOL_DESTRUCTIVE	= 1 << 1,
	TOOL_IDEMPOTENT		= 1 << 2,
};

struct tool_param {
	const char		*name;
	enum tool_param_type	 type;
	int			 required;
	const char		*description;
	const char		*field;		/* the payload key it is sent as; NULL: not payload */
	long			 min, max;	/* TOOL_INTEGER, when max > min */
	const char *const	*choices;	/* TOOL_STRING: the accepted values, NULL-terminated */
	const char		*default_json;	/* advertised; sent when absent if field is set */
};

/* One of the API child's five entities. */
struct tool_entity {
	const char	*path;		/* API path segment: "chat_messages" */
	const char	*noun;		/* in messages: "chat message" */
	const char	*get_tool;	/* "get_chat_message" */
	const char	*list_tool;	/* "list_chat_messages" */
};

struct tool {
	const char		*name;
	const char		*title;
	const char		*description;
	enum tool_kind		 kind;
	const struct tool_entity *entity;	/* NULL for health_check */
	const struct tool_param	*params;	/* ends with a NULL name */
	int			 hints;
};

/* What a tool sends to the API child. */
struct tool_request {
	char	 method[8];
	char	 path[512];
	char	*body;		/* malloc'd JSON text or NULL */
	char	 if_match[24];	/* "": no If-Match header */
};

const struct tool *tool_find(const char *name);
size_t		 tools_count(void);
/* The tools/list result, as JSON text (malloc'd): built once per configuration. */
char		*tools_list_build(void);
/*
 * Check args against the tool's parameters; object and list arguments sent as
 * JSON strings are decoded.  Returns the normalized arguments (a new object) or
 * NULL with err saying what is wrong in words a model can act on.
 */
json_object	*tool_validate(const struct tool *, json_object *args, char *err, size_t cap);
/* The request for validated args; body is malloc'd (free it). */
void		 tool_build_request(const struct tool *, json_object *args, struct tool_request *);
/* Tools that change data: each call of one is audited. */
int		 tool_is_write(const struct tool *);
/* The uid a call of the tool is about (from its args, or the item it made), or NULL. */
const char	*tool_subject_uid(json_object *args, json_object *answer);
/*
 * The CallToolResult for the API child's answer to a call with validated args
 * (malloc'd JSON text); *answer receives the parsed body of a success (or
 * NULL), for the caller to put.
 */
char		*tool_result_from_api(const struct tool *, json_object *args,
		    const struct api_response *, json_object **answer);
/* An isError CallToolResult with text (malloc'd JSON text). */
char		*tool_result_error(const char *text);

#endif
