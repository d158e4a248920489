/*
 * Idle and slow clients for the fault tests: open COUNT TCP connections to
 * HOST:PORT and hold them, then report how many the server closed and when.
 *
 *	idle_conns -p PORT [-h HOST] [-b BIND-ADDRESS] [-n COUNT]
 *	    [-m idle|partial|drip] [-w SECONDS] [-i DRIP-MS]
 *
 * idle sends nothing; partial sends the start of a request's header and then
 * nothing; drip sends the start of a header, then one more header line on
 * every connection every DRIP-MS milliseconds (default 1000), a client too
 * slow ever to finish.  -b binds the connections to a local address (e.g.
 * 127.0.0.2, so that a server's per-address limits see another client than
 * the test's others).
 *
 * Prints "opened N failed F" once every connection was tried (the test waits
 * for that line), then holds them until every one was closed by the server
 * or SECONDS (default 30) passed, and prints "closed C open O early E
 * max_age_ms M": how many the server closed (end of file, a reset, or a
 * failed send), how many are still open, how many of the closed ones it
 * closed within a second of their opening (refused, rather than timed out),
 * and the longest a connection lived before the server closed it.  Exits 0
 * when every connection was opened and closed by the server, 1 otherwise.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HEADER_START	"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
#define HEADER_MORE	"X-Slow: x\r\n"

enum mode { MODE_IDLE, MODE_PARTIAL, MODE_DRIP };

struct opts {
	const char	*host, *bind;
	int		 port, count, seconds, drip_ms;
	enum mode	 mode;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: idle_conns -p PORT [-h HOST] [-b BIND-ADDRESS] [-n COUNT] "
	    "[-m idle|partial|drip] [-w SECONDS] [-i DRIP-MS]\n");
	exit(64);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	int ch;

	while ((ch = getopt(argc, argv, "h:b:p:n:m:w:i:")) != -1) {
		switch (ch) {
		case 'h': o->host = optarg; break;
		case 'b': o->bind = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'n': o->count = atoi(optarg); break;
		case 'w': o->seconds = atoi(optarg); break;
		case 'i': o->drip_ms = atoi(optarg); break;
		case 'm':
			if (strcmp(optarg, "idle") == 0)
				o->mode = MODE_IDLE;
			else if (strcmp(optarg, "partial") == 0)
				o->mode = MODE_PARTIAL;
			else if (strcmp(optarg, "drip") == 0)
				o->mode = MODE_DRIP;
			else
				usage();
			break;
		default: usage();
		}
	}
	if (o->port <= 0 || o->count <= 0 || o->seconds <= 0 || o->drip_ms <= 0 || optind != argc)
		usage();
}

/* Room for count descriptors: the soft limit up to the hard one. */
static void
raise_nofile(int count)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)count + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
open_one(const struct opts *o, const struct sockaddr_in *to)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (o->bind != NULL && (inet_pton(AF_INET, o->bind, &from.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) == -1 ||
	    (o->mode != MODE_IDLE && send(fd, HEADER_START, strlen(HEADER_START),
	    MSG_NOSIGNAL) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what the server sent: 1 when the connection is over (end of file or an error). */
static int
drained_closed(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

/* The server closed p's connection, born at born. */
static void
gone(struct pollfd *p, long long born, int *open, int *closed, int *early, long long *max_age)
{
	long long age = now_ms() - born;

	close(p->fd);
	p->fd = -1;
	(*open)--;
	(*closed)++;
	if (age < 1000)
		(*early)++;
	if (age > *max_age)
		*max_age = age;
}

int
main(int argc, char **argv)
{
	struct opts o = { .host = "127.0.0.1", .count = 10000, .seconds = 30, .drip_ms = 1000 };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct pollfd *pfd;
	long long *born, start, deadline, next_drip, max_age = 0;
	int opened = 0, failed = 0, open, closed = 0, early = 0;

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(o.count);
	to.sin_port = htons((uint16_t)o.port);
	if (inet_pton(AF_INET, o.host, &to.sin_addr) != 1)
		usage();
	if ((pfd = calloc((size_t)o.count, sizeof(*pfd))) == NULL ||
	    (born = calloc((size_t)o.count, sizeof(*born))) == NULL)
		abort();
	for (int i = 0; i < o.count; i++) {
		if ((pfd[opened].fd = open_one(&o, &to)) == -1) {
			failed++;
			continue;
		}
		born[opened] = now_ms();
		pfd[opened++].events = POLLIN;
	}
	printf("opened %d failed %d\n", opened, failed);
	fflush(stdout);
	start = now_ms();
	deadline = start + (long long)o.seconds * 1000;
	next_drip = start + o.drip_ms;
	open = opened;
	while (open > 0 && now_ms() < deadline) {
		int wait = (int)((o.mode == MODE_DRIP ? next_drip : deadline) - now_ms());

		if (poll(pfd, (nfds_t)opened, wait < 0 ? 0 : wait) == -1 && errno != EINTR)
			break;
		for (int i = 0; i < opened; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0 || !drained_closed(pfd[i].fd))
				continue;
			gone(&pfd[i], born[i], &open, &closed, &early, &max_age);
		}
		if (o.mode != MODE_DRIP || now_ms() < next_drip)
			continue;
		next_drip += o.drip_ms;
		for (int i = 0; i < opened; i++) {
			if (pfd[i].fd < 0 || send(pfd[i].fd, HEADER_MORE, strlen(HEADER_MORE),
			    MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno == EAGAIN)
				continue;
			gone(&pfd[i], born[i], &open, &closed, &early, &max_age);
		}
	}
	printf("closed %d open %d early %d max_age_ms %lld\n", closed, open, early, max_age);
	fflush(stdout);
	for (int i = 0; i < opened; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	free(pfd);
	free(born);
	return failed == 0 && open == 0 ? 0 : 1;
}
