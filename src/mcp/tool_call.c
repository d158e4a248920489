#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "backend.h"
#include "breaker.h"
#include "exchange.h"
#include "log.h"
#include "shm_metrics.h"
#include "tool_call.h"
#include "tools.h"
#include "worker.h"

/* One tools/call waiting for the API child. */
struct tool_call {
	struct mcp_request	*r;
	struct backend_call	*backend;
	const struct tool	*tool;
	json_object		*args;		/* validated */
	char			 cid[40];
	int64_t			 started_us;
};

/* The audit line of a write tool's call; answer is the API child's item, or NULL. */
static void
tool_call_audit(const struct mcp_request *r, const struct tool *tool, json_object *args,
    json_object *answer, const char *outcome, long status, const char *cid)
{
	struct audit_record a = { r->subject, tool->name, tool_subject_uid(args, answer),
	    outcome, status, cid };

	if (tool_is_write(tool))
		audit_write(&a);
}

static void
tool_call_free(struct tool_call *c)
{
	json_object_put(c->args);
	free(c);
}

static void
tool_call_on_answer(const struct api_response *resp, void *arg)
{
	struct tool_call *c = arg;
	struct mcp_request *r = c->r;
	json_object *answer;
	char *result = tool_result_from_api(c->tool, c->args, resp, &answer);

	breaker_record(r->w->breaker, resp->status != 0 && resp->status < 500, metrics_now_us());
	if (resp->status == 0 || resp->status >= 500)
		log_cid(LOG_LEVEL_WARN, c->cid, "worker: %s: API child: %s", c->tool->name,
		    resp->status == 0 ? resp->error : "server error");
	tool_call_audit(r, c->tool, c->args, answer, audit_outcome(resp->status), resp->status,
	    c->cid);
	metrics_count_tool(c->tool->name, resp->status >= 200 && resp->status <= 299 ?
	    METRICS_TOOL_OK : METRICS_TOOL_ERROR, metrics_now_us() - c->started_us);
	json_object_put(answer);
	tool_call_free(c);
	mcp_reply(r, result);
	free(result);
}

/* Cancelled, or the client went away: the API call is abandoned. */
static void
tool_call_cancel(struct mcp_request *r)
{
	struct tool_call *c = r->data;

	log_cid(LOG_LEVEL_INFO, c->cid, "worker: %s: cancelled", c->tool->name);
	tool_call_audit(r, c->tool, c->args, NULL, "cancelled", 0, c->cid);
	metrics_count_tool(c->tool->name, METRICS_TOOL_CANCELLED, metrics_now_us() - c->started_us);
	backend_call_cancel(c->backend);
	tool_call_free(c);
}

static void
tool_call_reply_error(struct mcp_request *r, const char *text)
{
	char *result = tool_result_error(text);

	mcp_reply(r, result);
	free(result);
}

/* The breaker is open: fail at once, without troubling the API child. */
static void
tool_call_refuse_unavailable(struct mcp_request *r, const struct tool *tool, json_object *valid,
    int wait)
{
	char text[256], cid[40];

	mcp_request_correlation_id(r, cid);
	log_cid(LOG_LEVEL_INFO, cid, "worker: %s: refused at once: the API child's circuit is open",
	    tool->name);
	tool_call_audit(r, tool, valid, NULL, "unavailable", 0, cid);
	metrics_count_tool(tool->name, METRICS_TOOL_ERROR, 0);
	snprintf(text, sizeof(text), "The notes service is unavailable (circuit open after %d "
	    "failures); retry in %d s. Nothing was changed.", breaker_failures(r->w->breaker), wait);
	tool_call_reply_error(r, text);
	json_object_put(valid);
}

int
tool_call_start(struct mcp_request *r, const char *name, json_object *args)
{
	const struct tool *tool = tool_find(name);
	struct tool_request treq;
	struct tool_call *c;
	json_object *valid;
	char err[1024], cid[40];
	int wait;

	if (tool == NULL)
		return -1;
	if ((valid = tool_validate(tool, args, err, sizeof(err))) == NULL) {
		mcp_request_correlation_id(r, cid);
		tool_call_audit(r, tool, json_object_is_type(args, json_type_object) ? args : NULL,
		    NULL, "invalid_arguments", 0, cid);
		metrics_count_tool(tool->name, METRICS_TOOL_ERROR, 0);
		tool_call_reply_error(r, err);
		return 0;
	}
	if ((wait = breaker_allow(r->w->breaker, metrics_now_us())) > 0) {
		tool_call_refuse_unavailable(r, tool, valid, wait);
		return 0;
	}
	tool_build_request(tool, valid, &treq);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("tool_call_start");
	c->r = r;
	c->tool = tool;
	c->args = valid;
	c->started_us = metrics_now_us();
	mcp_request_correlation_id(r, c->cid);
	r->data = c;
	r->on_cancel = tool_call_cancel;
	c->backend = backend_send(r->w->backend, &(struct backend_request){ .subject = r->subject,
	    .correlation_id = c->cid, .method = treq.method, .path = treq.path, .body = treq.body,
	    .if_match = treq.if_match }, tool_call_on_answer, c);
	free(treq.body);
	return 0;
}
