/* An MCP worker: state shared by its modules. */
#ifndef TRESTLE_WORKER_H
#define TRESTLE_WORKER_H

#include <event2/event.h>
#include <event2/http.h>

#include "conf.h"
#include "exchange.h"
#include "mcp_session.h"

struct worker {
	const struct conf	*cf;
	int			 slot, generation;	/* as the master numbered this process */
	struct event_base	*base;
	struct evhttp		*http;
	struct http_link	*api;
	struct backend		*backend;
	struct mcp_auth		*auth;		/* the clients' bearer tokens */
	struct breaker		*breaker;	/* calls to the API child */
	struct readiness	*readiness;	/* GET /readyz */
	struct mcp_session_key	 session_key;
	char			*tools_list;	/* the tools/list result, built once */
	/* the MCP transport (mcp_http.c and the modules it starts) */
	struct origin_policy	*origins;
	struct sse_hub		*sse;
	struct routing		*routing;
	struct revocation	*revoked;
	struct session_state	*session_state;
	struct dispatch		*dispatch;
	struct ratelimit	*ratelimit;	/* per user, shared by every worker */
	struct conn_guard	*conns;		/* connection limits */
	struct accept_pace	*pace;		/* one accept per turn of the loop */
	struct mcp_request_list	 requests;	/* every request being served here */
};

#endif
