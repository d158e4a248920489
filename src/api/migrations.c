/*
 * The schema is the reference's (contract §6), so a database the Go API created
 * works unchanged, plus trestle's own table of sync sessions.  Every statement
 * is idempotent and the whole set is one DO block, so one transaction under an
 * advisory lock: two starting instances cannot race.  The index names are the
 * reference's, so its database gets no duplicate index.  It runs on a pool of
 * one connection of its own (the API child's pool prepares statements that
 * need the schema), without a statement timeout: an index built on a large
 * existing table may take a while.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "db_pool.h"
#include "log.h"
#include "migrations.h"

#define MIGRATIONS_RETRY_SEC	1

#define ENTITY_COLUMNS \
	"uid uuid NOT NULL, owner_id uuid NOT NULL REFERENCES app_user(id) ON DELETE CASCADE, " \
	"updated_at_ms bigint NOT NULL, deleted_at_ms bigint, version int NOT NULL DEFAULT 1, " \
	"payload_json jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "

#define ENTITY_INDEXES(t) \
	"CREATE INDEX IF NOT EXISTS " t "_owner_updated_idx ON " t " (owner_id, updated_at_ms); " \
	"CREATE INDEX IF NOT EXISTS " t "_owner_deleted_idx ON " t " (owner_id, deleted_at_ms) " \
	    "WHERE deleted_at_ms IS NOT NULL; " \
	"CREATE INDEX IF NOT EXISTS " t "_cursor_idx ON " t " (updated_at_ms, uid); "

static const char migrations_sql[] =
	"DO $migrate$ BEGIN "
	"PERFORM set_config('client_min_messages', 'warning', true); "
	"PERFORM pg_advisory_xact_lock(7365298); "
	"CREATE TABLE IF NOT EXISTS app_user (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
	    "sub text UNIQUE NOT NULL, created_at timestamptz NOT NULL DEFAULT now()); "
	"CREATE TABLE IF NOT EXISTS note (" ENTITY_COLUMNS "PRIMARY KEY (owner_id, uid)); "
	ENTITY_INDEXES("note")
	"CREATE TABLE IF NOT EXISTS task (" ENTITY_COLUMNS "PRIMARY KEY (owner_id, uid)); "
	ENTITY_INDEXES("task")
	"CREATE TABLE IF NOT EXISTS chat (" ENTITY_COLUMNS "PRIMARY KEY (owner_id, uid)); "
	ENTITY_INDEXES("chat")
	"CREATE TABLE IF NOT EXISTS comment (" ENTITY_COLUMNS
	    "parent_type text NOT NULL CHECK (parent_type IN ('note', 'task')), "
	    "parent_uid uuid NOT NULL, PRIMARY KEY (owner_id, uid)); "
	ENTITY_INDEXES("comment")
	"CREATE INDEX IF NOT EXISTS comment_parent_idx ON comment (owner_id, parent_type, parent_uid); "
	"CREATE TABLE IF NOT EXISTS chat_message (" ENTITY_COLUMNS
	    "chat_uid uuid NOT NULL, PRIMARY KEY (owner_id, uid)); "
	ENTITY_INDEXES("chat_message")
	"CREATE INDEX IF NOT EXISTS chat_message_parent_idx ON chat_message (owner_id, chat_uid); "
	"CREATE TABLE IF NOT EXISTS owner_state (owner_id text PRIMARY KEY, "
	    "epoch int NOT NULL DEFAULT 1, last_wipe_at timestamptz, last_wipe_by text, "
	    "created_at timestamptz NOT NULL DEFAULT now(), "
	    "updated_at timestamptz NOT NULL DEFAULT now()); "
	/* Trestle's own: sessions outlive a restart of the API child. */
	"CREATE TABLE IF NOT EXISTS trestle_sync_session (id uuid PRIMARY KEY, "
	    "owner_id uuid NOT NULL REFERENCES app_user(id) ON DELETE CASCADE, "
	    "created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL); "
	"CREATE INDEX IF NOT EXISTS trestle_sync_session_expires_idx "
	    "ON trestle_sync_session (expires_at); "
	"END $migrate$";

struct migrations_wait {
	TAILQ_ENTRY(migrations_wait) entry;
	struct migrations	*m;
	void			(*cb)(void *);
	void			*arg;
};

struct migrations {
	struct db_pool	*pool;
	struct db_query	*query;		/* the attempt under way */
	TAILQ_HEAD(, migrations_wait) waiters;
	struct event	*retry;
	void		(*done)(void *);
	void		*arg;
	int		 failures;
};

/* One at a time: a waiter's cb may cancel another waiter. */
static void
migrations_wake(struct migrations *m)
{
	struct migrations_wait *w;
	void (*cb)(void *);
	void *arg;

	while ((w = TAILQ_FIRST(&m->waiters)) != NULL) {
		TAILQ_REMOVE(&m->waiters, w, entry);
		cb = w->cb;
		arg = w->arg;
		free(w);
		cb(arg);
	}
}

static void
migrations_on_result(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct migrations *m = arg;
	struct timeval again = { MIGRATIONS_RETRY_SEC, 0 };
	struct db_pool *pool = m->pool;

	(void)res;
	(void)sqlstate;
	m->query = NULL;
	if (status == DB_OK) {
		log_info("migrations: the schema is up to date");
		m->pool = NULL;
		m->done(m->arg);
		migrations_wake(m);
		db_pool_free(pool);	/* its one connection is no longer needed */
		return;
	}
	/* Once as a warning; the pool says when the database is back. */
	if (m->failures++ == 0)
		log_warnx("migrations: cannot apply the schema yet (trying every %d s): %s",
		    MIGRATIONS_RETRY_SEC, message);
	else
		log_debug("migrations: still cannot apply the schema: %s", message);
	evtimer_add(m->retry, &again);
	migrations_wake(m);
}

static void
migrations_try(evutil_socket_t fd, short what, void *arg)
{
	struct migrations *m = arg;
	struct timeval again = { MIGRATIONS_RETRY_SEC, 0 };

	(void)fd;
	(void)what;
	m->query = db_pool_exec(m->pool, NULL, migrations_sql, 0, NULL, DB_RETRY_READ,
	    migrations_on_result, m);
	if (m->query == NULL)
		evtimer_add(m->retry, &again);
}

struct migrations *
migrations_start(struct event_base *base, const char *conninfo, void (*done)(void *), void *arg)
{
	struct db_pool_options opts = {
		.conninfo = conninfo,
		.size = 1,
		.queue_max = 1,
		.statement_timeout_ms = 0,
		.connect_timeout_ms = 3000,
	};
	struct migrations *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		fatal("migrations_start");
	m->done = done;
	m->arg = arg;
	TAILQ_INIT(&m->waiters);
	if ((m->pool = db_pool_new(base, &opts)) == NULL ||
	    (m->retry = evtimer_new(base, migrations_try, m)) == NULL) {
		migrations_free(m);
		return NULL;
	}
	migrations_try(-1, 0, m);
	return m;
}

struct migrations_wait *
migrations_wait(struct migrations *m, void (*cb)(void *), void *arg)
{
	struct migrations_wait *w;

	if (m == NULL || m->query == NULL)
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("migrations_wait");
	w->m = m;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&m->waiters, w, entry);
	return w;
}

void
migrations_wait_cancel(void *wait)
{
	struct migrations_wait *w = wait;

	TAILQ_REMOVE(&w->m->waiters, w, entry);
	free(w);
}

void
migrations_free(struct migrations *m)
{
	struct migrations_wait *w;

	if (m == NULL)
		return;
	while ((w = TAILQ_FIRST(&m->waiters)) != NULL)
		migrations_wait_cancel(w);
	db_query_cancel(m->query);
	if (m->pool != NULL)
		db_pool_free(m->pool);
	if (m->retry != NULL)
		event_free(m->retry);
	free(m);
}
