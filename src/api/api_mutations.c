/*
 * The writes to one existing item (contract §3): PUT, PATCH, DELETE, archive
 * and process.  All are the entity's one mutation statement in a mode (replace,
 * merge or delete) with a JSON change, so each is atomic, bumps the version by
 * one, moves the timestamp strictly forward and honours If-Match under a row
 * lock.  The statement's answer says which of 404, 410, 412 or the parent rule
 * stopped it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "api.h"
#include "api_store.h"
#include "codec.h"
#include "db_pool.h"
#include "http_headers.h"

/* Columns of the mutation statement's answer. */
enum { COL_VERSION, COL_DELETED, COL_MISSING, COL_KIND, COL_PUID, COL_ITEM };

/* If-Match: 5 or "5".  1 and the number in out when given, 0 when absent, -1 when invalid. */
static int
api_if_match(struct api_req *r, char out[16])
{
	const char *h = http_header_get(evhttp_request_get_input_headers(r->req), "If-Match");
	char buf[32], *s, *end;
	size_t len;
	long n;

	if (h == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", h);
	s = buf + strspn(buf, " \t");
	for (len = strlen(s); len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'); len--)
		s[len - 1] = '\0';
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s[len - 1] = '\0';
		s++;
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || n < 0 || n > 2147483647)
		return -1;
	snprintf(out, 16, "%ld", n);
	return 1;
}

static void
api_reply_version_mismatch(struct api_req *r, const char *actual)
{
	char expected[16], msg[96];

	if (api_if_match(r, expected) != 1)
		snprintf(expected, sizeof(expected), "?");
	snprintf(msg, sizeof(msg), "version mismatch: expected %s, actual %s", expected, actual);
	api_reply_error(r, 412, msg);
}

static void
api_on_mutated(enum db_status status, const PGresult *res, const char *sqlstate,
    const char *message, void *arg)
{
	struct api_req *r = arg;

	r->pending = NULL;
	if (status != DB_OK) {
		api_reply_query_failure(r, status, sqlstate, message);
		return;
	}
	if (PQntuples(res) == 0)
		api_reply_noun_error(r, 404, "not found");
	else if (!PQgetisnull(res, 0, COL_DELETED))
		api_reply_deleted(r, evhttp_request_get_command(r->req) == EVHTTP_REQ_DELETE ?
		    "already deleted" : "deleted", PQgetvalue(res, 0, COL_DELETED));
	else if (!PQgetisnull(res, 0, COL_ITEM))
		api_reply_item(r, 200, res, COL_ITEM);
	else if (strcmp(PQgetvalue(res, 0, COL_MISSING), "t") == 0)
		api_reply_parent_missing(r, PQgetvalue(res, 0, COL_KIND), PQgetvalue(res, 0, COL_PUID));
	else
		api_reply_version_mismatch(r, PQgetvalue(res, 0, COL_VERSION));
}

/* Checks the path's uid and If-Match, then runs the mutation; mode: replace, merge, delete. */
static void
api_mutate(struct api_req *r, const char *mode, const char *change)
{
	char if_match[16], now[24];
	const char *params[6];
	int given;

	if ((given = api_if_match(r, if_match)) == -1) {
		api_reply_error(r, 400, "invalid If-Match: must be a version number");
		return;
	}
	snprintf(now, sizeof(now), "%lld", api_now_ms());
	params[0] = r->owner_id;
	params[1] = r->segment;
	params[2] = given ? if_match : NULL;
	params[3] = mode;
	params[4] = change;
	params[5] = now;
	/* Never retried: a lost answer after the update would turn into a 412. */
	api_entity_exec(r, API_STMT_MUTATE, 6, params, DB_RETRY_NEVER, api_on_mutated);
}

static int
api_check_uid(struct api_req *r)
{
	if (uuid_is_valid(r->segment))
		return 0;
	api_reply_error(r, 400, "invalid UID");
	return -1;
}

/* PUT and PATCH: the body is the whole payload or the keys to merge into it. */
static void
api_mutate_with_body(struct api_req *r, const char *mode, int whole)
{
	json_object *obj;
	char msg[256];
	int rc;

	if (api_check_uid(r) == -1)
		return;
	if ((obj = api_json_object(r->body, r->body_len)) == NULL) {
		api_reply_error(r, 400, "invalid JSON");
		return;
	}
	rc = api_rules_check_parent(r->entity, obj, whole, msg, sizeof(msg));
	json_object_put(obj);
	if (rc == -1) {
		api_reply_error(r, 400, msg);
		return;
	}
	api_mutate(r, mode, r->body);
}

void
api_entity_put(struct api_req *r)
{
	api_mutate_with_body(r, "replace", 1);
}

void
api_entity_patch(struct api_req *r)
{
	api_mutate_with_body(r, "merge", 0);
}

void
api_entity_delete(struct api_req *r)
{
	if (api_check_uid(r) == 0)
		api_mutate(r, "delete", "{}");
}

void
api_entity_archive(struct api_req *r)
{
	if (api_check_uid(r) == 0)
		api_mutate(r, "merge", api_rules_archive(r->entity));
}

/* The action as text, "" when the body has none; NULL when the body is not a JSON object. */
static const char *
api_process_action(struct api_req *r, char *buf, size_t cap)
{
	json_object *obj, *action;

	if ((obj = api_json_object(r->body, r->body_len)) == NULL)
		return NULL;
	buf[0] = '\0';
	if (json_object_object_get_ex(obj, "action", &action))
		snprintf(buf, cap, "%s", json_object_get_string(action));
	json_object_put(obj);
	return buf;
}

void
api_entity_process(struct api_req *r)
{
	char action[128], msg[192];
	const char *change;

	if (api_check_uid(r) == -1)
		return;
	if (api_process_action(r, action, sizeof(action)) == NULL) {
		api_reply_error(r, 400, "invalid JSON");
		return;
	}
	if ((change = api_rules_action(r->entity, action)) == NULL) {
		snprintf(msg, sizeof(msg), "invalid action: %s", action);
		api_reply_error(r, 400, msg);
		return;
	}
	api_mutate(r, "merge", change);
}
