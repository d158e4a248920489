/*
 * Two chained hash tables: the counted connections by their libevent
 * handle, and the number of connections of each peer address.  An address
 * is dropped when its last connection closes, so both stay as small as the
 * connections open now.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

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

struct conn_guard {
	int			 max_total, max_per_ip;
	int			 total;
	struct guarded_conn	*conns[GUARD_BUCKETS];
	struct peer_count	*peers[GUARD_BUCKETS];
};

struct conn_guard *
conn_guard_new(int max_total, int max_per_ip)
{
	struct conn_guard *g = calloc(1, sizeof(*g));

	if (g == NULL)
		fatal("conn_guard_new");
	g->max_total = max_total;
	g->max_per_ip = max_per_ip;
	return g;
}

void
conn_guard_free(struct conn_guard *g)
{
	if (g == NULL)
		return;
	for (int i = 0; i < GUARD_BUCKETS; i++) {
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
	unsigned h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % GUARD_BUCKETS;
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
