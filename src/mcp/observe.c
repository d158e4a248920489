/*
 * Access log and request metrics of a worker.  A request's start time and
 * correlation id ride in its own input headers (X-Trestle-Start, set here;
 * X-Correlation-ID, the client's when it sent a sane one), so nothing is
 * allocated per request and nothing leaks when a client goes away before its
 * answer: such a request is simply neither logged nor counted.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "codec.h"
#include "http_headers.h"
#include "jsonstr.h"
#include "log.h"
#include "observe.h"
#include "shm_metrics.h"
#include "sse.h"
#include "worker.h"

#define OBSERVE_START_HEADER	"X-Trestle-Start"
#define OBSERVE_CID_MAX		64
#define OBSERVE_GAUGE_SEC	1

static struct {
	struct worker	*w;
	struct event	*ev_gauges;
	struct event	*ev_flush;	/* writes the access lines held in this turn */
	int		 draining;
	int		 open;		/* begun, not yet complete */
	int64_t		 last_us;	/* a request began or ended */
} observe;

static void	observe_cid(struct evhttp_request *);
static void	observe_complete(struct evhttp_request *, void *);
static void	observe_log(struct evhttp_request *, const char *, int, int64_t);
static void	observe_sessions(struct evhttp_request *, int);
static void	observe_metrics(struct evhttp_request *);
static void	observe_gauges_cb(evutil_socket_t, short, void *);
static const char *observe_method(enum evhttp_cmd_type);

static const char *
observe_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:	return "GET";
	case EVHTTP_REQ_POST:	return "POST";
	case EVHTTP_REQ_DELETE:	return "DELETE";
	case EVHTTP_REQ_PUT:	return "PUT";
	case EVHTTP_REQ_PATCH:	return "PATCH";
	case EVHTTP_REQ_HEAD:	return "HEAD";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default:		return "other";
	}
}

/*
 * A new correlation id: a UUID (version 4) made once per process, its last
 * 48 bits then counted up.  Unique like a random one, without asking OpenSSL
 * for 16 random bytes on every request.
 */
static void
observe_new_cid(char out[37])
{
	static char base[37];
	static uint64_t next;
	char tail[13];

	if (base[0] == '\0') {
		uuid_generate(base);
		next = strtoull(base + 24, NULL, 16);
	}
	memcpy(out, base, 24);
	snprintf(tail, sizeof(tail), "%012" PRIx64, next++ & UINT64_C(0xffffffffffff));
	memcpy(out + 24, tail, 13);
}

/* Keep the client's correlation id when it is short and plain; else make one. */
static void
observe_cid(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *cid = http_header_get(in, OBSERVE_CID_HEADER);
	char made[37];

	if (cid != NULL && cid[0] != '\0' && strlen(cid) <= OBSERVE_CID_MAX) {
		const char *p = cid;

		while (*p != '\0' && (isalnum((unsigned char)*p) || strchr("-_.:", *p) != NULL))
			p++;
		if (*p == '\0')
			return;
	}
	evhttp_remove_header(in, OBSERVE_CID_HEADER);
	observe_new_cid(made);
	evhttp_add_header(in, OBSERVE_CID_HEADER, made);
}

int
observe_request(struct worker *w, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	char start[32];

	observe.w = w;
	observe.last_us = metrics_now_us();
	observe.open++;
	snprintf(start, sizeof(start), "%" PRId64, observe.last_us);
	evhttp_remove_header(in, OBSERVE_START_HEADER);
	evhttp_add_header(in, OBSERVE_START_HEADER, start);
	observe_cid(req);
	evhttp_request_set_on_complete_cb(req, observe_complete, NULL);
	if (observe.draining)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	if (path != NULL && strcmp(path, "/metrics") == 0 &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		observe_metrics(req);
		return 1;
	}
	return 0;
}

static void
observe_complete(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *start = http_header_get(in, OBSERVE_START_HEADER);
	const char *method = observe_method(evhttp_request_get_command(req));
	int status = evhttp_request_get_response_code(req);
	int64_t now = metrics_now_us(), took;

	(void)arg;
	observe.open--;
	observe.last_us = now;
	took = start != NULL ? now - strtoll(start, NULL, 10) : 0;
	metrics_count_request(method, status, took);
	observe_sessions(req, status);
	observe_log(req, method, status, took);
}

/* initialize answered with a new session id; DELETE answered 204. */
static void
observe_sessions(struct evhttp_request *req, int status)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd == EVHTTP_REQ_POST && status == 200 &&
	    http_header_get(evhttp_request_get_input_headers(req), "Mcp-Session-Id") == NULL &&
	    http_header_get(evhttp_request_get_output_headers(req), "Mcp-Session-Id") != NULL)
		metrics_count_session(1);
	else if (cmd == EVHTTP_REQ_DELETE && status == 204)
		metrics_count_session(0);
}

static void
observe_log(struct evhttp_request *req, const char *method, int status, int64_t took_us)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *uri = evhttp_request_get_uri(req), *peer = NULL;
	char fields[2048];
	struct jsonstr js;
	ev_uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, (char **)&peer, &port);
	jsonstr_init(&js, fields, sizeof(fields));
	jsonstr_raw(&js, "\"method\":");
	jsonstr_quote(&js, method);
	jsonstr_raw(&js, ",\"path\":");
	jsonstr_quote(&js, uri != NULL ? uri : "");
	if (took_us < 0)
		took_us = 0;
	jsonstr_printf(&js, ",\"status\":%d,\"duration_ms\":%" PRId64 ".%03" PRId64 ",\"client\":",
	    status, took_us / 1000, took_us % 1000);
	jsonstr_quote(&js, peer != NULL ? peer : "");
	if (js.len >= sizeof(fields))
		return;
	log_access(http_header_get(evhttp_request_get_input_headers(req), OBSERVE_CID_HEADER),
	    fields);
}

/* Prometheus text of the sums over every process. */
static void
observe_metrics(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		fatal("observe_metrics");
	if (metrics_render(fp) == -1) {
		fclose(fp);
		free(text);
		evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
		evbuffer_add_printf(evhttp_request_get_output_buffer(req),
		    "metrics are off: no shared memory (see the master's log)\n");
		evhttp_send_reply(req, 503, "Service Unavailable", NULL);
		return;
	}
	fclose(fp);
	evhttp_add_header(out, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evbuffer_add(evhttp_request_get_output_buffer(req), text, len);
	free(text);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
observe_gauges_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->sse != NULL)
		metrics_set_streams(sse_hub_count(w->sse));
}

static void
observe_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_access_flush();
}

/*
 * A first access line is held: it is written, with those of the requests
 * answered after it, once the callbacks already due in this turn of the loop
 * have run (an active event goes to the end of the queue), before the loop
 * waits again.
 */
static void
observe_wake_flush(void *arg)
{
	(void)arg;
	event_active(observe.ev_flush, EV_TIMEOUT, 1);
}

void
observe_start(struct worker *w)
{
	struct timeval tv = { OBSERVE_GAUGE_SEC, 0 };

	observe.w = w;
	observe.last_us = metrics_now_us();
	observe.ev_gauges = event_new(w->base, -1, EV_PERSIST, observe_gauges_cb, w);
	if (observe.ev_gauges == NULL || event_add(observe.ev_gauges, &tv) == -1)
		fatalx("observe_start: cannot arm the timer");
	if ((observe.ev_flush = event_new(w->base, -1, 0, observe_flush_cb, NULL)) == NULL)
		fatalx("observe_start: cannot make the access log's event");
	log_access_hold(observe_wake_flush, NULL);
}

void
observe_stop(void)
{
	log_access_hold(NULL, NULL);
	if (observe.ev_flush != NULL)
		event_free(observe.ev_flush);
	observe.ev_flush = NULL;
	if (observe.ev_gauges != NULL)
		event_free(observe.ev_gauges);
	observe.ev_gauges = NULL;
	metrics_set_streams(0);
}

void
observe_drain(void)
{
	observe.draining = 1;
}

long
observe_quiet_ms(void)
{
	return (long)((metrics_now_us() - observe.last_us) / 1000);
}

int
observe_open_requests(void)
{
	return observe.open;
}
