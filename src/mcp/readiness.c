#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http_link.h"
#include "breaker.h"
#include "log.h"
#include "readiness.h"
#include "shm_metrics.h"

#define READINESS_TICK_MS	250		/* while the breaker is open */
#define READINESS_CACHE_US	1000000		/* an answer this recent is reused */
#define READINESS_FRESH_US	(3 * 1000000)	/* a "ready" older than this counts for nothing */
#define READINESS_TIMEOUT_MS	1500
#define READINESS_WHY_MAX	256

/* A GET /readyz waiting for the API child's answer. */
struct readiness_wait {
	TAILQ_ENTRY(readiness_wait)	 entry;
	struct evhttp_request		*req;
};

struct readiness {
	struct http_link	*api;
	struct breaker		*breaker;
	struct event		*ev_tick;
	struct http_link_call		*inflight;
	TAILQ_HEAD(, readiness_wait) waiting;
	int64_t			 started_us;	/* this worker began */
	int64_t			 answered_us;	/* the API child last answered; 0: never */
	int64_t			 ok_us;		/* it last said ready; 0: never */
	char			 last_error[READINESS_WHY_MAX];
};

static void	readiness_answer(const struct readiness *, struct evhttp_request *);

/* What the API child's answer says, on one short line. */
static void
readiness_note_failure(struct readiness *rd, const struct api_response *resp)
{
	char body[128];
	size_t n = resp->body_len < sizeof(body) - 1 ? resp->body_len : sizeof(body) - 1;

	if (resp->status == 0) {
		snprintf(rd->last_error, sizeof(rd->last_error), "%s", resp->error);
		return;
	}
	memcpy(body, resp->body, n);
	body[n] = '\0';
	body[strcspn(body, "\r\n")] = '\0';
	snprintf(rd->last_error, sizeof(rd->last_error), "HTTP %ld: %s", resp->status, body);
}

static void
readiness_note(struct readiness *rd, const struct api_response *resp, int64_t now)
{
	int news = rd->last_error[0] == '\0';

	if (resp->status == 200) {
		if (!news)
			log_info("worker: the API child is ready");
		rd->ok_us = now;
		rd->last_error[0] = '\0';
		return;
	}
	readiness_note_failure(rd, resp);
	/* said once a change; before its first "ready" the API child is still starting */
	if (news && rd->ok_us != 0)
		log_warnx("worker: the API child is not ready: %s", rd->last_error);
	else if (news)
		log_debug("worker: the API child is not ready yet: %s", rd->last_error);
}

static void
readiness_on_answer(const struct api_response *resp, void *arg)
{
	struct readiness *rd = arg;
	struct readiness_wait *w;
	int64_t now = metrics_now_us();

	rd->inflight = NULL;
	rd->answered_us = now;
	readiness_note(rd, resp, now);
	/* the API child is back: no need to wait out the breaker's cool-down */
	if (resp->status == 200 && breaker_state(rd->breaker) != BREAKER_CLOSED)
		breaker_record(rd->breaker, 1, now);
	while ((w = TAILQ_FIRST(&rd->waiting)) != NULL) {
		TAILQ_REMOVE(&rd->waiting, w, entry);
		readiness_answer(rd, w->req);
		free(w);
	}
}

static void
readiness_ask(struct readiness *rd)
{
	struct api_request req = { .method = "GET", .path = "/readyz",
	    .timeout_ms = READINESS_TIMEOUT_MS };

	if (rd->inflight != NULL)
		return;
	if ((rd->inflight = http_link_send(rd->api, &req, readiness_on_answer, rd)) == NULL)
		fatalx("readiness: http_link_send");
}

static void
readiness_tick(evutil_socket_t fd, short what, void *arg)
{
	struct readiness *rd = arg;

	(void)fd;
	(void)what;
	if (breaker_state(rd->breaker) != BREAKER_CLOSED)
		readiness_ask(rd);
}

struct readiness *
readiness_start(struct event_base *base, struct http_link *api, struct breaker *breaker)
{
	struct readiness *rd = calloc(1, sizeof(*rd));
	struct timeval tv = { 0, READINESS_TICK_MS * 1000 };

	if (rd == NULL)
		fatal("readiness_start");
	rd->api = api;
	rd->breaker = breaker;
	rd->started_us = metrics_now_us();
	TAILQ_INIT(&rd->waiting);
	rd->ev_tick = event_new(base, -1, EV_PERSIST, readiness_tick, rd);
	if (rd->ev_tick == NULL || event_add(rd->ev_tick, &tv) == -1)
		fatalx("readiness_start: cannot arm the timer");
	return rd;
}

void
readiness_free(struct readiness *rd)
{
	struct readiness_wait *w;

	if (rd == NULL)
		return;
	if (rd->inflight != NULL)
		http_link_cancel(rd->inflight);
	rd->inflight = NULL;
	snprintf(rd->last_error, sizeof(rd->last_error), "the worker is stopping");
	rd->ok_us = 0;
	while ((w = TAILQ_FIRST(&rd->waiting)) != NULL) {
		TAILQ_REMOVE(&rd->waiting, w, entry);
		readiness_answer(rd, w->req);
		free(w);
	}
	event_free(rd->ev_tick);
	free(rd);
}

int
readiness_check(const struct readiness *rd, int64_t now_us, char *why, size_t cap)
{
	if (breaker_state(rd->breaker) != BREAKER_CLOSED) {
		snprintf(why, cap, "the API child's circuit is open after %d failures in a row; "
		    "next probe in %d s", breaker_failures(rd->breaker),
		    breaker_retry_in(rd->breaker, now_us));
		return 0;
	}
	if (rd->ok_us != 0 && now_us - rd->ok_us <= READINESS_FRESH_US && rd->last_error[0] == '\0')
		return 1;
	if (rd->answered_us == 0)
		snprintf(why, cap, "the API child has not answered");
	else
		snprintf(why, cap, "the API child has not said it is ready for %lld s%s%s",
		    (long long)((now_us - (rd->ok_us != 0 ? rd->ok_us : rd->started_us)) / 1000000),
		    rd->last_error[0] != '\0' ? ": " : "", rd->last_error);
	return 0;
}

static void
readiness_answer(const struct readiness *rd, struct evhttp_request *req)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	char why[READINESS_WHY_MAX + 128];

	evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(headers, "Cache-Control", "no-store");
	if (readiness_check(rd, metrics_now_us(), why, sizeof(why))) {
		evbuffer_add_printf(out, "ready");
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	evhttp_add_header(headers, "Retry-After", "1");
	evbuffer_add_printf(out, "not ready: %s", why);
	evhttp_send_reply(req, 503, "Service Unavailable", NULL);
}

void
readiness_serve(struct readiness *rd, struct evhttp_request *req)
{
	struct readiness_wait *w;

	if (rd->answered_us != 0 && metrics_now_us() - rd->answered_us <= READINESS_CACHE_US) {
		readiness_answer(rd, req);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("readiness_serve");
	w->req = req;
	TAILQ_INSERT_TAIL(&rd->waiting, w, entry);
	readiness_ask(rd);
}
