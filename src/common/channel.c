#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"

int
channel_send(int fd, enum channel_msg_type type, int arg)
{
	struct channel_msg msg = { .type = (uint32_t)type, .arg = arg };
	ssize_t n;

	do {
		n = send(fd, &msg, sizeof(msg), MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return n == (ssize_t)sizeof(msg) ? 0 : -1;
}

int
channel_recv(int fd, struct channel_msg *msg)
{
	ssize_t n;

	do {
		n = recv(fd, msg, sizeof(*msg), 0);
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*msg))
		return -1;
	return 1;
}
