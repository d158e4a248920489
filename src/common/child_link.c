#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "child_link.h"
#include "conf.h"
#include "log.h"

#define HEARTBEAT_INTERVAL_SEC 1

struct child_link {
	struct event			*ev_read;	/* NULL: not started by a master */
	struct event			*ev_heartbeat;
	struct event			*ev_term, *ev_int;
	struct child_link_handlers	 handlers;
};

static int
child_args_int(const char *text, const char *name)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (*end != '\0' || n < 0 || n > 1000000) {
		fprintf(stderr, "bad value for %s: %s\n", name, text);
		exit(64);
	}
	return (int)n;
}

void
child_args_parse(int argc, char **argv, struct child_args *args)
{
	memset(args, 0, sizeof(*args));
	args->metrics_slot = -1;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "-c") == 0)
			args->config_path = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--slot") == 0)
			args->slot = child_args_int(argv[++i], "--slot");
		else if (i + 1 < argc && strcmp(argv[i], "--generation") == 0)
			args->generation = child_args_int(argv[++i], "--generation");
		else if (i + 1 < argc && strcmp(argv[i], "--metrics-slot") == 0)
			args->metrics_slot = child_args_int(argv[++i], "--metrics-slot");
		else {
			fprintf(stderr, "usage: %s [--slot N] [--generation G] [--metrics-slot M] "
			    "[-c FILE]\n"
			    "(started by trestled; not meant to be run by hand)\n", argv[0]);
			exit(64);
		}
	}
}

/*
 * Tests only: TRESTLE_TEST_CRASH_AT_START=N (a slot number, or "all") makes
 * that child die at once, as a child that cannot start would, so that the
 * restart backoff can be watched.  Never set in production.
 */
void
child_test_crash_at_start(int slot)
{
	const char *which = getenv("TRESTLE_TEST_CRASH_AT_START");

	if (which == NULL || which[0] == '\0')
		return;
	if (strcmp(which, "all") == 0 || atoi(which) == slot) {
		fprintf(stderr, "TRESTLE_TEST_CRASH_AT_START=%s: slot %d exits at start\n",
		    which, slot);
		_exit(70);
	}
}

void
child_load_conf(const struct child_args *args, struct conf *cf, const char *role,
    const char *program)
{
	struct conf_errors errs;
	enum log_level level = LOG_LEVEL_INFO;

	if (conf_load(cf, args->config_path, &errs) == -1) {
		fprintf(stderr, "%s", errs.text);
		exit(CONF_EXIT_INVALID);
	}
	log_level_parse(cf->log_level, &level);
	if (log_init(role, cf->log_file, level) == -1) {
		fprintf(stderr, "%s: cannot open log file %s\n", program, cf->log_file);
		exit(CONF_EXIT_INVALID);
	}
}

static void
child_link_on_message(evutil_socket_t fd, short what, void *arg)
{
	struct child_link *link = arg;
	struct channel_msg msg;
	int rc;

	(void)what;
	rc = channel_recv(fd, &msg);
	if (rc == 0) {
		log_warnx("master is gone; exiting");
		_exit(0);
	}
	if (rc == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_warn("channel to master");
		_exit(0);
	}
	if (msg.type == CHANNEL_MASTER_SHUTDOWN && link->handlers.shutdown != NULL)
		link->handlers.shutdown(msg.arg, link->handlers.arg);
	else if (msg.type == CHANNEL_MASTER_REOPEN_LOGS && link->handlers.reopen_logs != NULL)
		link->handlers.reopen_logs(link->handlers.arg);
}

static void
child_link_on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	channel_send(CHANNEL_CHILD_FD, CHANNEL_CHILD_HEARTBEAT, 0);
}

struct event_base *
child_event_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* SIGTERM: a graceful stop, as the master's command; SIGINT: a fast one. */
static void
child_link_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct child_link *link = arg;

	(void)what;
	link->handlers.shutdown(sig == SIGINT, link->handlers.arg);
}

struct child_link *
child_link_start(struct event_base *base, const struct child_link_handlers *handlers)
{
	struct timeval every = { HEARTBEAT_INTERVAL_SEC, 0 };
	struct child_link *link;
	int type;
	socklen_t len = sizeof(type);

	if ((link = calloc(1, sizeof(*link))) == NULL)
		fatal("child_link_start");
	link->handlers = *handlers;
	link->ev_term = evsignal_new(base, SIGTERM, child_link_on_signal, link);
	link->ev_int = evsignal_new(base, SIGINT, child_link_on_signal, link);
	evsignal_add(link->ev_term, NULL);
	evsignal_add(link->ev_int, NULL);
	if (getsockopt(CHANNEL_CHILD_FD, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return link;
	evutil_make_socket_nonblocking(CHANNEL_CHILD_FD);
	link->ev_read = event_new(base, CHANNEL_CHILD_FD, EV_READ | EV_PERSIST,
	    child_link_on_message, link);
	link->ev_heartbeat = event_new(base, -1, EV_PERSIST, child_link_on_heartbeat, link);
	event_add(link->ev_read, NULL);
	event_add(link->ev_heartbeat, &every);
	return link;
}

void
child_link_ready(struct child_link *link)
{
	if (link->ev_read != NULL)
		channel_send(CHANNEL_CHILD_FD, CHANNEL_CHILD_READY, 0);
}

void
child_link_free(struct child_link *link)
{
	if (link == NULL)
		return;
	if (link->ev_read != NULL) {
		event_free(link->ev_read);
		event_free(link->ev_heartbeat);
	}
	event_free(link->ev_term);
	event_free(link->ev_int);
	free(link);
}
