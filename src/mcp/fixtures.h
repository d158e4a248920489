/*
 * The fixtures of the official MCP conformance suite (mcp.md §5): tools,
 * resources, prompts and completions with the exact names and shapes the
 * suite checks.  Served only when mcp_conformance_fixtures is on, which is
 * never the case in production.  test_slow is ours: a long call to test
 * cancellation with.
 */
#ifndef TRESTLE_FIXTURES_H
#define TRESTLE_FIXTURES_H

#include <stddef.h>

#include <json-c/json.h>

struct mcp_request;

/* The fixture tools' descriptions, appended to list. */
void	fixtures_add_tools(json_object *list);
/* Serve tools/call of a fixture: 0 when name is one (the fixture then owns r), -1 if not. */
int	fixtures_call_tool(struct mcp_request *, const char *name, json_object *args);

json_object *fixtures_resources(void);			/* the resources/list array */
json_object *fixtures_resource_templates(void);		/* the resources/templates/list array */
json_object *fixtures_read_resource(const char *uri);	/* a ReadResourceResult, NULL if none */
int	fixtures_has_resource(const char *uri);

json_object *fixtures_prompts(void);			/* the prompts/list array */
/* A GetPromptResult, or NULL with err saying what is wrong. */
json_object *fixtures_get_prompt(const char *name, json_object *args, char *err, size_t cap);
/* completion/complete: the values for an argument of a prompt or template. */
json_object *fixtures_complete(json_object *ref, json_object *argument);

#endif
