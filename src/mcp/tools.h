/*
 * The tool table: one declaration per tool drives tools/list (inputSchema,
 * annotations), argument validation and the request sent to the API child,
 * so the three can never disagree.
 */
#ifndef TRESTLE_TOOLS_H
#define TRESTLE_TOOLS_H

#include <stddef.h>

#include <json-c/json.h>

#include "api_client.h"

enum tool_param_type { TOOL_STRING, TOOL_INTEGER, TOOL_BOOLEAN, TOOL_STRING_LIST, TOOL_OBJECT };

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
	long			 min, max;	/* TOOL_INTEGER, when max > min */
};

/* What a tool sends to the API child. */
struct tool_request {
	char	 method[8];
	char	 path[512];
	char	*body;		/* malloc'd JSON text or NULL */
};

struct tool;
typedef int (*tool_build_fn)(const struct tool *, json_object *args, struct tool_request *);

struct tool {
	const char		*name;
	const char		*title;
	const char		*description;
	const char		*entity;	/* API path segment: "notes" */
	const struct tool_param	*params;	/* ends with a NULL name */
	int			 hints;
	tool_build_fn		 build;
};

const struct tool *tool_find(const char *name);
/* The tools/list result, as JSON text (malloc'd). */
char	*tools_list_build(void);
/*
 * Check args against the tool's parameters; object and list arguments sent as
 * JSON strings are decoded.  Returns the normalized arguments (a new object) or
 * NULL with err saying what is wrong in words a model can act on.
 */
json_object *tool_validate(const struct tool *, json_object *args, char *err, size_t cap);
/* The CallToolResult for the API child's answer (malloc'd JSON text). */
char	*tool_result_from_api(const struct tool *, const struct api_response *);
/* An isError CallToolResult with text. */
char	*tool_result_error(const char *text);

#endif
