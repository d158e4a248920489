/* An MCP worker: state shared by its modules. */
#ifndef TRESTLE_WORKER_H
#define TRESTLE_WORKER_H

#include <event2/event.h>
#include <event2/http.h>

#include "conf.h"
#include "mcp_session.h"

struct worker {
	const struct conf	*cf;
	struct event_base	*base;
	struct evhttp		*http;
	struct api_client	*api;
	struct backend		*backend;
	struct keys		*keys;
	struct mcp_session_key	 session_key;
	char			*tools_list;	/* the tools/list result, built once */
};

#endif
