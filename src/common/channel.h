/*
 * The channel between the master and a child: a socketpair carrying small
 * fixed-size typed messages.  The child's end is always descriptor
 * CHANNEL_CHILD_FD; a worker's inherited listener is LISTEN_CHILD_FD; the
 * shared-memory metrics region (shm_metrics.h) is SHM_CHILD_FD in every child.
 * A child whose channel reads end-of-file has lost its master and exits.
 */
#ifndef TRESTLE_CHANNEL_H
#define TRESTLE_CHANNEL_H

#include <stdint.h>

#define CHANNEL_CHILD_FD	3
#define LISTEN_CHILD_FD		4
#define SHM_CHILD_FD		5

enum channel_msg_type {
	CHANNEL_CHILD_READY = 1,	/* child → master: serving */
	CHANNEL_CHILD_HEARTBEAT,	/* child → master: alive (its event loop turns) */
	CHANNEL_MASTER_SHUTDOWN,	/* master → child: arg 0 graceful (drain), 1 fast */
	CHANNEL_MASTER_REOPEN_LOGS,	/* master → child: open the log files again by name */
};

struct channel_msg {
	uint32_t	type;
	int32_t		arg;
};

/* 0 on success, -1 on error (errno set). */
int	channel_send(int fd, enum channel_msg_type type, int arg);
/* 1 when a message was read, 0 on end-of-file, -1 on error (EAGAIN included). */
int	channel_recv(int fd, struct channel_msg *msg);

#endif
