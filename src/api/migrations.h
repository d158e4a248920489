/* The schema, applied idempotently when the API child starts. */
#ifndef TRESTLE_MIGRATIONS_H
#define TRESTLE_MIGRATIONS_H

#include <event2/event.h>

struct migrations;

/*
 * Apply the schema without blocking the event loop, on a one-connection pool
 * of its own; until it succeeds (the database may be down) try again every
 * second.  done(arg) runs once, when the schema is in place.  NULL: bad
 * connection string (logged).
 */
struct migrations *migrations_start(struct event_base *, const char *conninfo,
		    void (*done)(void *), void *arg);
/* Stop trying; done will not be called.  NULL is fine. */
void		 migrations_free(struct migrations *);

#endif
