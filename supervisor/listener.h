/*
 * The MCP listening socket, bound once by the master and inherited by every
 * worker as LISTEN_CHILD_FD, so that no connection is refused while workers
 * come and go.
 */
#ifndef TRESTLE_LISTENER_H
#define TRESTLE_LISTENER_H

#include <stddef.h>

/*
 * Bind and listen on "host:port" or "[v6addr]:port" ("*" or an empty host:
 * every IPv4 address; port 0: any free port).  Returns a nonblocking,
 * close-on-exec descriptor and writes the address actually bound to bound
 * ("127.0.0.1:8001"), or returns -1 and writes the reason to err.
 */
int	listener_open(const char *address, char *bound, size_t boundlen, char *err, size_t errlen);

#endif
