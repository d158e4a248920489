/* tools/call of the tool table's tools: validated, then sent to the API child. */
#ifndef TRESTLE_TOOL_CALL_H
#define TRESTLE_TOOL_CALL_H

#include <json-c/json.h>

struct mcp_request;

/* 0 when name is a tool of the table (r is then answered), -1 if not. */
int	tool_call_start(struct mcp_request *, const char *name, json_object *args);

#endif
