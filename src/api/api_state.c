/*
 * The sync metadata routes (contract §2, §5): what the server offers
 * (GET /v1/sync/info), the user's epoch (GET /v1/sync/state) and the wipe
 * that starts a new epoch (POST /v1/sync/wipe).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "api.h"
#include "api_store.h"
#include "db_pool.h"
#include "jsonstr.h"
#include "session_cache.h"

#define SQL_STATE \
	"SELECT epoch, (extract(epoch FROM last_wipe_at) * 1000)::bigint, last_wipe_by " \
	"FROM owner_state WHERE owner_id = $1"

/*
 * One statement, so one transaction: the new epoch, the user's rows gone
 * (children first), and then their sessions, which belong to the old epoch.
 */
#define SQL_WIPE \
	"WITH st AS (INSERT INTO owner_state (owner_id, epoch, last_wipe_at, last_wipe_by) " \
	"  VALUES ($1, 2, now(), $2) ON CONFLICT (owner_id) DO UPDATE SET " \
	"  epoch = owner_state.epoch + 1, last_wipe_at = now(), last_wipe_by = $2, " \
	"  updated_at = now() RETURNING epoch), " \
	"m AS (DELETE FROM chat_message WHERE owner_id = $1::uuid RETURNING 1), " \
	"c AS (DELETE FROM comment WHERE owner_id = $1::uuid RETURNING 1), " \
	"ch AS (DELETE FROM chat WHERE owner_id = $1::uuid RETURNING 1), " \
	"t AS (DELETE FROM task WHERE owner_id = $1::uuid RETURNING 1), " \
	"n AS (DELETE FROM note WHERE owner_id = $1::uuid RETURNING 1), " \
	"s AS (DELETE FROM trestle_sync_session WHERE owner_id = $1::uuid RETURNING 1) " \
	"SELECT (SELECT epoch FROM st), (SELECT count(*) FROM m), (SELECT count(*) FROM c), " \
	"(SELECT count(*) FROM ch), (SELECT count(*) FROM t), (SELECT count(*) FROM n), " \
	"(SELECT count(*) FROM s)"

#define WIPE_REFUSED	"confirmation required: must send {\"confirm\":\"WIPE\"}"

static const char *const info_entities[] = { "notes", "tasks", "comments", "chats", "chat_messages" };

void
api_sync_info(struct api_req *r)
{
	struct evbuffer *out = evbuffer_new();
	char now[40];

	api_format_ms(api_now_ms(), now, sizeof(now));
	evbuffer_add_printf(out, "{\"apiVersion\":\"1.1\",\"serverTime\":\"%s\",\"entities\":{", now);
	for (size_t i = 0; i < sizeof(info_entities) / sizeof(info_entities[0]); i++)
		evbuffer_add_printf(out, "%s\"%s\":{\"maxLimit\":%d,\"push\":true,\"pull\":true}",
		    i > 0 ? "," : "", info_entities[i], API_LIST_MAX_LIMIT);
	evbuffer_add_printf(out, "},\"locking\":{\"supported\":true,\"mode\":\"session\"},"
	    "\"minClientVersion\":\"0.1.0\","
	    "\"rateLimit\":{\"windowSeconds\":60,\"maxRequests\":%d,\"burst\":%d},"
	    "\"hints\":{\"recommendedBatch\":500,\"backoffMsOn429\":1500}}",
	    r->ctx->cf->api_rate_limit_per_minute, r->ctx->cf->api_rate_limit_burst);
	api_reply_json_buffer(r, 200, out);
	evbuffer_free(out);
}

static void
api_on_state(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;
	char body[512], when[40];
	struct jsonstr js;

	(void)sqlstate;
	if (!api_db_answered(r, status, message))
		return;
	jsonstr_init(&js, body, sizeof(body));
	jsonstr_printf(&js, "{\"epoch\":%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "1");
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 1)) {
		api_format_ms(atoll(PQgetvalue(res, 0, 1)), when, sizeof(when));
		jsonstr_printf(&js, ",\"lastWipeAt\":\"%s\"", when);
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 2)) {
		jsonstr_raw(&js, ",\"lastWipeBy\":");
		jsonstr_quote(&js, PQgetvalue(res, 0, 2));
	}
	jsonstr_raw(&js, "}");
	api_reply_json(r, 200, body);
}

void
api_sync_state(struct api_req *r)
{
	const char *params[1] = { r->owner_id };

	api_db_exec(r, NULL, SQL_STATE, 1, params, DB_RETRY_READ, api_on_state);
}

static void
api_on_wiped(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;
	char body[256];

	(void)sqlstate;
	r->pending = NULL;
	session_cache_forget_owner(r->owner_id);	/* new epoch, sessions deleted */
	if (status != DB_OK || PQntuples(res) != 1) {
		api_reply_db_failure(r, status, message);
		return;
	}
	snprintf(body, sizeof(body), "{\"epoch\":%s,\"deleted\":{\"chat_message\":%s,\"comment\":%s,"
	    "\"chat\":%s,\"task\":%s,\"note\":%s}}", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5));
	api_add_header(r, "X-Sync-Epoch", PQgetvalue(res, 0, 0));
	api_reply_json(r, 200, body);
}

static int
api_wipe_confirmed(struct api_req *r)
{
	json_object *obj = api_json_object(r->body, r->body_len), *confirm;
	int ok;

	ok = obj != NULL && json_object_object_get_ex(obj, "confirm", &confirm) &&
	    json_object_is_type(confirm, json_type_string) &&
	    strcmp(json_object_get_string(confirm), "WIPE") == 0;
	json_object_put(obj);
	return ok;
}

void
api_sync_wipe(struct api_req *r)
{
	const char *params[2] = { r->owner_id, r->sub };

	if (!api_wipe_confirmed(r)) {
		api_reply_text(r, 400, WIPE_REFUSED);
		return;
	}
	/* Never retried: a second wipe would bump the epoch twice. */
	api_db_exec(r, NULL, SQL_WIPE, 2, params, DB_RETRY_NEVER, api_on_wiped);
}
