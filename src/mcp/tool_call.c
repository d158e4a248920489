#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "backend.h"
#include "codec.h"
#include "exchange.h"
#include "log.h"
#include "tool_call.h"
#include "tools.h"
#include "worker.h"

/* One tools/call waiting for the API child. */
struct tool_call {
	struct mcp_request	*r;
	struct backend_call	*backend;
	const struct tool	*tool;
	char			 cid[40];
};

static void
tool_call_on_answer(const struct api_response *resp, void *arg)
{
	struct tool_call *c = arg;
	struct mcp_request *r = c->r;
	char *result = tool_result_from_api(c->tool, resp);

	if (resp->status == 0 || resp->status >= 500)
		log_cid(LOG_LEVEL_WARN, c->cid, "worker: %s: API child: %s", c->tool->name,
		    resp->status == 0 ? resp->error : "server error");
	free(c);
	mcp_reply(r, result);
	free(result);
}

/* Cancelled, or the client went away: the API call is abandoned. */
static void
tool_call_cancel(struct mcp_request *r)
{
	struct tool_call *c = r->data;

	log_cid(LOG_LEVEL_INFO, c->cid, "worker: %s: cancelled", c->tool->name);
	backend_call_cancel(c->backend);
	free(c);
}

static void
tool_call_reply_error(struct mcp_request *r, const char *text)
{
	char *result = tool_result_error(text);

	mcp_reply(r, result);
	free(result);
}

int
tool_call_start(struct mcp_request *r, const char *name, json_object *args)
{
	const struct tool *tool = tool_find(name);
	struct tool_request treq = { .body = NULL };
	struct tool_call *c;
	json_object *valid;
	char err[512];

	if (tool == NULL)
		return -1;
	if ((valid = tool_validate(tool, args, err, sizeof(err))) == NULL) {
		tool_call_reply_error(r, err);
		return 0;
	}
	tool->build(tool, valid, &treq);
	json_object_put(valid);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("tool_call_start");
	c->r = r;
	c->tool = tool;
	uuid_generate(c->cid);
	r->data = c;
	r->on_cancel = tool_call_cancel;
	c->backend = backend_send(r->w->backend, &(struct backend_request){ .subject = r->subject,
	    .correlation_id = c->cid, .method = treq.method, .path = treq.path, .body = treq.body },
	    tool_call_on_answer, c);
	free(treq.body);
	return 0;
}
