/*
 * A worker's graceful exit (SHUTDOWN 0 from the master, at shutdown or when
 * a reload retires its generation): stop accepting on the shared listener
 * (only this process's copy is closed; the master and the other workers keep
 * theirs), let every request in flight finish, including streamed responses,
 * then call done.  GET streams have no end of their own and are closed when
 * the worker exits; their clients reconnect elsewhere.  After timeout_sec
 * done is called whatever still runs.
 */
#ifndef TRESTLE_DRAIN_H
#define TRESTLE_DRAIN_H

struct worker;

void	drain_start(struct worker *, int timeout_sec, void (*done)(struct worker *));
void	drain_free(void);

#endif
