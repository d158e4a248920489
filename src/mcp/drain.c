/*
 * Draining a worker.  Its MCP requests are known (w->requests, which also
 * forgets a request whose client went away); a response queued but not yet
 * written, or a connection accepted just before the listener closed whose
 * request has not arrived yet, are covered by waiting until no request has
 * begun or ended for DRAIN_QUIET_MS.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>
#include <event2/http.h>

#include "drain.h"
#include "exchange.h"
#include "log.h"
#include "observe.h"
#include "shm_metrics.h"
#include "worker.h"

#define DRAIN_POLL_MS		20
#define DRAIN_QUIET_MS		200	/* nothing began or ended for this long */
#define DRAIN_ORPHAN_MS		1000	/* ...or this long, if a count was left by a lost client */
#define DRAIN_MAX_LISTENERS	8

static struct {
	struct worker	*w;
	struct event	*ev_poll;
	int64_t		 deadline_polls;
	int64_t		 busy_us;	/* a request was last seen in flight */
	void		(*done)(struct worker *);
} drain;

struct drain_bound {
	struct evhttp_bound_socket	*bound[DRAIN_MAX_LISTENERS];
	int				 n;
};

static void
drain_collect(struct evhttp_bound_socket *bound, void *arg)
{
	struct drain_bound *b = arg;

	if (b->n < DRAIN_MAX_LISTENERS)
		b->bound[b->n++] = bound;
}

/* Closes this process's descriptor of the listener; nobody else's. */
static void
drain_stop_accepting(struct worker *w)
{
	struct drain_bound b = { .n = 0 };

	if (w->http == NULL)
		return;
	evhttp_foreach_bound_socket(w->http, drain_collect, &b);
	for (int i = 0; i < b.n; i++)
		evhttp_del_accept_socket(w->http, b.bound[i]);
}

/*
 * A reply queued but not yet written still counts as open; it is an orphan
 * (its client gone) only when nothing has happened for DRAIN_ORPHAN_MS since
 * its request was last seen in flight, not since that request began.
 */
static int
drain_idle(struct worker *w)
{
	long quiet = observe_quiet_ms();
	long since_busy;

	if (!TAILQ_EMPTY(&w->requests)) {
		drain.busy_us = metrics_now_us();
		return 0;
	}
	since_busy = (long)((metrics_now_us() - drain.busy_us) / 1000);
	if (since_busy < quiet)
		quiet = since_busy;
	if (quiet < DRAIN_QUIET_MS)
		return 0;
	return observe_open_requests() <= 0 || quiet >= DRAIN_ORPHAN_MS;
}

static void
drain_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (drain_idle(drain.w))
		log_info("worker: drained; exiting");
	else if (--drain.deadline_polls <= 0)
		log_warnx("worker: shutdown_timeout_sec reached with requests in flight; exiting");
	else
		return;
	event_del(drain.ev_poll);
	drain.done(drain.w);
}

void
drain_start(struct worker *w, int timeout_sec, void (*done)(struct worker *))
{
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };

	if (drain.ev_poll != NULL)
		return;		/* already draining */
	drain.w = w;
	drain.done = done;
	drain.deadline_polls = (int64_t)timeout_sec * 1000 / DRAIN_POLL_MS;
	drain.busy_us = metrics_now_us();
	drain_stop_accepting(w);
	observe_drain();
	log_info("worker: draining: no longer accepting; finishing the requests in flight");
	drain.ev_poll = event_new(w->base, -1, EV_PERSIST, drain_poll_cb, NULL);
	if (drain.ev_poll == NULL || event_add(drain.ev_poll, &tv) == -1)
		fatalx("drain_start: cannot arm the timer");
}

void
drain_free(void)
{
	if (drain.ev_poll != NULL)
		event_free(drain.ev_poll);
	drain.ev_poll = NULL;
}
