/*
 * A datagram is one byte of kind, the 16-byte session tag, then the JSON
 * text of the client's message.  Sending never blocks: a full receiver drops
 * the message, which the caller logs; the client then sees its call time out,
 * as if the answer had been lost on the way.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "routing.h"

#define HEADER_LEN	(1 + MCP_SESSION_TAG_LEN)

struct routing {
	int			 fd;
	struct event		*ev;
	char			 dir[512];
	char			 path[1024];	/* too long for a socket: refused at bind */
	char			 instance[48];	/* "<slot>.<generation>.<random>" */
	unsigned long		 next_id;
	routing_deliver_fn	 deliver;
	void			*arg;
	char			*buf;		/* one datagram */
};

static int
routing_address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	strcpy(sun->sun_path, path);
	return 0;
}

static void
routing_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct routing *rt = arg;
	ssize_t n;

	(void)what;
	while ((n = recv(fd, rt->buf, ROUTING_MSG_MAX, 0)) >= 0) {
		if (n <= HEADER_LEN || (rt->buf[0] != ROUTING_ANSWER && rt->buf[0] != ROUTING_CANCEL))
			continue;
		rt->buf[n] = '\0';
		rt->deliver((enum routing_kind)rt->buf[0], (unsigned char *)rt->buf + 1,
		    rt->buf + HEADER_LEN, rt->arg);
	}
}

static int
routing_bind(struct routing *rt, char *err, size_t cap)
{
	struct sockaddr_un sun;
	int sndbuf = ROUTING_MSG_MAX + 1024;

	if (routing_address(rt->path, &sun) == -1) {
		snprintf(err, cap, "%s: path too long for a socket", rt->path);
		return -1;
	}
	rt->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(rt->path);	/* left by a worker of the same slot that died */
	if (rt->fd == -1 || bind(rt->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, cap, "%s: %s", rt->path, strerror(errno));
		return -1;
	}
	setsockopt(rt->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(rt->fd, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	return 0;
}

struct routing *
routing_open(struct event_base *base, const char *runtime_dir, int slot, int generation,
    routing_deliver_fn deliver, void *arg, char *err, size_t cap)
{
	struct routing *rt = calloc(1, sizeof(*rt));
	unsigned int random;

	if (rt == NULL || (rt->buf = malloc(ROUTING_MSG_MAX + 1)) == NULL)
		fatal("routing_open");
	rt->fd = -1;
	rt->deliver = deliver;
	rt->arg = arg;
	RAND_bytes((unsigned char *)&random, sizeof(random));
	snprintf(rt->instance, sizeof(rt->instance), "%d.%d.%08x", slot, generation, random);
	snprintf(rt->dir, sizeof(rt->dir), "%s", runtime_dir);
	snprintf(rt->path, sizeof(rt->path), "%s/mcp-%d.%d.sock", runtime_dir, slot, generation);
	if (routing_bind(rt, err, cap) == -1) {
		routing_free(rt);
		return NULL;
	}
	rt->ev = event_new(base, rt->fd, EV_READ | EV_PERSIST, routing_on_readable, rt);
	event_add(rt->ev, NULL);
	return rt;
}

void
routing_new_id(struct routing *rt, char out[ROUTING_ID_MAX])
{
	snprintf(out, ROUTING_ID_MAX, "t.%s.%lu", rt->instance, ++rt->next_id);
}

int
routing_id_is_local(const struct routing *rt, const char *id)
{
	size_t len = strlen(rt->instance);

	return strncmp(id, "t.", 2) == 0 && strncmp(id + 2, rt->instance, len) == 0 &&
	    id[2 + len] == '.';
}

static int
routing_send(struct routing *rt, const char *path, enum routing_kind kind,
    const unsigned char *tag, const char *json)
{
	struct sockaddr_un sun;
	size_t len = strlen(json);
	struct iovec iov[3] = {
		{ &(char){ (char)kind }, 1 },
		{ (void *)tag, MCP_SESSION_TAG_LEN },
		{ (void *)json, len },
	};
	struct msghdr msg = { .msg_name = &sun, .msg_namelen = sizeof(sun), .msg_iov = iov,
	    .msg_iovlen = 3 };

	if (len + HEADER_LEN > ROUTING_MSG_MAX || routing_address(path, &sun) == -1)
		return -1;
	return sendmsg(rt->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1 ? -1 : 0;
}

int
routing_send_answer(struct routing *rt, const char *id, const unsigned char tag[MCP_SESSION_TAG_LEN],
    const char *json)
{
	char path[sizeof(rt->path)];
	int slot, generation;

	if (sscanf(id, "t.%d.%d.", &slot, &generation) != 2)
		return -1;
	snprintf(path, sizeof(path), "%s/mcp-%d.%d.sock", rt->dir, slot, generation);
	if (routing_send(rt, path, ROUTING_ANSWER, tag, json) == -1) {
		log_warn("routing: answer %s to %s", id, path);
		return -1;
	}
	return 0;
}

void
routing_broadcast_cancel(struct routing *rt, const unsigned char tag[MCP_SESSION_TAG_LEN],
    const char *json)
{
	char path[sizeof(rt->path)];
	struct dirent *de;
	DIR *dir;

	if ((dir = opendir(rt->dir)) == NULL) {
		log_warn("routing: %s", rt->dir);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (fnmatch("mcp-*.*.sock", de->d_name, 0) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", rt->dir, de->d_name);
		if (strcmp(path, rt->path) != 0 && routing_send(rt, path, ROUTING_CANCEL, tag, json) == -1 &&
		    errno != ECONNREFUSED && errno != ENOENT)
			log_warn("routing: cancellation to %s", path);
	}
	closedir(dir);
}

const char *
routing_instance(const struct routing *rt)
{
	return rt->instance;
}

void
routing_free(struct routing *rt)
{
	if (rt == NULL)
		return;
	if (rt->ev != NULL)
		event_free(rt->ev);
	if (rt->fd != -1) {
		close(rt->fd);
		unlink(rt->path);
	}
	free(rt->buf);
	free(rt);
}
