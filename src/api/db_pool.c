#include "config.h"

#include <sys/queue.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "db_pool.h"
#include "log.h"

#define DB_MSG_MAX		512
#define DB_QUEUE_MAX_DEFAULT	256
#define DB_TIMEOUT_DEFAULT_MS	5000
/* While the database is down, one connection attempt at most this often. */
#define DB_BACKOFF_MS		200
/* A busy connection silent this long past statement_timeout hangs; it is dropped. */
#define DB_WATCHDOG_SLACK_MS	2000
/* Attempts for a query that keeps failing before it was sent (never applied). */
#define DB_UNSENT_TRIES		3
/* No query joins the pipeline of a connection that has not answered for this long. */
#define DB_PIPELINE_STALL_MS	10
#define DB_MAX_PARAMS		65535
#define DB_NKEYWORDS		5

enum conn_state { CONN_CONNECTING, CONN_PREPARING, CONN_IDLE, CONN_BUSY };
enum query_state { Q_NEW, Q_QUEUED, Q_RUNNING, Q_DONE, Q_DELIVERING };

struct db_conn {
	struct db_pool		*pool;
	PGconn			*pg;
	enum conn_state		 state;
	struct event		*ev;		/* socket readiness, EV_PERSIST */
	struct event		*timer;		/* connect timeout, then busy watchdog */
	evutil_socket_t		 fd;
	short			 what;
	int			 flushing;	/* libpq still has output to send */
	int			 ready_once;	/* was established: count it when discarded */
	int			 timed_out;	/* the watchdog fired */
	size_t			 prep_next;	/* next statement to prepare */
	PGresult		*res;		/* the oldest query's result, kept until its Sync */
	/* Sent and not yet answered, oldest first; a NULL slot was cancelled. */
	struct db_query		*inflight[DB_PIPELINE_DEPTH];
	int			 first, depth;
	int64_t			 progress_ms;	/* when the oldest query became the oldest */
	TAILQ_ENTRY(db_conn)	 entry;		/* pool->conns */
	TAILQ_ENTRY(db_conn)	 idle_entry;	/* pool->idle */
};

struct db_query {
	struct db_pool		*pool;
	enum query_state	 state;
	const char		*stmt;
	const char		*sql;
	int			 nparams;
	const char		**values;	/* points into the same allocation */
	enum db_retry		 retry;
	int			 retried;
	int			 unsent_failures;
	db_done_fn		 done;
	void			*arg;
	struct db_conn		*conn;		/* while running */
	struct event		*timer;		/* queue timeout */
	enum db_status		 status;
	PGresult		*res;
	char			 sqlstate[6];
	char			 message[DB_MSG_MAX];
	TAILQ_ENTRY(db_query)	 entry;		/* pool->queue or pool->done */
};

TAILQ_HEAD(db_conn_list, db_conn);
TAILQ_HEAD(db_query_list, db_query);

struct db_pool {
	struct event_base	*base;
	char			*conninfo;
	char			*pg_options;
	const char		*keywords[DB_NKEYWORDS + 1];
	const char		*values[DB_NKEYWORDS + 1];
	struct db_prepared	*prepared;
	size_t			 nprepared;
	int			 size;
	int			 queue_max;
	int			 statement_timeout_ms;
	int			 connect_timeout_ms;
	int			 queue_timeout_ms;
	int			 watchdog_ms;
	int			 nconns, nstarting, nidle, nbusy, nqueued, ndone;
	struct db_conn_list	 conns;
	struct db_conn_list	 idle;		/* most recently used first */
	struct db_query_list	 queue;
	struct db_query_list	 done;		/* answered, callback not yet called */
	struct event		*done_ev;
	struct event		*retry_ev;
	int64_t			 next_connect_ms;
	int			 down;
	int			 closing;
	int			 delivering;
	int			 free_requested;
	char			 last_sqlstate[6];
	char			 last_error[DB_MSG_MAX];
	struct db_pool_stats	 stats;		/* counters only; gauges filled on demand */
};

static int	 pool_set_conninfo(struct db_pool *, const char *, int);
static int	 pool_copy_prepared(struct db_pool *, const struct db_pool_options *);
static void	 pool_destroy(struct db_pool *);
static void	 pool_fill(struct db_pool *);
static void	 pool_grow(struct db_pool *);
static void	 pool_fail_queue(struct db_pool *);
static void	 pool_connect_failed(struct db_pool *, const char *, const char *);
static void	 pool_deliver(struct db_pool *, int);
static void	 pool_done_cb(evutil_socket_t, short, void *);
static void	 pool_retry_cb(evutil_socket_t, short, void *);
static struct db_conn *pool_pick(struct db_pool *);

static int	 conn_open(struct db_pool *);
static int	 conn_watch(struct db_conn *, short, int);
static void	 conn_set_state(struct db_conn *, enum conn_state);
static void	 conn_leave_state(struct db_conn *);
static void	 conn_event_cb(evutil_socket_t, short, void *);
static void	 conn_timer_cb(evutil_socket_t, short, void *);
static void	 conn_notice(void *, const char *);
static void	 conn_connect_poll(struct db_conn *);
static void	 conn_connected(struct db_conn *);
static void	 conn_prepare_next(struct db_conn *);
static void	 conn_prepare_done(struct db_conn *);
static void	 conn_setup_failed(struct db_conn *, const char *, const char *);
static void	 conn_ready(struct db_conn *);
static void	 conn_idle_input(struct db_conn *);
static void	 conn_dispatch(struct db_conn *, struct db_query *);
static void	 conn_unsent(struct db_conn *, const char *);
static void	 conn_start_io(struct db_conn *);
static void	 conn_io(struct db_conn *, short);
static int	 conn_prepare_results(struct db_conn *);
static int	 conn_query_results(struct db_conn *);
static void	 conn_keep(struct db_conn *, PGresult *);
static void	 conn_lost(struct db_conn *, const char *);
static int	 conn_query_done(struct db_conn *);
static void	 conn_fail_all(struct db_conn *, const char *);
static struct db_query **conn_slot(struct db_conn *, int);
static void	 conn_push(struct db_conn *, struct db_query *);
static struct db_query *conn_pop(struct db_conn *);
static struct db_query *conn_pop_newest(struct db_conn *);
static struct db_query *conn_take(struct db_conn *);
static void	 conn_forget(struct db_conn *, struct db_query *);
static void	 conn_discard(struct db_conn *, const char *);

static struct db_query *query_new(struct db_pool *, const char *, const char *, int,
		    const char *const *);
static void	 query_enqueue(struct db_query *, int);
static void	 query_unqueue(struct db_query *);
static void	 query_answer(struct db_query *, PGresult *, int, int, const char *);
static void	 query_finish(struct db_query *, enum db_status, PGresult *, const char *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
static void	 query_timeout_cb(evutil_socket_t, short, void *);
static void	 query_free(struct db_query *);

static int	 res_failed(const PGresult *);
static int	 res_dead(const PGresult *);
static const char *res_sqlstate(const PGresult *);
static const char *res_message(const PGresult *);
static const char *conn_error(struct db_conn *, char *, size_t);
static void	 text_copy(char *, size_t, const char *);
static int	 timer_add_ms(struct event *, int);
static int64_t	 now_ms(void);

struct db_pool *
db_pool_new(struct event_base *base, const struct db_pool_options *opts)
{
	struct db_pool *pool;

	if (opts->size < 1 || opts->statement_timeout_ms < 0) {
		log_warnx("db_pool: invalid options: size %d, statement timeout %d ms",
		    opts->size, opts->statement_timeout_ms);
		return NULL;
	}
	if ((pool = calloc(1, sizeof(*pool))) == NULL) {
		log_warn("db_pool: calloc");
		return NULL;
	}
	pool->base = base;
	TAILQ_INIT(&pool->conns);
	TAILQ_INIT(&pool->idle);
	TAILQ_INIT(&pool->queue);
	TAILQ_INIT(&pool->done);
	pool->size = opts->size;
	pool->queue_max = opts->queue_max > 0 ? opts->queue_max : DB_QUEUE_MAX_DEFAULT;
	pool->statement_timeout_ms = opts->statement_timeout_ms;
	pool->connect_timeout_ms = opts->connect_timeout_ms > 0 ?
	    opts->connect_timeout_ms : DB_TIMEOUT_DEFAULT_MS;
	pool->queue_timeout_ms = opts->queue_timeout_ms > 0 ?
	    opts->queue_timeout_ms : DB_TIMEOUT_DEFAULT_MS;
	if (pool->statement_timeout_ms > 0)
		pool->watchdog_ms = pool->statement_timeout_ms + DB_WATCHDOG_SLACK_MS;
	if (pool_set_conninfo(pool, opts->conninfo, opts->statement_timeout_ms) == -1 ||
	    pool_copy_prepared(pool, opts) == -1 ||
	    (pool->done_ev = evtimer_new(base, pool_done_cb, pool)) == NULL ||
	    (pool->retry_ev = evtimer_new(base, pool_retry_cb, pool)) == NULL) {
		pool_destroy(pool);
		return NULL;
	}
	log_info("db_pool: at most %d connections (opened on demand), queue %d, "
	    "statement timeout %d ms, %zu prepared statements", pool->size,
	    pool->queue_max, pool->statement_timeout_ms, pool->nprepared);
	return pool;
}

/*
 * statement_timeout travels in the startup packet's options, appended to any options the
 * connection string (or PGOPTIONS) already gives, so it holds from the first query on.
 */
static int
pool_set_conninfo(struct db_pool *pool, const char *conninfo, int timeout_ms)
{
	PQconninfoOption *parsed, *o;
	const char *theirs = getenv("PGOPTIONS");
	char *err = NULL, msg[DB_MSG_MAX];
	size_t len;
	int i = 0;

	if (conninfo == NULL)
		conninfo = "";
	if ((parsed = PQconninfoParse(conninfo, &err)) == NULL) {
		text_copy(msg, sizeof(msg), err != NULL ? err : "out of memory");
		log_warnx("db_pool: invalid connection string: %s", msg);
		PQfreemem(err);
		return -1;
	}
	for (o = parsed; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "options") == 0 && o->val != NULL)
			theirs = o->val;
	if (theirs == NULL)
		theirs = "";
	len = strlen(theirs) + 64;
	if ((pool->pg_options = malloc(len)) != NULL)
		snprintf(pool->pg_options, len, "%s%s-c statement_timeout=%d", theirs,
		    *theirs != '\0' ? " " : "", timeout_ms);
	PQconninfoFree(parsed);
	if (pool->pg_options == NULL || (pool->conninfo = strdup(conninfo)) == NULL) {
		log_warn("db_pool: malloc");
		return -1;
	}
	/* Later keywords override what the expanded dbname string says. */
	pool->keywords[i] = "dbname";
	pool->values[i++] = pool->conninfo;
	pool->keywords[i] = "options";
	pool->values[i++] = pool->pg_options;
	pool->keywords[i] = "client_encoding";
	pool->values[i++] = "UTF8";
	pool->keywords[i] = "fallback_application_name";
	pool->values[i++] = "trestle-api";
	pool->keywords[i] = NULL;
	pool->values[i] = NULL;
	return 0;
}

static int
pool_copy_prepared(struct db_pool *pool, const struct db_pool_options *opts)
{
	const struct db_prepared *src;
	struct db_prepared *dst;
	size_t i;

	if (opts->nprepared == 0)
		return 0;
	if ((pool->prepared = calloc(opts->nprepared, sizeof(*pool->prepared))) == NULL) {
		log_warn("db_pool: calloc");
		return -1;
	}
	for (i = 0; i < opts->nprepared; i++) {
		src = &opts->prepared[i];
		dst = &pool->prepared[i];
		pool->nprepared = i + 1;
		if (src->name == NULL || src->sql == NULL || src->nparams < 0) {
			log_warnx("db_pool: prepared statement %zu is incomplete", i);
			return -1;
		}
		dst->nparams = src->nparams;
		if ((dst->name = strdup(src->name)) == NULL ||
		    (dst->sql = strdup(src->sql)) == NULL) {
			log_warn("db_pool: strdup");
			return -1;
		}
	}
	return 0;
}

struct db_query *
db_pool_exec(struct db_pool *pool, const char *stmt, const char *sql, int nparams,
    const char *const *values, enum db_retry retry, db_done_fn done, void *arg)
{
	struct db_query *q;
	struct db_conn *c;
	int bad;

	if (pool->closing || pool->nqueued >= pool->queue_max)
		return NULL;
	bad = (stmt == NULL && sql == NULL) || nparams < 0 || nparams > DB_MAX_PARAMS ||
	    (nparams > 0 && values == NULL);
	if ((q = query_new(pool, stmt, sql, bad ? 0 : nparams, values)) == NULL)
		return NULL;
	q->retry = retry;
	q->done = done;
	q->arg = arg;
	if (bad)
		query_finish(q, DB_QUERY_ERROR, NULL, "", "db_pool: no statement or bad "
		    "parameters (%d)", nparams);
	else if (pool->nqueued == 0 && (c = pool_pick(pool)) != NULL)
		conn_dispatch(c, q);
	else {
		query_enqueue(q, 0);
		pool_fill(pool);
	}
	return q;
}

void
db_query_cancel(struct db_query *q)
{
	struct db_pool *pool;

	if (q == NULL)
		return;
	pool = q->pool;
	switch (q->state) {
	case Q_QUEUED:
		query_unqueue(q);
		break;
	case Q_RUNNING:
		/* The connection drains the answer and goes back to the pool. */
		conn_forget(q->conn, q);
		break;
	case Q_DONE:
		TAILQ_REMOVE(&pool->done, q, entry);
		pool->ndone--;
		break;
	default:
		/* Its callback is running; it is freed when that returns. */
		return;
	}
	query_free(q);
}

void
db_pool_stats(const struct db_pool *pool, struct db_pool_stats *st)
{
	*st = pool->stats;
	st->size = pool->size;
	st->open = pool->nconns;
	st->busy = pool->nbusy;
	st->idle = pool->nidle;
	st->connecting = pool->nstarting;
	st->queued = pool->nqueued;
	st->queue_max = pool->queue_max;
}

void
db_pool_free(struct db_pool *pool)
{
	struct db_conn *c;
	struct db_query *q;

	if (pool == NULL || pool->closing)
		return;
	pool->closing = 1;
	TAILQ_FOREACH(c, &pool->conns, entry)
		while ((q = conn_take(c)) != NULL)
			query_finish(q, DB_UNAVAILABLE, NULL, "", "database pool is shutting down");
	while ((q = TAILQ_FIRST(&pool->queue)) != NULL)
		query_finish(q, DB_UNAVAILABLE, NULL, "", "database pool is shutting down");
	if (pool->delivering) {
		/* Called from a callback: pool_done_cb finishes the job. */
		pool->free_requested = 1;
		return;
	}
	pool_deliver(pool, INT_MAX);
	pool_destroy(pool);
}

static void
pool_destroy(struct db_pool *pool)
{
	struct db_conn *c;
	struct db_query *q;
	size_t i;

	while ((c = TAILQ_FIRST(&pool->conns)) != NULL) {
		while ((q = conn_take(c)) != NULL)
			query_free(q);
		conn_discard(c, NULL);
	}
	while ((q = TAILQ_FIRST(&pool->queue)) != NULL) {
		query_unqueue(q);
		query_free(q);
	}
	while ((q = TAILQ_FIRST(&pool->done)) != NULL) {
		TAILQ_REMOVE(&pool->done, q, entry);
		query_free(q);
	}
	for (i = 0; i < pool->nprepared; i++) {
		free((char *)pool->prepared[i].name);
		free((char *)pool->prepared[i].sql);
	}
	free(pool->prepared);
	if (pool->done_ev != NULL)
		event_free(pool->done_ev);
	if (pool->retry_ev != NULL)
		event_free(pool->retry_ev);
	free(pool->conninfo);
	free(pool->pg_options);
	free(pool);
}

/* Hand waiting queries to connections, then open connections for the rest. */
static void
pool_fill(struct db_pool *pool)
{
	struct db_conn *c;
	struct db_query *q;

	while ((q = TAILQ_FIRST(&pool->queue)) != NULL && (c = pool_pick(pool)) != NULL)
		conn_dispatch(c, q);
	pool_grow(pool);
}

/*
 * An idle connection or, once the pool has all its connections, the busy one with the
 * shortest pipeline that has room; NULL when the query has to wait.
 */
static struct db_conn *
pool_pick(struct db_pool *pool)
{
	struct db_conn *c, *best = NULL;
	int64_t stalled;

	if ((c = TAILQ_FIRST(&pool->idle)) != NULL)
		return c;
	if (pool->nconns < pool->size)
		return NULL;
	/* Waiting in the queue for any connection beats waiting behind a slow query. */
	stalled = now_ms() - DB_PIPELINE_STALL_MS;
	TAILQ_FOREACH(c, &pool->conns, entry)
		if (c->state == CONN_BUSY && c->depth < DB_PIPELINE_DEPTH &&
		    c->progress_ms >= stalled && (best == NULL || c->depth < best->depth))
			best = c;
	return best;
}

static void
pool_grow(struct db_pool *pool)
{
	int64_t wait;

	while (pool->nqueued > pool->nstarting && pool->nconns < pool->size) {
		if ((wait = pool->next_connect_ms - now_ms()) > 0) {
			if (pool->nconns > 0)
				timer_add_ms(pool->retry_ev, (int)wait);
			break;
		}
		if (conn_open(pool) == -1)
			break;
	}
	/* Nothing open and nothing can be opened now: waiting would only delay the error. */
	if (pool->nconns == 0)
		pool_fail_queue(pool);
}

static void
pool_fail_queue(struct db_pool *pool)
{
	struct db_query *q;

	while ((q = TAILQ_FIRST(&pool->queue)) != NULL)
		query_finish(q, DB_UNAVAILABLE, NULL, pool->last_sqlstate, "%s",
		    pool->last_error[0] != '\0' ? pool->last_error : "database unavailable");
}

static void
pool_connect_failed(struct db_pool *pool, const char *why, const char *sqlstate)
{
	char msg[DB_MSG_MAX - sizeof("database unavailable: ")];

	text_copy(msg, sizeof(msg), why);
	pool->stats.connect_failures++;
	snprintf(pool->last_error, sizeof(pool->last_error), "database unavailable: %s", msg);
	/* 08001: sqlclient_unable_to_establish_sqlconnection */
	snprintf(pool->last_sqlstate, sizeof(pool->last_sqlstate), "%s",
	    sqlstate != NULL && *sqlstate != '\0' ? sqlstate : "08001");
	pool->next_connect_ms = now_ms() + DB_BACKOFF_MS;
	if (!pool->down)
		log_warnx("db_pool: %s", pool->last_error);
	else
		log_debug("db_pool: %s", pool->last_error);
	pool->down = 1;
}

static void
pool_deliver(struct db_pool *pool, int limit)
{
	struct db_query *q;

	pool->delivering = 1;
	while (limit-- > 0 && (q = TAILQ_FIRST(&pool->done)) != NULL) {
		TAILQ_REMOVE(&pool->done, q, entry);
		pool->ndone--;
		q->state = Q_DELIVERING;
		if (q->done != NULL)
			q->done(q->status, q->res, q->sqlstate, q->message, q->arg);
		query_free(q);
	}
	pool->delivering = 0;
}

/*
 * Callbacks run here only, from a zero timeout: never inside db_pool_exec, and only the
 * answers present at the start, so a callback that queries again cannot starve the loop.
 */
static void
pool_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_pool *pool = arg;

	(void)fd;
	(void)what;
	pool_deliver(pool, pool->ndone);
	if (pool->free_requested) {
		pool_deliver(pool, INT_MAX);
		pool_destroy(pool);
		return;
	}
	if (pool->ndone > 0)
		timer_add_ms(pool->done_ev, 0);
}

static void
pool_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_fill(arg);
}

static int
conn_open(struct db_pool *pool)
{
	struct db_conn *c;

	pool->stats.connects++;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		pool_connect_failed(pool, "out of memory", NULL);
		return -1;
	}
	c->pool = pool;
	c->fd = -1;
	c->pg = PQconnectStartParams(pool->keywords, pool->values, 1);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		pool_connect_failed(pool, c->pg != NULL ? PQerrorMessage(c->pg) :
		    "out of memory", NULL);
		PQfinish(c->pg);
		free(c);
		return -1;
	}
	PQsetNoticeProcessor(c->pg, conn_notice, c);
	c->state = CONN_CONNECTING;
	pool->nstarting++;
	pool->nconns++;
	TAILQ_INSERT_TAIL(&pool->conns, c, entry);
	if ((c->timer = evtimer_new(pool->base, conn_timer_cb, c)) == NULL ||
	    timer_add_ms(c->timer, pool->connect_timeout_ms) == -1 ||
	    conn_watch(c, EV_WRITE, 1) == -1) {
		conn_setup_failed(c, "cannot watch the connection's socket", NULL);
		return -1;
	}
	return 0;
}

/*
 * While connecting, libpq may close its socket and open another one, possibly with the same
 * number, so the event is always made anew then (force).
 */
static int
conn_watch(struct db_conn *c, short what, int force)
{
	evutil_socket_t fd = PQsocket(c->pg);

	if (!force && c->ev != NULL && fd == c->fd && what == c->what)
		return 0;
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (fd < 0)
		return -1;
	c->fd = fd;
	c->what = what;
	if ((c->ev = event_new(c->pool->base, fd, what | EV_PERSIST, conn_event_cb, c)) == NULL)
		return -1;
	return event_add(c->ev, NULL);
}

static void
conn_leave_state(struct db_conn *c)
{
	struct db_pool *pool = c->pool;

	switch (c->state) {
	case CONN_IDLE:
		TAILQ_REMOVE(&pool->idle, c, idle_entry);
		pool->nidle--;
		break;
	case CONN_BUSY:
		pool->nbusy--;
		break;
	default:
		pool->nstarting--;
		break;
	}
}

static void
conn_set_state(struct db_conn *c, enum conn_state state)
{
	struct db_pool *pool = c->pool;

	conn_leave_state(c);
	c->state = state;
	switch (state) {
	case CONN_IDLE:
		TAILQ_INSERT_HEAD(&pool->idle, c, idle_entry);
		pool->nidle++;
		break;
	case CONN_BUSY:
		pool->nbusy++;
		break;
	default:
		pool->nstarting++;
		break;
	}
}

static void
conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;
	struct db_pool *pool = c->pool;

	(void)fd;
	switch (c->state) {
	case CONN_CONNECTING:
		conn_connect_poll(c);
		break;
	case CONN_IDLE:
		conn_idle_input(c);
		break;
	default:
		conn_io(c, what);
		break;
	}
	pool_fill(pool);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;
	struct db_pool *pool = c->pool;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_BUSY:
		c->timed_out = 1;
		conn_fail_all(c, "no answer from the database in time");
		break;
	case CONN_CONNECTING:
	case CONN_PREPARING:
		conn_setup_failed(c, "timeout expired while connecting", NULL);
		break;
	default:
		break;
	}
	pool_fill(pool);
}

/* Notices (and a FATAL sent to an idle connection) go to the log, not to stderr. */
static void
conn_notice(void *arg, const char *message)
{
	char msg[DB_MSG_MAX];

	(void)arg;
	text_copy(msg, sizeof(msg), message);
	log_debug("db_pool: server notice: %s", msg);
}

static void
conn_connect_poll(struct db_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		if (conn_watch(c, EV_READ, 1) == -1)
			conn_setup_failed(c, "cannot watch the connection's socket", NULL);
		break;
	case PGRES_POLLING_WRITING:
		if (conn_watch(c, EV_WRITE, 1) == -1)
			conn_setup_failed(c, "cannot watch the connection's socket", NULL);
		break;
	case PGRES_POLLING_OK:
		conn_connected(c);
		break;
	default:
		conn_setup_failed(c, PQerrorMessage(c->pg), NULL);
		break;
	}
}

static void
conn_connected(struct db_conn *c)
{
	if (PQsetnonblocking(c->pg, 1) == -1) {
		conn_setup_failed(c, PQerrorMessage(c->pg), NULL);
		return;
	}
	conn_set_state(c, CONN_PREPARING);
	c->prep_next = 0;
	conn_prepare_next(c);
}

/* Statements are prepared one after the other before the connection takes any query. */
static void
conn_prepare_next(struct db_conn *c)
{
	const struct db_prepared *p;

	if (c->prep_next == c->pool->nprepared) {
		if (!PQenterPipelineMode(c->pg))
			conn_setup_failed(c, PQerrorMessage(c->pg), NULL);
		else
			conn_ready(c);
		return;
	}
	p = &c->pool->prepared[c->prep_next];
	if (!PQsendPrepare(c->pg, p->name, p->sql, p->nparams, NULL)) {
		conn_setup_failed(c, PQerrorMessage(c->pg), NULL);
		return;
	}
	conn_start_io(c);
}

static void
conn_prepare_done(struct db_conn *c)
{
	const struct db_prepared *p = &c->pool->prepared[c->prep_next];
	PGresult *res = c->res;
	char msg[DB_MSG_MAX], sqlstate[6];

	c->res = NULL;
	if (res != NULL && res_failed(res)) {
		snprintf(msg, sizeof(msg), "cannot prepare statement \"%s\": %s", p->name,
		    res_message(res));
		/* A statement the server refuses is a bug worth its SQLSTATE in the answer. */
		snprintf(sqlstate, sizeof(sqlstate), "%s", res_dead(res) ? "" : res_sqlstate(res));
		PQclear(res);
		conn_setup_failed(c, msg, sqlstate);
		return;
	}
	PQclear(res);
	c->prep_next++;
	conn_prepare_next(c);
}

static void
conn_setup_failed(struct db_conn *c, const char *why, const char *sqlstate)
{
	pool_connect_failed(c->pool, why, sqlstate);
	conn_discard(c, NULL);
}

static void
conn_ready(struct db_conn *c)
{
	struct db_pool *pool = c->pool;

	if (!c->ready_once) {
		c->ready_once = 1;
		log_debug("db_pool: connection ready (%d open)", pool->nconns);
		if (pool->down)
			log_info("db_pool: database reachable again");
		pool->down = 0;
		pool->next_connect_ms = 0;
	}
	evtimer_del(c->timer);
	c->timed_out = 0;
	conn_set_state(c, CONN_IDLE);
	/* Reading while idle notices at once when the server goes away. */
	if (conn_watch(c, EV_READ, 0) == -1)
		conn_discard(c, "cannot watch the connection's socket");
}

static void
conn_idle_input(struct db_conn *c)
{
	char msg[DB_MSG_MAX];
	PGnotify *n;

	if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
		conn_discard(c, conn_error(c, msg, sizeof(msg)));
		return;
	}
	while ((n = PQnotifies(c->pg)) != NULL)
		PQfreemem(n);
}

static void
conn_dispatch(struct db_conn *c, struct db_query *q)
{
	struct db_pool *pool = c->pool;
	char msg[DB_MSG_MAX];
	int sent;

	query_unqueue(q);
	q->state = Q_RUNNING;
	conn_push(c, q);
	if (c->state == CONN_IDLE) {
		conn_set_state(c, CONN_BUSY);
		/* Reading first finds a connection the server closed while it was idle. */
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
			conn_unsent(c, conn_error(c, msg, sizeof(msg)));
			return;
		}
		if (pool->watchdog_ms > 0)
			timer_add_ms(c->timer, pool->watchdog_ms);
		c->progress_ms = now_ms();
	} else
		pool->stats.pipelined++;
	if (q->stmt != NULL)
		sent = PQsendQueryPrepared(c->pg, q->stmt, q->nparams, q->values, NULL, NULL, 0);
	else
		sent = PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, q->values, NULL, NULL,
		    0);
	/* A Sync after each query: its own implicit transaction, an error its own. */
	if (!sent || !PQpipelineSync(c->pg)) {
		conn_unsent(c, conn_error(c, msg, sizeof(msg)));
		return;
	}
	conn_start_io(c);
}

/*
 * The newest query never left whole (no Sync, so no commit): it cannot have been applied,
 * so any query may run again.  The connection goes, and the queries sent before it with it.
 */
static void
conn_unsent(struct db_conn *c, const char *why)
{
	struct db_query *q = conn_pop_newest(c);
	char msg[DB_MSG_MAX];

	text_copy(msg, sizeof(msg), why);
	if (q != NULL && ++q->unsent_failures < DB_UNSENT_TRIES)
		query_enqueue(q, 1);
	else if (q != NULL)
		query_finish(q, DB_UNAVAILABLE, NULL, "08006", "database unavailable: %s", msg);
	conn_fail_all(c, msg);
}

static void
conn_start_io(struct db_conn *c)
{
	c->flushing = 1;
	conn_io(c, 0);
}

/* Send what is pending and read what has come, without ever blocking. */
static void
conn_io(struct db_conn *c, short what)
{
	char msg[DB_MSG_MAX];
	int r;

	if ((what & EV_READ) && !PQconsumeInput(c->pg)) {
		conn_lost(c, conn_error(c, msg, sizeof(msg)));
		return;
	}
	if (c->flushing) {
		if ((r = PQflush(c->pg)) == -1) {
			conn_lost(c, conn_error(c, msg, sizeof(msg)));
			return;
		}
		c->flushing = r == 1;
	}
	if (!c->flushing && (c->state == CONN_PREPARING ? conn_prepare_results(c) :
	    conn_query_results(c)) == -1)
		return;
	if (conn_watch(c, EV_READ | (c->flushing ? EV_WRITE : 0), 0) == -1)
		conn_lost(c, "cannot watch the connection's socket");
}

/* The results of a PREPARE, before pipeline mode; -1 once they are all in. */
static int
conn_prepare_results(struct db_conn *c)
{
	PGresult *res;

	while (!PQisBusy(c->pg)) {
		if ((res = PQgetResult(c->pg)) == NULL) {
			conn_prepare_done(c);
			return -1;
		}
		conn_keep(c, res);
	}
	return 0;
}

/*
 * The results of the pipeline as far as they have come.  A query's results end at its
 * Sync (PQgetResult's NULL before it only separates queries).  -1 once the connection is
 * idle again or gone.
 */
static int
conn_query_results(struct db_conn *c)
{
	PGresult *res;
	ExecStatusType st;
	char msg[DB_MSG_MAX];
	int nulls = 0;

	while (!PQisBusy(c->pg)) {
		if ((res = PQgetResult(c->pg)) == NULL) {
			if (PQstatus(c->pg) != CONNECTION_OK) {
				conn_lost(c, conn_error(c, msg, sizeof(msg)));
				return -1;
			}
			/* Two in a row: nothing more has come yet. */
			if (++nulls == 2)
				break;
			continue;
		}
		nulls = 0;
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			if (conn_query_done(c) == -1)
				return -1;
		} else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			PQclear(res);
			conn_lost(c, "COPY is not supported by the pool");
			return -1;
		} else
			conn_keep(c, res);
	}
	return 0;
}

/* The first result is kept, unless an error follows it (a failed commit at Sync). */
static void
conn_keep(struct db_conn *c, PGresult *res)
{
	if (c->res == NULL)
		c->res = res;
	else if (res_failed(res) && !res_failed(c->res)) {
		PQclear(c->res);
		c->res = res;
	} else
		PQclear(res);
}

static void
conn_lost(struct db_conn *c, const char *why)
{
	if (c->state == CONN_PREPARING)
		conn_setup_failed(c, why, NULL);
	else
		conn_fail_all(c, why);
}

/*
 * The oldest query is over: its Sync came back (the server is ready again, its implicit
 * transaction ended).  A connection that is then idle outside any transaction goes back to
 * the pool.  -1 when the connection is no longer busy (idle again, or discarded).
 */
static int
conn_query_done(struct db_conn *c)
{
	struct db_pool *pool = c->pool;
	struct db_query *q;
	PGresult *res = c->res;
	char msg[DB_MSG_MAX], err[DB_MSG_MAX];

	if (PQstatus(c->pg) != CONNECTION_OK || res_dead(res)) {
		conn_fail_all(c, NULL);
		return -1;
	}
	c->res = NULL;
	/* Only a failure has anything to say. */
	if (res == NULL || res_failed(res))
		text_copy(msg, sizeof(msg), res != NULL ? res_message(res) :
		    conn_error(c, err, sizeof(err)));
	else
		msg[0] = '\0';
	if ((q = conn_pop(c)) != NULL)
		query_answer(q, res, 0, 0, msg);
	else
		PQclear(res);
	if (c->depth > 0) {
		/* The watchdog measures the silence since the last answer. */
		if (pool->watchdog_ms > 0)
			timer_add_ms(c->timer, pool->watchdog_ms);
		c->progress_ms = now_ms();
		return 0;
	}
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		conn_discard(c, "a query left a transaction open");
	else
		conn_ready(c);
	return -1;
}

/*
 * The connection died or hangs.  Its oldest query gets what is known of it; those sent
 * after it are lost with it (a read runs again elsewhere; a write may have been applied,
 * so it is answered as such).
 */
static void
conn_fail_all(struct db_conn *c, const char *why)
{
	struct db_query *q;
	PGresult *res = c->res;
	char msg[DB_MSG_MAX], err[DB_MSG_MAX];
	int oldest = 1;

	c->res = NULL;
	/* The server's own error says more than libpq's account of the closed socket. */
	if (res != NULL && res_failed(res))
		why = res_message(res);
	else if (why == NULL)
		why = conn_error(c, err, sizeof(err));
	text_copy(msg, sizeof(msg), why);
	for (; c->depth > 0; oldest = 0) {
		if ((q = conn_pop(c)) == NULL)
			continue;
		query_answer(q, oldest ? res : NULL, 1, oldest && c->timed_out, msg);
		if (oldest)
			res = NULL;
	}
	PQclear(res);
	conn_discard(c, msg);
}

/* The pipeline: a ring of DB_PIPELINE_DEPTH slots, i = 0 the oldest. */
static struct db_query **
conn_slot(struct db_conn *c, int i)
{
	return &c->inflight[(c->first + i) % DB_PIPELINE_DEPTH];
}

static void
conn_push(struct db_conn *c, struct db_query *q)
{
	*conn_slot(c, c->depth++) = q;
	q->conn = c;
}

/* The oldest query, NULL if it was cancelled. */
static struct db_query *
conn_pop(struct db_conn *c)
{
	struct db_query *q = *conn_slot(c, 0);

	c->first = (c->first + 1) % DB_PIPELINE_DEPTH;
	c->depth--;
	if (q != NULL)
		q->conn = NULL;
	return q;
}

static struct db_query *
conn_pop_newest(struct db_conn *c)
{
	struct db_query *q = *conn_slot(c, --c->depth);

	if (q != NULL)
		q->conn = NULL;
	return q;
}

/* Detaches the oldest query still attached; its results will be read and dropped. */
static struct db_query *
conn_take(struct db_conn *c)
{
	struct db_query **slot, *q;
	int i;

	for (i = 0; i < c->depth; i++) {
		slot = conn_slot(c, i);
		if ((q = *slot) != NULL) {
			*slot = NULL;
			q->conn = NULL;
			return q;
		}
	}
	return NULL;
}

static void
conn_forget(struct db_conn *c, struct db_query *q)
{
	int i;

	for (i = 0; i < c->depth; i++)
		if (*conn_slot(c, i) == q)
			*conn_slot(c, i) = NULL;
	q->conn = NULL;
}

/* why != NULL: an established connection is thrown away for that reason (counted). */
static void
conn_discard(struct db_conn *c, const char *why)
{
	struct db_pool *pool = c->pool;

	if (c->ready_once && why != NULL) {
		pool->stats.discarded++;
		log_warnx("db_pool: discarding a connection: %s", why);
	}
	conn_leave_state(c);
	TAILQ_REMOVE(&pool->conns, c, entry);
	pool->nconns--;
	PQclear(c->res);
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->timer != NULL)
		event_free(c->timer);
	PQfinish(c->pg);
	free(c);
}

/* One allocation holds the query, its parameter array and copies of all strings. */
static struct db_query *
query_new(struct db_pool *pool, const char *stmt, const char *sql, int nparams,
    const char *const *values)
{
	struct db_query *q;
	size_t len = 0;
	char *p;
	int i;

	for (i = 0; i < nparams; i++)
		if (values[i] != NULL)
			len += strlen(values[i]) + 1;
	len += stmt != NULL ? strlen(stmt) + 1 : 0;
	len += sql != NULL ? strlen(sql) + 1 : 0;
	if ((q = calloc(1, sizeof(*q) + (size_t)nparams * sizeof(char *) + len)) == NULL) {
		log_warn("db_pool: calloc");
		return NULL;
	}
	q->pool = pool;
	q->state = Q_NEW;
	q->nparams = nparams;
	q->values = (const char **)(q + 1);
	p = (char *)(q->values + nparams);
	for (i = 0; i < nparams; i++) {
		if (values[i] == NULL)
			continue;
		q->values[i] = p;
		p = stpcpy(p, values[i]) + 1;
	}
	if (stmt != NULL) {
		q->stmt = p;
		p = stpcpy(p, stmt) + 1;
	}
	if (sql != NULL)
		q->sql = strcpy(p, sql);
	return q;
}

/* head: a query coming back for another try goes before those that never had one. */
static void
query_enqueue(struct db_query *q, int head)
{
	struct db_pool *pool = q->pool;

	if (q->timer == NULL)
		q->timer = evtimer_new(pool->base, query_timeout_cb, q);
	if (q->timer == NULL || timer_add_ms(q->timer, pool->queue_timeout_ms) == -1) {
		query_finish(q, DB_UNAVAILABLE, NULL, "", "database unavailable: cannot "
		    "arm a timer");
		return;
	}
	if (head)
		TAILQ_INSERT_HEAD(&pool->queue, q, entry);
	else
		TAILQ_INSERT_TAIL(&pool->queue, q, entry);
	pool->nqueued++;
	q->state = Q_QUEUED;
}

static void
query_unqueue(struct db_query *q)
{
	if (q->state != Q_QUEUED)
		return;
	TAILQ_REMOVE(&q->pool->queue, q, entry);
	q->pool->nqueued--;
	evtimer_del(q->timer);
	q->state = Q_NEW;
}

static void
query_answer(struct db_query *q, PGresult *res, int dead, int timed_out, const char *msg)
{
	struct db_pool *pool = q->pool;
	const char *sqlstate = res_sqlstate(res);

	if (timed_out) {
		query_finish(q, DB_TIMEOUT, NULL, "", "database did not answer within %d ms",
		    pool->watchdog_ms);
		PQclear(res);
	} else if (dead && q->retry == DB_RETRY_READ && !q->retried) {
		q->retried = 1;
		pool->stats.retried++;
		log_debug("db_pool: connection lost (%s), running the read again", msg);
		PQclear(res);
		query_enqueue(q, 1);
	} else if (dead) {
		query_finish(q, DB_UNAVAILABLE, NULL, *sqlstate != '\0' ? sqlstate : "08006",
		    "database connection lost: %s", msg);
		PQclear(res);
	} else if (res != NULL && res_failed(res) && strcmp(sqlstate, "57014") == 0) {
		query_finish(q, DB_TIMEOUT, NULL, sqlstate, "%s", msg);
		PQclear(res);
	} else if (res == NULL || res_failed(res))
		query_finish(q, DB_QUERY_ERROR, res, sqlstate, "%s", msg);
	else
		query_finish(q, DB_OK, res, "", "%s", "");
}

/* Takes res.  The callback runs later, from pool_done_cb. */
static void
query_finish(struct db_query *q, enum db_status status, PGresult *res, const char *sqlstate,
    const char *fmt, ...)
{
	struct db_pool *pool = q->pool;
	va_list ap;

	query_unqueue(q);
	q->status = status;
	q->res = res;
	snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", sqlstate);
	va_start(ap, fmt);
	vsnprintf(q->message, sizeof(q->message), fmt, ap);
	va_end(ap);
	if (status == DB_OK || status == DB_QUERY_ERROR)
		pool->stats.served++;
	else
		pool->stats.failed++;
	q->state = Q_DONE;
	TAILQ_INSERT_TAIL(&pool->done, q, entry);
	pool->ndone++;
	if (!pool->closing)
		timer_add_ms(pool->done_ev, 0);
}

static void
query_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_query *q = arg;

	(void)fd;
	(void)what;
	query_finish(q, DB_TIMEOUT, NULL, "", "no database connection became free within %d ms",
	    q->pool->queue_timeout_ms);
}

static void
query_free(struct db_query *q)
{
	if (q->timer != NULL)
		event_free(q->timer);
	PQclear(q->res);
	free(q);
}

static int
res_failed(const PGresult *res)
{
	switch (PQresultStatus(res)) {
	case PGRES_BAD_RESPONSE:
	case PGRES_NONFATAL_ERROR:
	case PGRES_FATAL_ERROR:
		return 1;
	default:
		return 0;
	}
}

/*
 * Errors that mean the connection is gone: class 08, the server shutting down or crashing
 * (57P01-57P03), or an error libpq made up itself (no SQLSTATE), whose state we cannot trust.
 */
static int
res_dead(const PGresult *res)
{
	const char *s;

	if (res == NULL || !res_failed(res))
		return 0;
	s = res_sqlstate(res);
	return *s == '\0' || strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 ||
	    strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0;
}

static const char *
res_sqlstate(const PGresult *res)
{
	const char *s;

	if (res == NULL || (s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return "";
	return s;
}

static const char *
res_message(const PGresult *res)
{
	const char *s;

	if ((s = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) == NULL)
		s = PQresultErrorMessage(res);
	return s;
}

/* libpq's first line says what happened; the rest is a generic guess at why. */
static const char *
conn_error(struct db_conn *c, char *buf, size_t size)
{
	const char *s = PQerrorMessage(c->pg);
	size_t len = strcspn(s, "\n");

	if (len >= size)
		len = size - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

/* libpq messages span lines with tabs; a log field and an API error want one line. */
static void
text_copy(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	int space = 0;

	for (; *src != '\0' && n + 1 < size; src++) {
		if (*src == ' ' || *src == '\t' || *src == '\n' || *src == '\r') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < size)
			dst[n++] = ' ';
		space = 0;
		dst[n++] = *src;
	}
	dst[n] = '\0';
}

static int
timer_add_ms(struct event *ev, int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return event_add(ev, &tv);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
