/* Binding the MCP listener: address parsing, socket options, the bound name. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"

#define LISTENER_BACKLOG	1024

static int	listener_split(const char *, char *, size_t, char *, size_t);
static int	listener_bind_one(const struct addrinfo *);
static void	listener_name(int, char *, size_t);

/* Split host:port; brackets around the host make room for an IPv6 address's colons. */
static int
listener_split(const char *address, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *start = address, *end;

	if (address[0] == '[') {
		start = address + 1;
		if ((end = strchr(start, ']')) == NULL || end[1] != ':')
			return -1;
		colon = end + 1;
	} else {
		if ((colon = strrchr(address, ':')) == NULL)
			return -1;
		end = colon;
	}
	if ((size_t)(end - start) >= hostlen || strlen(colon + 1) >= portlen || colon[1] == '\0')
		return -1;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	if (strcmp(host, "*") == 0 || host[0] == '\0')
		snprintf(host, hostlen, "0.0.0.0");
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

/* One candidate address; -1 with errno set when it cannot be bound. */
static int
listener_bind_one(const struct addrinfo *ai)
{
	int fd, on = 1, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	/* A restarted master must rebind at once, past the old connections in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, LISTENER_BACKLOG) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* The address as bound, which tells the port when port 0 was asked for. */
static void
listener_name(int fd, char *bound, size_t boundlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(bound, boundlen, "?");
		return;
	}
	if (ss.ss_family == AF_INET6)
		snprintf(bound, boundlen, "[%s]:%s", host, port);
	else
		snprintf(bound, boundlen, "%s:%s", host, port);
}

int
listener_open(const char *address, char *bound, size_t boundlen, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char host[NI_MAXHOST], port[NI_MAXSERV];
	int fd = -1, rc;

	if (listener_split(address, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "bad address: expected host:port or [ipv6]:port");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		return -1;
	}
	/* A name may resolve to several addresses; the first that binds is the listener. */
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = listener_bind_one(ai);
	if (fd == -1)
		snprintf(err, errlen, "%s", strerror(errno));
	else
		listener_name(fd, bound, boundlen);
	freeaddrinfo(res);
	return fd;
}
