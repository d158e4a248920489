/* The schema, applied idempotently when the API child starts. */
#ifndef TRESTLE_MIGRATIONS_H
#define TRESTLE_MIGRATIONS_H

#include <event2/event.h>

struct migrations;
struct migrations_wait;

/*
 * Apply the schema without blocking the event loop, on a one-connection pool
 * of its own; until it succeeds (the database may be down) try again every
 * second.  done(arg) runs once, when the schema is in place.  NULL: bad
 * connection string (logged).
 */
struct migrations *migrations_start(struct event_base *, const char *conninfo,
		    void (*done)(void *), void *arg);
/*
 * While an attempt is under way, call cb(arg) once it has ended, either way,
 * and return a handle for migrations_wait_cancel; NULL when none is (the
 * schema is in place, or the next attempt is a second away).
 */
struct migrations_wait *migrations_wait(struct migrations *, void (*cb)(void *), void *arg);
void		 migrations_wait_cancel(void *wait);
/* Stop trying; done will not be called, nor any waiter's cb.  NULL is fine. */
void		 migrations_free(struct migrations *);

#endif
