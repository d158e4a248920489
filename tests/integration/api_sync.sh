#!/usr/bin/env bash
# Delta sync (contract §4), sync info (§5), state and wipe (§2) straight to the
# API child's socket: exact answers and the rows in PostgreSQL afterwards.
. "$(dirname "$0")/lib.sh"

RFC_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
N1=11111111-1111-4111-8111-111111111111
N2=22222222-2222-4222-8222-222222222222
T1=33333333-3333-4333-8333-333333333333
C1=44444444-4444-4444-8444-444444444444
M1=55555555-5555-4555-8555-555555555555
K1=66666666-6666-4666-8666-666666666666
NOBODY=3f0b4c4e-9d47-4b8a-9c53-2b4e7d1f0a11

jb() { jq -c "$@" <<<"$HTTP_BODY"; }
push() { api_req POST "/v1/sync/$1/push" --data-binary "$2"; }

pg_start
write_conf
trestled_start

#
# GET /v1/sync/info: unauthenticated, exact
#
status=$(curl -sS -o "$T/info" -D "$T/info.h" -w '%{http_code}' --unix-socket "$API_SOCK" http://api/v1/sync/info)
is "$status" 200 "GET /v1/sync/info needs no credentials"
is "$(jq -c 'del(.serverTime)' "$T/info")" \
	'{"apiVersion":"1.1","entities":{"notes":{"maxLimit":1000,"push":true,"pull":true},"tasks":{"maxLimit":1000,"push":true,"pull":true},"comments":{"maxLimit":1000,"push":true,"pull":true},"chats":{"maxLimit":1000,"push":true,"pull":true},"chat_messages":{"maxLimit":1000,"push":true,"pull":true}},"locking":{"supported":true,"mode":"session"},"minClientVersion":"0.1.0","rateLimit":{"windowSeconds":60,"maxRequests":600,"burst":120},"hints":{"recommendedBatch":500,"backoffMsOn429":1500}}' \
	"the info document is the contract's"
like "$(jq -r .serverTime "$T/info")" "$RFC_RE" "serverTime is RFC 3339"
like "$(tr -d '\r' <"$T/info.h")" $'\nX-Correlation-ID: [0-9a-f-]{36}\n' "with a correlation id"

api_session || bail "a sync session"
api_req GET /v1/sync/state
is "$HTTP_STATUS $HTTP_BODY" '200 {"epoch":1}' "GET /v1/sync/state before any wipe"
API_SESSION= api_req GET /v1/sync/state
is "$HTTP_STATUS" 428 "state needs a sync session"

#
# push: last writer wins
#
push notes '{"items":[{"uid":"'$N1'","title":"one","updatedTs":"2025-01-01T00:00:00Z","sync":{"version":1}},{"uid":"'${N2^^}'","title":"two","updatedAt":"1735689600500"},{"title":"no uid"},{"uid":"x"}]}'
is "$HTTP_STATUS" 200 "push answers 200 with per-item errors"
is "$(http_header x-ratelimit-limit)" 600 "push is rate limited"
is "$(jb .)" '[{"uid":"'$N1'","version":1,"updatedAt":"2025-01-01T00:00:00.000Z"},{"uid":"'$N2'","version":1,"updatedAt":"2025-01-01T00:00:00.500Z"},{"uid":"","version":0,"updatedAt":"","error":"missing or invalid uid"},{"uid":"","version":0,"updatedAt":"","error":"missing or invalid uid"}]' \
	"acks in order: RFC 3339 and epoch-ms timestamps, errors for bad uids"
is "$(pg_sql "SELECT uid, version, updated_at_ms, deleted_at_ms IS NULL, payload_json->>'title' FROM note ORDER BY uid")" \
	"$N1|1|1735689600000|t|one
$N2|1|1735689600500|t|two" "the rows hold the timestamps and payloads"

push notes '{"items":[{"uid":"'$N1'","title":"one","updatedTs":"2025-01-01T00:00:00Z","sync":{"version":1}}]}'
is "$(jb .)" '[{"uid":"'$N1'","version":1,"updatedAt":"2025-01-01T00:00:00.000Z"}]' "the same item pushed twice is a no-op"
push notes '{"items":[{"uid":"'$N1'","title":"one-b","updatedTs":"2025-01-01T01:00:01.25+01:00"}]}'
is "$(jb .)" '[{"uid":"'$N1'","version":2,"updatedAt":"2025-01-01T00:00:01.250Z"}]' "a newer item wins and bumps the version"
push notes '{"items":[{"uid":"'$N1'","title":"stale","updatedTs":"2024-12-31T00:00:00Z"}]}'
is "$(jb .)" '[{"uid":"'$N1'","version":2,"updatedAt":"2025-01-01T00:00:01.250Z"}]' "an older item loses: the ack is the server's"
push notes '{"items":[{"uid":"'$N2'","title":"two","updatedTs":"2025-01-02T00:00:00Z","sync":{"isDeleted":true,"deletedAt":"2025-01-02T00:00:00Z"}}]}'
is "$(jb .)" '[{"uid":"'$N2'","version":2,"updatedAt":"2025-01-02T00:00:00.000Z"}]' "a pushed tombstone"
is "$(pg_sql "SELECT uid, version, updated_at_ms, deleted_at_ms, payload_json->>'title' FROM note ORDER BY uid")" \
	"$N1|2|1735689601250||one-b
$N2|2|1735776000000|1735776000000|two" "PostgreSQL holds the winners and the tombstone"

for bad in 'nope' '{"items":{}}' '{"items":[1]}' '[]' '{"items":[{"uid":"'$N1'","t":"\u0000","updatedTs":"2026-01-01T00:00:00Z"}]}'; do
	push notes "$bad"
	is "$HTTP_STATUS $HTTP_BODY" '400 [{"uid":"","version":0,"updatedAt":"","error":"invalid json"}]' \
		"a bad body is 400 with the invalid json ack: ${bad:0:24}"
done
is "$(pg_sql "SELECT version, payload_json->>'title' FROM note WHERE uid = '$N1'")" "2|one-b" "bad bodies wrote nothing"
push notes '{"items":[{"uid":"'$K1'","title":"batch","updatedTs":"2026-01-01T00:00:00Z"},{"uid":"'$N1'","t":"\u0000","updatedTs":"2026-01-01T00:00:00Z"}]}'
is "$HTTP_STATUS $(pg_sql "SELECT count(*) FROM note WHERE uid = '$K1'")" "400 0" \
	"one transaction per batch: an item PostgreSQL refuses takes the batch with it"
push notes '{"items":[]}'
is "$HTTP_STATUS $HTTP_BODY" '200 []' "an empty batch"

#
# pull: upserts, deletes, cursor
#
api_req GET '/v1/sync/notes/pull?limit=1'
is "$HTTP_STATUS $(jb '[.upserts, .deletes]')" '200 [[{"uid":"'$N1'","title":"one-b","updatedTs":"2025-01-01T01:00:01.25+01:00"}],[]]' \
	"pull returns the stored payload as an upsert"
cursor=$(jb -r .nextCursor)
api_req GET "/v1/sync/notes/pull?limit=1&cursor=$cursor"
is "$(jb '[.upserts, .deletes]')" '[[],[{"uid":"'$N2'","deletedAt":"2025-01-02T00:00:00.000Z"}]]' \
	"then the tombstone as a delete"
cursor=$(jb -r .nextCursor)
api_req GET "/v1/sync/notes/pull?limit=1&cursor=$cursor"
is "$HTTP_STATUS $HTTP_BODY" '200 {"upserts":[],"deletes":[]}' "then nothing, and no nextCursor"
api_req GET '/v1/sync/notes/pull?cursor=%%%'
is "$HTTP_STATUS $(jb .error)" '400 "invalid cursor"' "an invalid cursor is 400"
api_req GET '/v1/sync/notes/pull?limit=-3'
is "$HTTP_STATUS" 400 "an invalid limit is 400"

#
# the other four entities
#
push tasks '{"items":[{"uid":"'$T1'","title":"task","updatedTs":"2025-02-01T00:00:00Z"}]}'
is "$(jb .)" '[{"uid":"'$T1'","version":1,"updatedAt":"2025-02-01T00:00:00.000Z"}]' "push tasks"
push comments '{"items":[
	{"uid":"'$C1'","content":"c","parentType":"note","parentUid":"'$NOBODY'","updatedTs":"2025-03-01T00:00:00Z"},
	{"uid":"'$C1'","content":"c","parentType":"chat","parentUid":"'$N1'","updatedTs":"2025-03-01T00:00:00Z"},
	{"uid":"'$C1'","content":"c","parentType":"note","parentUid":"'$N2'","updatedTs":"2025-03-01T00:00:00Z"}]}'
is "$(jb .)" '[{"uid":"'$C1'","version":1,"updatedAt":"2025-03-01T00:00:00.000Z","error":"parent note not found: '$NOBODY'"},{"uid":"'$C1'","version":1,"updatedAt":"2025-03-01T00:00:00.000Z","error":"invalid parentType: chat (must be '"'"'note'"'"' or '"'"'task'"'"')"},{"uid":"'$C1'","version":1,"updatedAt":"2025-03-01T00:00:00.000Z","error":"parent note not found: '$N2'"}]' \
	"comments need a live parent of the same user"
is "$(pg_sql "SELECT count(*) FROM comment")" 0 "no comment was written"
push comments '{"items":[{"uid":"'$C1'","content":"c","parentType":"task","parentUid":"'$T1'","updatedTs":"2025-03-01T00:00:00Z"}]}'
is "$(jb .)" '[{"uid":"'$C1'","version":1,"updatedAt":"2025-03-01T00:00:00.000Z"}]' "push a comment on a live task"
is "$(pg_sql "SELECT parent_type, parent_uid FROM comment WHERE uid = '$C1'")" "task|$T1" "its parent columns"
push comments '{"items":[{"uid":"'$C1'","content":"c","parentType":"note","parentUid":"'$NOBODY'","updatedTs":"2025-03-02T00:00:00Z","sync":{"isDeleted":true}}]}'
is "$(jb .)" '[{"uid":"'$C1'","version":2,"updatedAt":"2025-03-02T00:00:00.000Z"}]' "a tombstone needs no live parent"
push chats '{"items":[{"uid":"'$K1'","title":"chat","updatedTs":"2025-04-01T00:00:00Z"}]}'
is "$(jb .)" '[{"uid":"'$K1'","version":1,"updatedAt":"2025-04-01T00:00:00.000Z"}]' "push chats"
push chat_messages '{"items":[{"uid":"'$M1'","content":"m","chatUid":"'$NOBODY'"},{"uid":"'$M1'","content":"m"}]}'
is "$(jb '[.[].error]')" '["parent chat not found: '$NOBODY'","missing chatUid"]' "messages need a live chat"
push chat_messages '{"items":[{"uid":"'$M1'","content":"m","chatUid":"'$K1'","updateTime":"1743465600000"}]}'
is "$(jb .)" '[{"uid":"'$M1'","version":1,"updatedAt":"2025-04-01T00:00:00.000Z"}]' "push a message (updateTime)"
is "$(pg_sql "SELECT chat_uid FROM chat_message WHERE uid = '$M1'")" "$K1" "its chat_uid"
for e in tasks:$T1 chats:$K1 chat_messages:$M1; do
	api_req GET "/v1/sync/${e%%:*}/pull"
	is "$(jb '[[.upserts[].uid], .deletes, (.nextCursor | length > 0)]')" "[[\"${e#*:}\"],[],true]" "pull ${e%%:*}"
done
api_req GET /v1/sync/comments/pull
is "$(jb '[.upserts, .deletes]')" '[[],[{"uid":"'$C1'","deletedAt":"2025-03-02T00:00:00.000Z"}]]' "pull comments"

#
# wipe
#
API_SUB=user-b api_session || bail "user-b's session"
B_SESSION=$API_SESSION
API_SUB=user-b api_req POST /v1/notes --data-binary '{"title":"b keeps this"}'
is "$HTTP_STATUS" 201 "user-b has a note"
api_session || bail "user-a's session"
api_req POST /v1/sync/wipe --data-binary '{"confirm":"wipe"}'
is "$HTTP_STATUS $HTTP_BODY" '400 confirmation required: must send {"confirm":"WIPE"}' "a wipe needs the exact confirmation"
api_req POST /v1/sync/wipe
is "$HTTP_STATUS" 400 "and a body"
is "$(pg_sql "SELECT count(*) FROM note n JOIN app_user u ON u.id = n.owner_id WHERE u.sub = 'user-a'")" 2 \
	"nothing was wiped yet"
api_req POST /v1/sync/wipe --data-binary '{"confirm":"WIPE"}'
is "$HTTP_STATUS $HTTP_BODY" '200 {"epoch":2,"deleted":{"chat_message":1,"comment":1,"chat":1,"task":1,"note":2}}' \
	"the wipe answers the new epoch and what it deleted"
is "$(pg_sql "SELECT (SELECT count(*) FROM note) + (SELECT count(*) FROM task) + (SELECT count(*) FROM comment) + (SELECT count(*) FROM chat) + (SELECT count(*) FROM chat_message)")" \
	1 "only user-b's note is left"
is "$(pg_sql "SELECT o.epoch, o.last_wipe_by, o.last_wipe_at IS NOT NULL FROM owner_state o JOIN app_user u ON u.id::text = o.owner_id WHERE u.sub = 'user-a'")" \
	"2|user-a|t" "owner_state has the new epoch"
is "$(pg_sql "SELECT u.sub FROM trestle_sync_session s JOIN app_user u ON u.id = s.owner_id")" user-b \
	"user-a's sessions are gone, user-b's stay"
api_req GET /v1/notes
is "$HTTP_STATUS" 428 "the old session is gone"
api_session || bail "a new session"
is "$API_EPOCH" 2 "a new session carries epoch 2"
api_req GET /v1/sync/state
is "$(jb --arg re "$RFC_RE" '[.epoch, .lastWipeBy, (.lastWipeAt | test($re))]')" '[2,"user-a",true]' "state tells of the wipe"
API_EPOCH=1 api_req GET /v1/notes
is "$HTTP_STATUS $(http_header x-sync-epoch) $(jb .error)" '409 2 "epoch_mismatch"' "a client of epoch 1 gets 409"
API_EPOCH=2 api_req GET /v1/notes
is "$HTTP_STATUS $(jb .items)" "200 []" "epoch 2 sees an empty account"
API_SUB=user-b API_SESSION=$B_SESSION API_EPOCH=1 api_req GET /v1/notes
is "$HTTP_STATUS $(jb '[.items[].payload.title]')" '200 ["b keeps this"]' "user-b is untouched, still epoch 1"

trestled_stop
check_logs_clean
done_testing
