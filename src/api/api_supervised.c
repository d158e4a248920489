/*
 * The API child's start of service, its drain and its pool figures for
 * /metrics.  The drain does not count requests; what tells that the child is
 * idle is its pool: every request that got past its guards holds or waits
 * for a connection.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "api.h"
#include "api_supervised.h"
#include "child_link.h"
#include "db_pool.h"
#include "log.h"
#include "shm_metrics.h"

#define API_DRAIN_POLL_MS	20
#define API_DRAIN_IDLE_POLLS	10	/* 200 ms with an idle pool */
#define API_DRAIN_MAX_LISTENERS	8
#define API_METRICS_SEC		1
#define API_SERVE_POLL_MS	20

static struct {
	struct api_ctx	*ctx;
	struct event	*ev_poll;
	struct event	*ev_metrics;
	struct event	*ev_serve;
	struct child_link *link;
	long		 polls_left;
	int		 idle_polls;
	void		(*done)(struct api_ctx *);
} api_drain;

/* 1 when an API child (the one a reload replaces) answers on api.sock. */
static int
api_socket_live(const struct api_ctx *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, live;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/api.sock",
	    ctx->cf->runtime_dir) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

static void
api_serve_now(struct api_ctx *ctx)
{
	api_http_start(ctx);
	child_link_ready(api_drain.link);
}

static void
api_serve_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_ctx *ctx = arg;

	(void)fd;
	(void)what;
	if (!ctx->schema_ready)
		return;
	event_del(api_drain.ev_serve);
	log_info("api: schema checked; taking over api.sock from the previous API child");
	api_serve_now(ctx);
}

void
api_serve_start(struct api_ctx *ctx, struct child_link *link)
{
	struct timeval tv = { 0, API_SERVE_POLL_MS * 1000 };

	api_drain.link = link;
	if (ctx->proxy != NULL || ctx->schema_ready || !api_socket_live(ctx)) {
		api_serve_now(ctx);
		return;
	}
	log_info("api: another API child serves api.sock; waiting for the schema check first");
	api_drain.ev_serve = event_new(ctx->base, -1, EV_PERSIST, api_serve_poll_cb, ctx);
	if (api_drain.ev_serve == NULL || event_add(api_drain.ev_serve, &tv) == -1)
		fatalx("api_serve_start: cannot arm the timer");
}

struct api_bound {
	struct evhttp_bound_socket	*bound[API_DRAIN_MAX_LISTENERS];
	int				 n;
};

static void
api_drain_collect(struct evhttp_bound_socket *bound, void *arg)
{
	struct api_bound *b = arg;

	if (b->n < API_DRAIN_MAX_LISTENERS)
		b->bound[b->n++] = bound;
}

static void
api_drain_stop_accepting(struct evhttp *http)
{
	struct api_bound b = { .n = 0 };

	if (http == NULL)
		return;
	evhttp_foreach_bound_socket(http, api_drain_collect, &b);
	for (int i = 0; i < b.n; i++)
		evhttp_del_accept_socket(http, b.bound[i]);
}

static int
api_drain_pool_idle(const struct api_ctx *ctx)
{
	struct db_pool_stats st;

	if (ctx->pool == NULL)
		return 1;
	db_pool_stats(ctx->pool, &st);
	return st.busy == 0 && st.queued == 0;
}

static void
api_drain_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	api_drain.idle_polls = api_drain_pool_idle(api_drain.ctx) ? api_drain.idle_polls + 1 : 0;
	if (api_drain.idle_polls >= API_DRAIN_IDLE_POLLS)
		log_info("api: drained; exiting");
	else if (--api_drain.polls_left <= 0)
		log_warnx("api: shutdown_timeout_sec reached with queries in flight; exiting");
	else
		return;
	event_del(api_drain.ev_poll);
	api_drain.done(api_drain.ctx);
}

void
api_drain_start(struct api_ctx *ctx, int timeout_sec, void (*done)(struct api_ctx *))
{
	struct timeval tv = { 0, API_DRAIN_POLL_MS * 1000 };

	if (api_drain.ev_poll != NULL)
		return;
	api_drain.ctx = ctx;
	api_drain.done = done;
	api_drain.polls_left = (long)timeout_sec * 1000 / API_DRAIN_POLL_MS;
	api_drain_stop_accepting(ctx->http);
	api_drain_stop_accepting(ctx->http_tcp);
	log_info("api: draining: no longer accepting; finishing the requests in flight");
	api_drain.ev_poll = event_new(ctx->base, -1, EV_PERSIST, api_drain_poll_cb, NULL);
	if (api_drain.ev_poll == NULL || event_add(api_drain.ev_poll, &tv) == -1)
		fatalx("api_drain_start: cannot arm the timer");
}

static void
api_metrics_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_ctx *ctx = arg;
	struct db_pool_stats st;
	struct metrics_pool mp;

	(void)fd;
	(void)what;
	if (ctx->pool == NULL)
		return;
	db_pool_stats(ctx->pool, &st);
	mp = (struct metrics_pool){ .size = st.size, .open = st.open, .busy = st.busy,
	    .idle = st.idle, .queued = st.queued, .connecting = st.connecting,
	    .served = st.served, .failed = st.failed, .discarded = st.discarded,
	    .connects = st.connects, .connect_failures = st.connect_failures,
	    .retried = st.retried, .pipelined = st.pipelined };
	metrics_set_pool(&mp);
}

void
api_metrics_start(struct api_ctx *ctx)
{
	struct timeval tv = { API_METRICS_SEC, 0 };

	api_drain.ev_metrics = event_new(ctx->base, -1, EV_PERSIST, api_metrics_cb, ctx);
	if (api_drain.ev_metrics == NULL || event_add(api_drain.ev_metrics, &tv) == -1)
		fatalx("api_metrics_start: cannot arm the timer");
	api_metrics_cb(-1, 0, ctx);
}

void
api_supervised_free(void)
{
	if (api_drain.ev_poll != NULL)
		event_free(api_drain.ev_poll);
	if (api_drain.ev_metrics != NULL)
		event_free(api_drain.ev_metrics);
	if (api_drain.ev_serve != NULL)
		event_free(api_drain.ev_serve);
	api_drain.ev_poll = api_drain.ev_metrics = api_drain.ev_serve = NULL;
}
