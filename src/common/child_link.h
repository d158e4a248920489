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
	int		 metrics_slot;	/* shm_metrics.h; -1: none */
};

struct conf;

/* Parse "--slot N --generation G --metrics-slot M [-c FILE]"; exits 64 on a bad option. */
void	child_args_parse(int argc, char **argv, struct child_args *);
/* Load the configuration and open the log as role; exits 78 on an error, printed by program. */
void	child_load_conf(const struct child_args *, struct conf *, const char *role,
	    const char *program);
/* Tests only: exit at once when TRESTLE_TEST_CRASH_AT_START names this slot (or "all"). */
void	child_test_crash_at_start(int slot);
/*
 * The child's event loop, with epoll's change list: a call switches a socket
 * between reading and writing (the client's, the API child's, a pooled
 * database connection's), each an epoll_ctl(2) of its own; the change list
 * sends the changes of one turn of the loop as one (or none, when they cancel
 * out).  The child must hold no descriptor dup()ed from another, the case the
 * change list cannot handle.  NULL on failure.
 */
struct event_base *child_event_base(void);
/*
 * SIGTERM (graceful) and SIGINT (fast) call handlers->shutdown too, also in a
 * process not started by a master (fd 3 is not a channel: no heartbeats).
 */
struct child_link *child_link_start(struct event_base *, const struct child_link_handlers *);
void	child_link_ready(struct child_link *);
void	child_link_free(struct child_link *);

#endif
