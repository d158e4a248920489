/* The API child: state shared by its modules. */
#ifndef TRESTLE_API_H
#define TRESTLE_API_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "conf.h"
#include "jwt.h"

#define API_SESSION_TTL_SEC	(30 * 60)
#define API_CID_MAX		128

struct db_pool;
struct jwks;
struct replay;
struct tenant_key;
struct api_proxy;
struct migrations;

struct api_ctx {
	const struct conf	*cf;
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp		*http_tcp;	/* api_listen; NULL: none */
	struct db_pool		*pool;		/* NULL in proxy mode */
	struct jwks		*jwks;		/* jwks_url; NULL: RS256 refused */
	struct replay		*replay;	/* nonces of v2 tenant headers */
	struct tenant_key	*tenant_key;	/* tenant_secret, for v2 */
	struct api_proxy	*proxy;		/* api_upstream_url; NULL: PostgreSQL */
	struct migrations	*migrations;	/* NULL in proxy mode */
	int			 schema_ready;
	unsigned long		 socket_inode;	/* of the api.sock this child bound */
};

/* What a route needs before its handler runs, in the order the guards run. */
enum api_guard_flags {
	API_NEED_USER		= 1 << 0,
	API_NEED_TENANT		= 1 << 1,
	API_NEED_SESSION	= 1 << 2,
	API_NEED_EPOCH		= 1 << 3,
	API_NEED_RATE_LIMIT	= 1 << 4,	/* runs between session and epoch */
};

struct api_entity {
	const char	*path;		/* "notes" */
	const char	*table;		/* "note" */
	const char	*noun;		/* "note" */
};

struct api_req;
typedef void (*api_handler_fn)(struct api_req *);

struct api_route {
	enum evhttp_cmd_type	 method;
	const char		*pattern;	/* "/v1/{e}/{uid}": {e} an entity, {id} any segment */
	int			 guards;
	api_handler_fn		 handler;
};

/* One request in flight; freed when its reply is sent or its client goes away. */
struct api_req {
	struct api_ctx		*ctx;
	struct evhttp_request	*req;
	const struct api_route	*route;
	const struct api_entity	*entity;
	struct db_query		*pending;
	/* Anything else the request waits for (a JWKS fetch, an upstream call). */
	void			*waiting;
	void			(*waiting_cancel)(void *);
	int			 via_tcp;	/* came on the TCP listener */
	char			 cid[API_CID_MAX];
	char			 sub[JWT_SUB_MAX];
	char			 owner_id[37];
	char			 session_id[64];
	char			 segment[64];	/* the {uid} or {id} of the path */
	long long		 client_epoch;
	int			 server_epoch;
	char			*body;		/* NUL-terminated copy of the request body */
	size_t			 body_len;
	void			*work;		/* a handler's state across its query */
	void			(*work_free)(void *);
};

/* api_http.c: replies (each frees the request) */
struct evbuffer;
void	api_reply_json(struct api_req *, int status, const char *json);
void	api_reply_json_buffer(struct api_req *, int status, struct evbuffer *json);
void	api_reply_error(struct api_req *, int status, const char *message);
void	api_reply_text(struct api_req *, int status, const char *text);
void	api_reply_db_failure(struct api_req *, int status_of_db, const char *message);
/* r's query came back: 1 when it succeeded; else 0, the failure answered (api_reply_db_failure). */
int	api_db_answered(struct api_req *, int status_of_db, const char *message);
void	api_add_header(struct api_req *, const char *name, const char *value);
const char *api_query_param(struct api_req *, const char *name, char *buf, size_t cap);
int	api_http_start(struct api_ctx *);
/* Remove the socket file, so that nothing mistakes it for a live API child. */
void	api_http_stop(struct api_ctx *);

/* api_guard.c: run the route's guards, then its handler */
void	api_guard_run(struct api_req *);

/* api_auth.c: the user and tenant guards */
/* 0: r->sub is set; -1: refused (logged); 1: waiting for the JWKS, api_guard_run runs again. */
int	api_auth_user(struct api_req *);
/* 0 when the tenant headers (v1, or v2 bound to r->sub when set) pass; -1 refused (logged). */
int	api_auth_tenant(struct api_req *);
/* "GET", "POST", …: the request's method as sent. */
const char *api_request_method(struct api_req *);

/* api_proxy.c: proxy mode, every request forwarded to api_upstream_url */
struct api_proxy *api_proxy_new(struct api_ctx *);
void	api_proxy_free(struct api_proxy *);
void	api_proxy_forward(struct api_req *);
/* api_http.c: send the status, the headers already set and body as they are; frees the request */
void	api_reply_raw(struct api_req *, int status, struct evbuffer *body);
/* api_tcp.c: a listening TCP socket on "host:port" ("[::1]:port"); fatal on failure */
evutil_socket_t api_tcp_bind(const char *host_port);

/* handlers */
void	api_sessions_create(struct api_req *);
void	api_sessions_get(struct api_req *);
void	api_sessions_delete(struct api_req *);
void	api_entity_list(struct api_req *);
void	api_entity_create(struct api_req *);
void	api_entity_get(struct api_req *);
void	api_entity_put(struct api_req *);
void	api_entity_patch(struct api_req *);
void	api_entity_delete(struct api_req *);
void	api_entity_archive(struct api_req *);
void	api_entity_process(struct api_req *);
void	api_sync_push(struct api_req *);
void	api_sync_pull(struct api_req *);
void	api_sync_info(struct api_req *);
void	api_sync_state(struct api_req *);
void	api_sync_wipe(struct api_req *);

/* api_ratelimit.c: the per-user token bucket; -1 when it answered 429 */
int	api_ratelimit_check(struct api_req *);

/* RFC 3339 UTC with milliseconds: out needs 32 bytes. */
void	api_format_ms(long long ms, char *out, size_t cap);
long long api_now_ms(void);

#endif
