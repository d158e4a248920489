/*
 * Stands in for systemd in the tests: binds a Unix datagram socket at PATH
 * (what NOTIFY_SOCKET names) and prints every notification it receives on
 * one line, its newlines turned into spaces, until it is killed or SECONDS
 * (default 300) pass.
 *
 *	notify_listen PATH [SECONDS]
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd = { .events = POLLIN };
	time_t end;
	char buf[4096];
	ssize_t n;

	if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notify_listen PATH [SECONDS]\n");
		return 64;
	}
	end = time(NULL) + (argc == 3 ? atoi(argv[2]) : 300);
	strcpy(sun.sun_path, argv[1]);
	unlink(argv[1]);
	if ((pfd.fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(pfd.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("notify_listen");
		return 1;
	}
	while (time(NULL) < end) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = recv(pfd.fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		for (char *p = buf; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
		printf("%s\n", buf);
		fflush(stdout);
	}
	return 0;
}
