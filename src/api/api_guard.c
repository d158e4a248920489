/*
 * The guards of the contract, in its order: user (JWT), tenant headers, sync
 * session, epoch.  The user and tenant guards are api_auth.c's; resolving
 * the user's row or the session takes one query (a session seen in the last
 * moments none: session_cache.h), after which the route's handler runs with
 * r->owner_id set.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <libpq-fe.h>

#include "api.h"
#include "api_store.h"	/* API_STMT_SESSION_OWNER, prepared by api_sql.c */
#include "codec.h"
#include "db_pool.h"
#include "http_headers.h"
#include "jwt.h"
#include "log.h"
#include "migrations.h"
#include "session_cache.h"
#include "tenant.h"

#define SQL_UPSERT_USER \
	"INSERT INTO app_user (sub) VALUES ($1) ON CONFLICT (sub) DO UPDATE SET sub = excluded.sub " \
	"RETURNING id::text"

static const char *
api_header(struct api_req *r, const char *name)
{
	return http_header_get(evhttp_request_get_input_headers(r->req), name);
}

static int
api_guard_epoch(struct api_req *r)
{
	const char *text = api_header(r, "X-Sync-Epoch");
	char buf[320], epoch[16];
	char *end;

	r->client_epoch = 0;
	if (text != NULL) {
		r->client_epoch = strtoll(text, &end, 10);
		if (end == text || *end != '\0')
			r->client_epoch = 0;
	}
	if (r->client_epoch >= r->server_epoch)
		return 0;
	snprintf(epoch, sizeof(epoch), "%d", r->server_epoch);
	api_add_header(r, "X-Sync-Epoch", epoch);
	snprintf(buf, sizeof(buf), "{\"error\":\"epoch_mismatch\",\"epoch\":%d,\"correlation_id\":\"%s\"}",
	    r->server_epoch, r->cid);
	api_reply_json(r, 409, buf);
	return -1;
}

static void
api_guard_after_session(struct api_req *r)
{
	if ((r->route->guards & API_NEED_RATE_LIMIT) && api_ratelimit_check(r) == -1)
		return;
	if ((r->route->guards & API_NEED_EPOCH) && api_guard_epoch(r) == -1)
		return;
	r->route->handler(r);
}

/* The session is live: it must be the user's own. */
static void
api_guard_session_found(struct api_req *r, const char *owner_id, const char *sub, int epoch)
{
	if (strcmp(sub, r->sub) != 0) {
		api_reply_error(r, 403, "forbidden");
		return;
	}
	snprintf(r->owner_id, sizeof(r->owner_id), "%s", owner_id);
	r->server_epoch = epoch;
	api_guard_after_session(r);
}

static void
api_on_session_owner(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	if (!api_db_answered(r, status, message))
		return;
	if (PQntuples(res) == 0) {
		api_reply_error(r, 428, "sync session required: create one with POST /v1/sync/sessions");
		return;
	}
	session_cache_put(r->session_id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	    atoi(PQgetvalue(res, 0, 2)), atoll(PQgetvalue(res, 0, 3)));
	api_guard_session_found(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	    atoi(PQgetvalue(res, 0, 2)));
}

static void
api_guard_session(struct api_req *r)
{
	const char *id = api_header(r, "X-Sync-Session");
	const struct session_cache_entry *known;
	const char *params[1];

	if (id == NULL || !uuid_is_valid(id)) {
		api_reply_error(r, 428, "sync session required: create one with POST /v1/sync/sessions");
		return;
	}
	if ((known = session_cache_get(id)) != NULL) {
		api_guard_session_found(r, known->owner_id, known->sub, known->epoch);
		return;
	}
	snprintf(r->session_id, sizeof(r->session_id), "%s", id);
	params[0] = r->session_id;
	api_db_exec(r, API_STMT_SESSION_OWNER, NULL, 1, params, DB_RETRY_READ, api_on_session_owner);
}

static void
api_on_user(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	r->pending = NULL;
	if (status != DB_OK || PQntuples(res) != 1) {
		api_reply_db_failure(r, status, message);
		return;
	}
	snprintf(r->owner_id, sizeof(r->owner_id), "%s", PQgetvalue(res, 0, 0));
	r->route->handler(r);
}

/* The user's row, created on first sight as the contract says; the upsert is idempotent. */
static void
api_guard_resolve_user(struct api_req *r)
{
	const char *params[1] = { r->sub };

	api_db_exec(r, NULL, SQL_UPSERT_USER, 1, params, DB_RETRY_READ, api_on_user);
}

static void api_guard_database(struct api_req *);

static void
api_guard_on_schema(void *arg)
{
	struct api_req *r = arg;

	r->waiting = NULL;
	r->waiting_cancel = NULL;
	api_guard_database(r);
}

/*
 * The guards that need PostgreSQL.  A request that comes while the schema is
 * being applied (at start) waits for the outcome rather than fail; when the
 * database cannot be reached it is 503 at once.
 */
static void
api_guard_database(struct api_req *r)
{
	int guards = r->route->guards;

	if ((guards & API_NEED_USER) && !r->ctx->schema_ready) {
		if ((r->waiting = migrations_wait(r->ctx->migrations, api_guard_on_schema, r)) != NULL) {
			r->waiting_cancel = migrations_wait_cancel;
			return;
		}
		api_add_header(r, "Retry-After", "1");
		api_reply_error(r, 503, "database unavailable: schema not yet applied");
		return;
	}
	if (guards & API_NEED_SESSION)
		api_guard_session(r);
	else if (guards & API_NEED_USER)
		api_guard_resolve_user(r);
	else
		r->route->handler(r);
}

void
api_guard_run(struct api_req *r)
{
	int guards = r->route->guards;

	if (guards & API_NEED_USER) {
		switch (api_auth_user(r)) {
		case -1:
			api_reply_text(r, 401, "unauthorized");
			return;
		case 1:
			return;		/* waiting for the JWKS: this runs again */
		}
	}
	if ((guards & API_NEED_TENANT) && api_auth_tenant(r) == -1) {
		api_reply_text(r, 401, "Unauthorized: invalid tenant headers");
		return;
	}
	api_guard_database(r);
}
