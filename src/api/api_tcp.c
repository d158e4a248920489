/*
 * The API child's optional TCP listener (api_listen), for clients of the
 * REST API outside the machine.  SO_REUSEPORT lets the next generation's API
 * child bind while this one drains, as the master's listeners do for the
 * workers.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/util.h>

#include "api.h"
#include "log.h"

#define API_TCP_BACKLOG	1024

/* "host:port" or "[v6]:port" into its parts. */
static int
api_tcp_split(const char *host_port, char *host, size_t hostcap, const char **port)
{
	const char *colon = strrchr(host_port, ':');
	size_t len;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	len = (size_t)(colon - host_port);
	if (len >= 2 && host_port[0] == '[' && host_port[len - 1] == ']') {
		host_port++;
		len -= 2;
	}
	if (len >= hostcap)
		return -1;
	memcpy(host, host_port, len);
	host[len] = '\0';
	*port = colon + 1;
	return 0;
}

static evutil_socket_t
api_tcp_try(const struct addrinfo *ai)
{
	evutil_socket_t fd;
	int on = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	/* inherited by accepted connections: no answer's tail waits for a delayed ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, API_TCP_BACKLOG) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

evutil_socket_t
api_tcp_bind(const char *host_port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	char host[256];
	const char *port;
	evutil_socket_t fd = -1;
	int rc;

	if (api_tcp_split(host_port, host, sizeof(host), &port) == -1)
		fatalx("api: api_listen: bad value '%s': expected host:port", host_port);
	if ((rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res)) != 0)
		fatalx("api: api_listen %s: %s", host_port, gai_strerror(rc));
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = api_tcp_try(ai);
	freeaddrinfo(res);
	if (fd == -1)
		fatal("api: cannot listen on %s", host_port);
	return fd;
}
