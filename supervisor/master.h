/*
 * The master's state, shared by its modules: master.c (start, signals,
 * shutdown, the supervision tick), reload.c (generations) and control.c (the
 * control socket).
 */
#ifndef TRESTLE_MASTER_H
#define TRESTLE_MASTER_H

#include <limits.h>
#include <time.h>

#include "conf.h"

struct event_base;
struct jsonstr;

enum master_shutdown { MASTER_SERVING, MASTER_GRACEFUL, MASTER_FAST };

struct master {
	struct event_base	*base;
	struct conf		 cf;		/* the configuration in force */
	const char		*config_path;	/* NULL: environment only */
	unsigned		 generation;	/* of the workers that serve */
	unsigned		 last_generation;	/* highest started, reloads that failed too */
	int			 listen_fd;
	int			 shm_fd;	/* the metrics region; -1: none */
	enum master_shutdown	 shutdown;
	int			 exit_status;
	int			 ready_sent;	/* READY=1 went to systemd */
	time_t			 started_at;
	char			 listen_bound[128];
	char			 control_path[PATH_MAX];
};

extern struct master master;

/* An outcome for whoever asked (the control socket); message may span lines. */
typedef void (*master_reply_fn)(int ok, const char *message, void *arg);

void	master_shutdown(int fast);
/* Rotate or reopen the logs (SIGUSR1, trestlectl reopen); what was done goes to msg. */
void	master_reopen_logs(char *msg, size_t len);
/* Bring the table up to date after children exited or a generation changed. */
void	master_sweep(void);
/* {"pid":..,"state":..,"generation":..,...}: the master's part of trestlectl status. */
void	master_status_json(struct jsonstr *);

#endif
