#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "log.h"
#include "sse.h"

struct sse_hub {
	struct event_base	*base;
	int			 max_streams, open;
	int			 timeout_sec;
	unsigned long		 streams;	/* started so far, for event ids */
	char			 id_prefix[64];
};

struct sse {
	struct sse_hub		*hub;
	struct evhttp_request	*req;
	struct event		*ev_keepalive;
	unsigned long		 stream, events;
};

struct sse_hub *
sse_hub_new(struct event_base *base, int max_streams, int timeout_sec, const char *id_prefix)
{
	struct sse_hub *hub = calloc(1, sizeof(*hub));

	if (hub == NULL)
		fatal("sse_hub_new");
	hub->base = base;
	hub->max_streams = max_streams;
	hub->timeout_sec = timeout_sec;
	snprintf(hub->id_prefix, sizeof(hub->id_prefix), "%s", id_prefix);
	return hub;
}

void
sse_hub_free(struct sse_hub *hub)
{
	free(hub);
}

int
sse_hub_count(const struct sse_hub *hub)
{
	return hub->open;
}

/* No read timeout while streaming; the write timeout stays. */
static void
sse_set_stream_timeouts(struct sse *s)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(s->req);
	struct timeval wt = { s->hub->timeout_sec, 0 };

	if (evcon != NULL)
		bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &wt);
}

static void
sse_restore_timeouts(struct sse *s)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(s->req);

	if (evcon != NULL)
		evhttp_connection_set_timeout(evcon, s->hub->timeout_sec);
}

static void
sse_write(struct sse *s, const char *text, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		fatal("sse_write");
	evbuffer_add(out, text, len);
	evhttp_send_reply_chunk(s->req, out);
	evbuffer_free(out);
}

static void
sse_on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	static const char comment[] = ": keep-alive\n\n";

	(void)fd;
	(void)what;
	sse_write(arg, comment, sizeof(comment) - 1);
}

static void
sse_event(struct sse *s, const char *data)
{
	char head[128];
	int n;

	n = snprintf(head, sizeof(head), "event: message\nid: %s.%lu.%lu\ndata: ", s->hub->id_prefix,
	    s->stream, ++s->events);
	sse_write(s, head, (size_t)n);
	sse_write(s, data, strlen(data));
	sse_write(s, "\n\n", 2);
}

struct sse *
sse_start(struct sse_hub *hub, struct evhttp_request *req, int prime)
{
	struct timeval every = { SSE_KEEPALIVE_SEC, 0 };
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	struct sse *s;

	if (hub->open >= hub->max_streams)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("sse_start");
	s->hub = hub;
	s->req = req;
	s->stream = ++hub->streams;
	hub->open++;
	evhttp_add_header(headers, "Content-Type", "text/event-stream");
	evhttp_add_header(headers, "Cache-Control", "no-cache");
	evhttp_send_reply_start(req, 200, "OK");
	sse_set_stream_timeouts(s);
	if (prime)
		sse_event(s, "");
	s->ev_keepalive = event_new(hub->base, -1, EV_PERSIST, sse_on_keepalive, s);
	event_add(s->ev_keepalive, &every);
	return s;
}

void
sse_send(struct sse *s, const char *json)
{
	sse_event(s, json);
}

static void
sse_free(struct sse *s)
{
	s->hub->open--;
	event_free(s->ev_keepalive);
	free(s);
}

/*
 * A connection that fails while a reply is being streamed leaves its request
 * to whoever streams it (libevent detaches it rather than free it under the
 * user): free it here.  A request still attached is freed with its
 * connection.
 */
void
sse_abandon(struct sse *s)
{
	if (s == NULL)
		return;
	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_request_free(s->req);
	sse_free(s);
}

void
sse_end(struct sse *s)
{
	sse_restore_timeouts(s);
	evhttp_send_reply_end(s->req);
	sse_free(s);
}
