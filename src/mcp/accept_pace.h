/*
 * Spreading new connections over the workers (accept_pace.c).
 */
#ifndef TRESTLE_ACCEPT_PACE_H
#define TRESTLE_ACCEPT_PACE_H

#include <event2/event.h>
#include <event2/http.h>

struct accept_pace;

/* For http's listeners; NULL on allocation failure. */
struct accept_pace	*accept_pace_new(struct event_base *, struct evhttp *);
/* A connection was just accepted: take no other before the loop has turned. */
void			 accept_pace_took_one(void *pace);
void			 accept_pace_free(struct accept_pace *);

#endif
