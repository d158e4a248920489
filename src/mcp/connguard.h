/*
 * A worker's connection limits: at most mcp_max_connections client
 * connections at once, and at most mcp_max_connections_per_ip from one
 * address.  A connection is counted from its first request until it closes.
 * Before that, it has mcp_http_timeout_sec in all to send its first request:
 * libevent's own timeout restarts with every byte, so a client that drips a
 * byte a second ("slowloris") would otherwise hold its connection for good.
 * The guard learns of a close through the connection's close callback, which
 * it therefore owns: the worker's modules set theirs with
 * conn_guard_set_closecb.
 */
#ifndef TRESTLE_CONNGUARD_H
#define TRESTLE_CONNGUARD_H

#include <event2/http.h>

struct conn_guard;

typedef void (*conn_close_fn)(struct evhttp_connection *, void *);

/* max_per_ip 0: no limit per address; first_request_sec: the deadline of a first request. */
struct conn_guard *conn_guard_new(int max_total, int max_per_ip, int first_request_sec);
void	conn_guard_free(struct conn_guard *);
/*
 * Serve http through the guard: each new connection gets the first request's
 * deadline, and on_accept(arg) is called for it (on_accept may be NULL).
 */
void	conn_guard_watch(struct conn_guard *, struct evhttp *, void (*on_accept)(void *),
	    void *arg);
/* Call first for every request: its connection has sent a whole request, in time. */
void	conn_guard_request_read(struct conn_guard *, struct evhttp_request *);
/*
 * Call for each request first: 0 when its connection may be served (counted
 * now if new); -1 when a limit refuses it, with *why naming the limit.  The
 * caller answers a refused request and closes its connection.
 */
int	conn_guard_admit(struct conn_guard *, struct evhttp_request *, const char **why);
/* evhttp_connection_set_closecb for the worker's modules; cb NULL clears it. */
void	conn_guard_set_closecb(struct conn_guard *, struct evhttp_connection *, conn_close_fn cb,
	    void *arg);
/* Connections counted now. */
int	conn_guard_count(const struct conn_guard *);

#endif
