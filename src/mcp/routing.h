/*
 * Messages between workers, for the client messages that belong to a call
 * held by another worker: the answer to a server-to-client request
 * (sampling, elicitation) and notifications/cancelled.  Each worker binds a
 * Unix datagram socket "mcp-<slot>.<generation>.sock" in runtime_dir.
 *
 * A server-to-client request id names its owner: "t.<slot>.<generation>.
 * <instance>.<n>", the instance being random per process, so an answer goes
 * straight to the owner's socket, and an answer meant for a process that
 * died matches nothing.  A cancellation names the client's request id, which
 * says nothing about the owner, so it goes to every worker's socket.  Every
 * message carries the session's tag: the owner matches it within that
 * session only, never by JSON-RPC id alone.
 */
#ifndef TRESTLE_ROUTING_H
#define TRESTLE_ROUTING_H

#include <stddef.h>

#include <event2/event.h>

#include "mcp_session.h"

#define ROUTING_ID_MAX		64
#define ROUTING_MSG_MAX		(192 * 1024)	/* fits the default socket buffers */

enum routing_kind { ROUTING_ANSWER = 1, ROUTING_CANCEL = 2 };

typedef void (*routing_deliver_fn)(enum routing_kind, const unsigned char tag[MCP_SESSION_TAG_LEN],
	    const char *json, void *arg);

struct routing;

/* Bind this worker's socket; deliver receives what other workers send.  NULL with err. */
struct routing *routing_open(struct event_base *, const char *runtime_dir, int slot, int generation,
	    routing_deliver_fn deliver, void *arg, char *err, size_t cap);
/* A new server-to-client request id owned by this process. */
void	routing_new_id(struct routing *, char out[ROUTING_ID_MAX]);
/* 1 when id was made by routing_new_id in this process. */
int	routing_id_is_local(const struct routing *, const char *id);
/* Send an answer to the worker named by id; -1 when id names no worker or it cannot be reached. */
int	routing_send_answer(struct routing *, const char *id,
	    const unsigned char tag[MCP_SESSION_TAG_LEN], const char *json);
/* Send a cancellation to every other worker. */
void	routing_broadcast_cancel(struct routing *, const unsigned char tag[MCP_SESSION_TAG_LEN],
	    const char *json);
/* The instance part of this process's ids and event ids ("<slot>.<generation>.<instance>"). */
const char *routing_instance(const struct routing *);
void	routing_free(struct routing *);

#endif
