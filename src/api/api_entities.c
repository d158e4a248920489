/*
 * REST CRUD of the five entities (contract §3): list, create and get, and the
 * Item replies every entity handler shares.  One set of handlers, driven by
 * the entity's table and noun; each request is one prepared statement.
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
#include "api_store.h"
#include "codec.h"
#include "db_pool.h"
#include "jsonstr.h"
#include "log.h"

#define ZERO_UUID	"00000000-0000-0000-0000-000000000000"
#define JSON_DEPTH_MAX	64

/* Append the Item at columns col..col+4: {"uid","version","updatedAt","deletedAt"?,"payload"}. */
void
api_item_append(struct evbuffer *out, const PGresult *res, int i, int col)
{
	char updated[40], deleted[40];

	api_format_ms(atoll(PQgetvalue(res, i, col + 2)), updated, sizeof(updated));
	evbuffer_add_printf(out, "{\"uid\":\"%s\",\"version\":%s,\"updatedAt\":\"%s\",",
	    PQgetvalue(res, i, col), PQgetvalue(res, i, col + 1), updated);
	if (!PQgetisnull(res, i, col + 3)) {
		api_format_ms(atoll(PQgetvalue(res, i, col + 3)), deleted, sizeof(deleted));
		evbuffer_add_printf(out, "\"deletedAt\":\"%s\",", deleted);
	}
	evbuffer_add(out, "\"payload\":", 10);
	evbuffer_add(out, PQgetvalue(res, i, col + 4), (size_t)PQgetlength(res, i, col + 4));
	evbuffer_add(out, "}", 1);
}

void
api_reply_item(struct api_req *r, int status, const PGresult *res, int col)
{
	struct evbuffer *out = evbuffer_new();

	api_item_append(out, res, 0, col);
	api_reply_json_buffer(r, status, out);
	evbuffer_free(out);
}

void
api_reply_noun_error(struct api_req *r, int status, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s %s", r->entity->noun, what);
	api_reply_error(r, status, msg);
}

/* 410 {"error":"<noun> <what>","deletedAt":…}: what is "deleted" or "already deleted". */
void
api_reply_deleted(struct api_req *r, const char *what, const char *deleted_ms)
{
	char deleted[40], body[512], msg[128];
	struct jsonstr js;

	api_format_ms(atoll(deleted_ms), deleted, sizeof(deleted));
	snprintf(msg, sizeof(msg), "%s %s", r->entity->noun, what);
	jsonstr_init(&js, body, sizeof(body));
	jsonstr_raw(&js, "{\"error\":");
	jsonstr_quote(&js, msg);
	jsonstr_printf(&js, ",\"deletedAt\":\"%s\",\"correlation_id\":", deleted);
	jsonstr_quote(&js, r->cid);
	jsonstr_raw(&js, "}");
	api_reply_json(r, 410, body);
}

/* What json-c accepted but PostgreSQL refuses (\u0000, say) is still the client's error. */
void
api_reply_query_failure(struct api_req *r, enum db_status status, const char *sqlstate,
    const char *message)
{
	if (status == DB_QUERY_ERROR && strncmp(sqlstate, "22", 2) == 0) {
		log_cid(LOG_LEVEL_INFO, r->cid, "api: refused data: %s", message);
		api_reply_error(r, 400, "invalid JSON");
		return;
	}
	api_reply_db_failure(r, status, message);
}

void
api_reply_parent_missing(struct api_req *r, const char *kind, const char *uid)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "parent %s not found: %s", kind, uid);
	api_reply_error(r, 404, msg);
}

/* Strict JSON (as PostgreSQL reads it), the whole text, an object; else NULL. */
json_object *
api_json_object(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH_MAX);
	json_object *obj;

	if (tok == NULL)
		fatal("json_tokener_new_ex");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    strspn(text + json_tokener_get_parse_end(tok), " \t\r\n") !=
	    len - json_tokener_get_parse_end(tok) || !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

static int
api_include_deleted(struct api_req *r)
{
	char buf[16];

	return api_query_param(r, "includeDeleted", buf, sizeof(buf)) != NULL &&
	    strcmp(buf, "true") == 0;
}

/* ---- create ---- */

static void
api_on_created(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	r->pending = NULL;
	if (status != DB_OK || PQntuples(res) != 1) {
		api_reply_query_failure(r, status, sqlstate, message);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		api_reply_parent_missing(r, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	else
		api_reply_item(r, 201, res, 3);	/* created, or an existing uid overwritten */
}

/* The client's uid when it is a UUID, else a new one. */
static void
api_create_uid(json_object *obj, char uid[37])
{
	json_object *given;

	if (json_object_object_get_ex(obj, "uid", &given) &&
	    json_object_is_type(given, json_type_string) &&
	    uuid_is_valid(json_object_get_string(given)))
		snprintf(uid, 37, "%s", json_object_get_string(given));
	else
		uuid_generate(uid);
}

void
api_entity_create(struct api_req *r)
{
	char uid[37], now[24], msg[256];
	const char *params[4];
	json_object *obj;

	if ((obj = api_json_object(r->body, r->body_len)) == NULL) {
		api_reply_error(r, 400, "invalid JSON");
		return;
	}
	api_create_uid(obj, uid);
	if (api_rules_check_parent(r->entity, obj, 1, msg, sizeof(msg)) == -1) {
		json_object_put(obj);
		api_reply_error(r, 400, msg);
		return;
	}
	json_object_put(obj);
	snprintf(now, sizeof(now), "%lld", api_now_ms());
	params[0] = r->owner_id;
	params[1] = uid;
	params[2] = now;
	params[3] = r->body;	/* verbatim: PostgreSQL keeps numbers json-c would round */
	/* Never retried: a lost answer after the write would bump the version twice. */
	api_entity_exec(r, API_STMT_CREATE, 4, params, DB_RETRY_NEVER, api_on_created);
}

/* ---- get ---- */

static void
api_on_got(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	(void)sqlstate;
	if (!api_db_answered(r, status, message))
		return;
	if (PQntuples(res) == 0) {
		api_reply_noun_error(r, 404, "not found");
		return;
	}
	if (!PQgetisnull(res, 0, 3) && !api_include_deleted(r)) {
		api_reply_deleted(r, "deleted", PQgetvalue(res, 0, 3));
		return;
	}
	api_reply_item(r, 200, res, 0);
}

void
api_entity_get(struct api_req *r)
{
	const char *params[2] = { r->owner_id, r->segment };

	if (!uuid_is_valid(r->segment)) {
		api_reply_error(r, 400, "invalid UID");
		return;
	}
	api_entity_exec(r, API_STMT_GET, 2, params, DB_RETRY_READ, api_on_got);
}

/* ---- list ---- */

int
api_parse_limit(struct api_req *r, int *limit)
{
	char buf[32], *end;
	long n;

	*limit = API_LIST_DEFAULT_LIMIT;
	if (api_query_param(r, "limit", buf, sizeof(buf)) == NULL || buf[0] == '\0')
		return 0;
	errno = 0;
	n = strtol(buf, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1)
		return -1;
	*limit = n > API_LIST_MAX_LIMIT ? API_LIST_MAX_LIMIT : (int)n;
	return 0;
}

/* A cursor is base64url("<updated_at_ms>|<uid>") without padding. */
int
api_cursor_decode(const char *text, char after_ms[24], char after_uid[37])
{
	char decoded[128], *bar, *end;
	long long ms;
	long n;

	strcpy(after_ms, "-1");
	strcpy(after_uid, ZERO_UUID);
	if (text[0] == '\0')
		return 0;
	n = b64url_decode(text, strlen(text), (unsigned char *)decoded, sizeof(decoded) - 1);
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
	snprintf(after_ms, 24, "%lld", ms);
	snprintf(after_uid, 37, "%s", bar + 1);
	return 0;
}

int
api_parse_cursor(struct api_req *r, char after_ms[24], char after_uid[37])
{
	char buf[256];

	if (api_query_param(r, "cursor", buf, sizeof(buf)) == NULL)
		buf[0] = '\0';
	return api_cursor_decode(buf, after_ms, after_uid);
}

void
api_append_cursor(struct evbuffer *out, const char *ms, const char *uid)
{
	char raw[96], cursor[160];

	snprintf(raw, sizeof(raw), "%s|%s", ms, uid);
	b64url_encode((const unsigned char *)raw, strlen(raw), cursor, sizeof(cursor));
	evbuffer_add_printf(out, ",\"nextCursor\":\"%s\"", cursor);
}

static void
api_on_listed(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;
	struct evbuffer *out;
	int rows;

	(void)sqlstate;
	if (!api_db_answered(r, status, message))
		return;
	rows = PQntuples(res);
	out = evbuffer_new();
	evbuffer_add_printf(out, "{\"items\":[");
	for (int i = 0; i < rows; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		api_item_append(out, res, i, 0);
	}
	evbuffer_add(out, "]", 1);
	/*
	 * As the reference does: every non-empty page names the next one, and the
	 * list ends with an empty page, so clients that page until an empty page work.
	 */
	if (rows > 0)
		api_append_cursor(out, PQgetvalue(res, rows - 1, 2), PQgetvalue(res, rows - 1, 0));
	evbuffer_add(out, "}", 1);
	api_reply_json_buffer(r, 200, out);
	evbuffer_free(out);
}

void
api_entity_list(struct api_req *r)
{
	char after_ms[24], after_uid[37], limit_text[16];
	const char *params[5];
	int limit;

	if (api_parse_limit(r, &limit) == -1) {
		api_reply_error(r, 400, "invalid limit: must be an integer from 1 to 1000");
		return;
	}
	if (api_parse_cursor(r, after_ms, after_uid) == -1) {
		api_reply_error(r, 400, "invalid cursor");
		return;
	}
	snprintf(limit_text, sizeof(limit_text), "%d", limit);
	params[0] = r->owner_id;
	params[1] = api_include_deleted(r) ? "true" : "false";
	params[2] = after_ms;
	params[3] = after_uid;
	params[4] = limit_text;
	api_entity_exec(r, API_STMT_LIST, 5, params, DB_RETRY_READ, api_on_listed);
}
