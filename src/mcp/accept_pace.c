/*
 * Every worker waits on the same listening socket and all of them wake when
 * connections arrive, but libevent's listener accepts until the queue is
 * empty: the first worker to run took a whole burst (a load generator's 64
 * connections, a proxy's pool) and the others none, so one worker served
 * every kept-alive connection while the rest idled.
 *
 * So a worker takes one connection per turn of its loop: the listener is
 * switched off as a connection is accepted (libevent's accept loop stops
 * when its callback disables it) and on again by an event already active,
 * which runs before the loop waits again.  Every awake worker then takes
 * its turn at the queue.  With the epoll change list the off and on of one
 * turn cancel out: no system call is added.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/listener.h>

#include "accept_pace.h"

struct accept_pace {
	struct evhttp	*http;
	struct event	*resume;
};

static void
pace_switch(struct evhttp_bound_socket *bound, void *arg)
{
	struct evconnlistener *lev = evhttp_bound_socket_get_listener(bound);

	if (*(const int *)arg)
		evconnlistener_enable(lev);
	else
		evconnlistener_disable(lev);
}

/* Listeners closed meanwhile (a drain) are no longer bound: nothing reopens them. */
static void
pace_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct accept_pace *pace = arg;
	int on = 1;

	(void)fd;
	(void)what;
	evhttp_foreach_bound_socket(pace->http, pace_switch, &on);
}

struct accept_pace *
accept_pace_new(struct event_base *base, struct evhttp *http)
{
	struct accept_pace *pace = calloc(1, sizeof(*pace));

	if (pace == NULL)
		return NULL;
	pace->http = http;
	if ((pace->resume = event_new(base, -1, 0, pace_resume_cb, pace)) == NULL) {
		free(pace);
		return NULL;
	}
	return pace;
}

void
accept_pace_took_one(void *arg)
{
	struct accept_pace *pace = arg;
	int off = 0;

	evhttp_foreach_bound_socket(pace->http, pace_switch, &off);
	event_active(pace->resume, EV_TIMEOUT, 1);
}

void
accept_pace_free(struct accept_pace *pace)
{
	if (pace == NULL)
		return;
	event_free(pace->resume);
	free(pace);
}
