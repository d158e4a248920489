/*
 * A child's end of its channel to the master: heartbeats every second, the
 * READY message once serving, and the master's commands.  End-of-file on the
 * channel means the master is gone, and the child exits at once.
 */
#ifndef TRESTLE_CHILD_LINK_H
#define TRESTLE_CHILD_LINK_H

#include <event2/event.h>

struct child_link_handlers {
	void	(*shutdown)(int fast, void *arg);
	void	(*reopen_logs)(void *arg);
	void	*arg;
};

struct child_args {
	const char	*config_path;	/* NULL: environment only */
	int		 slot;
	int		 generation;
};

/* Parse "--slot N --generation G [-c FILE]"; exits 64 with usage on a bad option. */
void	child_args_parse(int argc, char **argv, struct child_args *);
/* NULL when the process was not started by a master (fd 3 is not a channel). */
struct child_link *child_link_start(struct event_base *, const struct child_link_handlers *);
void	child_link_ready(struct child_link *);
void	child_link_free(struct child_link *);

#endif
