#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api_client.h"
#include "breaker.h"
#include "log.h"
#include "readiness.h"
#include "shm_metrics.h"

#define READINESS_INTERVAL_MS	1000
#define READINESS_TIMEOUT_MS	1500
#define READINESS_FRESH_US	(3 * 1000000)	/* a verdict older than this counts for nothing */
#define READINESS_WHY_MAX	256

struct readiness {
	struct api_client	*api;
	struct breaker		*breaker;
	struct event		*ev_tick;
	struct api_call		*inflight;
	int			 probing;	/* the question in flight is the breaker's probe */
	int64_t			 started_us;	/* this worker began */
	int64_t			 ok_us;		/* the API child last said ready; 0: never */
	char			 last_error[READINESS_WHY_MAX];
};

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
readiness_on_answer(const struct api_response *resp, void *arg)
{
	struct readiness *rd = arg;
	int64_t now = metrics_now_us();
	int ok = resp->status == 200;

	rd->inflight = NULL;
	if (ok) {
		if (rd->last_error[0] != '\0')
			log_info("worker: the API child is ready again");
		rd->ok_us = now;
		rd->last_error[0] = '\0';
	} else {
		if (rd->last_error[0] == '\0')
			log_warnx("worker: the API child is not ready: %s",
			    resp->status == 0 ? resp->error : "it says so");
		readiness_note_failure(rd, resp);
	}
	if (rd->probing)
		breaker_record(rd->breaker, ok || (resp->status > 0 && resp->status < 500), now);
	rd->probing = 0;
}

static void
readiness_tick(evutil_socket_t fd, short what, void *arg)
{
	struct readiness *rd = arg;
	int64_t now = metrics_now_us();
	struct api_request req = { .method = "GET", .path = "/readyz",
	    .timeout_ms = READINESS_TIMEOUT_MS };

	(void)fd;
	(void)what;
	if (rd->inflight != NULL)
		return;
	rd->probing = breaker_probe_due(rd->breaker, now) && breaker_allow(rd->breaker, now) == 0;
	if ((rd->inflight = api_client_send(rd->api, &req, readiness_on_answer, rd)) == NULL)
		fatalx("readiness: api_client_send");
}

struct readiness *
readiness_start(struct event_base *base, struct api_client *api, struct breaker *breaker)
{
	struct readiness *rd = calloc(1, sizeof(*rd));
	struct timeval tv = { 0, READINESS_INTERVAL_MS * 1000 };

	if (rd == NULL)
		fatal("readiness_start");
	rd->api = api;
	rd->breaker = breaker;
	rd->started_us = metrics_now_us();
	rd->ev_tick = event_new(base, -1, EV_PERSIST, readiness_tick, rd);
	if (rd->ev_tick == NULL || event_add(rd->ev_tick, &tv) == -1)
		fatalx("readiness_start: cannot arm the timer");
	readiness_tick(-1, 0, rd);	/* a verdict at once, not a second from now */
	return rd;
}

void
readiness_free(struct readiness *rd)
{
	if (rd == NULL)
		return;
	if (rd->inflight != NULL)
		api_call_cancel(rd->inflight);
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
	if (rd->ok_us != 0 && now_us - rd->ok_us <= READINESS_FRESH_US)
		return 1;
	if (rd->ok_us == 0 && rd->last_error[0] == '\0')
		snprintf(why, cap, "the API child has not answered yet");
	else
		snprintf(why, cap, "the API child has not said it is ready for %lld s%s%s",
		    (long long)((now_us - (rd->ok_us != 0 ? rd->ok_us : rd->started_us)) / 1000000),
		    rd->last_error[0] != '\0' ? ": " : "", rd->last_error);
	return 0;
}

void
readiness_serve(const struct readiness *rd, struct evhttp_request *req)
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
