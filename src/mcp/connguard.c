/*
 * Two chained hash tables: the counted connections by their libevent
 * handle, and the number of connections of each peer address.  An address
 * is dropped when its last connection closes, so both stay as small as the
 * connections open now.
 *
 * The first request's deadline: the guard makes each new connection's
 * bufferevent itself (evhttp_set_bevcb), keeps a reference to it and arms a
 * timer.  The first request read frees the timer; a timer that fires first
 * shuts the socket down, and libevent, reading the end of the stream, frees
 * the connection as it frees any other.  The reference keeps the
 * bufferevent (and its address, the table's key) valid until the guard is
 * done with it, whatever libevent did meanwhile.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "codec.h"
#include "connguard.h"
#include "log.h"

#define GUARD_BUCKETS	1024
#define GUARD_ADDR_MAX	64

struct peer_count {
	struct peer_count	*next;
	int			 n;
	char			 addr[GUARD_ADDR_MAX];
};

struct guarded_conn {
	struct guarded_conn	*next;
	struct evhttp_connection *evcon;
	struct peer_count	*peer;
	conn_close_fn		 cb;	/* the module's own close callback */
	void			*arg;
};

/* A new connection that has not yet sent a whole request. */
struct first_request {
	struct first_request	*next;
	struct conn_guard	*g;
	struct bufferevent	*bev;	/* referenced */
	struct event		*ev_deadline;
};

struct conn_guard {
	void			(*on_accept)(void *);
	void			*on_accept_arg;
	int			 max_total, max_per_ip, first_request_sec;
	int			 total;
	struct guarded_conn	*conns[GUARD_BUCKETS];
	struct peer_count	*peers[GUARD_BUCKETS];
	struct first_request	*waiting[GUARD_BUCKETS];
};

static unsigned	guard_hash_ptr(const void *);

struct conn_guard *
conn_guard_new(int max_total, int max_per_ip, int first_request_sec)
{
	struct conn_guard *g = calloc(1, sizeof(*g));

	if (g == NULL)
		fatal("conn_guard_new");
	g->max_total = max_total;
	g->max_per_ip = max_per_ip;
	g->first_request_sec = first_request_sec;
	return g;
}

static void
guard_first_done(struct first_request *f)
{
	struct first_request **l = &f->g->waiting[guard_hash_ptr(f->bev)];

	while (*l != f)
		l = &(*l)->next;
	*l = f->next;
	event_free(f->ev_deadline);
	bufferevent_decref(f->bev);
	free(f);
}

/* The deadline passed without a whole request: end the connection. */
static void
guard_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct first_request *f = arg;
	bufferevent_data_cb readcb = NULL;
	evutil_socket_t sock = bufferevent_getfd(f->bev);

	(void)fd;
	(void)what;
	bufferevent_getcb(f->bev, &readcb, NULL, NULL, NULL);
	if (readcb != NULL && sock != -1) {	/* libevent still serves it */
		log_debug("worker: connection closed: no whole request within %d s",
		    f->g->first_request_sec);
		shutdown(sock, SHUT_RDWR);
	}
	guard_first_done(f);
}

static struct bufferevent *
guard_new_connection(struct event_base *base, void *arg)
{
	struct conn_guard *g = arg;
	struct timeval tv = { g->first_request_sec, 0 };
	struct first_request *f = calloc(1, sizeof(*f));
	unsigned h;

	if (f == NULL || (f->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (f->ev_deadline = evtimer_new(base, guard_on_deadline, f)) == NULL)
		fatal("guard_new_connection");
	f->g = g;
	if (g->on_accept != NULL)
		g->on_accept(g->on_accept_arg);
	bufferevent_incref(f->bev);
	evtimer_add(f->ev_deadline, &tv);
	h = guard_hash_ptr(f->bev);
	f->next = g->waiting[h];
	g->waiting[h] = f;
	return f->bev;
}

void
conn_guard_watch(struct conn_guard *g, struct evhttp *http, void (*on_accept)(void *),
    void *arg)
{
	g->on_accept = on_accept;
	g->on_accept_arg = arg;
	evhttp_set_bevcb(http, guard_new_connection, g);
}

void
conn_guard_request_read(struct conn_guard *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct first_request *f;

	if (bev == NULL)
		return;
	for (f = g->waiting[guard_hash_ptr(bev)]; f != NULL; f = f->next)
		if (f->bev == bev) {
			guard_first_done(f);
			return;
		}
}

void
conn_guard_free(struct conn_guard *g)
{
	if (g == NULL)
		return;
	for (int i = 0; i < GUARD_BUCKETS; i++) {
		while (g->waiting[i] != NULL)
			guard_first_done(g->waiting[i]);
		while (g->conns[i] != NULL) {
			struct guarded_conn *c = g->conns[i];

			g->conns[i] = c->next;
			free(c);
		}
		while (g->peers[i] != NULL) {
			struct peer_count *p = g->peers[i];

			g->peers[i] = p->next;
			free(p);
		}
	}
	free(g);
}

static unsigned
guard_hash_ptr(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	return (unsigned)((v >> 4) ^ (v >> 14)) % GUARD_BUCKETS;
}

static unsigned
guard_hash_str(const char *s)
{
	return fnv1a(s, strlen(s)) % GUARD_BUCKETS;
}

static struct guarded_conn **
guard_conn_link(struct conn_guard *g, const struct evhttp_connection *evcon)
{
	struct guarded_conn **l = &g->conns[guard_hash_ptr(evcon)];

	while (*l != NULL && (*l)->evcon != evcon)
		l = &(*l)->next;
	return l;
}

static struct peer_count *
guard_peer(struct conn_guard *g, const char *addr, int create)
{
	unsigned h = guard_hash_str(addr);
	struct peer_count *p;

	for (p = g->peers[h]; p != NULL; p = p->next)
		if (strcmp(p->addr, addr) == 0)
			return p;
	if (!create)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("guard_peer");
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->next = g->peers[h];
	g->peers[h] = p;
	return p;
}

static void
guard_peer_release(struct conn_guard *g, struct peer_count *peer)
{
	struct peer_count **l = &g->peers[guard_hash_str(peer->addr)];

	if (--peer->n > 0)
		return;
	while (*l != peer)
		l = &(*l)->next;
	*l = peer->next;
	free(peer);
}

/* The connection closed: its module hears of it first, then it is no longer counted. */
static void
guard_on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn_guard *g = arg;
	struct guarded_conn **l = guard_conn_link(g, evcon), *c = *l;

	if (c == NULL)
		return;
	*l = c->next;
	if (c->cb != NULL)
		c->cb(evcon, c->arg);
	guard_peer_release(g, c->peer);
	g->total--;
	free(c);
}

static const char *
guard_peer_addr(struct evhttp_connection *evcon)
{
	char *addr = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(evcon, &addr, &port);
	return addr != NULL ? addr : "";
}

int
conn_guard_admit(struct conn_guard *g, struct evhttp_request *req, const char **why)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct peer_count *peer;
	struct guarded_conn *c;
	const char *addr;

	if (evcon == NULL || *guard_conn_link(g, evcon) != NULL)
		return 0;
	addr = guard_peer_addr(evcon);
	peer = guard_peer(g, addr, 0);
	if (g->total >= g->max_total) {
		*why = "too many connections";
		return -1;
	}
	if (g->max_per_ip > 0 && peer != NULL && peer->n >= g->max_per_ip) {
		*why = "too many connections from this address";
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("conn_guard_admit");
	c->evcon = evcon;
	c->peer = peer != NULL ? peer : guard_peer(g, addr, 1);
	c->peer->n++;
	c->next = g->conns[guard_hash_ptr(evcon)];
	g->conns[guard_hash_ptr(evcon)] = c;
	g->total++;
	evhttp_connection_set_closecb(evcon, guard_on_close, g);
	return 0;
}

void
conn_guard_set_closecb(struct conn_guard *g, struct evhttp_connection *evcon, conn_close_fn cb,
    void *arg)
{
	struct guarded_conn *c = *guard_conn_link(g, evcon);

	if (c == NULL) {
		evhttp_connection_set_closecb(evcon, cb, arg);	/* not counted: plain */
		return;
	}
	c->cb = cb;
	c->arg = arg;
}

int
conn_guard_count(const struct conn_guard *g)
{
	return g->total;
}
