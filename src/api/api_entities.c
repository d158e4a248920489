/*
 * REST CRUD of the five entities (contract §3): one set of handlers, driven by
 * the entity's table and noun.  Each request is one SQL statement, so every
 * write is atomic without an explicit transaction.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "api.h"
#include "codec.h"
#include "db_pool.h"
#include "jsonstr.h"
#include "log.h"

#define ITEM_COLUMNS "uid::text, version, updated_at_ms, deleted_at_ms, payload_json::text"
#define LIST_DEFAULT_LIMIT	500
#define LIST_MAX_LIMIT		1000
#define ZERO_UUID		"00000000-0000-0000-0000-000000000000"

/* Append the Item of row i: {"uid","version","updatedAt","deletedAt"?,"payload"}. */
static void
api_item_append(struct evbuffer *out, const PGresult *res, int i)
{
	char updated[40], deleted[40];

	api_format_ms(atoll(PQgetvalue(res, i, 2)), updated, sizeof(updated));
	evbuffer_add_printf(out, "{\"uid\":\"%s\",\"version\":%s,\"updatedAt\":\"%s\",",
	    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), updated);
	if (!PQgetisnull(res, i, 3)) {
		api_format_ms(atoll(PQgetvalue(res, i, 3)), deleted, sizeof(deleted));
		evbuffer_add_printf(out, "\"deletedAt\":\"%s\",", deleted);
	}
	evbuffer_add_printf(out, "\"payload\":%s}", PQgetvalue(res, i, 4));
}

static void
api_reply_item(struct api_req *r, int status, const PGresult *res)
{
	struct evbuffer *out = evbuffer_new();

	api_item_append(out, res, 0);
	api_reply_json_buffer(r, status, out);
	evbuffer_free(out);
}

static int
api_entity_query(struct api_req *r, const char *sql, int nparams, const char *const *params,
    enum db_retry retry, db_done_fn done)
{
	r->pending = db_pool_exec(r->ctx->pool, NULL, sql, nparams, params, retry, done, r);
	if (r->pending != NULL)
		return 0;
	api_reply_db_failure(r, DB_QUEUE_FULL, "database busy: too many queued requests");
	return -1;
}

static void
api_reply_noun_error(struct api_req *r, int status, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s %s", r->entity->noun, what);
	api_reply_error(r, status, msg);
}

static void
api_reply_deleted(struct api_req *r, const char *deleted_ms)
{
	char deleted[40], body[512], msg[128];
	struct jsonstr js;

	api_format_ms(atoll(deleted_ms), deleted, sizeof(deleted));
	snprintf(msg, sizeof(msg), "%s deleted", r->entity->noun);
	jsonstr_init(&js, body, sizeof(body));
	jsonstr_raw(&js, "{\"error\":");
	jsonstr_quote(&js, msg);
	jsonstr_printf(&js, ",\"deletedAt\":\"%s\",\"correlation_id\":", deleted);
	jsonstr_quote(&js, r->cid);
	jsonstr_raw(&js, "}");
	api_reply_json(r, 410, body);
}

/* ---- create ---- */

static void
api_on_created(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	r->pending = NULL;
	if (status != DB_OK) {
		api_reply_db_failure(r, status, message);
		return;
	}
	if (PQntuples(res) == 0) {
		api_reply_noun_error(r, 409, "already exists");
		return;
	}
	api_reply_item(r, 201, res);
}

/* The stored payload: the client's object plus uid, updatedTs and sync. */
static const char *
api_payload_new(json_object *obj, const char *uid, long long now_ms)
{
	char when[40];
	json_object *sync = json_object_new_object();

	api_format_ms(now_ms, when, sizeof(when));
	json_object_object_add(obj, "uid", json_object_new_string(uid));
	json_object_object_add(obj, "updatedTs", json_object_new_string(when));
	json_object_object_add(sync, "version", json_object_new_int(1));
	json_object_object_add(sync, "isDeleted", json_object_new_boolean(0));
	json_object_object_add(obj, "sync", sync);
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

void
api_entity_create(struct api_req *r)
{
	char sql[512], uid[37], now[24];
	const char *params[4];
	json_object *obj, *given;
	long long now_ms = api_now_ms();

	if (strcmp(r->entity->table, "comment") == 0 || strcmp(r->entity->table, "chat_message") == 0) {
		api_reply_error(r, 501, "not implemented yet");
		return;
	}
	obj = json_tokener_parse(r->body);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		api_reply_error(r, 400, "invalid JSON");
		return;
	}
	if (json_object_object_get_ex(obj, "uid", &given) && json_object_is_type(given, json_type_string) &&
	    uuid_is_valid(json_object_get_string(given)))
		snprintf(uid, sizeof(uid), "%s", json_object_get_string(given));
	else
		uuid_generate(uid);
	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (uid, owner_id, updated_at_ms, version, payload_json, "
	    "created_at) VALUES ($1::uuid, $2::uuid, $3, 1, $4::jsonb, now()) "
	    "ON CONFLICT (owner_id, uid) DO NOTHING RETURNING " ITEM_COLUMNS, r->entity->table);
	params[0] = uid;
	params[1] = r->owner_id;
	params[2] = now;
	params[3] = api_payload_new(obj, uid, now_ms);
	/* The insert either happened or conflicted: sending it again cannot duplicate a row. */
	api_entity_query(r, sql, 4, params, DB_RETRY_READ, api_on_created);
	json_object_put(obj);
}

/* ---- get ---- */

static int
api_include_deleted(struct api_req *r)
{
	char buf[16];

	return api_query_param(r, "includeDeleted", buf, sizeof(buf)) != NULL &&
	    strcmp(buf, "true") == 0;
}

static void
api_on_got(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	r->pending = NULL;
	if (status != DB_OK) {
		api_reply_db_failure(r, status, message);
		return;
	}
	if (PQntuples(res) == 0) {
		api_reply_noun_error(r, 404, "not found");
		return;
	}
	if (!PQgetisnull(res, 0, 3) && !api_include_deleted(r)) {
		api_reply_deleted(r, PQgetvalue(res, 0, 3));
		return;
	}
	api_reply_item(r, 200, res);
}

void
api_entity_get(struct api_req *r)
{
	char sql[256];
	const char *params[2] = { r->owner_id, r->segment };

	if (!uuid_is_valid(r->segment)) {
		api_reply_error(r, 400, "invalid UID");
		return;
	}
	snprintf(sql, sizeof(sql), "SELECT " ITEM_COLUMNS " FROM %s WHERE owner_id = $1::uuid "
	    "AND uid = $2::uuid", r->entity->table);
	api_entity_query(r, sql, 2, params, DB_RETRY_READ, api_on_got);
}

/* ---- list ---- */

struct api_list_args {
	char	limit[16];	/* one more than asked, to learn whether a next page exists */
	char	after_ms[24];
	char	after_uid[37];
};

static int
api_parse_limit(struct api_req *r, int *limit)
{
	char buf[32], *end;
	long n;

	*limit = LIST_DEFAULT_LIMIT;
	if (api_query_param(r, "limit", buf, sizeof(buf)) == NULL || buf[0] == '\0')
		return 0;
	errno = 0;
	n = strtol(buf, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1)
		return -1;
	*limit = n > LIST_MAX_LIMIT ? LIST_MAX_LIMIT : (int)n;
	return 0;
}

/* A cursor is base64url("<updated_at_ms>|<uid>") without padding. */
static int
api_parse_cursor(struct api_req *r, struct api_list_args *a)
{
	char buf[256], decoded[128], *bar, *end;
	long long ms;
	long n;

	strcpy(a->after_ms, "-1");
	strcpy(a->after_uid, ZERO_UUID);
	if (api_query_param(r, "cursor", buf, sizeof(buf)) == NULL || buf[0] == '\0')
		return 0;
	n = b64url_decode(buf, strlen(buf), (unsigned char *)decoded, sizeof(decoded) - 1);
	if (n < 0)
		return -1;
	decoded[n] = '\0';
	if ((bar = strchr(decoded, '|')) == NULL)
		return -1;
	*bar = '\0';
	errno = 0;
	ms = strtoll(decoded, &end, 10);
	if (ms < 0 || errno != 0 || *end != '\0' || end == decoded || !uuid_is_valid(bar + 1))
		return -1;
	snprintf(a->after_ms, sizeof(a->after_ms), "%lld", ms);
	snprintf(a->after_uid, sizeof(a->after_uid), "%s", bar + 1);
	return 0;
}

static void
api_append_cursor(struct evbuffer *out, const PGresult *res, int row)
{
	char raw[96], cursor[160];

	snprintf(raw, sizeof(raw), "%s|%s", PQgetvalue(res, row, 2), PQgetvalue(res, row, 0));
	b64url_encode((const unsigned char *)raw, strlen(raw), cursor, sizeof(cursor));
	evbuffer_add_printf(out, ",\"nextCursor\":\"%s\"", cursor);
}

static void
api_on_listed(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;
	struct evbuffer *out;
	int limit, rows;

	(void)sqlstate;
	r->pending = NULL;
	if (status != DB_OK) {
		api_reply_db_failure(r, status, message);
		return;
	}
	api_parse_limit(r, &limit);
	rows = PQntuples(res) > limit ? limit : PQntuples(res);
	out = evbuffer_new();
	evbuffer_add_printf(out, "{\"items\":[");
	for (int i = 0; i < rows; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		api_item_append(out, res, i);
	}
	evbuffer_add(out, "]", 1);
	if (PQntuples(res) > limit)
		api_append_cursor(out, res, rows - 1);
	evbuffer_add(out, "}", 1);
	api_reply_json_buffer(r, 200, out);
	evbuffer_free(out);
}

void
api_entity_list(struct api_req *r)
{
	struct api_list_args a;
	const char *params[5];
	char sql[512];
	int limit;

	if (api_parse_limit(r, &limit) == -1) {
		api_reply_error(r, 400, "invalid limit: must be an integer from 1 to 1000");
		return;
	}
	if (api_parse_cursor(r, &a) == -1) {
		api_reply_error(r, 400, "invalid cursor");
		return;
	}
	snprintf(a.limit, sizeof(a.limit), "%d", limit + 1);
	snprintf(sql, sizeof(sql), "SELECT " ITEM_COLUMNS " FROM %s WHERE owner_id = $1::uuid "
	    "AND ($2::boolean OR deleted_at_ms IS NULL) AND (updated_at_ms, uid) > ($3::bigint, $4::uuid) "
	    "ORDER BY updated_at_ms, uid LIMIT $5::int", r->entity->table);
	params[0] = r->owner_id;
	params[1] = api_include_deleted(r) ? "true" : "false";
	params[2] = a.after_ms;
	params[3] = a.after_uid;
	params[4] = a.limit;
	api_entity_query(r, sql, 5, params, DB_RETRY_READ, api_on_listed);
}
