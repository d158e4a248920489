/*
 * Sync sessions (contract §2).  They live in PostgreSQL, so a restart of the
 * API child keeps them, and expire 30 minutes after creation.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "api.h"
#include "codec.h"
#include "api_store.h"
#include "db_pool.h"
#include "session_cache.h"

#define SESSION_COLUMNS \
	"s.id::text, s.owner_id::text, (extract(epoch FROM s.created_at) * 1000)::bigint, " \
	"(extract(epoch FROM s.expires_at) * 1000)::bigint"

#define SQL_SESSION_CREATE \
	"WITH st AS (INSERT INTO owner_state (owner_id) VALUES ($1) " \
	"  ON CONFLICT (owner_id) DO UPDATE SET owner_id = excluded.owner_id RETURNING epoch), " \
	"s AS (INSERT INTO trestle_sync_session (id, owner_id, created_at, expires_at) " \
	"  VALUES (gen_random_uuid(), $1::uuid, now(), now() + interval '30 minutes') RETURNING *) " \
	"SELECT " SESSION_COLUMNS ", st.epoch FROM s, st"
#define SQL_SESSION_GET \
	"SELECT " SESSION_COLUMNS ", coalesce(o.epoch, 1) FROM trestle_sync_session s " \
	"LEFT JOIN owner_state o ON o.owner_id = s.owner_id::text " \
	"WHERE s.id = $1::uuid AND s.expires_at > now()"
#define SQL_SESSION_DELETE \
	"WITH s AS (SELECT owner_id FROM trestle_sync_session WHERE id = $1::uuid AND expires_at > now()), " \
	"d AS (DELETE FROM trestle_sync_session WHERE id = $1::uuid AND owner_id = $2::uuid RETURNING 1) " \
	"SELECT (SELECT owner_id::text FROM s), (SELECT count(*) FROM d)"

static void
api_session_reply(struct api_req *r, int status, const PGresult *res)
{
	char created[40], expires[40], body[512];
	const char *epoch = PQgetvalue(res, 0, 4);

	api_format_ms(atoll(PQgetvalue(res, 0, 2)), created, sizeof(created));
	api_format_ms(atoll(PQgetvalue(res, 0, 3)), expires, sizeof(expires));
	snprintf(body, sizeof(body),
	    "{\"id\":\"%s\",\"userId\":\"%s\",\"createdAt\":\"%s\",\"expiresAt\":\"%s\",\"epoch\":%s}",
	    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), created, expires, epoch);
	api_add_header(r, "X-Sync-Epoch", epoch);
	api_reply_json(r, status, body);
}

static void
api_on_session_created(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	r->pending = NULL;
	if (status != DB_OK || PQntuples(res) != 1) {
		api_reply_db_failure(r, status, message);
		return;
	}
	api_session_reply(r, 201, res);
}

void
api_sessions_create(struct api_req *r)
{
	const char *params[1] = { r->owner_id };

	api_db_exec(r, NULL, SQL_SESSION_CREATE, 1, params, DB_RETRY_NEVER, api_on_session_created);
}

static void
api_on_session_found(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	if (!api_db_answered(r, status, message))
		return;
	if (PQntuples(res) == 0) {
		api_reply_text(r, 404, "session not found or expired");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 1), r->owner_id) != 0) {
		api_reply_text(r, 403, "forbidden");
		return;
	}
	api_session_reply(r, 200, res);
}

void
api_sessions_get(struct api_req *r)
{
	const char *params[1] = { r->segment };

	if (!uuid_is_valid(r->segment)) {
		api_reply_text(r, 404, "session not found or expired");
		return;
	}
	api_db_exec(r, NULL, SQL_SESSION_GET, 1, params, DB_RETRY_READ, api_on_session_found);
}

static void
api_on_session_deleted(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	r->pending = NULL;
	session_cache_forget(r->segment);	/* whatever the outcome: looked up afresh */
	if (status != DB_OK || PQntuples(res) != 1) {
		api_reply_db_failure(r, status, message);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		api_reply_text(r, 404, "session not found or expired");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), r->owner_id) != 0) {
		api_reply_text(r, 403, "forbidden");
		return;
	}
	api_reply_text(r, 204, "");
}

void
api_sessions_delete(struct api_req *r)
{
	const char *params[2] = { r->segment, r->owner_id };

	if (!uuid_is_valid(r->segment)) {
		api_reply_text(r, 404, "session not found or expired");
		return;
	}
	/* Deleting an already deleted session deletes nothing, so a retry is harmless. */
	api_db_exec(r, NULL, SQL_SESSION_DELETE, 2, params, DB_RETRY_READ, api_on_session_deleted);
}
