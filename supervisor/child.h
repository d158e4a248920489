/*
 * The child table: one entry per slot and generation (the API child, worker
 * 1..N), kept as data so that the fork loop, the reaper, shutdown, reload and
 * the control socket's status all read the same thing.  An entry lives as
 * long as its slot in its generation; a respawn reuses it and counts a
 * restart.  During a reload two generations share the table until the old
 * one has drained.
 */
#ifndef TRESTLE_CHILD_H
#define TRESTLE_CHILD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include "backoff.h"
#include "channel.h"

struct event_base;
struct event;
struct jsonstr;

enum child_role {
	CHILD_ROLE_API,		/* trestle-api, slot 0 */
	CHILD_ROLE_WORKER,	/* trestle-mcp, slots 1..N, inherits the listener */
};

enum child_state {
	CHILD_STARTING,		/* spawned, has not said READY */
	CHILD_RUNNING,		/* said READY */
	CHILD_STOPPING,		/* asked to shut down, not yet reaped */
	CHILD_WAITING,		/* dead, its respawn timer is armed */
	CHILD_STOPPED,		/* exited as asked; not respawned */
	CHILD_FAILED,		/* given up: bad configuration or too many deaths */
};

enum child_exit {
	CHILD_EXIT_NONE,	/* has not exited yet */
	CHILD_EXIT_ASKED,	/* exited after being asked to (shutdown) */
	CHILD_EXIT_CLEAN,	/* status 0 without being asked */
	CHILD_EXIT_SIGNAL,	/* killed by a signal */
	CHILD_EXIT_CONFIG,	/* status 78: its configuration is bad, do not restart */
	CHILD_EXIT_CODE,	/* any other status (127: could not be executed) */
};

struct child {
	TAILQ_ENTRY(child)	 entry;
	enum child_role		 role;
	int			 slot;
	unsigned		 generation;
	pid_t			 pid;		/* 0 while not running */
	enum child_state	 state;
	int64_t			 started_ms;	/* monotonic time of the last spawn */
	time_t			 started_at;	/* wall clock of the last spawn, for status */
	int64_t			 heartbeat_ms;	/* monotonic time of the last READY or HEARTBEAT */
	unsigned		 restarts;	/* spawns after the first */
	int			 last_status;	/* wait(2) status of the last exit */
	enum child_exit		 last_exit;
	struct backoff		 backoff;
	int			 channel;	/* the master's end, -1 when closed */
	struct event		*ev_channel;
	struct event		*ev_respawn;
	int			 metrics_slot;	/* shm_metrics.h; kept across respawns */
	int			 been_ready;	/* said READY at least once */
	int			 retiring;	/* an old generation's: leaves the table once gone */
	int			 hung;		/* killed for want of heartbeats */
	char			 cause[192];	/* why it last exited, for status */
	time_t			 exited_at;	/* wall clock of that exit; 0: never exited */
};

/*
 * What the master hears from the table.  on_exit runs after an exit was
 * logged and before the restart policy; returning 1 means "do not restart it,
 * it is stopped" (a child of a reload that failed).
 */
struct child_hooks {
	void	(*on_ready)(struct child *);
	int	(*on_exit)(struct child *);
};

TAILQ_HEAD(child_list, child);
extern struct child_list child_table;

/*
 * Find the child programs (TRESTLE_LIBEXECDIR, else the directory of this
 * executable, else PKGLIBEXECDIR) and remember what every spawn needs.
 * config_path is passed on as -c (NULL: the children read the environment
 * only); listen_fd becomes a worker's LISTEN_CHILD_FD and shm_fd (-1: none)
 * every child's SHM_CHILD_FD.  pins are "TRESTLE_KEY=value" strings put in
 * every child's environment (settings that must not change without a
 * restart), NULL-terminated, kept by reference.  -1 when a program is
 * missing, with the reason in err.
 */
int	child_setup(struct event_base *, const char *config_path, int listen_fd, int shm_fd,
	    char *const *pins, const struct child_hooks *, char *err, size_t errlen);

/* Add a slot to the table and spawn it (a failed spawn is retried with backoff). */
struct child *child_start(enum child_role, int slot, unsigned generation);

/* Collect every exited child, log why and respawn or give up per the policy. */
void	child_reap(void);

/* Ask a child to exit: SHUTDOWN over its channel (fast: also SIGTERM); cancels a pending respawn. */
void	child_stop(struct child *, int fast);
void	child_stop_all(int fast);
void	child_kill_all(int sig);
/* Take an entry out of the table and free it (its process must be gone). */
void	child_remove(struct child *);
/* Send every live child a message (CHANNEL_MASTER_REOPEN_LOGS). */
void	child_broadcast(enum channel_msg_type, int arg);

/* Children with a live process: all, of one role, or of one role below a generation. */
int	child_alive_count(void);
int	child_alive_role(enum child_role, unsigned below_generation);

/* Kill (SIGKILL) every live child silent for longer than timeout_ms; they restart as usual. */
void	child_check_heartbeats(int64_t timeout_ms);
/* 1 when every live child sent a heartbeat within max_age_ms (for the systemd watchdog). */
int	child_heartbeats_fresh(int64_t max_age_ms);

/* The table as a JSON array of objects, for trestlectl status. */
void	child_status_json(struct jsonstr *);
int64_t	child_now_ms(void);

/*
 * 0 while the table can serve; otherwise the status the master should exit
 * with: 78 when the API child, or every worker, was refused by its
 * configuration, 1 when they failed for other reasons.
 */
int	child_give_up_status(void);

const char *child_role_name(enum child_role);
const char *child_state_name(enum child_state);

/* Close channels and free every entry (at exit, after the last child was reaped). */
void	child_table_free(void);

#endif
