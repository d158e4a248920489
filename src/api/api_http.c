/*
 * The API child's HTTP side: the listener on its Unix socket, the route table,
 * request intake and the reply helpers.  Every reply helper sends the response
 * and frees the request, so a handler ends by calling exactly one of them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "api.h"
#include "codec.h"
#include "db_pool.h"
#include "http_headers.h"
#include "jsonstr.h"
#include "log.h"

static const struct api_entity api_entities[] = {
	{ "notes", "note", "note" },
	{ "tasks", "task", "task" },
	{ "comments", "comment", "comment" },
	{ "chats", "chat", "chat" },
	{ "chat_messages", "chat_message", "chat message" },
};

#define GUARDS_SESSION_ROUTES	(API_NEED_USER | API_NEED_TENANT)
#define GUARDS_ENTITY_ROUTES	(API_NEED_USER | API_NEED_TENANT | API_NEED_SESSION | \
				 API_NEED_RATE_LIMIT | API_NEED_EPOCH)
#define GUARDS_STATE_ROUTES	(API_NEED_USER | API_NEED_TENANT | API_NEED_SESSION)

static void api_healthz(struct api_req *);
static void api_readyz(struct api_req *);

static const struct api_route api_routes[] = {
	{ EVHTTP_REQ_GET,	"/healthz",			0,			api_healthz },
	{ EVHTTP_REQ_GET,	"/readyz",			0,			api_readyz },
	{ EVHTTP_REQ_POST,	"/v1/sync/sessions",		GUARDS_SESSION_ROUTES,	api_sessions_create },
	{ EVHTTP_REQ_GET,	"/v1/sync/sessions/{id}",	GUARDS_SESSION_ROUTES,	api_sessions_get },
	{ EVHTTP_REQ_DELETE,	"/v1/sync/sessions/{id}",	GUARDS_SESSION_ROUTES,	api_sessions_delete },
	{ EVHTTP_REQ_GET,	"/v1/{e}",			GUARDS_ENTITY_ROUTES,	api_entity_list },
	{ EVHTTP_REQ_POST,	"/v1/{e}",			GUARDS_ENTITY_ROUTES,	api_entity_create },
	{ EVHTTP_REQ_GET,	"/v1/{e}/{id}",			GUARDS_ENTITY_ROUTES,	api_entity_get },
	{ EVHTTP_REQ_PUT,	"/v1/{e}/{id}",			GUARDS_ENTITY_ROUTES,	api_entity_put },
	{ EVHTTP_REQ_PATCH,	"/v1/{e}/{id}",			GUARDS_ENTITY_ROUTES,	api_entity_patch },
	{ EVHTTP_REQ_DELETE,	"/v1/{e}/{id}",			GUARDS_ENTITY_ROUTES,	api_entity_delete },
	{ EVHTTP_REQ_POST,	"/v1/{e}/{id}/archive",		GUARDS_ENTITY_ROUTES,	api_entity_archive },
	{ EVHTTP_REQ_POST,	"/v1/{e}/{id}/process",		GUARDS_ENTITY_ROUTES,	api_entity_process },
	{ EVHTTP_REQ_POST,	"/v1/sync/{e}/push",		GUARDS_ENTITY_ROUTES,	api_sync_push },
	{ EVHTTP_REQ_GET,	"/v1/sync/{e}/pull",		GUARDS_ENTITY_ROUTES,	api_sync_pull },
	{ EVHTTP_REQ_GET,	"/v1/sync/info",		0,			api_sync_info },
	{ EVHTTP_REQ_GET,	"/v1/sync/state",		GUARDS_STATE_ROUTES,	api_sync_state },
	{ EVHTTP_REQ_POST,	"/v1/sync/wipe",		GUARDS_STATE_ROUTES,	api_sync_wipe },
};

long long
api_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void
api_format_ms(long long ms, char *out, size_t cap)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static void
api_req_free(struct api_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);

	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (r->pending != NULL)
		db_query_cancel(r->pending);
	if (r->work_free != NULL)
		r->work_free(r->work);
	if (r->waiting_cancel != NULL)
		r->waiting_cancel(r->waiting);
	free(r->body);
	free(r);
}

void
api_add_header(struct api_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

static void
api_reply_buffer(struct api_req *r, int status, const char *content_type, struct evbuffer *body)
{
	api_add_header(r, "Content-Type", content_type);
	api_add_header(r, "X-Correlation-ID", r->cid);
	evhttp_send_reply(r->req, status, NULL, body);
	api_req_free(r);
}

void
api_reply_raw(struct api_req *r, int status, struct evbuffer *body)
{
	evhttp_send_reply(r->req, status, NULL, body);
	api_req_free(r);
}

static void
api_reply(struct api_req *r, int status, const char *content_type, const char *body)
{
	struct evbuffer *out = evbuffer_new();

	evbuffer_add(out, body, strlen(body));
	api_reply_buffer(r, status, content_type, out);
	evbuffer_free(out);
}

void
api_reply_json_buffer(struct api_req *r, int status, struct evbuffer *body)
{
	api_reply_buffer(r, status, "application/json", body);
}

void
api_reply_json(struct api_req *r, int status, const char *json)
{
	api_reply(r, status, "application/json", json);
}

void
api_reply_text(struct api_req *r, int status, const char *text)
{
	api_reply(r, status, "text/plain; charset=utf-8", text);
}

void
api_reply_error(struct api_req *r, int status, const char *message)
{
	char buf[1024];
	struct jsonstr js;

	jsonstr_init(&js, buf, sizeof(buf));
	jsonstr_raw(&js, "{\"error\":");
	jsonstr_quote(&js, message);
	jsonstr_raw(&js, ",\"correlation_id\":");
	jsonstr_quote(&js, r->cid);
	jsonstr_raw(&js, "}");
	api_reply_json(r, status, buf);
}

/*
 * A database failure: 503 with Retry-After when the database is unreachable
 * or busy.  The details (libpq's message names hosts and sockets) go to the
 * log only; the client learns which of the two it is.
 */
void
api_reply_db_failure(struct api_req *r, int db_status, const char *message)
{
	log_cid(LOG_LEVEL_WARN, r->cid, "api: database: %s", message);
	switch (db_status) {
	case DB_QUERY_ERROR:
		api_reply_error(r, 500, "internal error");
		return;
	case DB_UNAVAILABLE:
		message = "database unavailable";
		break;
	case DB_TIMEOUT:
		message = "database busy: timed out";
		break;
	}
	api_add_header(r, "Retry-After", "1");
	api_reply_error(r, 503, message);
}

int
api_db_answered(struct api_req *r, int db_status, const char *message)
{
	r->pending = NULL;
	if (db_status == DB_OK)
		return 1;
	api_reply_db_failure(r, db_status, message);
	return 0;
}

const char *
api_query_param(struct api_req *r, const char *name, char *buf, size_t cap)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
	const char *query = evhttp_uri_get_query(uri);
	struct evkeyvalq params;
	const char *v;

	if (query == NULL || evhttp_parse_query_str(query, &params) == -1)
		return NULL;
	v = http_header_get(&params, name);
	if (v != NULL)
		snprintf(buf, cap, "%s", v);
	evhttp_clear_headers(&params);
	return v != NULL ? buf : NULL;
}

static void
api_healthz(struct api_req *r)
{
	api_reply_text(r, 200, "ok");
}

static void
api_on_readyz(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)res;
	(void)sqlstate;
	(void)message;	/* may name the host: the log has it, not the answer */
	r->pending = NULL;
	if (status == DB_OK) {
		api_reply_text(r, 200, "ready");
		return;
	}
	api_add_header(r, "Retry-After", "1");
	api_reply_text(r, 503, status == DB_TIMEOUT ? "not ready: database too slow to answer" :
	    "not ready: database unavailable");
}

/*
 * Ready once the schema is applied (until then the database routes answer
 * 503) and while the database answers now: a query of its own each time, so
 * that the answer is never a verdict of long ago.
 */
static void
api_readyz(struct api_req *r)
{
	if (r->ctx->proxy != NULL) {
		api_reply_text(r, 200, "ready");
		return;
	}
	if (!r->ctx->schema_ready) {
		api_add_header(r, "Retry-After", "1");
		api_reply_text(r, 503, "not ready: database schema not yet applied");
		return;
	}
	r->pending = db_pool_exec(r->ctx->pool, NULL, "SELECT 1", 0, NULL, DB_RETRY_READ,
	    api_on_readyz, r);
	if (r->pending == NULL) {
		api_add_header(r, "Retry-After", "1");
		api_reply_text(r, 503, "not ready: database busy: too many queued requests");
	}
}

static const struct api_entity *
api_entity_find(const char *segment, size_t len)
{
	for (size_t i = 0; i < sizeof(api_entities) / sizeof(api_entities[0]); i++)
		if (strlen(api_entities[i].path) == len &&
		    strncmp(api_entities[i].path, segment, len) == 0)
			return &api_entities[i];
	return NULL;
}

/* Match path against pattern segment by segment, filling the request's entity and segment. */
static int
api_route_match(const char *pattern, const char *path, struct api_req *r)
{
	while (*pattern != '\0' && *path != '\0') {
		const char *pend = strchrnul(pattern + 1, '/');
		const char *send = strchrnul(path + 1, '/');
		size_t plen = (size_t)(pend - pattern), slen = (size_t)(send - path);

		if (strncmp(pattern, "/{e}", plen) == 0 && plen == 4) {
			if ((r->entity = api_entity_find(path + 1, slen - 1)) == NULL)
				return 0;
		} else if (strncmp(pattern, "/{id}", plen) == 0 && plen == 5) {
			if (slen - 1 == 0 || slen - 1 >= sizeof(r->segment))
				return 0;
			memcpy(r->segment, path + 1, slen - 1);
			r->segment[slen - 1] = '\0';
		} else if (plen != slen || strncmp(pattern, path, plen) != 0)
			return 0;
		pattern = pend;
		path = send;
	}
	return *pattern == '\0' && *path == '\0';
}

/* 404 when no pattern matches the path, 405 when the path matches for another method. */
static int
api_route_find(struct api_req *r, const char *path)
{
	int path_known = 0;

	for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		if (!api_route_match(api_routes[i].pattern, path, r))
			continue;
		path_known = 1;
		if (api_routes[i].method == evhttp_request_get_command(r->req)) {
			r->route = &api_routes[i];
			return 200;
		}
	}
	return path_known ? 405 : 404;
}

static void
api_take_correlation_id(struct api_req *r)
{
	const char *cid = http_header_get(evhttp_request_get_input_headers(r->req),
	    "X-Correlation-ID");

	if (cid != NULL && cid[0] != '\0' && strlen(cid) < sizeof(r->cid) &&
	    strpbrk(cid, "\r\n\"\\") == NULL)
		snprintf(r->cid, sizeof(r->cid), "%s", cid);
	else
		uuid_generate(r->cid);
}

static void
api_take_body(struct api_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);

	if ((r->body = malloc(len + 1)) == NULL)
		fatal("api_take_body");
	evbuffer_remove(in, r->body, len);
	r->body[len] = '\0';
	r->body_len = len;
}

/*
 * libevent refuses a body beyond its own limit with a bare 413 (no JSON, no
 * correlation id) before we see the request, so its limit is twice ours: a
 * body up to that size is read and refused here with the contract's JSON
 * error, and one still larger is never buffered whole.
 */
static ev_ssize_t
api_evhttp_body_limit(const struct conf *cf)
{
	return (ev_ssize_t)cf->max_body_bytes * 2;
}

static int
api_body_too_large(struct api_req *r)
{
	size_t len = evbuffer_get_length(evhttp_request_get_input_buffer(r->req));
	size_t max = (size_t)r->ctx->cf->max_body_bytes;
	char msg[96];

	if (len <= max)
		return 0;
	log_cid(LOG_LEVEL_INFO, r->cid, "api: body of %zu bytes refused (max_body_bytes %zu)",
	    len, max);
	snprintf(msg, sizeof(msg), "request body too large: at most %zu bytes", max);
	api_reply_error(r, 413, msg);
	return 1;
}

static void
api_on_close(struct evhttp_connection *evcon, void *arg)
{
	struct api_req *r = arg;

	(void)evcon;
	log_cid(LOG_LEVEL_DEBUG, r->cid, "api: client went away before the reply");
	api_req_free(r);
}

/* Proxy mode: everything but our own /healthz goes upstream, whatever the route table says. */
static int
api_forwards(struct api_req *r, int status)
{
	return r->ctx->proxy != NULL && !(status == 200 && r->route->handler == api_healthz);
}

static void
api_on_request(struct evhttp_request *req, struct api_ctx *ctx, int via_tcp)
{
	struct api_req *r;
	char *path;
	int status;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("api_on_request");
	r->ctx = ctx;
	r->req = req;
	r->via_tcp = via_tcp;
	api_take_correlation_id(r);
	if (api_body_too_large(r))
		return;
	path = evhttp_uridecode(evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)), 0, NULL);
	status = path != NULL ? api_route_find(r, path) : 404;
	free(path);
	if (api_forwards(r, status)) {
		api_take_body(r);
		evhttp_connection_set_closecb(evhttp_request_get_connection(req), api_on_close, r);
		api_proxy_forward(r);
		return;
	}
	if (status == 404) {
		api_reply_error(r, 404, "not found");
		return;
	}
	if (status == 405) {
		api_reply_error(r, 405, "method not allowed");
		return;
	}
	api_take_body(r);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), api_on_close, r);
	api_guard_run(r);
}

static void
api_on_request_unix(struct evhttp_request *req, void *arg)
{
	api_on_request(req, arg, 0);
}

static void
api_on_request_tcp(struct evhttp_request *req, void *arg)
{
	api_on_request(req, arg, 1);
}

static evutil_socket_t
api_bind_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	evutil_socket_t fd;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("api: socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("api: unlink %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		fatal("api: socket");
	old = umask(0077);	/* only this user may talk to the API child */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("api: bind %s", path);
	umask(old);
	if (listen(fd, 4096) == -1)	/* workers × their connection cap, at least */
		fatal("api: listen %s", path);
	return fd;
}

static void
api_socket_path(const struct api_ctx *ctx, char *path, size_t cap)
{
	snprintf(path, cap, "%s/api.sock", ctx->cf->runtime_dir);
}

/* Only our own socket file: a newer API child may already have bound the path. */
void
api_http_stop(struct api_ctx *ctx)
{
	char path[4096];
	struct stat st;

	api_socket_path(ctx, path, sizeof(path));
	if (stat(path, &st) == 0 && st.st_ino == ctx->socket_inode)
		unlink(path);
}

static struct evhttp *
api_http_new(struct api_ctx *ctx, evutil_socket_t fd, void (*cb)(struct evhttp_request *, void *),
    const char *where)
{
	struct evhttp *http;

	if ((http = evhttp_new(ctx->base)) == NULL)
		fatalx("api: evhttp_new");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(http, api_evhttp_body_limit(ctx->cf));
	evhttp_set_timeout(http, 60);
	evhttp_set_gencb(http, cb, ctx);
	if (evhttp_accept_socket(http, fd) == -1)
		fatalx("api: cannot serve on %s", where);
	return http;
}

int
api_http_start(struct api_ctx *ctx)
{
	char path[4096];
	struct stat st;
	evutil_socket_t fd;

	api_socket_path(ctx, path, sizeof(path));
	fd = api_bind_unix(path);
	if (stat(path, &st) == 0)
		ctx->socket_inode = st.st_ino;
	ctx->http = api_http_new(ctx, fd, api_on_request_unix, path);
	log_info("api: listening on %s", path);
	if (ctx->cf->api_listen[0] != '\0') {
		fd = api_tcp_bind(ctx->cf->api_listen);
		ctx->http_tcp = api_http_new(ctx, fd, api_on_request_tcp, ctx->cf->api_listen);
		log_info("api: listening on %s (TCP, tenant headers %s)", ctx->cf->api_listen,
		    ctx->cf->api_tcp_require_tenant ? "required" : "optional");
	}
	return 0;
}
