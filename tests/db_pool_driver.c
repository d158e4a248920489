/*
 * Exercises src/api/db_pool.c against a real PostgreSQL and prints TAP.
 *
 *	db_pool_driver CONNINFO STOP_CMD START_CMD
 *
 * STOP_CMD and START_CMD are shell commands that stop (pg_ctl stop -m fast) and start
 * (pg_ctl start -w) the server CONNINFO points at; the driver starts with the server running.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "db_pool.h"
#include "log.h"

struct answer {
	int		 called;
	enum db_status	 status;
	int		 had_res;
	char		 sqlstate[6];
	char		 message[512];
	char		 value[128];	/* first row, fields joined by '|' */
	int		 seq;		/* the order callbacks ran in */
};

/* What a callback does besides recording: used by the re-entrancy tests. */
struct action {
	struct answer	 a;
	struct db_pool	*pool;
	int		 chain;		/* run another query, this many times */
	struct db_query	*cancel;	/* cancel this one */
	int		 free_pool;
	int		 exec_result;	/* 1: db_pool_exec returned a handle */
	int		*chain_ok;
};

struct streamed {
	int		 phase;
};

enum phase { PHASE_BEFORE, PHASE_DURING, PHASE_AFTER };

static struct event_base *base;
static const char *conninfo, *stop_cmd, *start_cmd;
static int	 ntests, nfailed, pending, max_open, expired, answers_seen;
static struct db_pool *watched;
static pid_t	 child_pid;
static int	 child_done;

static const struct db_prepared prepared[] = {
	{ "get_int", "select $1::int", 1 },
	{ "sleep_int", "select pg_sleep($1::float8 / 1000), $2::int", 2 },
};

static struct {
	struct db_pool	*pool;
	int		 phase, issued, rejected;
	int		 ok[3], unavailable[3], other[3];
	char		 first_other[3][600];
	int		 bad_message;
} stream;

static void ok(int, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
note_open(void)
{
	struct db_pool_stats st;

	if (watched == NULL)
		return;
	db_pool_stats(watched, &st);
	if (st.open > max_open)
		max_open = st.open;
}

static void
expire_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	expired = 1;
}

/* Run the loop until cond() holds or ms pass; returns cond(). */
static int
loop_until(int (*cond)(void), int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *ev = evtimer_new(base, expire_cb, NULL);

	expired = 0;
	evtimer_add(ev, &tv);
	while ((cond == NULL || !cond()) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return cond == NULL || cond();
}

static int
none_pending(void)
{
	return pending == 0;
}

static int
child_exited(void)
{
	return child_done;
}

static void
loop_for(int ms)
{
	loop_until(NULL, ms);
}

static void
wait_cb(evutil_socket_t fd, short what, void *arg)
{
	int status;

	(void)fd;
	(void)what;
	(void)arg;
	if (waitpid(child_pid, &status, WNOHANG) == child_pid)
		child_done = 1;
}

/* Run a shell command while the event loop keeps serving the pool. */
static int
run_async(const char *cmd)
{
	struct timeval tv = { 0, 20000 };
	struct event *ev;

	child_done = 0;
	if ((child_pid = fork()) == -1)
		return -1;
	if (child_pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	ev = event_new(base, -1, EV_PERSIST, wait_cb, NULL);
	event_add(ev, &tv);
	loop_until(child_exited, 60000);
	event_free(ev);
	return child_done ? 0 : -1;
}

static void
record(struct answer *a, enum db_status st, const PGresult *res, const char *sqlstate,
    const char *message)
{
	size_t n = 0;
	int i;

	a->called++;
	a->seq = ++answers_seen;
	a->status = st;
	a->had_res = res != NULL;
	snprintf(a->sqlstate, sizeof(a->sqlstate), "%s", sqlstate);
	snprintf(a->message, sizeof(a->message), "%s", message);
	a->value[0] = '\0';
	if (st == DB_OK && res != NULL && PQntuples(res) > 0)
		for (i = 0; i < PQnfields(res) && n < sizeof(a->value); i++)
			n += snprintf(a->value + n, sizeof(a->value) - n, "%s%s", i ? "|" : "",
			    PQgetisnull(res, 0, i) ? "<null>" : PQgetvalue(res, 0, i));
	note_open();
}

static void
answer_cb(enum db_status st, const PGresult *res, const char *sqlstate, const char *message,
    void *arg)
{
	record(arg, st, res, sqlstate, message);
	pending--;
}

static void
action_cb(enum db_status st, const PGresult *res, const char *sqlstate, const char *message,
    void *arg)
{
	struct action *act = arg;
	const char *one[] = { "1" };

	record(&act->a, st, res, sqlstate, message);
	pending--;
	if (act->cancel != NULL) {
		db_query_cancel(act->cancel);
		pending--;
	}
	if (act->chain > 0) {
		if (st == DB_OK)
			(*act->chain_ok)++;
		act->chain--;
		if (db_pool_exec(act->pool, "get_int", NULL, 1, one, DB_RETRY_READ, action_cb,
		    act) != NULL)
			pending++;
	}
	if (act->free_pool)
		db_pool_free(act->pool);
	else if (st == DB_UNAVAILABLE && act->pool != NULL)
		act->exec_result = db_pool_exec(act->pool, NULL, "select 1", 0, NULL,
		    DB_RETRY_READ, answer_cb, &act->a) != NULL;
}

static struct db_pool *
pool_at(const char *ci, int size, int queue_max, int stmt_ms, int queue_ms, int connect_ms,
    const struct db_prepared *p, size_t np)
{
	struct db_pool_options o = {
		.conninfo = ci, .size = size, .queue_max = queue_max,
		.statement_timeout_ms = stmt_ms, .connect_timeout_ms = connect_ms,
		.queue_timeout_ms = queue_ms, .prepared = p, .nprepared = np,
	};

	return db_pool_new(base, &o);
}

static struct db_pool *
pool_with(int size, int queue_max, int stmt_ms, int queue_ms, const struct db_prepared *p,
    size_t np)
{
	return pool_at(conninfo, size, queue_max, stmt_ms, queue_ms, 3000, p, np);
}

static struct db_query *
run(struct db_pool *pool, const char *stmt, const char *sql, int n, const char *const *v,
    enum db_retry r, struct answer *a)
{
	struct db_query *q;

	memset(a, 0, sizeof(*a));
	if ((q = db_pool_exec(pool, stmt, sql, n, v, r, answer_cb, a)) != NULL)
		pending++;
	return q;
}

static struct db_pool_stats
stats(struct db_pool *pool)
{
	struct db_pool_stats st;

	db_pool_stats(pool, &st);
	return st;
}

/* Blocking admin connection: terminates the pool's backends behind its back. */
static int
terminate(const char *which)
{
	const char *kw[] = { "dbname", "application_name", NULL };
	const char *val[] = { conninfo, "dbp-admin", NULL };
	char sql[512];
	PGconn *pg;
	PGresult *res;
	int n = -1;

	pg = PQconnectdbParams(kw, val, 1);
	snprintf(sql, sizeof(sql), "select count(pg_terminate_backend(pid)) from "
	    "pg_stat_activity where application_name = 'trestle-api' and %s", which);
	if (PQstatus(pg) == CONNECTION_OK) {
		res = PQexec(pg, sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			n = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	PQfinish(pg);
	return n;
}

static void
test_lazy_down(void)
{
	struct db_pool *pool;
	struct answer a, b;
	const char *one[] = { "1" };
	int synchronous;

	ok(system(stop_cmd) == 0, "database stopped before the pool is created");
	pool = pool_with(4, 128, 5000, 2000, prepared, 2);
	ok(pool != NULL && stats(pool).open == 0 && stats(pool).connects == 0,
	    "pool created with the database down, no connection opened");
	run(pool, "get_int", NULL, 1, one, DB_RETRY_READ, &a);
	synchronous = a.called;
	loop_until(none_pending, 3000);
	ok(synchronous == 0, "callback not called from inside db_pool_exec");
	ok(a.called == 1 && a.status == DB_UNAVAILABLE &&
	    strncmp(a.message, "database unavailable: ", 22) == 0 && a.sqlstate[0] != '\0',
	    "query while down: DB_UNAVAILABLE (%s) [%s]", a.message, a.sqlstate);
	run(pool, "get_int", NULL, 1, one, DB_RETRY_READ, &b);
	loop_until(none_pending, 3000);
	ok(b.called == 1 && b.status == DB_UNAVAILABLE && stats(pool).connects == 1,
	    "query within the backoff fails at once without a new attempt (connects %llu)",
	    stats(pool).connects);
	ok(system(start_cmd) == 0, "database started");
	loop_for(300);
	run(pool, "get_int", NULL, 1, one, DB_RETRY_NEVER, &a);
	loop_until(none_pending, 3000);
	ok(a.called == 1 && a.status == DB_OK && strcmp(a.value, "1") == 0,
	    "first query once the database is up succeeds (%d %s)", a.status, a.message);
	db_pool_free(pool);
}

static void
test_concurrency(struct db_pool *pool)
{
	static struct answer a[64];
	char num[64][16];
	const char *v[2];
	int i, good = 0, issued = 0;

	max_open = 0;
	for (i = 0; i < 64; i++) {
		snprintf(num[i], sizeof(num[i]), "%d", i);
		v[0] = "20";
		v[1] = num[i];
		issued += run(pool, "sleep_int", NULL, 2, v, i % 2 ? DB_RETRY_NEVER :
		    DB_RETRY_READ, &a[i]) != NULL;
		note_open();
	}
	loop_until(none_pending, 10000);
	for (i = 0; i < 64; i++)
		good += a[i].called == 1 && a[i].status == DB_OK &&
		    strcmp(strchr(a[i].value, '|') ? strchr(a[i].value, '|') + 1 : "", num[i]) == 0;
	ok(issued == 64 && good == 64, "64 concurrent queries on 4 connections all succeed "
	    "(%d/%d)", good, issued);
	ok(max_open <= 4 && stats(pool).open == 4, "open connections never above 4 "
	    "(max %d, now %d)", max_open, stats(pool).open);
}

static void
test_errors(struct db_pool *pool)
{
	struct answer a, b[16];
	const char *pv[2] = { NULL, "x" };
	const char *one[] = { "7" };
	unsigned long long discarded = stats(pool).discarded;
	int i, good = 0;

	run(pool, NULL, "select 1/0", 0, NULL, DB_RETRY_READ, &a);
	loop_until(none_pending, 3000);
	ok(a.status == DB_QUERY_ERROR && strcmp(a.sqlstate, "22012") == 0 && a.had_res &&
	    strstr(a.message, "division by zero") != NULL,
	    "query error: DB_QUERY_ERROR 22012 with its result (%s)", a.message);
	for (i = 0; i < 16; i++)
		run(pool, "get_int", NULL, 1, one, DB_RETRY_NEVER, &b[i]);
	loop_until(none_pending, 3000);
	for (i = 0; i < 16; i++)
		good += b[i].status == DB_OK && strcmp(b[i].value, "7") == 0;
	ok(good == 16 && stats(pool).discarded == discarded && stats(pool).open <= 4,
	    "a query error does not poison the pool (%d/16 ok, discarded %llu)", good,
	    stats(pool).discarded - discarded);

	run(pool, NULL, "drop table if exists dbp_t", 0, NULL, DB_RETRY_NEVER, &a);
	loop_until(none_pending, 3000);
	run(pool, NULL, "create table dbp_t (id int primary key)", 0, NULL, DB_RETRY_NEVER, &a);
	loop_until(none_pending, 3000);
	run(pool, NULL, "insert into dbp_t values ($1)", 1, one, DB_RETRY_NEVER, &a);
	loop_until(none_pending, 3000);
	run(pool, NULL, "insert into dbp_t values ($1)", 1, one, DB_RETRY_NEVER, &b[0]);
	loop_until(none_pending, 3000);
	ok(a.status == DB_OK && b[0].status == DB_QUERY_ERROR &&
	    strcmp(b[0].sqlstate, "23505") == 0, "unique violation: DB_QUERY_ERROR 23505 (%s)",
	    b[0].message);
	run(pool, NULL, "select $1::text is null, $2::text", 2, pv, DB_RETRY_READ, &a);
	loop_until(none_pending, 3000);
	ok(a.status == DB_OK && strcmp(a.value, "t|x") == 0, "NULL and text parameters (%s)",
	    a.value);
	run(pool, "no_such_statement", NULL, 0, NULL, DB_RETRY_READ, &a);
	loop_until(none_pending, 3000);
	ok(a.status == DB_QUERY_ERROR && strcmp(a.sqlstate, "26000") == 0,
	    "unknown prepared statement: DB_QUERY_ERROR 26000 (%s)", a.message);
	run(pool, NULL, NULL, 0, NULL, DB_RETRY_READ, &a);
	loop_until(none_pending, 3000);
	ok(a.status == DB_QUERY_ERROR, "no statement at all: DB_QUERY_ERROR (%s)", a.message);
	run(pool, NULL, "drop table dbp_t", 0, NULL, DB_RETRY_NEVER, &a);
	loop_until(none_pending, 3000);
}

static void
test_statement_timeout(void)
{
	struct db_pool *pool = pool_with(1, 8, 200, 2000, NULL, 0);
	struct answer a, b;

	run(pool, NULL, "select pg_sleep(2)", 0, NULL, DB_RETRY_READ, &a);
	loop_until(none_pending, 5000);
	run(pool, NULL, "select 42", 0, NULL, DB_RETRY_READ, &b);
	loop_until(none_pending, 3000);
	ok(a.status == DB_TIMEOUT && strcmp(a.sqlstate, "57014") == 0 && !a.had_res,
	    "statement timeout: DB_TIMEOUT 57014 (%s)", a.message);
	ok(b.status == DB_OK && strcmp(b.value, "42") == 0 && stats(pool).discarded == 0 &&
	    stats(pool).connects == 1, "the connection is reused after a statement timeout");
	db_pool_free(pool);
}

static void
test_queue(void)
{
	/* A generous queue timeout here: a loaded machine must not turn waiting into failing. */
	/* Two full pipelines, a full queue of 4, and 2 more. */
	enum { SENT = 2 * DB_PIPELINE_DEPTH, N = SENT + 4 + 2 };
	struct db_pool *pool = pool_with(2, 4, 5000, 5000, prepared, 2);
	struct answer a[N];
	const char *v[2] = { "100", "5" };
	int i, rejected = 0, good = 0;

	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[0]);
	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[1]);
	loop_until(none_pending, 3000);
	for (i = 0; i < N; i++)
		rejected += run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[i]) == NULL;
	ok(rejected == 2 && stats(pool).queued == 4, "beyond queue_max db_pool_exec "
	    "returns NULL (%d rejected, %d queued)", rejected, stats(pool).queued);
	loop_until(none_pending, 5000);
	for (i = 0; i < N - 2; i++)
		good += a[i].status == DB_OK;
	ok(good == N - 2 && a[N - 2].called == 0 && a[N - 1].called == 0,
	    "accepted queries succeed, rejected ones get no callback (%d/%d)", good, N - 2);

	db_pool_free(pool);
	pool = pool_with(2, 4, 5000, 300, prepared, 2);
	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[0]);	/* both connections open */
	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[1]);
	loop_until(none_pending, 3000);
	v[0] = "700";
	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[0]);
	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[1]);
	/* Both connections silent past the stall limit: no pipeline takes it. */
	loop_for(60);
	run(pool, NULL, "select 1", 0, NULL, DB_RETRY_READ, &a[2]);
	loop_until(none_pending, 3000);
	ok(a[2].status == DB_TIMEOUT && strstr(a[2].message, "300 ms") != NULL &&
	    a[0].status == DB_OK && a[1].status == DB_OK,
	    "a query waiting longer than queue_timeout_ms: DB_TIMEOUT (%s)", a[2].message);
	db_pool_free(pool);
}

/* One connection, several queries in flight on it (libpq pipeline mode). */
static void
test_pipeline(void)
{
	struct db_pool *pool = pool_with(1, 8, 5000, 5000, prepared, 2);
	struct answer a[DB_PIPELINE_DEPTH + 1];
	const char *one[] = { "1" }, *three[] = { "3" }, *nine[] = { "9" };
	const char *slow[2] = { "300", "4" };
	struct db_pool_stats before;
	int i, queued, in_order = 1;

	run(pool, NULL, "select 1", 0, NULL, DB_RETRY_READ, &a[0]);	/* opens it */
	loop_until(none_pending, 3000);
	before = stats(pool);
	run(pool, "get_int", NULL, 1, one, DB_RETRY_READ, &a[0]);
	run(pool, NULL, "select 1/0", 0, NULL, DB_RETRY_READ, &a[1]);
	run(pool, "get_int", NULL, 1, three, DB_RETRY_NEVER, &a[2]);
	for (i = 3; i < DB_PIPELINE_DEPTH + 1; i++)
		run(pool, "get_int", NULL, 1, nine, DB_RETRY_READ, &a[i]);
	queued = stats(pool).queued;
	loop_until(none_pending, 3000);
	for (i = 1; i < DB_PIPELINE_DEPTH + 1; i++)
		in_order &= a[i].seq == a[i - 1].seq + 1;
	/* The queued one joins the pipeline if it had room again before the connection idled. */
	ok(stats(pool).pipelined - before.pipelined >= DB_PIPELINE_DEPTH - 1 &&
	    stats(pool).pipelined - before.pipelined <= DB_PIPELINE_DEPTH && queued == 1 &&
	    stats(pool).connects == 1, "%d queries in flight on one connection, the next one "
	    "queued (pipelined %llu, queued %d)", DB_PIPELINE_DEPTH,
	    stats(pool).pipelined - before.pipelined, queued);
	ok(a[0].status == DB_OK && strcmp(a[0].value, "1") == 0 &&
	    a[1].status == DB_QUERY_ERROR && strcmp(a[1].sqlstate, "22012") == 0 &&
	    a[2].status == DB_OK && strcmp(a[2].value, "3") == 0 &&
	    a[DB_PIPELINE_DEPTH].status == DB_OK && strcmp(a[DB_PIPELINE_DEPTH].value, "9") == 0 &&
	    in_order && stats(pool).discarded == 0, "pipelined answers come in order, an error "
	    "is its query's own (%s)", a[1].message);

	/* A connection that dies with a pipeline: reads run again, the write may have run. */
	before = stats(pool);
	run(pool, "sleep_int", NULL, 2, slow, DB_RETRY_READ, &a[0]);
	run(pool, "get_int", NULL, 1, one, DB_RETRY_READ, &a[1]);
	run(pool, "get_int", NULL, 1, three, DB_RETRY_NEVER, &a[2]);
	loop_for(150);
	i = terminate("state = 'active'");
	loop_until(none_pending, 5000);
	ok(i == 1 && a[0].status == DB_OK && strcmp(a[0].value, "|4") == 0 &&
	    a[1].status == DB_OK && strcmp(a[1].value, "1") == 0 &&
	    a[2].status == DB_UNAVAILABLE && strstr(a[2].message, "connection lost") != NULL &&
	    stats(pool).retried == before.retried + 2, "a dead connection's pipeline: reads "
	    "retried, the write answered DB_UNAVAILABLE (%s)", a[2].message);

	/* A connection silent past the stall limit takes no more queries. */
	before = stats(pool);
	run(pool, "sleep_int", NULL, 2, slow, DB_RETRY_READ, &a[0]);
	loop_for(60);
	run(pool, "get_int", NULL, 1, nine, DB_RETRY_READ, &a[1]);
	queued = stats(pool).queued;
	loop_until(none_pending, 3000);
	ok(queued == 1 && stats(pool).pipelined == before.pipelined && a[1].status == DB_OK &&
	    a[1].seq == a[0].seq + 1, "no query joins a stalled connection: it waits in the "
	    "queue (queued %d)", queued);
	db_pool_free(pool);
}

static void
test_cancel(struct db_pool *pool)
{
	enum { N = 4 * DB_PIPELINE_DEPTH + 2, PIPELINED = 4, QUEUED = N - 1 };
	struct answer a[N];
	struct action act[2];
	const char *v[2] = { "300", "1" };
	struct db_pool_stats before = stats(pool);
	struct db_query *q;
	int i, chain_ok = 0, good = 0;

	memset(a, 0, sizeof(a));
	/* Four connections of DB_PIPELINE_DEPTH each, then the queue. */
	for (i = 0; i < N; i++) {
		q = run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[i]);
		if (i == 0 || i == PIPELINED || i == QUEUED) {
			db_query_cancel(q);
			pending--;
		}
	}
	loop_until(none_pending, 3000);
	loop_for(100);
	for (i = 0; i < N; i++)
		good += i == 0 || i == PIPELINED || i == QUEUED ? a[i].called == 0 :
		    a[i].called == 1 && a[i].status == DB_OK;
	ok(good == N, "cancelled queries (running, pipelined, queued) get no callback, the "
	    "others succeed (%d/%d)", good, N);
	ok(stats(pool).discarded == before.discarded && stats(pool).idle == stats(pool).open,
	    "the connection of a cancelled query goes back to the pool (idle %d of %d)",
	    stats(pool).idle, stats(pool).open);

	/* A callback that queries again, and one that cancels another query. */
	memset(act, 0, sizeof(act));
	act[0].pool = pool;
	act[0].chain = 10;
	act[0].chain_ok = &chain_ok;
	if (db_pool_exec(pool, NULL, "select 1", 0, NULL, DB_RETRY_READ, action_cb,
	    &act[0]) != NULL)
		pending++;
	act[1].pool = pool;
	q = run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a[0]);
	act[1].cancel = q;
	if (db_pool_exec(pool, NULL, "select 2", 0, NULL, DB_RETRY_READ, action_cb,
	    &act[1]) != NULL)
		pending++;
	loop_until(none_pending, 5000);
	loop_for(400);
	ok(chain_ok == 10 && act[0].a.called == 11, "callbacks may call db_pool_exec "
	    "(%d chained)", chain_ok);
	ok(act[1].a.status == DB_OK && a[0].called == 0, "callbacks may call db_query_cancel");
}

static void
test_terminate(struct db_pool *pool)
{
	struct answer a;
	const char *v[2] = { "500", "9" };
	struct db_pool_stats before = stats(pool);
	int n;

	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, &a);
	loop_for(150);
	n = terminate("state = 'active'");
	loop_until(none_pending, 5000);
	ok(n == 1 && a.status == DB_OK && strcmp(a.value, "|9") == 0 &&
	    stats(pool).retried == before.retried + 1 &&
	    stats(pool).discarded == before.discarded + 1,
	    "a read whose connection died is retried once on a fresh one (%d: %s)", a.status,
	    a.message);

	before = stats(pool);
	run(pool, "sleep_int", NULL, 2, v, DB_RETRY_NEVER, &a);
	loop_for(150);
	n = terminate("state = 'active'");
	loop_until(none_pending, 5000);
	ok(n == 1 && a.status == DB_UNAVAILABLE && strcmp(a.sqlstate, "57P01") == 0 &&
	    strncmp(a.message, "database connection lost: ", 26) == 0 &&
	    stats(pool).retried == before.retried, "a write whose connection died after "
	    "sending is not retried: DB_UNAVAILABLE (%s) [%s]", a.message, a.sqlstate);

	before = stats(pool);
	n = terminate("state = 'idle'");
	loop_for(200);
	ok(n == (int)before.idle && n > 0 && stats(pool).open == 0 &&
	    stats(pool).discarded == before.discarded + (unsigned)n,
	    "idle connections the server closed are discarded at once (%d)", n);
	run(pool, NULL, "select 3", 0, NULL, DB_RETRY_NEVER, &a);
	loop_until(none_pending, 3000);
	ok(a.status == DB_OK, "the next query opens a fresh connection");
}

static void
stream_cb(enum db_status st, const PGresult *res, const char *sqlstate, const char *message,
    void *arg)
{
	struct streamed *s = arg;
	int p = s->phase;

	(void)res;
	(void)sqlstate;
	pending--;
	note_open();
	if (st == DB_OK)
		stream.ok[p]++;
	else if (st == DB_UNAVAILABLE) {
		stream.unavailable[p]++;
		if (strncmp(message, "database ", 9) != 0)
			stream.bad_message++;
	} else if (stream.other[p]++ == 0)
		snprintf(stream.first_other[p], sizeof(stream.first_other[p]), "%d %s %s", st,
		    sqlstate, message);
	free(s);
}

static void
stream_tick(evutil_socket_t fd, short what, void *arg)
{
	struct streamed *s;
	const char *v[2] = { "20", "1" };

	(void)fd;
	(void)what;
	(void)arg;
	if ((s = malloc(sizeof(*s))) == NULL)
		return;
	s->phase = stream.phase;
	stream.issued++;
	if (db_pool_exec(stream.pool, "sleep_int", NULL, 2, v, stream.issued % 2 ?
	    DB_RETRY_NEVER : DB_RETRY_READ, stream_cb, s) == NULL) {
		stream.rejected++;
		free(s);
	} else
		pending++;
	note_open();
}

static void
test_outage(struct db_pool *pool)
{
	struct timeval tv = { 0, 5000 };
	struct event *tick;
	struct db_pool_stats before = stats(pool);
	int64_t t;
	int rc;

	memset(&stream, 0, sizeof(stream));
	stream.pool = pool;
	max_open = 0;
	tick = event_new(base, -1, EV_PERSIST, stream_tick, NULL);
	event_add(tick, &tv);
	loop_for(300);
	stream.phase = PHASE_DURING;
	t = now_ms();
	rc = run_async(stop_cmd);
	ok(rc == 0, "pg_ctl stop -m fast under load (%lld ms)", (long long)(now_ms() - t));
	loop_for(600);
	ok(run_async(start_cmd) == 0, "pg_ctl start under load");
	loop_for(300);
	stream.phase = PHASE_AFTER;
	loop_for(700);
	event_free(tick);
	ok(loop_until(none_pending, 5000), "every streamed query was answered (%d issued)",
	    stream.issued);
	ok(stream.ok[PHASE_BEFORE] > 0 && stream.other[PHASE_BEFORE] == 0,
	    "before the outage: %d ok, %d unavailable, %d other %s", stream.ok[PHASE_BEFORE],
	    stream.unavailable[PHASE_BEFORE], stream.other[PHASE_BEFORE],
	    stream.first_other[PHASE_BEFORE]);
	ok(stream.unavailable[PHASE_DURING] > 0 && stream.other[PHASE_DURING] == 0 &&
	    stream.bad_message == 0, "during the outage queries fail with DB_UNAVAILABLE "
	    "(%d unavailable, %d ok, %d other %s)", stream.unavailable[PHASE_DURING],
	    stream.ok[PHASE_DURING], stream.other[PHASE_DURING],
	    stream.first_other[PHASE_DURING]);
	ok(stream.ok[PHASE_AFTER] > 50 && stream.unavailable[PHASE_AFTER] == 0 &&
	    stream.other[PHASE_AFTER] == 0 && stream.rejected == 0,
	    "after the restart every query succeeds (%d ok, %d failed)",
	    stream.ok[PHASE_AFTER], stream.unavailable[PHASE_AFTER] +
	    stream.other[PHASE_AFTER]);
	ok(stats(pool).discarded > before.discarded, "connections lost in the outage are "
	    "counted as discarded (%llu)", stats(pool).discarded - before.discarded);
	ok(max_open <= 4, "open connections never above the pool size (max %d)", max_open);
}

static void
test_prepare_fails(void)
{
	static const struct db_prepared bad[] = {
		{ "get_int", "select $1::int", 1 },
		{ "broken", "select * from no_such_table", 0 },
	};
	struct db_pool *pool = pool_with(2, 8, 5000, 2000, bad, 2);
	struct answer a;

	run(pool, NULL, "select 1", 0, NULL, DB_RETRY_READ, &a);
	loop_until(none_pending, 3000);
	ok(a.status == DB_UNAVAILABLE && strcmp(a.sqlstate, "42P01") == 0 &&
	    strstr(a.message, "cannot prepare statement \"broken\"") != NULL &&
	    stats(pool).open == 0, "a failed prepare is reported: %s [%s]", a.message,
	    a.sqlstate);
	db_pool_free(pool);
}

/* A server that accepts TCP connections and never says a word. */
static void
test_connect_timeout(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct db_pool *pool;
	struct answer a;
	char ci[128];
	int64_t t;
	int s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(s, 8) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) == -1) {
		ok(0, "silent listener");
		return;
	}
	snprintf(ci, sizeof(ci), "hostaddr=127.0.0.1 port=%d user=x dbname=x sslmode=disable "
	    "gssencmode=disable", ntohs(sin.sin_port));
	pool = pool_at(ci, 2, 8, 1000, 5000, 300, NULL, 0);
	t = now_ms();
	run(pool, NULL, "select 1", 0, NULL, DB_RETRY_READ, &a);
	loop_until(none_pending, 5000);
	t = now_ms() - t;
	ok(a.status == DB_UNAVAILABLE && strstr(a.message, "timeout expired") != NULL &&
	    t >= 250 && t < 2000 && stats(pool).open == 0,
	    "connect_timeout_ms bounds a connection that never answers (%lld ms: %s)",
	    (long long)t, a.message);
	db_pool_free(pool);
	close(s);
}

/* A backend that stops answering (SIGSTOP) is dropped past statement_timeout. */
static void
test_watchdog(void)
{
	struct db_pool *pool = pool_with(1, 8, 100, 5000, NULL, 0);
	struct answer a, b;
	pid_t pid;

	run(pool, NULL, "select pg_backend_pid()", 0, NULL, DB_RETRY_READ, &a);
	loop_until(none_pending, 3000);
	pid = atoi(a.value);
	if (a.status != DB_OK || pid <= 0 || kill(pid, SIGSTOP) == -1) {
		printf("ok %d # skip cannot stop the backend\n", ++ntests);
		db_pool_free(pool);
		return;
	}
	run(pool, NULL, "select 1", 0, NULL, DB_RETRY_READ, &a);
	run(pool, NULL, "select 2", 0, NULL, DB_RETRY_READ, &b);	/* pipelined behind */
	loop_until(none_pending, 5000);
	kill(pid, SIGCONT);
	ok(a.status == DB_TIMEOUT && strstr(a.message, "2100 ms") != NULL &&
	    stats(pool).discarded == 1 && stats(pool).pipelined == 1,
	    "a backend that hangs is dropped after statement_timeout + 2 s (%s)", a.message);
	ok(b.status == DB_OK && strcmp(b.value, "2") == 0 && stats(pool).retried == 1,
	    "the read behind it runs again on a fresh connection (%d: %s)", b.status, b.message);
	db_pool_free(pool);
}

/* A statement that leaves a transaction open must not hand it to the next query. */
static void
test_open_transaction(void)
{
	struct db_pool *pool = pool_with(1, 8, 5000, 5000, NULL, 0);
	struct answer a, b;

	run(pool, NULL, "begin", 0, NULL, DB_RETRY_NEVER, &a);
	loop_until(none_pending, 3000);
	run(pool, NULL, "select now() = statement_timestamp()", 0, NULL, DB_RETRY_NEVER, &b);
	loop_until(none_pending, 3000);
	ok(a.status == DB_OK && b.status == DB_OK && stats(pool).discarded == 1,
	    "a connection left inside a transaction is discarded (%llu)",
	    stats(pool).discarded);
	db_pool_free(pool);
}

static void
test_free(void)
{
	struct db_pool *pool = pool_with(2, 8, 5000, 2000, prepared, 2);
	struct action act[5], last;
	const char *v[2] = { "1000", "1" };
	int i, called = 0, refused = 0;

	memset(act, 0, sizeof(act));
	for (i = 0; i < 5; i++) {
		act[i].pool = pool;
		act[i].exec_result = -1;
		if (db_pool_exec(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, action_cb,
		    &act[i]) != NULL)
			pending++;
	}
	loop_for(100);
	db_pool_free(pool);
	for (i = 0; i < 5; i++) {
		called += act[i].a.called == 1 && act[i].a.status == DB_UNAVAILABLE;
		refused += act[i].exec_result == 0;
	}
	ok(called == 5 && refused == 5 && pending == 0, "db_pool_free answers every pending "
	    "query with DB_UNAVAILABLE first (%d), exec from those callbacks is refused (%d)",
	    called, refused);

	/* db_pool_free from inside a callback. */
	pool = pool_with(1, 8, 5000, 2000, prepared, 2);
	memset(&last, 0, sizeof(last));
	last.pool = pool;
	last.free_pool = 1;
	if (db_pool_exec(pool, NULL, "select 1", 0, NULL, DB_RETRY_READ, action_cb, &last))
		pending++;
	memset(act, 0, sizeof(act));
	if (db_pool_exec(pool, "sleep_int", NULL, 2, v, DB_RETRY_READ, answer_cb, &act[0].a))
		pending++;
	loop_until(none_pending, 3000);
	ok(last.a.status == DB_OK && act[0].a.status == DB_UNAVAILABLE,
	    "db_pool_free from a callback fails the rest and frees the pool");
}

int
main(int argc, char *argv[])
{
	struct db_pool *pool;

	if (argc != 4) {
		fprintf(stderr, "usage: %s conninfo stop-cmd start-cmd\n", argv[0]);
		return 2;
	}
	conninfo = argv[1];
	stop_cmd = argv[2];
	start_cmd = argv[3];
	log_init("test", getenv("DB_POOL_LOG"), LOG_LEVEL_DEBUG);
	if ((base = event_base_new()) == NULL)
		return 1;

	test_lazy_down();
	pool = pool_with(4, 128, 5000, 3000, prepared, 2);
	watched = pool;
	test_concurrency(pool);
	test_errors(pool);
	test_cancel(pool);
	test_terminate(pool);
	test_outage(pool);
	watched = NULL;
	db_pool_free(pool);
	test_statement_timeout();
	test_queue();
	test_pipeline();
	test_prepare_fails();
	test_free();
	test_connect_timeout();
	test_watchdog();
	test_open_transaction();

	event_base_free(base);
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
