/*
 * JSON-RPC dispatch: what each message of an exchange is, and the MCP
 * methods.  Requests go to their method; notifications/cancelled and the
 * client's answers to server-to-client requests go to the request they name,
 * here or, through routing, on the worker that holds it.
 */
#ifndef TRESTLE_DISPATCH_H
#define TRESTLE_DISPATCH_H

#include <json-c/json.h>

#include "mcp_session.h"
#include "routing.h"

/* The subject of clients without a token, when the conformance fixtures are on. */
#define MCP_ANONYMOUS	" anonymous"	/* a key file's subject never has a space */

enum jsonrpc_kind { JSONRPC_INVALID, JSONRPC_REQUEST, JSONRPC_NOTIFICATION, JSONRPC_RESPONSE };

struct worker;
struct exchange;
struct dispatch;

struct dispatch	*dispatch_new(struct worker *);
void		 dispatch_free(struct dispatch *);

enum jsonrpc_kind jsonrpc_kind(json_object *msg);
int		 jsonrpc_is_initialize(json_object *msg);

/* Serve one valid message of the exchange; session is NULL only for initialize. */
void	dispatch_message(struct worker *, struct exchange *, const struct mcp_session *,
	    json_object *msg);
/* A message another worker routed here (a routing_deliver_fn; arg is the worker). */
void	dispatch_routed(enum routing_kind, const unsigned char tag[MCP_SESSION_TAG_LEN],
	    const char *json, void *arg);

#endif
