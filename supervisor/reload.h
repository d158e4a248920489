/*
 * Reload: a new generation of workers (and of the API child when its
 * settings changed) starts on the same listener with the new configuration;
 * once every one of them said READY, the old generation drains and exits.
 * A configuration that does not parse, or a new child that dies before it is
 * ready, leaves the old generation serving untouched.
 */
#ifndef TRESTLE_RELOAD_H
#define TRESTLE_RELOAD_H

#include "master.h"

struct child;
struct jsonstr;

/*
 * Start a reload (SIGHUP: fn NULL) and call fn with its outcome.  A request
 * during a reload runs right after it, with the configuration as it then is.
 */
void	reload_request(master_reply_fn fn, void *arg);
/* Forget a waiter that went away (a closed control connection). */
void	reload_forget(void *arg);
/* End the reload in progress, if any, as failed (shutdown). */
void	reload_abort(const char *why);
int	reload_active(void);

/* The child table's hooks, for the children of the generation being started. */
void	reload_child_ready(struct child *);
int	reload_child_exited(struct child *);

/* "last_reload":{...} or null. */
void	reload_status_json(struct jsonstr *);
void	reload_free(void);

#endif
