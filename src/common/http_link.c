/*
 * Why this hop does not use libcurl: a get_note is one small request and one
 * small answer on a local socket, and curl's general machinery (its state
 * machine, a poll(2) of every transfer, header parsing) took a third of a
 * worker's time for it.  The peer is always trestle-api, an evhttp server,
 * so this client reads only what that server writes: a status line, header
 * lines and a Content-Length body, or a body to the end of the connection
 * when there is no length ("Transfer-Encoding: chunked" fails the call).
 *
 * Calls wait in a queue until a connection is free: an idle one (the most
 * recently used first), or a new one while fewer than
 * HTTP_LINK_MAX_CONNECTIONS are open.  A burst must not open more than the
 * API child's listen backlog holds: connect(2) on a Unix socket whose
 * backlog is full fails at once with EAGAIN.  A Unix connect never waits, so
 * it is done in place and its errno says exactly what is wrong.
 *
 * Resending.  A kept-alive connection may be closed by the API child (idle
 * timeout, reload, crash) just as a call is written to it.  Linux tells the
 * cases apart: a Unix socket closed with unread data in it resets its peer
 * (ECONNRESET), and a write to one already closed fails (EPIPE), so the API
 * child never read the request and it is resent once on a new connection,
 * whatever its method.  A plain end of file means it may have read it: only
 * idempotent methods are resent then, so a create is never applied twice.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "http_link.h"

#define LINK_PEER		"API child"
#define LINK_MAX_HEADERS	(256 * 1024)
#define LINK_SPARE_MAX		64		/* finished calls kept for reuse */
#define LINK_SPARE_BUF_MAX	(64 * 1024)	/* larger buffers are not kept */

enum read_state {
	READ_STATUS,
	READ_HEADERS,
	READ_BODY,		/* body_left bytes */
	READ_TO_EOF,		/* no Content-Length: the body ends with the connection */
	READ_DONE,
};

struct link_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

struct link_conn {
	TAILQ_ENTRY(link_conn)	 all;
	TAILQ_ENTRY(link_conn)	 idle;		/* while no call is on it */
	struct http_link	*link;
	struct bufferevent	*bev;
	struct http_link_call	*call;
	int			 is_idle;
	unsigned		 served;	/* calls answered on it */
};

struct http_link_call {
	TAILQ_ENTRY(http_link_call) entry;	/* link's waiting list, or the spare list */
	struct http_link	*link;
	struct link_conn	*conn;		/* NULL while waiting */
	int			 waiting;
	int			 done_running;	/* its callback is running */
	struct event		*deadline;
	api_done_fn		 done;
	void			*arg;
	int			 timeout_ms;
	int			 idempotent;
	int			 head;		/* a HEAD: the answer has no body */
	int			 resent;
	struct link_buf		 request;	/* the whole request, kept for one resend */
	/* The answer. */
	enum read_state		 state;
	long			 status;
	int			 keep_alive;
	int			 have_length;
	size_t			 body_left;
	int			 got_bytes;
	struct link_buf		 headers;	/* NUL-terminated "Name: value" lines */
	struct link_buf		 body;
	const char		*invalid;	/* why the request cannot be sent */
	char			 error[256];
};

TAILQ_HEAD(link_call_list, http_link_call);

struct http_link {
	struct event_base	*base;
	struct sockaddr_un	 addr;
	int			 timeout_ms;
	int			 nconns;
	struct event		*kick;		/* starts waiting calls, from the loop */
	TAILQ_HEAD(, link_conn)	 conns;
	TAILQ_HEAD(, link_conn)	 idle;
	struct link_call_list	 waiting;
	struct link_call_list	 spare;
	int			 nspare;
	struct http_link_call	*in_callback;
	int			 freed;		/* freed from inside in_callback's callback */
};

static void	link_kick_cb(evutil_socket_t, short, void *);
static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	call_deadline_cb(evutil_socket_t, short, void *);
static int	call_finish(struct http_link_call *);

/*
 * Buffers
 */

static int
buf_reserve(struct link_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int
buf_add(struct link_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) == -1)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static int
buf_adds(struct link_buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* Emptied for the next use; a large one is given back. */
static void
buf_reset(struct link_buf *b)
{
	b->len = 0;
	if (b->cap > LINK_SPARE_BUF_MAX) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

static void
buf_free(struct link_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * The link
 */

struct http_link *
http_link_new(struct event_base *base, const char *unix_socket_path, int timeout_ms)
{
	struct http_link *link;

	if (strlen(unix_socket_path) >= sizeof(link->addr.sun_path) ||
	    (link = calloc(1, sizeof(*link))) == NULL)
		return NULL;
	link->base = base;
	link->addr.sun_family = AF_UNIX;
	memcpy(link->addr.sun_path, unix_socket_path, strlen(unix_socket_path) + 1);
	link->timeout_ms = timeout_ms;
	TAILQ_INIT(&link->conns);
	TAILQ_INIT(&link->idle);
	TAILQ_INIT(&link->waiting);
	TAILQ_INIT(&link->spare);
	if ((link->kick = event_new(base, -1, 0, link_kick_cb, link)) == NULL) {
		free(link);
		return NULL;
	}
	return link;
}

static void
call_destroy(struct http_link_call *call)
{
	if (call->deadline != NULL)
		event_free(call->deadline);
	buf_free(&call->request);
	buf_free(&call->headers);
	buf_free(&call->body);
	free(call);
}

static void conn_drop(struct link_conn *);

void
http_link_free(struct http_link *link)
{
	struct http_link_call *call;

	if (link == NULL)
		return;
	event_free(link->kick);
	link->kick = NULL;	/* nothing is started any more */
	while (!TAILQ_EMPTY(&link->conns)) {
		struct link_conn *conn = TAILQ_FIRST(&link->conns);

		if ((call = conn->call) != NULL) {
			conn->call = NULL;
			call_destroy(call);
		}
		conn_drop(conn);
	}
	while ((call = TAILQ_FIRST(&link->waiting)) != NULL) {
		TAILQ_REMOVE(&link->waiting, call, entry);
		call_destroy(call);
	}
	while ((call = TAILQ_FIRST(&link->spare)) != NULL) {
		TAILQ_REMOVE(&link->spare, call, entry);
		call_destroy(call);
	}
	if (link->in_callback != NULL)
		link->freed = 1;	/* call_finish frees the rest when the callback returns */
	else
		free(link);
}

/*
 * Requests
 */

/* A token of RFC 9110, or a line without CR, LF or NUL: nothing can be smuggled in. */
static int
is_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *s) != NULL)
			return 0;
	return 1;
}

static int
is_one_line(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static const char *
request_invalid(const struct api_request *req)
{
	if (!is_token(req->method))
		return "invalid request: bad method";
	if (req->path == NULL || req->path[0] != '/' || !is_one_line(req->path) ||
	    strchr(req->path, ' ') != NULL)
		return "invalid request: the path must start with / and hold no space or line break";
	for (const char *const *h = req->headers; h != NULL && *h != NULL; h++)
		if (!is_one_line(*h) || strchr(*h, ':') == NULL)
			return "invalid request: a header is not one \"Name: value\" line";
	return NULL;
}

static int
has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
			return 1;
	return 0;
}

static int
request_write(struct link_buf *b, const struct api_request *req)
{
	char len[32];
	int ok;

	ok = buf_adds(b, req->method) == 0 && buf_adds(b, " ") == 0 &&
	    buf_adds(b, req->path) == 0 && buf_adds(b, " HTTP/1.1\r\nHost: api\r\n") == 0;
	for (const char *const *h = req->headers; ok && h != NULL && *h != NULL; h++)
		ok = buf_adds(b, *h) == 0 && buf_adds(b, "\r\n") == 0;
	if (ok && req->body != NULL && !has_header(req->headers, "Content-Type"))
		ok = buf_adds(b, "Content-Type: application/json\r\n") == 0;
	if (ok && (req->body != NULL || strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0)) {
		snprintf(len, sizeof(len), "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
		ok = buf_adds(b, len) == 0;
	}
	ok = ok && buf_adds(b, "\r\n") == 0;
	if (ok && req->body != NULL)
		ok = buf_add(b, req->body, req->body_len) == 0;
	return ok ? 0 : -1;
}

static struct http_link_call *
call_get(struct http_link *link)
{
	struct http_link_call *call = TAILQ_FIRST(&link->spare);

	if (call != NULL) {
		TAILQ_REMOVE(&link->spare, call, entry);
		link->nspare--;
		return call;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL)
		return NULL;
	if ((call->deadline = evtimer_new(link->base, call_deadline_cb, call)) == NULL) {
		free(call);
		return NULL;
	}
	call->link = link;
	return call;
}

/* To the spare list (or freed): no longer anywhere else. */
static void
call_release(struct http_link_call *call)
{
	struct http_link *link = call->link;

	evtimer_del(call->deadline);
	if (link->nspare >= LINK_SPARE_MAX) {
		call_destroy(call);
		return;
	}
	buf_reset(&call->request);
	buf_reset(&call->headers);
	buf_reset(&call->body);
	call->conn = NULL;
	call->waiting = call->done_running = call->resent = call->got_bytes = 0;
	call->invalid = NULL;
	call->error[0] = '\0';
	TAILQ_INSERT_HEAD(&link->spare, call, entry);
	link->nspare++;
}

struct http_link_call *
http_link_send(struct http_link *link, const struct api_request *req, api_done_fn done,
    void *arg)
{
	struct http_link_call *call = call_get(link);
	int timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : link->timeout_ms;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	if (call == NULL)
		return NULL;
	call->done = done;
	call->arg = arg;
	call->timeout_ms = timeout_ms;
	call->invalid = request_invalid(req);
	if (call->invalid == NULL) {
		call->idempotent = strcmp(req->method, "POST") != 0 && strcmp(req->method, "PATCH") != 0;
		call->head = strcmp(req->method, "HEAD") == 0;
		if (request_write(&call->request, req) == -1) {
			call_release(call);
			return NULL;
		}
	}
	call->waiting = 1;
	TAILQ_INSERT_TAIL(&link->waiting, call, entry);
	evtimer_add(call->deadline, &tv);
	event_active(link->kick, EV_TIMEOUT, 1);
	return call;
}

/*
 * Connections
 */

/* Closed and forgotten, with whatever call was on it; a waiting call may take its place. */
static void
conn_drop(struct link_conn *conn)
{
	struct http_link *link = conn->link;

	if (conn->is_idle)
		TAILQ_REMOVE(&link->idle, conn, idle);
	if (conn->call != NULL)
		conn->call->conn = NULL;
	TAILQ_REMOVE(&link->conns, conn, all);
	link->nconns--;
	bufferevent_free(conn->bev);
	free(conn);
	if (!TAILQ_EMPTY(&link->waiting) && link->kick != NULL)
		event_active(link->kick, EV_TIMEOUT, 1);
}

/* A new connection, or NULL with errno set. */
static struct link_conn *
conn_open(struct http_link *link)
{
	struct link_conn *conn;
	int fd, saved;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	if (connect(fd, (struct sockaddr *)&link->addr, sizeof(link->addr)) == -1 &&
	    errno != EINPROGRESS) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	if ((conn = calloc(1, sizeof(*conn))) == NULL ||
	    (conn->bev = bufferevent_socket_new(link->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(conn);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	conn->link = link;
	bufferevent_setcb(conn->bev, conn_read_cb, conn_write_cb, conn_event_cb, conn);
	/* Writing: see call_start_on (a socket bufferevent starts with EV_WRITE on). */
	bufferevent_disable(conn->bev, EV_WRITE);
	bufferevent_enable(conn->bev, EV_READ);
	TAILQ_INSERT_TAIL(&link->conns, conn, all);
	link->nconns++;
	return conn;
}

/* Whether a call that lost its connection is sent again (see the top of the file). */
static int
call_resendable(const struct http_link_call *call, const struct link_conn *conn, int err)
{
	if (call->resent || call->got_bytes)
		return 0;
	if (err == ECONNRESET || err == EPIPE)
		return 1;
	return err == 0 && call->idempotent && conn->served > 0;
}

/* The call goes first in line again, for a new connection; conn is dropped. */
static void
call_resend(struct http_link_call *call, struct link_conn *conn)
{
	struct http_link *link = conn->link;

	conn_drop(conn);
	call->resent = 1;
	call->waiting = 1;
	TAILQ_INSERT_HEAD(&link->waiting, call, entry);
	event_active(link->kick, EV_TIMEOUT, 1);
}

/*
 * The request is written at once, in place: a small request to a local
 * socket almost always fits, and waiting for the socket to say it is
 * writable cost two epoll_ctl(2) and a wakeup a call.  What does not fit
 * (a large body, a full socket) is left to the bufferevent, writing enabled
 * until it is out; so is everything after an error, which the bufferevent
 * then meets again and reports through conn_event_cb, as for any write.
 */
static void
call_start_on(struct http_link_call *call, struct link_conn *conn)
{
	ssize_t sent;

	call->conn = conn;
	conn->call = call;
	call->state = READ_STATUS;
	call->status = 0;
	call->keep_alive = 1;
	call->got_bytes = 0;
	call->headers.len = call->body.len = 0;
	sent = send(bufferevent_getfd(conn->bev), call->request.data, call->request.len,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (sent == (ssize_t)call->request.len)
		return;
	if (sent < 0 && call_resendable(call, conn, errno)) {
		call_resend(call, conn);	/* the API child closed it: it read nothing */
		return;
	}
	if (sent < 0)
		sent = 0;
	if (bufferevent_write(conn->bev, call->request.data + sent, call->request.len -
	    (size_t)sent) == -1 || bufferevent_enable(conn->bev, EV_WRITE) == -1)
		snprintf(call->error, sizeof(call->error), "%s request dropped: out of memory",
		    LINK_PEER);
}

/* What call_start_on left to the bufferevent is written: writing stops again. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_disable(bev, EV_WRITE);
}

/* A call off the waiting list fails before it had a connection; 0 when the link was freed. */
static int
call_fail_unsent(struct http_link_call *call, int err)
{
	if (call->invalid != NULL)
		snprintf(call->error, sizeof(call->error), "%s", call->invalid);
	else
		snprintf(call->error, sizeof(call->error), "%s unreachable at %s: %s%s", LINK_PEER,
		    call->link->addr.sun_path, strerror(err), err == EAGAIN ?
		    " (its listen queue is full)" : " (is trestle-api running?)");
	return call_finish(call);
}

/* Starts what waits, while connections can be had; stops if a callback freed the link. */
static void
link_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_link *link = arg;
	struct http_link_call *call;
	struct link_conn *conn;

	(void)fd;
	(void)what;
	while ((call = TAILQ_FIRST(&link->waiting)) != NULL) {
		conn = TAILQ_FIRST(&link->idle);
		if (call->invalid == NULL && conn == NULL &&
		    link->nconns >= HTTP_LINK_MAX_CONNECTIONS)
			return;		/* a connection freed later starts it */
		TAILQ_REMOVE(&link->waiting, call, entry);
		call->waiting = 0;
		if (call->invalid != NULL) {
			if (!call_fail_unsent(call, 0))
				return;
			continue;
		}
		if (conn != NULL) {
			TAILQ_REMOVE(&link->idle, conn, idle);
			conn->is_idle = 0;
		} else if ((conn = conn_open(link)) == NULL) {
			if (!call_fail_unsent(call, errno))
				return;
			continue;
		}
		call_start_on(call, conn);
		if (call->error[0] != '\0' && !call_finish(call))
			return;
	}
}

/* No call on it now: the next waiting one, or the idle list. */
static void
conn_release(struct link_conn *conn)
{
	struct http_link *link = conn->link;

	conn->call = NULL;
	conn->served++;
	conn->is_idle = 1;
	TAILQ_INSERT_HEAD(&link->idle, conn, idle);
	if (!TAILQ_EMPTY(&link->waiting))
		event_active(link->kick, EV_TIMEOUT, 1);
}

/*
 * Ending a call
 */

/* The call leaves the waiting queue and its connection, which is kept for another call or closed. */
static void
call_detach(struct http_link_call *call, int keep_conn)
{
	if (call->waiting) {
		TAILQ_REMOVE(&call->link->waiting, call, entry);
		call->waiting = 0;
	}
	if (call->conn != NULL) {
		if (keep_conn)
			conn_release(call->conn);
		else
			conn_drop(call->conn);
		call->conn = NULL;
	}
}

/*
 * Detaches the call, runs its callback, and releases it.  Returns 0 when
 * the callback freed the link: the caller must not touch it then.
 */
static int
call_finish(struct http_link_call *call)
{
	struct http_link *link = call->link;
	struct api_response resp = { 0 };
	int ok = call->error[0] == '\0';

	evtimer_del(call->deadline);
	call_detach(call, ok && call->keep_alive);
	if (ok && buf_add(&call->body, "", 1) == -1) {
		snprintf(call->error, sizeof(call->error), "%s response dropped: out of memory",
		    LINK_PEER);
		ok = 0;
	}
	if (ok) {
		resp.status = call->status;
		resp.body = call->body.data;
		resp.body_len = call->body.len - 1;
		resp.header_lines = call->headers.data;
		resp.header_lines_len = call->headers.len;
	} else {
		resp.body = "";		/* never NULL, as for every api_client.h answer */
		resp.error = call->error;
	}
	call->done_running = 1;
	link->in_callback = call;
	call->done(&resp, call->arg);
	link->in_callback = NULL;
	if (link->freed) {
		call_destroy(call);
		free(link);
		return 0;
	}
	call_release(call);
	return 1;
}

static void
call_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_link_call *call = arg;

	(void)fd;
	(void)what;
	snprintf(call->error, sizeof(call->error), "%s timed out after %d ms", LINK_PEER,
	    call->timeout_ms);
	call_finish(call);
}

void
http_link_cancel(struct http_link_call *call)
{
	if (call == NULL || call->done_running)
		return;
	call_detach(call, 0);	/* its answer would come on its connection: that goes */
	call_release(call);
}

/*
 * Reading the answer
 */

/* One line of the head from in, NUL-terminated in place; NULL until it is whole. */
static char *
read_line(struct evbuffer *in, size_t *consumed)
{
	size_t eol_len = 0;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	char *line;

	if (eol.pos < 0)
		return NULL;
	if ((line = (char *)evbuffer_pullup(in, eol.pos + (ev_ssize_t)eol_len)) == NULL)
		return NULL;
	line[eol.pos] = '\0';	/* over the CR or LF, which is drained with it */
	*consumed = (size_t)eol.pos + eol_len;
	return line;
}

/* "HTTP/1.x NNN reason", read by hand: sscanf was a visible share of a call. */
static int
parse_status(struct http_link_call *call, const char *line)
{
	const char *d = line + sizeof("HTTP/1.") - 1;

	if (strncmp(line, "HTTP/1.", sizeof("HTTP/1.") - 1) != 0 || d[0] < '0' || d[0] > '9' ||
	    d[1] != ' ' || d[2] < '1' || d[2] > '5' || d[3] < '0' || d[3] > '9' ||
	    d[4] < '0' || d[4] > '9' || (d[5] != ' ' && d[5] != '\0'))
		return -1;
	call->status = (d[2] - '0') * 100 + (d[3] - '0') * 10 + (d[4] - '0');
	call->keep_alive = d[0] >= '1';
	return 0;
}

/* A Content-Length: digits only, at most the largest body taken. */
static int
parse_length(const char *v, size_t *len)
{
	size_t n = 0;

	if (*v < '0' || *v > '9')
		return -1;
	for (; *v >= '0' && *v <= '9'; v++) {
		n = n * 10 + (size_t)(*v - '0');
		if (n > API_CLIENT_MAX_BODY)
			return -2;
	}
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v != '\0')
		return -1;
	*len = n;
	return 0;
}

/* One header line; sets error on a bad one. */
static void
parse_header(struct http_link_call *call, const char *line)
{
	const char *v;
	size_t len;
	int r;

	if (buf_add(&call->headers, line, strlen(line) + 1) == -1) {
		snprintf(call->error, sizeof(call->error), "%s response dropped: out of memory",
		    LINK_PEER);
		return;
	}
	if ((v = api_header_line_value(line, "Content-Length")) != NULL) {
		if ((r = parse_length(v, &len)) == -2)
			snprintf(call->error, sizeof(call->error),
			    "%s response too large (over 16 MiB)", LINK_PEER);
		else if (r == -1 || (call->have_length && len != call->body_left))
			snprintf(call->error, sizeof(call->error),
			    "%s sent a bad Content-Length", LINK_PEER);
		else {
			call->body_left = len;
			call->have_length = 1;
		}
	} else if ((v = api_header_line_value(line, "Transfer-Encoding")) != NULL &&
	    strcasecmp(v, "identity") != 0)
		snprintf(call->error, sizeof(call->error),
		    "%s sent Transfer-Encoding %s, which this client does not read", LINK_PEER, v);
	else if ((v = api_header_line_value(line, "Connection")) != NULL) {
		if (strcasecmp(v, "close") == 0)
			call->keep_alive = 0;
		else if (strcasecmp(v, "keep-alive") == 0)
			call->keep_alive = 1;
	}
}

/* The head is read: where the body ends. */
static void
head_done(struct http_link_call *call)
{
	if (call->head || call->status == 204 || call->status == 304) {
		call->body_left = 0;
		call->state = READ_BODY;
	} else if (call->have_length)
		call->state = READ_BODY;
	else {
		call->keep_alive = 0;
		call->state = READ_TO_EOF;
	}
}

/* Reads the status line and the headers; a 1xx head is skipped whole. */
static void
read_head(struct http_link_call *call, struct evbuffer *in)
{
	size_t consumed;
	char *line;

	while (call->error[0] == '\0' && (call->state == READ_STATUS ||
	    call->state == READ_HEADERS)) {
		if ((line = read_line(in, &consumed)) == NULL) {
			if (evbuffer_get_length(in) + call->headers.len > LINK_MAX_HEADERS)
				snprintf(call->error, sizeof(call->error),
				    "%s response headers too large", LINK_PEER);
			return;
		}
		if (call->state == READ_STATUS) {
			if (parse_status(call, line) == -1)
				snprintf(call->error, sizeof(call->error),
				    "%s sent no HTTP/1.x status line", LINK_PEER);
			call->state = READ_HEADERS;
			call->headers.len = 0;
			call->have_length = 0;
		} else if (line[0] != '\0')
			parse_header(call, line);
		else if (call->status < 200)
			call->state = READ_STATUS;
		else
			head_done(call);
		evbuffer_drain(in, consumed);
	}
}

static void
read_body(struct http_link_call *call, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in), take = avail;

	if (call->state == READ_BODY && take > call->body_left)
		take = call->body_left;
	if (call->body.len + take > API_CLIENT_MAX_BODY) {
		snprintf(call->error, sizeof(call->error), "%s response too large (over 16 MiB)",
		    LINK_PEER);
		return;
	}
	/* Room for the NUL call_finish adds. */
	if (buf_reserve(&call->body, take + 1) == -1) {
		snprintf(call->error, sizeof(call->error), "%s response dropped: out of memory",
		    LINK_PEER);
		return;
	}
	evbuffer_remove(in, call->body.data + call->body.len, take);
	call->body.len += take;
	if (call->state == READ_BODY && (call->body_left -= take) == 0)
		call->state = READ_DONE;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct link_conn *conn = arg;
	struct http_link_call *call = conn->call;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (call == NULL) {	/* nothing was asked: not a peer to keep */
		conn_drop(conn);
		return;
	}
	call->got_bytes = 1;
	read_head(call, in);
	if (call->error[0] == '\0' && (call->state == READ_BODY || call->state == READ_TO_EOF))
		read_body(call, in);
	if (call->error[0] == '\0' && call->state == READ_DONE && evbuffer_get_length(in) != 0)
		call->keep_alive = 0;	/* more than was asked for: do not trust the rest */
	if (call->error[0] != '\0') {
		call->keep_alive = 0;
		call_finish(call);
	} else if (call->state == READ_DONE)
		call_finish(call);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct link_conn *conn = arg;
	struct http_link_call *call = conn->call;
	int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;

	(void)bev;
	if (call == NULL) {
		conn_drop(conn);
		return;
	}
	if (call->state == READ_TO_EOF && (what & BEV_EVENT_EOF)) {
		call->state = READ_DONE;
		call->keep_alive = 0;
		call_finish(call);
		return;
	}
	if (call_resendable(call, conn, err)) {
		call_resend(call, conn);
		return;
	}
	snprintf(call->error, sizeof(call->error), "%s closed the connection: %s", LINK_PEER,
	    err != 0 ? strerror(err) : call->got_bytes ? "the answer was cut short" :
	    "no answer");
	call->keep_alive = 0;
	call_finish(call);
}
