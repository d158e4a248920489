/*
 * The MCP endpoint of a worker: Streamable HTTP (POST, GET, DELETE on
 * mcp_path) with its transport checks, and the modules it runs on: the
 * Host/Origin policy, SSE streams, sessions ended by DELETE, the shared
 * session state and the routing of client messages between workers.
 */
#ifndef TRESTLE_MCP_HTTP_H
#define TRESTLE_MCP_HTTP_H

struct worker;

/* Serve on the inherited listening socket fd (w->slot, w->generation set). */
int	mcp_http_start(struct worker *, int listen_fd);
/* Stop serving and free what mcp_http_start made; open requests are abandoned. */
void	mcp_http_stop(struct worker *);

#endif
