#!/usr/bin/env bash
# A database the Go API created (contract §6): its tables, indexes and rows
# are made here by hand, without trestle's own trestle_sync_session; trestled
# starts on it, adds only what it lacks, and serves its rows as they are.
. "$(dirname "$0")/lib.sh"

jb() { jq -c "$@" <<<"$HTTP_BODY"; }

NOTE=0b8c2f6e-1d2a-4c3b-9e4f-5a6b7c8d9e01
TASK=0b8c2f6e-1d2a-4c3b-9e4f-5a6b7c8d9e02
COMMENT=0b8c2f6e-1d2a-4c3b-9e4f-5a6b7c8d9e03
CHAT=0b8c2f6e-1d2a-4c3b-9e4f-5a6b7c8d9e04
MESSAGE=0b8c2f6e-1d2a-4c3b-9e4f-5a6b7c8d9e05

entity() {	# TABLE [EXTRA-COLUMNS]: a table of the reference's, with its indexes
	cat <<EOF
CREATE TABLE $1 (
  uid            UUID NOT NULL,
  owner_id       UUID NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
  updated_at_ms  BIGINT NOT NULL,
  deleted_at_ms  BIGINT,
  version        INT NOT NULL DEFAULT 1,
  payload_json   JSONB NOT NULL,
  ${2:-}
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (owner_id, uid)
);
CREATE INDEX $1_owner_updated_idx ON $1 (owner_id, updated_at_ms);
CREATE INDEX $1_owner_deleted_idx ON $1 (owner_id, deleted_at_ms) WHERE deleted_at_ms IS NOT NULL;
CREATE INDEX $1_cursor_idx ON $1 (updated_at_ms, uid);
EOF
}

reference_schema() {
	cat <<EOF
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE app_user (
  id         UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  sub        TEXT UNIQUE NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
$(entity note)
$(entity task)
$(entity chat)
$(entity comment "parent_type TEXT NOT NULL CHECK (parent_type IN ('note', 'task')), parent_uid UUID NOT NULL,")
CREATE INDEX comment_parent_idx ON comment (owner_id, parent_type, parent_uid);
$(entity chat_message "chat_uid UUID NOT NULL,")
CREATE INDEX chat_message_parent_idx ON chat_message (owner_id, chat_uid);
CREATE TABLE owner_state (
  owner_id TEXT PRIMARY KEY,
  epoch INT NOT NULL DEFAULT 1,
  last_wipe_at TIMESTAMPTZ,
  last_wipe_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
EOF
}

# What the Go API would have written for user-a: a note at version 3, a
# deleted task, a comment on the note, a chat with a message, a wipe behind it.
reference_rows() {
	cat <<EOF
INSERT INTO app_user (sub) VALUES ('user-a');
INSERT INTO note (uid, owner_id, updated_at_ms, version, payload_json)
  SELECT '$NOTE', id, 1762164000000, 3, '{"uid":"$NOTE","title":"From Go","tags":["x"],
    "updatedTs":"2025-11-03T10:00:00Z","sync":{"version":3,"isDeleted":false}}' FROM app_user;
INSERT INTO task (uid, owner_id, updated_at_ms, deleted_at_ms, version, payload_json)
  SELECT '$TASK', id, 1762164001000, 1762164001000, 2, '{"uid":"$TASK","title":"Gone",
    "sync":{"version":2,"isDeleted":true,"deletedAt":"2025-11-03T10:00:01Z"}}' FROM app_user;
INSERT INTO comment (uid, owner_id, updated_at_ms, version, payload_json, parent_type, parent_uid)
  SELECT '$COMMENT', id, 1762164002000, 1, '{"uid":"$COMMENT","content":"On the note",
    "parentType":"note","parentUid":"$NOTE"}', 'note', '$NOTE' FROM app_user;
INSERT INTO chat (uid, owner_id, updated_at_ms, version, payload_json)
  SELECT '$CHAT', id, 1762164003000, 1, '{"uid":"$CHAT","title":"A chat"}' FROM app_user;
INSERT INTO chat_message (uid, owner_id, updated_at_ms, version, payload_json, chat_uid)
  SELECT '$MESSAGE', id, 1762164004000, 1, '{"uid":"$MESSAGE","content":"hi","chatUid":"$CHAT"}',
    '$CHAT' FROM app_user;
INSERT INTO owner_state (owner_id, epoch, last_wipe_at, last_wipe_by)
  SELECT id::text, 2, '2025-11-01T00:00:00Z', 'user-a' FROM app_user;
EOF
}

# The reference's tables, their columns and indexes, in one text.
shape() {
	pg_sql "SELECT string_agg(x, ' ' ORDER BY x) FROM (
		SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable AS x
		FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN
		('app_user', 'note', 'task', 'chat', 'comment', 'chat_message', 'owner_state')
		UNION ALL SELECT indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = 'public'
		AND tablename IN ('app_user', 'note', 'task', 'chat', 'comment', 'chat_message',
		'owner_state')) s"
}

pg_start
psql_script() { "$PG_BIN/psql" -h "$PG_HOST" -U trestle -d trestle -X -q -v ON_ERROR_STOP=1; }
{ reference_schema; reference_rows; } | psql_script || bail "the reference's schema and rows"
BEFORE=$(shape)
is "$(pg_sql "SELECT to_regclass('trestle_sync_session') IS NULL")" t "no trestle_sync_session yet"

write_conf
trestled_start
schema_done() { grep -q 'migrations: the schema is up to date' "$T/trestle.log"; }
ok "trestled applies its schema to the reference's database" wait_for -t 10 schema_done
is "$(shape)" "$BEFORE" "the reference's tables, columns and indexes are unchanged (no duplicate index)"
is "$(pg_sql "SELECT count(*) FROM pg_indexes WHERE tablename = 'trestle_sync_session'")" 2 \
	"trestle_sync_session was added, with its index"

api_session || bail "a sync session for user-a"
is "$API_EPOCH" 2 "the session carries the epoch the Go API left (2)"
is "$(pg_sql "SELECT s.owner_id = u.id FROM trestle_sync_session s JOIN app_user u ON u.sub = 'user-a'")" t \
	"for user-a's existing app_user row"
is "$(pg_sql "SELECT count(*) FROM app_user")" 1 "no second user-a"

api_req GET "/v1/notes/$NOTE"
is "$HTTP_STATUS $(jb '[.version, .updatedAt, .payload.title, .payload.tags]')" \
	'200 [3,"2025-11-03T10:00:00.000Z","From Go",["x"]]' "the Go API's note is served as it is"
api_req GET "/v1/tasks/$TASK"
is "$HTTP_STATUS $(jb '[.error, .deletedAt]')" '410 ["task deleted","2025-11-03T10:00:01.000Z"]' \
	"its tombstone is a tombstone"
api_req GET /v1/comments
is "$HTTP_STATUS $(jb '[.items[] | [.uid, .payload.parentUid]]')" "200 [[\"$COMMENT\",\"$NOTE\"]]" \
	"its comment is listed"
api_req GET /v1/sync/chat_messages/pull
is "$HTTP_STATUS $(jb '[.upserts[].chatUid]')" "200 [\"$CHAT\"]" "its message is pulled"
api_req GET /v1/sync/state
is "$HTTP_STATUS $HTTP_BODY" '200 {"epoch":2,"lastWipeAt":"2025-11-01T00:00:00.000Z","lastWipeBy":"user-a"}' \
	"its owner_state is read"
API_EPOCH=1 api_req GET /v1/notes
is "$HTTP_STATUS $(jb .epoch)" "409 2" "an epoch-1 client gets 409"

api_req PATCH "/v1/notes/$NOTE" -H 'If-Match: 3' --data-binary '{"title":"From trestle"}'
is "$HTTP_STATUS $(jb '[.version, .payload.title, .payload.tags]')" '200 [4,"From trestle",["x"]]' \
	"the note is patched on from version 3"
api_req POST /v1/comments --data-binary '{"content":"second","parentType":"note","parentUid":"'"$NOTE"'"}'
is "$HTTP_STATUS" 201 "a comment on the Go API's note is created"
api_req POST /v1/chat_messages --data-binary '{"uid":"'"$MESSAGE"'","content":"edited","chatUid":"'"$CHAT"'"}'
is "$HTTP_STATUS $(jb '[.version, .payload.content]')" '201 [2,"edited"]' \
	"a create of the Go API's message uid overwrites it, as the Go API does"
is "$(pg_sql "SELECT (SELECT version || (payload_json->>'title') FROM note WHERE uid = '$NOTE') || ' ' ||
	(SELECT count(*) FROM comment WHERE parent_uid = '$NOTE' AND parent_type = 'note') || ' ' ||
	(SELECT version FROM chat_message WHERE uid = '$MESSAGE')")" "4From trestle 2 2" "the rows in PostgreSQL"

# Started again on the same database: nothing to add, and the session lives on.
trestled_stop
trestled_start
ok "a second start finds the schema up to date" wait_for -t 10 bash -c \
	"test \$(grep -c 'migrations: the schema is up to date' '$T/trestle.log') -eq 2"
is "$(shape)" "$BEFORE" "and still changes nothing of the reference's"
api_req GET "/v1/notes/$NOTE"
is "$HTTP_STATUS $(jb .version)" "200 4" "the sync session outlived the restart"

trestled_stop
check_logs_clean
done_testing
