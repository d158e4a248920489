/*
 * A bounded pool of non-blocking libpq connections driven by a libevent event_base.
 *
 * At most `size` connections are ever open (that is the whole PostgreSQL footprint of the API
 * child); they are opened lazily, when a query needs one, so a database that is down at start
 * costs nothing.  Queries beyond the free connections and their pipelines (below) wait in
 * a FIFO queue bounded by `queue_max`.  A connection that died is discarded, never reused.
 * A query marked DB_RETRY_READ that failed because its connection died is retried once on a
 * fresh connection; a DB_RETRY_NEVER query is retried only when it cannot have been applied
 * (it was never sent whole).  The queries pipelined behind a query share its connection's
 * fate.
 *
 * Everything is non-blocking except host name resolution, which libpq does synchronously in
 * PQconnectStart: give a Unix socket directory or hostaddr= in the connection string.
 *
 * Callbacks always run from the event loop, never from inside db_pool_exec, and they may call
 * db_pool_exec and db_query_cancel.  They must not call db_pool_free except as the last thing
 * they do (it is then completed once the callback returns).
 */
#ifndef TRESTLE_DB_POOL_H
#define TRESTLE_DB_POOL_H

#include <stddef.h>

#include <event2/event.h>
#include <libpq-fe.h>

/*
 * Queries in flight on one connection at most (libpq pipeline mode).  A query goes to an
 * idle connection when there is one; once all `size` connections are open and busy, it is
 * sent behind the queries of the busy connection with the shortest pipeline, so the server
 * finds it waiting instead of sleeping between queries (about half the server's cost per
 * query under load).  A connection silent for 10 ms takes no more: waiting in the queue for
 * any connection beats waiting behind a slow query.  Each query has its own Sync, so it is
 * its own implicit transaction and its error is its own.
 */
#define DB_PIPELINE_DEPTH	4

enum db_status {
	DB_OK,			/* res is the command's result */
	DB_QUERY_ERROR,		/* the server refused the query; res holds the error */
	DB_UNAVAILABLE,		/* no connection could run it, or its connection died */
	DB_QUEUE_FULL,		/* not passed to callbacks: db_pool_exec returns NULL instead */
	DB_TIMEOUT		/* waited too long for a connection, or statement timeout (57014) */
};

/* DB_RETRY_READ: may be retried once on a fresh connection after its connection died. */
enum db_retry { DB_RETRY_READ, DB_RETRY_NEVER };

struct db_prepared {
	const char	*name;
	const char	*sql;
	int		 nparams;	/* parameter types are left for the server to infer */
};

struct db_pool_options {
	const char	*conninfo;		/* libpq connection string or URI; NULL: environment */
	int		 size;			/* connections at most, >= 1 */
	int		 queue_max;		/* waiting queries at most; <= 0: 256 */
	int		 statement_timeout_ms;	/* set on every connection; 0: none */
	int		 connect_timeout_ms;	/* connect and prepare; <= 0: 5000 */
	int		 queue_timeout_ms;	/* wait for a connection; <= 0: 5000 */
	const struct db_prepared *prepared;	/* prepared on every new connection */
	size_t		 nprepared;
};

struct db_pool_stats {
	int	size, open, busy, idle, queued, queue_max;
	int	connecting;		/* open but not yet ready (connecting or preparing) */
	unsigned long long served;	/* answered DB_OK or DB_QUERY_ERROR */
	unsigned long long failed;	/* answered DB_UNAVAILABLE or DB_TIMEOUT */
	unsigned long long discarded;	/* established connections thrown away (dead, unusable) */
	unsigned long long connects;	/* connection attempts started */
	unsigned long long connect_failures;
	unsigned long long retried;	/* queries run again on a fresh connection */
	unsigned long long pipelined;	/* queries sent to a connection still busy */
};

struct db_pool;
struct db_query;

/*
 * res is owned by the pool and valid only during the callback (NULL unless DB_OK or
 * DB_QUERY_ERROR).  sqlstate/message describe a failure ("" when none); for DB_UNAVAILABLE
 * the message says why, e.g. "database unavailable: <libpq message>".
 */
typedef void (*db_done_fn)(enum db_status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg);

/* Copies what it needs from opts; NULL if opts are invalid (logged). Connects nothing yet. */
struct db_pool	*db_pool_new(struct event_base *, const struct db_pool_options *);

/*
 * stmt: a prepared statement name from options->prepared, or NULL to run sql text (one
 * statement, text parameters $1..$n).  values are copied; a NULL value is SQL NULL.  Results
 * are in text format.  Returns a handle usable with db_query_cancel until the callback
 * returns, or NULL if the queue is full or the pool is shutting down (the callback is NOT
 * called then; the caller answers 503).
 */
struct db_query	*db_pool_exec(struct db_pool *, const char *stmt, const char *sql, int nparams,
		    const char *const *values, enum db_retry, db_done_fn, void *arg);

/* The callback will not be called; a running query's connection is drained and reused. */
void		 db_query_cancel(struct db_query *);

void		 db_pool_stats(const struct db_pool *, struct db_pool_stats *);

/* Fails nothing silently: pending callbacks get DB_UNAVAILABLE before the pool goes away. */
void		 db_pool_free(struct db_pool *);

#endif
