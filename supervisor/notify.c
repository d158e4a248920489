/*
 * The sd_notify protocol: one datagram of "KEY=value" lines to the Unix
 * socket named by NOTIFY_SOCKET (a path, or "@name" in the abstract
 * namespace).  A lost message must not stop the service, so errors are
 * logged at debug level and forgotten.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"

static struct {
	struct sockaddr_un	 addr;
	socklen_t		 addrlen;	/* 0: not under systemd */
	uint64_t		 watchdog_usec;
} notify;

static void	notify_send(const char *);

void
notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	size_t len;

	if (usec != NULL && (pid == NULL || atol(pid) == (long)getpid()))
		notify.watchdog_usec = strtoull(usec, NULL, 10);
	if (path != NULL && (path[0] == '/' || path[0] == '@') &&
	    (len = strlen(path)) < sizeof(notify.addr.sun_path)) {
		notify.addr.sun_family = AF_UNIX;
		memcpy(notify.addr.sun_path, path, len);
		if (path[0] == '@')
			notify.addr.sun_path[0] = '\0';
		notify.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	}
#ifndef HAVE_LIBSYSTEMD
	/* The children are not the service's main process; they must not notify. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
#endif
}

#ifdef HAVE_LIBSYSTEMD
static void
notify_send(const char *msg)
{
	int rc;

	if ((rc = sd_notify(0, msg)) < 0)
		log_debug("notify: sd_notify: %s", strerror(-rc));
}
#else
static void
notify_send(const char *msg)
{
	int fd;

	if (notify.addrlen == 0)
		return;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_debug("notify: socket: %s", strerror(errno));
		return;
	}
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&notify.addr,
	    notify.addrlen) == -1)
		log_debug("notify: %s: %s", msg, strerror(errno));
	close(fd);
}
#endif

/* STATUS= takes one line: the first line of text, without its newline. */
static void
notify_with_status(const char *head, const char *status)
{
	char msg[600];
	size_t n = strcspn(status, "\n");

	snprintf(msg, sizeof(msg), "%sSTATUS=%.*s", head, (int)(n < 500 ? n : 500), status);
	notify_send(msg);
}

void
notify_ready(const char *status)
{
	notify_with_status("READY=1\n", status);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_reloaded(const char *status)
{
	notify_with_status("READY=1\n", status);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}

void
notify_watchdog(void)
{
	notify_send("WATCHDOG=1");
}

uint64_t
notify_watchdog_usec(void)
{
	return notify.watchdog_usec;
}
