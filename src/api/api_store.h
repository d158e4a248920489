/*
 * What the entity handlers share (REST CRUD, mutations, delta sync): their
 * prepared statements, their rules (parents, archive, process actions) and the
 * shape of an Item.
 */
#ifndef TRESTLE_API_STORE_H
#define TRESTLE_API_STORE_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "api.h"
#include "db_pool.h"

/* Per entity; every statement takes the owner's id as $1. */
enum api_stmt {
	API_STMT_GET,		/* $2 uid */
	API_STMT_LIST,		/* $2 include deleted, $3 after ms, $4 after uid, $5 limit */
	API_STMT_CREATE,	/* $2 uid, $3 now ms, $4 body */
	API_STMT_MUTATE,	/* $2 uid, $3 If-Match, $4 mode, $5 patch, $6 now ms */
	API_STMT_PUSH,		/* $2 items' metadata, $3 body */
	API_STMT_PULL,		/* $2 after ms, $3 after uid, $4 limit */
	API_STMT_COUNT
};

#define API_STMT_SESSION_OWNER	"session_owner"	/* $1 session id: owner, sub, epoch, expiry ms */
#define API_ITEM_COLUMNS	5		/* uid, version, updated_at_ms, deleted_at_ms, payload */
#define API_LIST_DEFAULT_LIMIT	500
#define API_LIST_MAX_LIMIT	1000

/* api_sql.c */
const struct db_prepared *api_sql_prepared(size_t *count);
/* Run a query for r (stmt: prepared name, else sql); 0, or -1 after answering 503 (queue full). */
int	api_db_exec(struct api_req *, const char *stmt, const char *sql, int nparams,
	    const char *const *params, enum db_retry, db_done_fn);
int	api_entity_exec(struct api_req *, enum api_stmt, int nparams, const char *const *params,
	    enum db_retry, db_done_fn);

/* api_entities.c: Items and the replies every entity handler shares */
void	api_item_append(struct evbuffer *, const PGresult *, int row, int col);
void	api_reply_item(struct api_req *, int status, const PGresult *, int col);
void	api_reply_noun_error(struct api_req *, int status, const char *what);
void	api_reply_deleted(struct api_req *, const char *what, const char *deleted_ms);
void	api_reply_query_failure(struct api_req *, enum db_status, const char *sqlstate,
	    const char *message);
void	api_reply_parent_missing(struct api_req *, const char *kind, const char *uid);
json_object *api_json_object(const char *text, size_t len);
int	api_parse_limit(struct api_req *, int *limit);
int	api_parse_cursor(struct api_req *, char after_ms[24], char after_uid[37]);
/* The cursor parameter's value ("": none) to its position; -1 when it is not a cursor. */
int	api_cursor_decode(const char *text, char after_ms[24], char after_uid[37]);
void	api_append_cursor(struct evbuffer *, const char *ms, const char *uid);

/* api_rules.c */
int	api_rules_check_parent(const struct api_entity *, json_object *, int require_all,
	    char *msg, size_t cap);
const char *api_rules_archive(const struct api_entity *);
const char *api_rules_action(const struct api_entity *, const char *action);

#endif
