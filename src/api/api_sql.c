/*
 * The entities' SQL, prepared on every connection of the pool.  Each request
 * is one statement, so every write (a batch push included) is one transaction
 * without a pinned connection.  A mutation locks its row (FOR UPDATE) before
 * it compares the version, so two writers with the same If-Match cannot both
 * win: the second waits for the first, then sees its version.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_store.h"
#include "db_pool.h"
#include "log.h"

#define ITEM	"uid::text, version, updated_at_ms, deleted_at_ms, payload_json::text"
#define RFC3339(ms) \
	"to_char(timestamp 'epoch' + (" ms ") * interval '1 millisecond', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* NULL unless a UUID; a plain cast could fail at plan time on a constant parameter. */
#define SAFE_UUID(x) \
	"(CASE WHEN (" x ") ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' " \
	"THEN (" x ") END)::uuid"
#define LIVE_ROW(table, type, uid) \
	"EXISTS (SELECT 1 FROM " table " x WHERE " type " AND x.owner_id = $1::uuid " \
	"AND x.uid = " SAFE_UUID(uid) " AND x.deleted_at_ms IS NULL)"

/* How an entity's rows name their parent; the payload is `p` in every statement. */
struct sql_parts {
	const char	*table;
	const char	*missing;	/* true when the parent is not a live row */
	const char	*kind;		/* the parent's noun, for messages */
	const char	*puid;
	const char	*cols;		/* extra columns, filled from the payload */
	const char	*vals;
	const char	*set;		/* an UPDATE of the extra columns */
	const char	*upsert;	/* the same in ON CONFLICT DO UPDATE */
};

static const struct sql_parts sql_parts[] = {
	{ "note", "false", "NULL", "NULL", "", "", "", "" },
	{ "task", "false", "NULL", "NULL", "", "", "", "" },
	{ "chat", "false", "NULL", "NULL", "", "", "", "" },
	{ "comment",
	  "NOT " LIVE_ROW("note", "p->>'parentType' = 'note'", "p->>'parentUid'") " AND NOT "
	      LIVE_ROW("task", "p->>'parentType' = 'task'", "p->>'parentUid'"),
	  "p->>'parentType'", "p->>'parentUid'",
	  ", parent_type, parent_uid", ", p->>'parentType', " SAFE_UUID("p->>'parentUid'"),
	  ", parent_type = p->>'parentType', parent_uid = " SAFE_UUID("p->>'parentUid'"),
	  ", parent_type = EXCLUDED.parent_type, parent_uid = EXCLUDED.parent_uid" },
	{ "chat_message",
	  "NOT " LIVE_ROW("chat", "true", "p->>'chatUid'"),
	  "'chat'", "p->>'chatUid'",
	  ", chat_uid", ", " SAFE_UUID("p->>'chatUid'"),
	  ", chat_uid = " SAFE_UUID("p->>'chatUid'"),
	  ", chat_uid = EXCLUDED.chat_uid" },
};

#define NENTITIES	(sizeof(sql_parts) / sizeof(sql_parts[0]))

static const char *const stmt_names[API_STMT_COUNT] = {
	"get", "list", "create", "mutate", "push", "pull"
};
static const int stmt_nparams[API_STMT_COUNT] = { 2, 5, 4, 6, 3, 4 };

static struct db_prepared prepared[NENTITIES * API_STMT_COUNT + 1];
static size_t nprepared;

static char *
sql_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
sql_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("sql_printf");
	va_end(ap);
	return s;
}

static char *
sql_get(const struct sql_parts *e)
{
	return sql_printf("SELECT " ITEM " FROM %s WHERE owner_id = $1::uuid AND uid = $2::uuid",
	    e->table);
}

static char *
sql_list(const struct sql_parts *e)
{
	return sql_printf("SELECT " ITEM " FROM %s WHERE owner_id = $1::uuid "
	    "AND ($2::boolean OR deleted_at_ms IS NULL) "
	    "AND (updated_at_ms, uid) > ($3::bigint, $4::uuid) "
	    "ORDER BY updated_at_ms, uid LIMIT $5::int", e->table);
}

/*
 * Columns: parent missing, parent kind, parent uid, then the Item.  A uid the
 * user already has is overwritten, as the reference does (clients rely on
 * it): the new payload, version + 1, the timestamp moved strictly forward and
 * a tombstone brought back to life, in the same statement.
 */
static char *
sql_create(const struct sql_parts *e)
{
	return sql_printf(
	    "WITH n AS (SELECT $4::jsonb || jsonb_build_object('uid', $2::uuid::text, "
	    "  'updatedTs', " RFC3339("$3::bigint") ", "
	    "  'sync', jsonb_build_object('version', 1, 'isDeleted', false)) AS p), "
	    "c AS (SELECT p, %s AS missing, %s AS pkind, %s AS puid FROM n), "
	    "ins AS (INSERT INTO %s AS t (uid, owner_id, updated_at_ms, version, payload_json, "
	    "  created_at%s) "
	    "  SELECT $2::uuid, $1::uuid, $3::bigint, 1, p, now()%s FROM c WHERE NOT missing "
	    "  ON CONFLICT (owner_id, uid) DO UPDATE SET version = t.version + 1, "
	    "  updated_at_ms = greatest(EXCLUDED.updated_at_ms, t.updated_at_ms + 1), "
	    "  deleted_at_ms = NULL, payload_json = EXCLUDED.payload_json || jsonb_build_object("
	    "  'updatedTs', " RFC3339("greatest(EXCLUDED.updated_at_ms, t.updated_at_ms + 1)") ", "
	    "  'sync', jsonb_build_object('version', t.version + 1, 'isDeleted', false))%s "
	    "  RETURNING " ITEM ") "
	    "SELECT c.missing, c.pkind, c.puid, ins.* FROM c LEFT JOIN ins ON true",
	    e->missing, e->kind, e->puid, e->table, e->cols, e->vals, e->upsert);
}

/*
 * Modes: replace (PUT), merge (PATCH, archive, process), delete.  Columns: the
 * locked row's version and deleted_at_ms, parent missing, kind, uid, then the
 * Item when the update happened.  No row: no such item.
 */
static char *
sql_mutate(const struct sql_parts *e)
{
	return sql_printf(
	    "WITH cur AS (SELECT uid, version, updated_at_ms, deleted_at_ms, payload_json FROM %s "
	    "  WHERE owner_id = $1::uuid AND uid = $2::uuid FOR UPDATE), "
	    "nxt AS (SELECT greatest($6::bigint, updated_at_ms + 1) AS ms, version + 1 AS ver, "
	    "  uid::text AS u, CASE WHEN $4::text = 'replace' THEN $5::jsonb "
	    "  ELSE payload_json || $5::jsonb END AS base FROM cur "
	    "  WHERE deleted_at_ms IS NULL AND ($3::int IS NULL OR version = $3::int)), "
	    "np AS (SELECT ms, ver, base || jsonb_build_object('uid', u, 'updatedTs', " RFC3339("ms") ", "
	    "  'sync', CASE WHEN $4::text = 'delete' THEN jsonb_build_object('version', ver, "
	    "  'isDeleted', true, 'deletedAt', " RFC3339("ms") ") "
	    "  ELSE jsonb_build_object('version', ver, 'isDeleted', false) END) AS p FROM nxt), "
	    "chk AS (SELECT ms, ver, p, $4::text <> 'delete' AND %s AS missing, %s AS pkind, "
	    "  %s AS puid FROM np), "
	    "upd AS (UPDATE %s SET version = ver, updated_at_ms = ms, "
	    "  deleted_at_ms = CASE WHEN $4::text = 'delete' THEN ms END, payload_json = p%s "
	    "  FROM chk WHERE owner_id = $1::uuid AND uid = $2::uuid AND NOT missing "
	    "  RETURNING " ITEM ") "
	    "SELECT cur.version, cur.deleted_at_ms, chk.missing, chk.pkind, chk.puid, upd.* "
	    "FROM cur LEFT JOIN chk ON true LEFT JOIN upd ON true",
	    e->table, e->missing, e->kind, e->puid, e->table, e->set);
}

/*
 * Last writer wins, item by item, in one statement: a strictly newer timestamp
 * replaces the row and bumps its version; an equal or older one changes nothing.
 * Each item's parent is checked on its own; of one uid pushed twice in a batch
 * the newest acceptable item is written.  Columns per item, in
 * order: index, uid, parent missing, kind, parent uid, the item's version and
 * ms, the server's version and ms.
 */
static char *
sql_push(const struct sql_parts *e)
{
	return sql_printf(
	    "WITH meta AS (SELECT * FROM jsonb_to_recordset($2::jsonb) "
	    "  AS m(i int, u uuid, ms bigint, del bigint, ver int)), "
	    "input AS (SELECT meta.*, e.p FROM meta JOIN jsonb_array_elements($3::jsonb -> 'items') "
	    "  WITH ORDINALITY AS e(p, n) ON e.n = meta.i + 1), "
	    "chk AS (SELECT input.*, del IS NULL AND %s AS missing, %s AS pkind, %s AS puid FROM input), "
	    "last AS (SELECT DISTINCT ON (u) * FROM chk WHERE NOT missing ORDER BY u, ms DESC, i DESC), "
	    "up AS (INSERT INTO %s AS t (uid, owner_id, updated_at_ms, deleted_at_ms, version, "
	    "  payload_json, created_at%s) "
	    "  SELECT u, $1::uuid, ms, del, greatest(ver, 1), p, now()%s FROM last "
	    "  ON CONFLICT (owner_id, uid) DO UPDATE SET payload_json = EXCLUDED.payload_json, "
	    "  updated_at_ms = EXCLUDED.updated_at_ms, deleted_at_ms = EXCLUDED.deleted_at_ms, "
	    "  version = t.version + 1%s WHERE EXCLUDED.updated_at_ms > t.updated_at_ms "
	    "  RETURNING t.uid, t.version, t.updated_at_ms) "
	    "SELECT m.i, m.u::text, m.missing, m.pkind, m.puid, m.ver, m.ms, "
	    "  coalesce(up.version, cur.version), coalesce(up.updated_at_ms, cur.updated_at_ms) "
	    "FROM chk m LEFT JOIN up ON up.uid = m.u "
	    "LEFT JOIN %s cur ON cur.owner_id = $1::uuid AND cur.uid = m.u ORDER BY m.i",
	    e->missing, e->kind, e->puid, e->table, e->cols, e->vals, e->upsert, e->table);
}

static char *
sql_pull(const struct sql_parts *e)
{
	return sql_printf("SELECT uid::text, updated_at_ms, deleted_at_ms, payload_json::text "
	    "FROM %s WHERE owner_id = $1::uuid AND (updated_at_ms, uid) > ($2::bigint, $3::uuid) "
	    "ORDER BY updated_at_ms, uid LIMIT $4::int", e->table);
}

static char *(*const stmt_builders[API_STMT_COUNT])(const struct sql_parts *) = {
	sql_get, sql_list, sql_create, sql_mutate, sql_push, sql_pull
};

static void
sql_add(char *name, char *sql, int nparams)
{
	prepared[nprepared].name = name;
	prepared[nprepared].sql = sql;
	prepared[nprepared].nparams = nparams;
	nprepared++;
}

/* Built once; the texts live as long as the process (the pool copies them anyway). */
const struct db_prepared *
api_sql_prepared(size_t *count)
{
	if (nprepared == 0) {
		for (size_t i = 0; i < NENTITIES; i++)
			for (int k = 0; k < API_STMT_COUNT; k++)
				sql_add(sql_printf("%s_%s", stmt_names[k], sql_parts[i].table),
				    stmt_builders[k](&sql_parts[i]), stmt_nparams[k]);
		sql_add(sql_printf("%s", API_STMT_SESSION_OWNER),
		    sql_printf("SELECT s.owner_id::text, u.sub, coalesce(o.epoch, 1), "
		    "(extract(epoch FROM s.expires_at) * 1000)::bigint "
		    "FROM trestle_sync_session s JOIN app_user u ON u.id = s.owner_id "
		    "LEFT JOIN owner_state o ON o.owner_id = s.owner_id::text "
		    "WHERE s.id = $1::uuid AND s.expires_at > now()"), 1);
	}
	*count = nprepared;
	return prepared;
}

/* Run one of the entity's statements; answers 503 itself when the pool's queue is full. */
int
api_entity_exec(struct api_req *r, enum api_stmt stmt, int nparams, const char *const *params,
    enum db_retry retry, db_done_fn done)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_%s", stmt_names[stmt], r->entity->table);
	return api_db_exec(r, name, NULL, nparams, params, retry, done);
}

int
api_db_exec(struct api_req *r, const char *stmt, const char *sql, int nparams,
    const char *const *params, enum db_retry retry, db_done_fn done)
{
	r->pending = db_pool_exec(r->ctx->pool, stmt, sql, nparams, params, retry, done, r);
	if (r->pending != NULL)
		return 0;
	api_reply_db_failure(r, DB_QUEUE_FULL, "database busy: too many queued requests");
	return -1;
}
