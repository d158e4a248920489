/*
 * Delta sync (contract §4): push a batch of client items with last-writer-wins,
 * pull the changes after a cursor.  A push reads each item's uid, timestamp and
 * sync block here; what can be wrong with one item becomes its ack's error, and
 * the rest go to PostgreSQL as one statement, so a batch is one transaction.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "api.h"
#include "api_store.h"
#include "codec.h"
#include "db_pool.h"

#define PUSH_BAD_BODY	"[{\"uid\":\"\",\"version\":0,\"updatedAt\":\"\",\"error\":\"invalid json\"}]"

/* What one item of a push says about itself. */
struct push_meta {
	char		 uid[37];
	long long	 ms;
	long long	 deleted_ms;	/* -1: alive */
	int		 version;
};

/* ---- timestamps: RFC 3339 or epoch milliseconds as a string ---- */

static int
sync_parse_fraction(const char **sp, int *ms)
{
	const char *s = *sp;
	int digits = 0;

	*ms = 0;
	if (*s != '.')
		return 0;
	for (s++; isdigit((unsigned char)*s); s++, digits++)
		if (digits < 3)
			*ms = *ms * 10 + (*s - '0');
	if (digits == 0)
		return -1;
	for (; digits < 3; digits++)
		*ms *= 10;
	*sp = s;
	return 0;
}

static int
sync_parse_offset(const char *s, long long *offset_sec)
{
	int h, m, n = 0;

	if ((*s == 'Z' || *s == 'z') && s[1] == '\0') {
		*offset_sec = 0;
		return 0;
	}
	if ((*s != '+' && *s != '-') || sscanf(s + 1, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 ||
	    s[6] != '\0')
		return -1;
	*offset_sec = (h * 60LL + m) * 60 * (*s == '-' ? -1 : 1);
	return 0;
}

static int
sync_parse_rfc3339(const char *s, long long *ms)
{
	struct tm tm = { 0 };
	long long offset;
	int n = 0, frac;

	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	s += n;
	if (sync_parse_fraction(&s, &frac) == -1 || sync_parse_offset(s, &offset) == -1)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ms = ((long long)timegm(&tm) - offset) * 1000 + frac;
	return 0;
}

/* 0 (not a time) unless RFC 3339 or a decimal number of milliseconds. */
static long long
sync_time_ms(json_object *obj, const char *key)
{
	json_object *v;
	const char *s;
	char *end;
	long long ms;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	if (sync_parse_rfc3339(s, &ms) == 0)
		return ms;
	ms = strtoll(s, &end, 10);
	return end != s && *end == '\0' ? ms : 0;
}

/* ---- push ---- */

static void
push_read_sync(json_object *item, struct push_meta *m)
{
	json_object *sync, *v;

	m->version = 0;
	m->deleted_ms = -1;
	if (!json_object_object_get_ex(item, "sync", &sync) ||
	    !json_object_is_type(sync, json_type_object))
		return;
	if (json_object_object_get_ex(sync, "version", &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		m->version = json_object_get_int(v);
	if (json_object_object_get_ex(sync, "isDeleted", &v) &&
	    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v)) {
		m->deleted_ms = sync_time_ms(sync, "deletedAt");
		if (m->deleted_ms == 0)
			m->deleted_ms = m->ms;
	}
}

/* The item's uid, timestamp (updatedTs, updatedAt, updateTime, else now) and sync block. */
static int
push_read_item(json_object *item, struct push_meta *m)
{
	static const char *const time_keys[] = { "updatedTs", "updatedAt", "updateTime" };
	json_object *uid;

	if (!json_object_object_get_ex(item, "uid", &uid) ||
	    !json_object_is_type(uid, json_type_string) || !uuid_is_valid(json_object_get_string(uid)))
		return -1;
	for (int i = 0; i < 37; i++)
		m->uid[i] = (char)tolower((unsigned char)json_object_get_string(uid)[i]);
	m->ms = 0;
	for (size_t i = 0; i < 3 && m->ms == 0; i++)
		m->ms = sync_time_ms(item, time_keys[i]);
	if (m->ms == 0)
		m->ms = api_now_ms();
	push_read_sync(item, m);
	if (m->version == 0)
		m->version = 1;
	return 0;
}

static json_object *
push_ack(const char *uid, int version, long long ms, const char *error)
{
	json_object *ack = json_object_new_object();
	char when[40] = "";

	if (ms > 0)
		api_format_ms(ms, when, sizeof(when));
	json_object_object_add(ack, "uid", json_object_new_string(uid));
	json_object_object_add(ack, "version", json_object_new_int(version));
	json_object_object_add(ack, "updatedAt", json_object_new_string(when));
	if (error != NULL)
		json_object_object_add(ack, "error", json_object_new_string(error));
	return ack;
}

static json_object *
push_meta_json(int i, const struct push_meta *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "i", json_object_new_int(i));
	json_object_object_add(o, "u", json_object_new_string(m->uid));
	json_object_object_add(o, "ms", json_object_new_int64(m->ms));
	json_object_object_add(o, "del", m->deleted_ms < 0 ? NULL : json_object_new_int64(m->deleted_ms));
	json_object_object_add(o, "ver", json_object_new_int(m->version));
	return o;
}

/* One item: its ack now when it is refused, else its metadata for the statement. */
static void
push_take_item(struct api_req *r, json_object *item, int i, json_object *acks, json_object *meta)
{
	struct push_meta m;
	char msg[256];

	if (push_read_item(item, &m) == -1) {
		json_object_array_put_idx(acks, (size_t)i, push_ack("", 0, 0, "missing or invalid uid"));
		return;
	}
	if (api_rules_check_parent(r->entity, item, 1, msg, sizeof(msg)) == -1) {
		json_object_array_put_idx(acks, (size_t)i, push_ack(m.uid, m.version, m.ms, msg));
		return;
	}
	json_object_array_add(meta, push_meta_json(i, &m));
}

static void
push_reply(struct api_req *r, json_object *acks)
{
	api_reply_json(r, 200, json_object_to_json_string_ext(acks,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void
push_ack_row(const PGresult *res, int row, json_object *acks)
{
	int i = atoi(PQgetvalue(res, row, 0)), version = atoi(PQgetvalue(res, row, 5));
	long long ms = atoll(PQgetvalue(res, row, 6));
	char msg[160];

	if (strcmp(PQgetvalue(res, row, 2), "t") == 0) {
		snprintf(msg, sizeof(msg), "parent %s not found: %s", PQgetvalue(res, row, 3),
		    PQgetvalue(res, row, 4));
		json_object_array_put_idx(acks, (size_t)i,
		    push_ack(PQgetvalue(res, row, 1), version, ms, msg));
		return;
	}
	if (!PQgetisnull(res, row, 7)) {
		version = atoi(PQgetvalue(res, row, 7));
		ms = atoll(PQgetvalue(res, row, 8));
	}
	json_object_array_put_idx(acks, (size_t)i, push_ack(PQgetvalue(res, row, 1), version, ms, NULL));
}

static void
api_on_pushed(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;
	json_object *acks = r->work;

	r->pending = NULL;
	if (status != DB_OK) {
		if (status == DB_QUERY_ERROR && strncmp(sqlstate, "22", 2) == 0)
			api_reply_json(r, 400, PUSH_BAD_BODY);
		else
			api_reply_db_failure(r, status, message);
		return;
	}
	for (int row = 0; row < PQntuples(res); row++)
		push_ack_row(res, row, acks);
	push_reply(r, acks);
}

static void
push_work_free(void *work)
{
	json_object_put(work);
}

/* {"items":[{…}…]}: NULL when the body is anything else. */
static json_object *
push_items(json_object *body)
{
	json_object *items;

	if (!json_object_object_get_ex(body, "items", &items) || items == NULL)
		return json_object_new_array();
	if (!json_object_is_type(items, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(items); i++)
		if (!json_object_is_type(json_object_array_get_idx(items, i), json_type_object))
			return NULL;
	return json_object_get(items);
}

static void
push_run(struct api_req *r, json_object *items)
{
	json_object *acks = json_object_new_array(), *meta = json_object_new_array();
	const char *params[3];
	size_t n = json_object_array_length(items);

	r->work = acks;
	r->work_free = push_work_free;
	for (size_t i = 0; i < n; i++)
		push_take_item(r, json_object_array_get_idx(items, i), (int)i, acks, meta);
	if (json_object_array_length(meta) == 0) {
		json_object_put(meta);
		push_reply(r, acks);
		return;
	}
	params[0] = r->owner_id;
	params[1] = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN);
	params[2] = r->body;	/* the payloads, verbatim */
	api_entity_exec(r, API_STMT_PUSH, 3, params, DB_RETRY_NEVER, api_on_pushed);
	json_object_put(meta);
}

void
api_sync_push(struct api_req *r)
{
	json_object *body, *items;

	body = api_json_object(r->body, r->body_len);
	items = body != NULL ? push_items(body) : NULL;
	json_object_put(body);
	if (items == NULL) {
		api_reply_json(r, 400, PUSH_BAD_BODY);
		return;
	}
	push_run(r, items);
	json_object_put(items);
}

/* ---- pull ---- */

static void
pull_append_row(const PGresult *res, int row, struct evbuffer *upserts, struct evbuffer *deletes)
{
	char when[40];

	if (PQgetisnull(res, row, 2)) {
		if (evbuffer_get_length(upserts) > 0)
			evbuffer_add(upserts, ",", 1);
		evbuffer_add(upserts, PQgetvalue(res, row, 3), (size_t)PQgetlength(res, row, 3));
		return;
	}
	api_format_ms(atoll(PQgetvalue(res, row, 2)), when, sizeof(when));
	evbuffer_add_printf(deletes, "%s{\"uid\":\"%s\",\"deletedAt\":\"%s\"}",
	    evbuffer_get_length(deletes) > 0 ? "," : "", PQgetvalue(res, row, 0), when);
}

/* The next cursor comes with every non-empty page, as the reference does: it is the client's checkpoint. */
static void
api_on_pulled(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;
	struct evbuffer *out, *upserts, *deletes;
	int rows;

	(void)sqlstate;
	if (!api_db_answered(r, status, message))
		return;
	out = evbuffer_new();
	upserts = evbuffer_new();
	deletes = evbuffer_new();
	rows = PQntuples(res);
	for (int row = 0; row < rows; row++)
		pull_append_row(res, row, upserts, deletes);
	evbuffer_add_printf(out, "{\"upserts\":[");
	evbuffer_add_buffer(out, upserts);
	evbuffer_add_printf(out, "],\"deletes\":[");
	evbuffer_add_buffer(out, deletes);
	evbuffer_add(out, "]", 1);
	if (rows > 0)
		api_append_cursor(out, PQgetvalue(res, rows - 1, 1), PQgetvalue(res, rows - 1, 0));
	evbuffer_add(out, "}", 1);
	api_reply_json_buffer(r, 200, out);
	evbuffer_free(upserts);
	evbuffer_free(deletes);
	evbuffer_free(out);
}

void
api_sync_pull(struct api_req *r)
{
	char after_ms[24], after_uid[37], limit_text[16];
	const char *params[4];
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
	params[1] = after_ms;
	params[2] = after_uid;
	params[3] = limit_text;
	api_entity_exec(r, API_STMT_PULL, 4, params, DB_RETRY_READ, api_on_pulled);
}
