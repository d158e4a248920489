/* The MCP endpoint of a worker: Streamable HTTP and JSON-RPC dispatch. */
#ifndef TRESTLE_MCP_HTTP_H
#define TRESTLE_MCP_HTTP_H

struct worker;

/* Serve on the inherited listening socket fd. */
int	mcp_http_start(struct worker *, int listen_fd);

#endif
