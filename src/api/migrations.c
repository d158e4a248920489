/*
 * The schema is the reference's (contract §6), so a database the Go API created
 * works unchanged, plus trestle's own table of sync sessions.  Every statement
 * is idempotent and the whole set runs in one transaction under an advisory
 * lock, so two starting instances cannot race.  This runs on its own blocking
 * connection before the child serves; the event loop is not running yet.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "migrations.h"

#define ENTITY_COLUMNS \
	"uid uuid NOT NULL, owner_id uuid NOT NULL REFERENCES app_user(id) ON DELETE CASCADE, " \
	"updated_at_ms bigint NOT NULL, deleted_at_ms bigint, version int NOT NULL DEFAULT 1, " \
	"payload_json jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "

#define ENTITY_INDEXES(t) \
	"CREATE INDEX IF NOT EXISTS " t "_owner_updated_idx ON " t " (owner_id, updated_at_ms)", \
	"CREATE INDEX IF NOT EXISTS " t "_owner_deleted_idx ON " t " (owner_id, deleted_at_ms) " \
	    "WHERE deleted_at_ms IS NOT NULL", \
	"CREATE INDEX IF NOT EXISTS " t "_updated_uid_idx ON " t " (updated_at_ms, uid)"

static const char *const migrations[] = {
	"SELECT pg_advisory_xact_lock(7365298)",
	"CREATE TABLE IF NOT EXISTS app_user (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
	    "sub text UNIQUE NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
	"CREATE TABLE IF NOT EXISTS note (" ENTITY_COLUMNS "PRIMARY KEY (owner_id, uid))",
	ENTITY_INDEXES("note"),
	"CREATE TABLE IF NOT EXISTS task (" ENTITY_COLUMNS "PRIMARY KEY (owner_id, uid))",
	ENTITY_INDEXES("task"),
	"CREATE TABLE IF NOT EXISTS chat (" ENTITY_COLUMNS "PRIMARY KEY (owner_id, uid))",
	ENTITY_INDEXES("chat"),
	"CREATE TABLE IF NOT EXISTS comment (" ENTITY_COLUMNS
	    "parent_type text NOT NULL CHECK (parent_type IN ('note', 'task')), "
	    "parent_uid uuid NOT NULL, PRIMARY KEY (owner_id, uid))",
	ENTITY_INDEXES("comment"),
	"CREATE INDEX IF NOT EXISTS comment_parent_idx ON comment (owner_id, parent_type, parent_uid)",
	"CREATE TABLE IF NOT EXISTS chat_message (" ENTITY_COLUMNS
	    "chat_uid uuid NOT NULL, PRIMARY KEY (owner_id, uid))",
	ENTITY_INDEXES("chat_message"),
	"CREATE INDEX IF NOT EXISTS chat_message_chat_idx ON chat_message (owner_id, chat_uid)",
	"CREATE TABLE IF NOT EXISTS owner_state (owner_id text PRIMARY KEY, "
	    "epoch int NOT NULL DEFAULT 1, last_wipe_at timestamptz, last_wipe_by text, "
	    "created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())",
	/* Trestle's own: sessions outlive a restart of the API child. */
	"CREATE TABLE IF NOT EXISTS trestle_sync_session (id uuid PRIMARY KEY, "
	    "owner_id uuid NOT NULL REFERENCES app_user(id) ON DELETE CASCADE, "
	    "created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)",
	"CREATE INDEX IF NOT EXISTS trestle_sync_session_expires_idx ON trestle_sync_session (expires_at)",
};

static int
migrations_exec(PGconn *conn, const char *sql, char *errbuf, size_t cap)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(errbuf, cap, "%s", PQresultErrorMessage(res));
		errbuf[strcspn(errbuf, "\n")] = '\0';
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

int
migrations_apply(const char *conninfo, char *errbuf, size_t cap)
{
	const char *keys[] = { "dbname", "connect_timeout", NULL };
	const char *values[] = { conninfo, "3", NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	int rc = -1;

	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(errbuf, cap, "%s", PQerrorMessage(conn));
		errbuf[strcspn(errbuf, "\n")] = '\0';
		PQfinish(conn);
		return -1;
	}
	if (migrations_exec(conn, "SET client_min_messages = warning; BEGIN", errbuf, cap) == -1)
		goto out;
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++)
		if (migrations_exec(conn, migrations[i], errbuf, cap) == -1)
			goto out;
	rc = migrations_exec(conn, "COMMIT", errbuf, cap);
out:
	PQfinish(conn);
	return rc;
}
