/*
 * libcurl's multi interface on the process's libevent loop (the "hiper"
 * pattern): curl tells us which sockets to watch and when to wake it up
 * (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION); libevent tells curl when
 * a socket is ready or the timer fired (curl_multi_socket_action); finished
 * transfers are collected with curl_multi_info_read and handed to their
 * callbacks.  The multi handle's connection cache keeps connections to the
 * peer alive between calls.
 *
 * Calls are recycled through a small free list: the easy handle and the
 * buffers of a finished call serve the next one, so a call costs no
 * curl_easy_init and few allocations.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "api_client.h"
#include "log.h"

/*
 * Connections to the API child, open and cached.  Calls beyond the limit wait
 * in curl's queue for a free connection (their timeout running): a burst of
 * calls must not open more connections than the API child's listen backlog
 * holds, or connect(2) on its Unix socket fails at once with EAGAIN.
 */
#define API_CLIENT_MAX_CONNECTIONS	64
#define API_CLIENT_SPARE_MAX		64	/* finished calls kept for reuse */
#define API_CLIENT_SPARE_BUF_MAX	(64 * 1024)	/* larger buffers are not kept */
#define API_CLIENT_CONNECT_TIMEOUT_MS	2000
#define API_CLIENT_MAX_HEADERS		(256 * 1024)
/* The host name of calls on a Unix socket: it means nothing there. */
#define API_CLIENT_URL_PREFIX		"http://api"
#define API_CLIENT_PROTOCOLS		"http,https,file"

struct api_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

enum api_call_state {
	CALL_SPARE,		/* on the free list */
	CALL_RUNNING,		/* in the multi handle */
	CALL_DEFERRED,		/* failed before starting; callback pending */
	CALL_DONE,		/* its callback is running */
};

/* Why a call failed on our side rather than curl's. */
enum api_call_fault {
	FAULT_NONE,
	FAULT_BODY_TOO_LARGE,
	FAULT_HEADERS_TOO_LARGE,
	FAULT_NO_MEMORY,
	FAULT_DEADLINE,		/* our deadline fired, maybe before curl started it */
};

struct api_call {
	TAILQ_ENTRY(api_call)	 entry;		/* running, deferred or spare list */
	struct api_client	*client;
	enum api_call_state	 state;
	enum api_call_fault	 fault;
	CURL			*easy;
	struct event		*deadline;
	struct curl_slist	*req_headers;
	struct api_buf		 url;
	struct api_buf		 req_body;
	struct api_buf		 body;
	struct api_buf		 headers;	/* NUL-terminated lines */
	api_done_fn		 done;
	void			*arg;
	int			 timeout_ms;
	const char		*deferred_error;
	char			 curl_error[CURL_ERROR_SIZE];
	char			 error[CURL_ERROR_SIZE + 256];
};

/* One socket curl asked us to watch. */
struct api_sock {
	LIST_ENTRY(api_sock)	 entry;
	struct api_client	*client;
	struct event		*ev;
	short			 events;
};

TAILQ_HEAD(api_call_list, api_call);

struct api_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct event		*deferred_ev;
	char			*socket_path;	/* NULL: over the network, to url_prefix */
	char			*url_prefix;
	char			*peer;		/* "API child", for error messages */
	int			 timeout_ms;
	struct api_call_list	 running;
	struct api_call_list	 deferred;
	struct api_call_list	 spare;
	unsigned int		 nspare;
	LIST_HEAD(, api_sock)	 socks;
	int			 dispatching;
	int			 free_requested;
};

static int	api_global_init(void);
static int	api_buf_reserve(struct api_buf *, size_t);
static int	api_buf_append(struct api_buf *, const void *, size_t);
static void	api_buf_release(struct api_buf *, size_t);
static int	api_client_socket_cb(CURL *, curl_socket_t, int, void *, void *);
static int	api_client_timer_cb(CURLM *, long, void *);
static void	api_sock_event_cb(evutil_socket_t, short, void *);
static void	api_timer_event_cb(evutil_socket_t, short, void *);
static void	api_deferred_event_cb(evutil_socket_t, short, void *);
static void	api_deadline_event_cb(evutil_socket_t, short, void *);
static void	api_client_perform(struct api_client *, curl_socket_t, int);
static void	api_client_collect(struct api_client *);
static struct api_client *api_client_create(struct event_base *, const char *, const char *, int);
static void	api_client_destroy(struct api_client *);
static struct api_call *api_call_get(struct api_client *);
static int	api_call_setup(struct api_call *, const struct api_request *);
static int	api_call_start(struct api_call *);
static int	api_call_set_method(struct api_call *, const struct api_request *);
static int	api_call_set_headers(struct api_call *, const struct api_request *);
static void	api_call_defer(struct api_call *, const char *);
static void	api_call_finish(struct api_call *, CURLcode);
static const char *api_call_error(struct api_call *, CURLcode);
static int	api_call_fault_error(struct api_call *);
static void	api_call_release(struct api_call *);
static void	api_call_destroy(struct api_call *);
static size_t	api_call_write_cb(char *, size_t, size_t, void *);
static size_t	api_call_header_cb(char *, size_t, size_t, void *);

static int
api_global_init(void)
{
	static int done;

	if (done)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	done = 1;
	return 0;
}

/* Room for n more bytes and a terminating NUL. */
static int
api_buf_reserve(struct api_buf *buf, size_t n)
{
	size_t cap;
	char *data;

	if (buf->len + n + 1 <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : 1024;
	while (cap < buf->len + n + 1)
		cap *= 2;
	if ((data = realloc(buf->data, cap)) == NULL)
		return -1;
	buf->data = data;
	buf->cap = cap;
	return 0;
}

static int
api_buf_append(struct api_buf *buf, const void *p, size_t n)
{
	if (api_buf_reserve(buf, n) == -1)
		return -1;
	memcpy(buf->data + buf->len, p, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return 0;
}

/* Empties buf, keeping its memory only when it is no larger than keep. */
static void
api_buf_release(struct api_buf *buf, size_t keep)
{
	if (buf->cap > keep) {
		free(buf->data);
		buf->data = NULL;
		buf->cap = 0;
	}
	buf->len = 0;
	if (buf->data != NULL)
		buf->data[0] = '\0';
}

struct api_client *
api_client_new(struct event_base *base, const char *unix_socket_path, int timeout_ms)
{
	struct api_client *client;

	if ((client = api_client_create(base, API_CLIENT_URL_PREFIX, "API child",
	    timeout_ms)) == NULL)
		return NULL;
	if ((client->socket_path = strdup(unix_socket_path)) == NULL) {
		api_client_destroy(client);
		return NULL;
	}
	return client;
}

struct api_client *
api_client_new_url(struct event_base *base, const char *base_url, const char *peer,
    int timeout_ms)
{
	return api_client_create(base, base_url, peer, timeout_ms);
}

static struct api_client *
api_client_create(struct event_base *base, const char *url_prefix, const char *peer,
    int timeout_ms)
{
	struct api_client *client;

	if (api_global_init() == -1)
		return NULL;
	if ((client = calloc(1, sizeof(*client))) == NULL)
		return NULL;
	client->base = base;
	client->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	TAILQ_INIT(&client->running);
	TAILQ_INIT(&client->deferred);
	TAILQ_INIT(&client->spare);
	LIST_INIT(&client->socks);
	client->url_prefix = strdup(url_prefix);
	client->peer = strdup(peer);
	client->multi = curl_multi_init();
	client->timer = evtimer_new(base, api_timer_event_cb, client);
	client->deferred_ev = event_new(base, -1, 0, api_deferred_event_cb, client);
	if (client->url_prefix == NULL || client->peer == NULL || client->multi == NULL ||
	    client->timer == NULL || client->deferred_ev == NULL) {
		api_client_destroy(client);
		return NULL;
	}
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, api_client_socket_cb);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, api_client_timer_cb);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, (long)API_CLIENT_MAX_CONNECTIONS);
	curl_multi_setopt(client->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)API_CLIENT_MAX_CONNECTIONS);
	return client;
}

void
api_client_free(struct api_client *client)
{
	struct api_call *call;

	if (client == NULL)
		return;
	/* Inside a callback: cancel now, free once the dispatch loop unwinds. */
	if (client->dispatching) {
		while ((call = TAILQ_FIRST(&client->running)) != NULL)
			api_call_cancel(call);
		while ((call = TAILQ_FIRST(&client->deferred)) != NULL)
			api_call_cancel(call);
		client->free_requested = 1;
		return;
	}
	api_client_destroy(client);
}

static void
api_client_destroy(struct api_client *client)
{
	struct api_call *call;
	struct api_sock *sock;

	while ((call = TAILQ_FIRST(&client->running)) != NULL) {
		TAILQ_REMOVE(&client->running, call, entry);
		curl_multi_remove_handle(client->multi, call->easy);
		api_call_destroy(call);
	}
	while ((call = TAILQ_FIRST(&client->deferred)) != NULL) {
		TAILQ_REMOVE(&client->deferred, call, entry);
		api_call_destroy(call);
	}
	while ((call = TAILQ_FIRST(&client->spare)) != NULL) {
		TAILQ_REMOVE(&client->spare, call, entry);
		api_call_destroy(call);
	}
	if (client->multi != NULL)
		curl_multi_cleanup(client->multi);
	/* curl removes every socket it watched; this is only a safety net. */
	while ((sock = LIST_FIRST(&client->socks)) != NULL) {
		LIST_REMOVE(sock, entry);
		event_free(sock->ev);
		free(sock);
	}
	if (client->timer != NULL)
		event_free(client->timer);
	if (client->deferred_ev != NULL)
		event_free(client->deferred_ev);
	free(client->socket_path);
	free(client->url_prefix);
	free(client->peer);
	free(client);
}

struct api_call *
api_client_send(struct api_client *client, const struct api_request *req,
    api_done_fn done, void *arg)
{
	struct api_call *call;

	if ((call = api_call_get(client)) == NULL)
		return NULL;
	call->done = done;
	call->arg = arg;
	call->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : client->timeout_ms;
	if (req->method == NULL || req->path == NULL || req->path[0] != '/') {
		api_call_defer(call, "API request invalid: a method and a path "
		    "starting with '/' are required");
		return call;
	}
	if (api_call_setup(call, req) == -1 || api_call_start(call) == -1) {
		api_call_release(call);
		return NULL;
	}
	return call;
}

/* -1 only on allocation failure; any other failure is reported through the callback. */
static int
api_call_start(struct api_call *call)
{
	struct api_client *client = call->client;
	struct timeval tv;
	CURLMcode rc;

	/* Adding only arms curl's timer: the transfer starts from the event loop. */
	if ((rc = curl_multi_add_handle(client->multi, call->easy)) != CURLM_OK) {
		if (rc == CURLM_OUT_OF_MEMORY)
			return -1;
		snprintf(call->error, sizeof(call->error),
		    "API request could not start: %s", curl_multi_strerror(rc));
		api_call_defer(call, call->error);
		return 0;
	}
	call->state = CALL_RUNNING;
	TAILQ_INSERT_TAIL(&client->running, call, entry);
	/*
	 * curl does not time out a transfer queued for a free connection
	 * (CURLMOPT_MAX_HOST_CONNECTIONS); this deadline bounds every call.
	 * It counts from now, not from when the loop last woke up.
	 */
	tv.tv_sec = call->timeout_ms / 1000;
	tv.tv_usec = (call->timeout_ms % 1000) * 1000;
	event_base_update_cache_time(client->base);
	evtimer_add(call->deadline, &tv);
	return 0;
}

void
api_call_cancel(struct api_call *call)
{
	struct api_client *client;

	if (call == NULL)
		return;
	client = call->client;
	switch (call->state) {
	case CALL_RUNNING:
		TAILQ_REMOVE(&client->running, call, entry);
		curl_multi_remove_handle(client->multi, call->easy);
		api_call_release(call);
		break;
	case CALL_DEFERRED:
		TAILQ_REMOVE(&client->deferred, call, entry);
		api_call_release(call);
		break;
	case CALL_DONE:		/* its callback is running; released after it */
	case CALL_SPARE:	/* already over */
		break;
	}
}

const char *
api_header_line_value(const char *line, const char *name)
{
	size_t namelen = strlen(name);

	if (strncasecmp(line, name, namelen) != 0 || line[namelen] != ':')
		return NULL;
	for (line += namelen + 1; *line == ' ' || *line == '\t'; line++)
		;
	return line;
}

const char *
api_response_header(const struct api_response *resp, const char *name)
{
	const char *line = NULL, *value;

	while ((line = api_response_header_next(resp, line)) != NULL)
		if ((value = api_header_line_value(line, name)) != NULL)
			return value;
	return NULL;
}

const char *
api_response_header_next(const struct api_response *resp, const char *line)
{
	const char *end = resp->header_lines + resp->header_lines_len;

	if (resp->header_lines == NULL)
		return NULL;
	line = line == NULL ? resp->header_lines : line + strlen(line) + 1;
	return line < end ? line : NULL;
}

/* curl: watch fd for what, or stop watching it. */
static int
api_client_socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct api_client *client = arg;
	struct api_sock *sock = sockp;
	short events;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sock != NULL) {
			LIST_REMOVE(sock, entry);
			event_free(sock->ev);
			free(sock);
		}
		return 0;
	}
	events = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (sock == NULL) {
		if ((sock = calloc(1, sizeof(*sock))) == NULL)
			return -1;
		sock->client = client;
		if ((sock->ev = event_new(client->base, fd, events, api_sock_event_cb,
		    sock)) == NULL) {
			free(sock);
			return -1;
		}
		LIST_INSERT_HEAD(&client->socks, sock, entry);
		curl_multi_assign(client->multi, fd, sock);
	} else if (sock->events != events) {
		event_del(sock->ev);
		event_assign(sock->ev, client->base, fd, events, api_sock_event_cb, sock);
	} else
		return 0;
	sock->events = events;
	return event_add(sock->ev, NULL) == 0 ? 0 : -1;
}

/* curl: call curl_multi_socket_action(CURL_SOCKET_TIMEOUT) in timeout_ms, or never (-1). */
static int
api_client_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct api_client *client = arg;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(client->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(client->timer, &tv) == 0 ? 0 : -1;
}

static void
api_sock_event_cb(evutil_socket_t fd, short events, void *arg)
{
	struct api_sock *sock = arg;
	int flags = 0;

	if (events & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* sock may be freed by curl during the action; client outlives it. */
	api_client_perform(sock->client, fd, flags);
}

static void
api_timer_event_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	api_client_perform(arg, CURL_SOCKET_TIMEOUT, 0);
}

static void
api_client_perform(struct api_client *client, curl_socket_t fd, int flags)
{
	CURLMcode rc;
	int running;

	rc = curl_multi_socket_action(client->multi, fd, flags, &running);
	if (rc != CURLM_OK)
		log_warnx("api_client: curl_multi_socket_action: %s",
		    curl_multi_strerror(rc));
	api_client_collect(client);
}

/*
 * Hands finished transfers to their callbacks.  A callback may add or cancel
 * calls (curl drops the pending message of a removed handle) or free the
 * client, which is then destroyed here, last.
 */
static void
api_client_collect(struct api_client *client)
{
	CURLMsg *msg;
	CURL *easy;
	CURLcode result;
	char *priv;
	int pending;

	client->dispatching = 1;
	while (!client->free_requested &&
	    (msg = curl_multi_info_read(client->multi, &pending)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		result = msg->data.result;
		if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
		    priv == NULL)
			continue;
		api_call_finish((struct api_call *)priv, result);
	}
	client->dispatching = 0;
	if (client->free_requested)
		api_client_destroy(client);
}

static void
api_deferred_event_cb(evutil_socket_t fd, short events, void *arg)
{
	struct api_client *client = arg;
	struct api_response resp = { .body = "" };
	struct api_call *call;

	(void)fd;
	(void)events;
	client->dispatching = 1;
	while (!client->free_requested && (call = TAILQ_FIRST(&client->deferred)) != NULL) {
		TAILQ_REMOVE(&client->deferred, call, entry);
		call->state = CALL_DONE;
		resp.error = call->deferred_error;
		call->done(&resp, call->arg);
		api_call_release(call);
	}
	client->dispatching = 0;
	if (client->free_requested)
		api_client_destroy(client);
}

static void
api_deadline_event_cb(evutil_socket_t fd, short events, void *arg)
{
	struct api_call *call = arg;
	struct api_client *client = call->client;

	(void)fd;
	(void)events;
	if (call->state != CALL_RUNNING)
		return;
	call->fault = FAULT_DEADLINE;
	client->dispatching = 1;
	api_call_finish(call, CURLE_OPERATION_TIMEDOUT);
	client->dispatching = 0;
	if (client->free_requested)
		api_client_destroy(client);
}

static struct api_call *
api_call_get(struct api_client *client)
{
	struct api_call *call;

	if ((call = TAILQ_FIRST(&client->spare)) != NULL) {
		TAILQ_REMOVE(&client->spare, call, entry);
		client->nspare--;
	} else {
		if ((call = calloc(1, sizeof(*call))) == NULL)
			return NULL;
		call->deadline = evtimer_new(client->base, api_deadline_event_cb, call);
		if (call->deadline == NULL) {
			free(call);
			return NULL;
		}
	}
	call->client = client;
	call->fault = FAULT_NONE;
	call->deferred_error = NULL;
	call->curl_error[0] = '\0';
	return call;
}

static int
api_call_setup(struct api_call *call, const struct api_request *req)
{
	struct api_client *client = call->client;
	CURL *easy;

	if (call->easy == NULL && (call->easy = curl_easy_init()) == NULL)
		return -1;
	easy = call->easy;
	call->url.len = 0;
	if (api_buf_append(&call->url, client->url_prefix, strlen(client->url_prefix)) == -1 ||
	    api_buf_append(&call->url, req->path, strlen(req->path)) == -1)
		return -1;
	if (api_call_set_headers(call, req) == -1)
		return -1;
	if (curl_easy_setopt(easy, CURLOPT_URL, call->url.data) != CURLE_OK ||
	    (client->socket_path != NULL && curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH,
	    client->socket_path) != CURLE_OK) ||
	    api_call_set_method(call, req) == -1)
		return -1;
	/*
	 * No proxy: the environment's http_proxy must not divert the Unix
	 * socket, nor a configured URL; no redirects, no other protocols.
	 */
	curl_easy_setopt(easy, CURLOPT_PROXY, "");
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, API_CLIENT_PROTOCOLS);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->req_headers);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->curl_error);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(call->timeout_ms <
	    API_CLIENT_CONNECT_TIMEOUT_MS ? call->timeout_ms : API_CLIENT_CONNECT_TIMEOUT_MS));
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, api_call_write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, api_call_header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
	return 0;
}

static int
api_call_set_method(struct api_call *call, const struct api_request *req)
{
	CURL *easy = call->easy;
	const char *m = req->method;

	if (strcmp(m, "GET") == 0 && req->body == NULL)
		return curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -1;
	if (strcmp(m, "HEAD") == 0)
		return curl_easy_setopt(easy, CURLOPT_NOBODY, 1L) == CURLE_OK ? 0 : -1;
	if (strcmp(m, "POST") != 0 &&
	    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m) != CURLE_OK)
		return -1;
	/* A bodiless DELETE or GET sends no Content-Length at all. */
	if (req->body == NULL && strcmp(m, "POST") != 0 && strcmp(m, "PUT") != 0 &&
	    strcmp(m, "PATCH") != 0)
		return 0;
	/* Copied: the caller's body need not outlive api_client_send. */
	call->req_body.len = 0;
	if (api_buf_append(&call->req_body, req->body ? req->body : "", req->body_len) == -1)
		return -1;
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	return curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->req_body.data) ==
	    CURLE_OK ? 0 : -1;
}

static int
api_call_set_headers(struct api_call *call, const struct api_request *req)
{
	struct curl_slist *list, *next;
	const char *const *h;
	int has_type = 0;

	/* "Expect:" suppresses Expect: 100-continue and its extra round trip. */
	if ((list = curl_slist_append(NULL, "Expect:")) == NULL)
		return -1;
	for (h = req->headers; h != NULL && *h != NULL; h++) {
		if (strncasecmp(*h, "Content-Type:", 13) == 0)
			has_type = 1;
		if ((next = curl_slist_append(list, *h)) == NULL)
			goto fail;
		list = next;
	}
	if (req->body != NULL && !has_type) {
		if ((next = curl_slist_append(list, "Content-Type: application/json")) == NULL)
			goto fail;
		list = next;
	}
	call->req_headers = list;
	return 0;
fail:
	curl_slist_free_all(list);
	return -1;
}

static void
api_call_defer(struct api_call *call, const char *error)
{
	struct api_client *client = call->client;

	call->deferred_error = error;
	call->state = CALL_DEFERRED;
	TAILQ_INSERT_TAIL(&client->deferred, call, entry);
	event_active(client->deferred_ev, EV_TIMEOUT, 0);
}

static void
api_call_finish(struct api_call *call, CURLcode result)
{
	struct api_client *client = call->client;
	struct api_response resp = { .body = "" };

	TAILQ_REMOVE(&client->running, call, entry);
	curl_multi_remove_handle(client->multi, call->easy);
	call->state = CALL_DONE;
	if (result == CURLE_OK) {
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &resp.status);
		/* A file has no status: read whole, it is a 200. */
		if (resp.status == 0 && strncmp(call->url.data, "file:", 5) == 0)
			resp.status = 200;
		if (call->body.data != NULL)
			resp.body = call->body.data;
		resp.body_len = call->body.len;
		resp.header_lines = call->headers.data;
		resp.header_lines_len = call->headers.len;
	}
	if (resp.status == 0)
		resp.error = api_call_error(call, result);
	call->done(&resp, call->arg);
	api_call_release(call);
}

/* Says what went wrong in words an operator can act on. */
static const char *
api_call_error(struct api_call *call, CURLcode result)
{
	const char *detail = call->curl_error[0] ? call->curl_error : curl_easy_strerror(result);
	const char *peer = call->client->peer;
	const char *where = call->client->socket_path != NULL ? call->client->socket_path :
	    call->client->url_prefix;
	curl_off_t connected = 0;
	long oserr = 0;

	if (api_call_fault_error(call))
		return call->error;
	switch (result) {
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(call->easy, CURLINFO_CONNECT_TIME_T, &connected);
		if (connected == 0 && call->fault != FAULT_DEADLINE)
			snprintf(call->error, sizeof(call->error), "%s unreachable at %s: "
			    "connect timed out (%s)", peer, where, detail);
		else
			snprintf(call->error, sizeof(call->error),
			    "%s timed out after %d ms", peer, call->timeout_ms);
		break;
	case CURLE_COULDNT_CONNECT:
		/* connect(2)'s errno tells a missing socket from a refused one. */
		curl_easy_getinfo(call->easy, CURLINFO_OS_ERRNO, &oserr);
		snprintf(call->error, sizeof(call->error), "%s unreachable at %s: %s%s", peer,
		    where, oserr ? strerror((int)oserr) : detail,
		    call->client->socket_path != NULL ? " (is trestle-api running?)" : "");
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		snprintf(call->error, sizeof(call->error),
		    "%s closed the connection: %s", peer, detail);
		break;
	default:
		snprintf(call->error, sizeof(call->error), "%s request failed: %s", peer, detail);
		break;
	}
	return call->error;
}

/* 1 and call->error set when the call failed on our side rather than curl's. */
static int
api_call_fault_error(struct api_call *call)
{
	const char *what;

	switch (call->fault) {
	case FAULT_BODY_TOO_LARGE:
		what = "response too large (over 16 MiB)";
		break;
	case FAULT_HEADERS_TOO_LARGE:
		what = "response headers too large";
		break;
	case FAULT_NO_MEMORY:
		what = "response dropped: out of memory";
		break;
	case FAULT_DEADLINE:
	case FAULT_NONE:
	default:
		return 0;
	}
	snprintf(call->error, sizeof(call->error), "%s %s", call->client->peer, what);
	return 1;
}

/* Back to the free list, or freed when the list is full. */
static void
api_call_release(struct api_call *call)
{
	struct api_client *client = call->client;

	evtimer_del(call->deadline);
	curl_slist_free_all(call->req_headers);
	call->req_headers = NULL;
	call->done = NULL;
	call->arg = NULL;
	if (call->easy == NULL || client->nspare >= API_CLIENT_SPARE_MAX) {
		api_call_destroy(call);
		return;
	}
	/* Drops every option, our buffers' addresses included; the connection cache is the multi's. */
	curl_easy_reset(call->easy);
	api_buf_release(&call->url, API_CLIENT_SPARE_BUF_MAX);
	api_buf_release(&call->req_body, API_CLIENT_SPARE_BUF_MAX);
	api_buf_release(&call->body, API_CLIENT_SPARE_BUF_MAX);
	api_buf_release(&call->headers, API_CLIENT_SPARE_BUF_MAX);
	call->state = CALL_SPARE;
	TAILQ_INSERT_HEAD(&client->spare, call, entry);
	client->nspare++;
}

static void
api_call_destroy(struct api_call *call)
{
	if (call->easy != NULL)
		curl_easy_cleanup(call->easy);
	if (call->deadline != NULL)
		event_free(call->deadline);
	curl_slist_free_all(call->req_headers);
	free(call->url.data);
	free(call->req_body.data);
	free(call->body.data);
	free(call->headers.data);
	free(call);
}

static size_t
api_call_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct api_call *call = arg;
	size_t n = size * nmemb;

	if (call->body.len + n > API_CLIENT_MAX_BODY) {
		call->fault = FAULT_BODY_TOO_LARGE;
		return 0;
	}
	if (api_buf_append(&call->body, data, n) == -1) {
		call->fault = FAULT_NO_MEMORY;
		return 0;
	}
	return n;
}

/*
 * Keeps each header line, without its CRLF, as a NUL-terminated string.  A
 * status line starts a new response (after a 1xx), so it clears the lines.
 */
static size_t
api_call_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct api_call *call = arg;
	size_t n = size * nmemb, len = n;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		call->headers.len = 0;
		return n;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len == 0)
		return n;
	if (call->headers.len + len + 1 > API_CLIENT_MAX_HEADERS) {
		call->fault = FAULT_HEADERS_TOO_LARGE;
		return 0;
	}
	/* The NUL api_buf_append leaves becomes part of the block. */
	if (api_buf_append(&call->headers, data, len) == -1) {
		call->fault = FAULT_NO_MEMORY;
		return 0;
	}
	call->headers.len++;
	return n;
}
