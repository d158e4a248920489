#!/usr/bin/env bash
# REST CRUD of the contract (§3) straight to the API child's socket: every
# route's success and error statuses, the exact bodies and headers, and the
# rows in PostgreSQL afterwards.
. "$(dirname "$0")/lib.sh"

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
RFC_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
NOBODY=3f0b4c4e-9d47-4b8a-9c53-2b4e7d1f0a11

jb() { jq -c "$@" <<<"$HTTP_BODY"; }

# err_is STATUS MESSAGE DESC: the last answer is STATUS {"error":MESSAGE,"correlation_id":<its header>}.
err_is() {
	local want

	want=$(jq -cn --arg e "$2" --arg c "$(http_header x-correlation-id)" '{error:$e,correlation_id:$c}')
	is "$HTTP_STATUS $(jb .)" "$1 $want" "$3"
}

pg_start
write_conf
trestled_start
api_session || bail "a sync session"

#
# notes: create, get, put, patch, archive, process, delete
#
api_req POST /v1/notes -H 'X-Correlation-ID: cid-create-1' --data-binary '{"title":"A","n":12345678901234567890}'
is "$HTTP_STATUS" 201 "POST /v1/notes answers 201"
is "$(http_header x-correlation-id)" cid-create-1 "the correlation id is echoed"
is "$(http_header content-type)" application/json "as JSON"
is "$(http_header x-ratelimit-limit)/$(http_header x-ratelimit-burst)" 600/120 "with the rate limit headers"
like "$(http_header x-ratelimit-remaining)" '^1[01][0-9]$' "X-RateLimit-Remaining counts down from 120"
like "$(http_header x-ratelimit-reset)" '^[0-9]{10}$' "X-RateLimit-Reset is unix seconds"
NOTE=$(jb -r .uid)
like "$NOTE" "$UUID_RE" "the server made a UUID"
is "$(jb '[.version, .payload.title, .payload.uid == .uid, .payload.sync, .payload.updatedTs == .updatedAt, has("deletedAt")]')" \
	'[1,"A",true,{"version":1,"isDeleted":false},true,false]' \
	"the Item: version 1, the payload with uid, updatedTs and sync"
like "$HTTP_BODY" '"n": ?12345678901234567890[,}]' "a number beyond 64 bits comes back intact (jq would round it)"
like "$(jb -r .updatedAt)" "$RFC_RE" "updatedAt is RFC 3339 with milliseconds, UTC"
is "$(pg_sql "SELECT version, payload_json->>'title', deleted_at_ms IS NULL FROM note WHERE uid = '$NOTE'")" \
	"1|A|t" "the row is in PostgreSQL"
is "$(pg_sql "SELECT payload_json->>'n' FROM note WHERE uid = '$NOTE'")" 12345678901234567890 \
	"and stores the big number exactly"

api_req POST /v1/notes --data-binary '{"title":'
err_is 400 "invalid JSON" "a create with broken JSON is 400"
api_req POST /v1/notes --data-binary '[1,2]'
err_is 400 "invalid JSON" "a create with a non-object is 400"
api_req POST /v1/notes --data-binary '{"a":"\u0000"}'
err_is 400 "invalid JSON" "JSON PostgreSQL cannot store is 400, not 500"
is "$(pg_sql "SELECT count(*), max(payload_json->>'title') FROM note")" "1|A" "none of them wrote a row"

CLIENT_UID=7e1b1c55-1111-4a2b-8c3d-0123456789ab
api_req POST /v1/notes --data-binary "{\"uid\":\"$CLIENT_UID\",\"title\":\"mine\",\"old\":true}"
is "$HTTP_STATUS $(jb .uid)" "201 \"$CLIENT_UID\"" "a client's UUID is kept"
first_at=$(jb -r .updatedAt)

# A create of a uid that exists overwrites it, as the reference does.
api_req POST /v1/notes --data-binary "{\"uid\":\"${CLIENT_UID^^}\",\"title\":\"again\",\"sync\":{\"version\":7}}"
is "$HTTP_STATUS $(jb '[.uid, .version, .payload.title, (.payload | has("old")), .payload.sync, .payload.updatedTs == .updatedAt, has("deletedAt")]')" \
	"201 [\"$CLIENT_UID\",2,\"again\",false,{\"version\":2,\"isDeleted\":false},true,false]" \
	"a create with an existing uid is 201: the payload replaced, version 2"
ok "its timestamp moved forward" test "$(jb -r .updatedAt)" \> "$first_at"
is "$(pg_sql "SELECT count(*), max(version), max(payload_json->>'title'), bool_and(deleted_at_ms IS NULL), bool_and(payload_json->'sync'->>'version' = '2') FROM note WHERE uid = '$CLIENT_UID'")" \
	"1|2|again|t|t" "still one row, overwritten, in PostgreSQL"
api_req DELETE "/v1/notes/$CLIENT_UID"
is "$HTTP_STATUS $(jb .version)" "200 3" "deleted: a tombstone of version 3"
api_req POST /v1/notes --data-binary "{\"uid\":\"$CLIENT_UID\",\"title\":\"revived\"}"
is "$HTTP_STATUS $(jb '[.version, .payload.title, .payload.sync, has("deletedAt")]')" \
	'201 [4,"revived",{"version":4,"isDeleted":false},false]' "a create of a tombstone's uid revives it, version 4"
is "$(pg_sql "SELECT version, deleted_at_ms IS NULL, payload_json->>'title' FROM note WHERE uid = '$CLIENT_UID'")" \
	"4|t|revived" "the row is alive again"
api_req GET "/v1/notes/$CLIENT_UID"
is "$HTTP_STATUS $(jb .payload.title)" '200 "revived"' "and GET finds it"
api_req POST /v1/notes --data-binary '{"uid":"not-a-uuid","title":"B"}'
is "$HTTP_STATUS" 201 "a uid that is not a UUID is replaced"
like "$(jb -r .uid)" "$UUID_RE" "by a server UUID"
is "$(jb '.payload.uid == .uid')" true "in the payload too"

api_req GET "/v1/notes/$NOTE"
is "$HTTP_STATUS $(jb '[.uid, .version, .payload.title]')" "200 [\"$NOTE\",1,\"A\"]" "GET returns the note"
api_req GET /v1/notes/nope
err_is 400 "invalid UID" "GET of a non-UUID is 400 invalid UID"
api_req GET "/v1/notes/$NOBODY"
err_is 404 "note not found" "GET of an unknown uid is 404"
is "$(http_header x-ratelimit-limit)" 600 "the rate limit headers come with errors too"

ms_before=$(pg_sql "SELECT updated_at_ms FROM note WHERE uid = '$NOTE'")
api_req PUT "/v1/notes/$NOTE" --data-binary "{\"uid\":\"$NOBODY\",\"title\":\"A2\",\"sync\":{\"version\":99}}"
is "$HTTP_STATUS" 200 "PUT answers 200"
is "$(jb '[.version, .payload.uid, .payload.title, (.payload | has("n")), .payload.sync]')" \
	"[2,\"$NOTE\",\"A2\",false,{\"version\":2,\"isDeleted\":false}]" \
	"PUT replaces the payload, forces the path's uid, version 2"
is "$(pg_sql "SELECT version, payload_json->>'uid', payload_json ? 'n', updated_at_ms > $ms_before FROM note WHERE uid = '$NOTE'")" \
	"2|$NOTE|f|t" "the row is replaced and its timestamp moved forward"

api_req PATCH "/v1/notes/$NOTE" -H 'If-Match: "2"' --data-binary "{\"color\":\"red\",\"uid\":\"$NOBODY\",\"sync\":{\"isDeleted\":true}}"
is "$HTTP_STATUS" 200 "PATCH with a matching quoted If-Match answers 200"
is "$(jb '[.version, .payload.uid, .payload.title, .payload.color, .payload.sync]')" \
	"[3,\"$NOTE\",\"A2\",\"red\",{\"version\":3,\"isDeleted\":false}]" \
	"PATCH merges the keys, ignores uid and sync"
api_req PATCH "/v1/notes/$NOTE" -H 'If-Match: 2' --data-binary '{"color":"blue"}'
err_is 412 "version mismatch: expected 2, actual 3" "a stale If-Match is 412"
api_req PUT "/v1/notes/$NOTE" -H 'If-Match: 7' --data-binary '{"title":"lost"}'
err_is 412 "version mismatch: expected 7, actual 3" "PUT honours If-Match too"
api_req PATCH "/v1/notes/$NOTE" -H 'If-Match: three' --data-binary '{"color":"blue"}'
err_is 400 "invalid If-Match: must be a version number" "a non-integer If-Match is 400"
api_req PATCH "/v1/notes/$NOTE" --data-binary '"color"'
err_is 400 "invalid JSON" "PATCH with a non-object is 400"
api_req PATCH "/v1/notes/$NOBODY" --data-binary '{"color":"blue"}'
err_is 404 "note not found" "PATCH of an unknown uid is 404"
api_req PUT /v1/notes/zzz --data-binary '{}'
err_is 400 "invalid UID" "PUT of a non-UUID is 400"
is "$(pg_sql "SELECT version, payload_json->>'color' FROM note WHERE uid = '$NOTE'")" "3|red" \
	"the refused writes changed nothing"

api_req POST "/v1/notes/$NOTE/archive" --data-binary 'ignored, not JSON'
is "$HTTP_STATUS $(jb '[.version, .payload.status, .payload.color]')" '200 [4,"archived","red"]' \
	"archive sets status archived, body ignored"
for step in 'pin pinned true 5' 'unpin pinned false 6' 'unarchive status "active" 7' 'archive status "archived" 8'; do
	set -- $step
	api_req POST "/v1/notes/$NOTE/process" --data-binary "{\"action\":\"$1\",\"metadata\":{\"by\":\"test\"}}"
	is "$HTTP_STATUS $(jb "[.version, .payload.$2]")" "200 [$4,$3]" "process $1 sets $2=$3"
done
api_req POST "/v1/notes/$NOTE/process" --data-binary '{"action":"explode"}'
err_is 400 "invalid action: explode" "an unknown action is 400"
api_req POST "/v1/notes/$NOTE/process" --data-binary '{"action":"start"}'
err_is 400 "invalid action: start" "another entity's action is 400"
api_req POST "/v1/notes/$NOBODY/archive"
err_is 404 "note not found" "archive of an unknown uid is 404"

api_req GET /v1/notes
is "$HTTP_STATUS $(jb '[.items[].uid] | index("'"$NOTE"'") != null')" "200 true" "an archived note stays in the list"

api_req DELETE "/v1/notes/$NOTE"
is "$HTTP_STATUS" 200 "DELETE answers 200"
is "$(jb '[.version, .deletedAt == .updatedAt, .payload.sync == {"version":9,"isDeleted":true,"deletedAt":.deletedAt}]')" \
	'[9,true,true]' "the tombstone: version 9, deletedAt, sync.isDeleted"
like "$(jb -r .deletedAt)" "$RFC_RE" "deletedAt is RFC 3339"
DELETED_AT=$(jb -r .deletedAt)
is "$(pg_sql "SELECT version, deleted_at_ms = updated_at_ms FROM note WHERE uid = '$NOTE'")" "9|t" \
	"the row is a tombstone in PostgreSQL"

deleted_is() {
	local want

	want=$(jq -cn --arg e "$2" --arg d "$DELETED_AT" --arg c "$(http_header x-correlation-id)" \
		'{error:$e,deletedAt:$d,correlation_id:$c}')
	is "$HTTP_STATUS $(jb .)" "410 $want" "$3"
}
api_req GET "/v1/notes/$NOTE"
deleted_is 410 "note deleted" "GET of a tombstone is 410 with deletedAt"
api_req GET "/v1/notes/$NOTE?includeDeleted=true"
is "$HTTP_STATUS $(jb '[.version, .deletedAt]')" "200 [9,\"$DELETED_AT\"]" "includeDeleted=true returns it"
api_req DELETE "/v1/notes/$NOTE"
deleted_is 410 "note already deleted" "DELETE of a tombstone is 410 already deleted"
api_req PATCH "/v1/notes/$NOTE" --data-binary '{"x":1}'
deleted_is 410 "note deleted" "PATCH of a tombstone is 410"
api_req PUT "/v1/notes/$NOTE" --data-binary '{"x":1}'
deleted_is 410 "note deleted" "PUT of a tombstone is 410"
api_req POST "/v1/notes/$NOTE/archive"
deleted_is 410 "note deleted" "archive of a tombstone is 410"
api_req POST "/v1/notes/$NOTE/process" --data-binary '{"action":"pin"}'
deleted_is 410 "note deleted" "process of a tombstone is 410"
api_req DELETE "/v1/notes/$NOBODY"
err_is 404 "note not found" "DELETE of an unknown uid is 404"
is "$(pg_sql "SELECT version FROM note WHERE uid = '$NOTE'")" 9 "the tombstone was not changed"

api_req GET /v1/notes
is "$(jb '[.items[].uid] | index("'"$NOTE"'")')" null "lists leave tombstones out"
api_req GET '/v1/notes?includeDeleted=true'
is "$(jb '[.items[] | select(.uid == "'"$NOTE"'") | .deletedAt]')" "[\"$DELETED_AT\"]" \
	"includeDeleted=true lists them"

#
# pagination
#
for i in 1 2 3 4 5; do
	api_req POST /v1/tasks --data-binary "{\"title\":\"t$i\"}"
done
expected=$(pg_sql "SELECT string_agg(uid::text, ',' ORDER BY updated_at_ms, uid) FROM task")
got= cursor= pages=0 last=
while :; do
	api_req GET "/v1/tasks?limit=2${cursor:+&cursor=$cursor}"
	[ "$HTTP_STATUS" = 200 ] || break
	pages=$((pages + 1))
	[ "$(jb '.items | length')" -gt 0 ] || { last=$(jb -c .); break; }
	got+=$(jb -r '[.items[].uid] | join(",")'),
	cursor=$(jb -r '.nextCursor // empty')
	[ -n "$cursor" ] || break
	[ "$pages" -lt 10 ] || break
done
is "${got%,}" "$expected" "pages of 2 list every task once, by (updated_at_ms, uid)"
is "$pages" 4 "in 3 pages and an empty one, as the reference pages"
is "$last" '{"items":[]}' "the empty page has no nextCursor"
raw=$(pg_sql "SELECT updated_at_ms || '|' || uid FROM task ORDER BY updated_at_ms, uid LIMIT 1 OFFSET 1")
api_req GET "/v1/tasks?limit=2"
is "$(jb -r .nextCursor)" "$(printf %s "$raw" | b64url)" "the cursor is base64url(\"<ms>|<uid>\") without padding"
api_req GET '/v1/tasks?cursor=!!!'
err_is 400 "invalid cursor" "an invalid cursor is 400"
api_req GET "/v1/tasks?cursor=$(printf 'x|y' | b64url)"
err_is 400 "invalid cursor" "a cursor of the wrong form is 400"
api_req GET '/v1/tasks?limit=0'
err_is 400 "invalid limit: must be an integer from 1 to 1000" "limit=0 is 400"
api_req GET '/v1/tasks?limit=ten'
err_is 400 "invalid limit: must be an integer from 1 to 1000" "a non-numeric limit is 400"

#
# the other entities' actions and archive
#
TASK=$(pg_sql "SELECT uid FROM task ORDER BY updated_at_ms LIMIT 1")
for step in 'start "in_progress"' 'complete "completed"' 'reopen "open"'; do
	set -- $step
	api_req POST "/v1/tasks/$TASK/process" --data-binary "{\"action\":\"$1\"}"
	is "$HTTP_STATUS $(jb .payload.status)" "200 $2" "task process $1"
done
api_req POST "/v1/tasks/$TASK/archive"
is "$HTTP_STATUS $(jb .payload.status)" '200 "archived"' "task archive sets status"
is "$(pg_sql "SELECT version, payload_json->>'status' FROM task WHERE uid = '$TASK'")" "5|archived" "task row"

api_req POST /v1/chats --data-binary '{"title":"c"}'
CHAT=$(jb -r .uid)
for step in 'resolve "resolved"' 'reopen "active"'; do
	set -- $step
	api_req POST "/v1/chats/$CHAT/process" --data-binary "{\"action\":\"$1\"}"
	is "$HTTP_STATUS $(jb .payload.status)" "200 $2" "chat process $1"
done
api_req POST "/v1/chats/$CHAT/archive"
is "$HTTP_STATUS $(jb '[.payload.archived, .payload.status]')" '200 [true,"active"]' "chat archive sets archived=true"

#
# comments: the parent rules
#
api_req POST /v1/notes --data-binary '{"title":"parent"}'
PNOTE=$(jb -r .uid)
api_req POST /v1/comments --data-binary '{"content":"c"}'
err_is 400 "missing parentType" "a comment without parentType is 400"
api_req POST /v1/comments --data-binary '{"content":"c","parentType":"chat","parentUid":"'"$PNOTE"'"}'
err_is 400 "invalid parentType: chat (must be 'note' or 'task')" "parentType must be note or task"
api_req POST /v1/comments --data-binary '{"content":"c","parentType":"note"}'
err_is 400 "missing parentUid" "a comment without parentUid is 400"
api_req POST /v1/comments --data-binary '{"content":"c","parentType":"note","parentUid":"zzz"}'
err_is 400 "invalid parentUid: must be a UUID" "parentUid must be a UUID"
api_req POST /v1/comments --data-binary '{"content":"c","parentType":"note","parentUid":"'"$NOBODY"'"}'
err_is 404 "parent note not found: $NOBODY" "an unknown parent is 404"
api_req POST /v1/comments --data-binary '{"content":"c","parentType":"note","parentUid":"'"$NOTE"'"}'
err_is 404 "parent note not found: $NOTE" "a deleted parent is 404"
api_req POST /v1/comments --data-binary '{"content":"c","parentType":"task","parentUid":"'"$PNOTE"'"}'
err_is 404 "parent task not found: $PNOTE" "a parent of the other type is 404"
is "$(pg_sql "SELECT count(*) FROM comment")" 0 "no comment was written"

api_req POST /v1/comments --data-binary '{"content":"c","parentType":"task","parentUid":"'"$TASK"'"}'
is "$HTTP_STATUS $(jb '[.version, .payload.parentType, .payload.content]')" '201 [1,"task","c"]' \
	"a comment on a live task is created"
COMMENT=$(jb -r .uid)
is "$(pg_sql "SELECT parent_type, parent_uid FROM comment WHERE uid = '$COMMENT'")" "task|$TASK" \
	"parent_type and parent_uid are filled from the payload"
api_req POST /v1/comments --data-binary '{"uid":"'"$COMMENT"'","content":"x","parentType":"note","parentUid":"'"$NOBODY"'"}'
err_is 404 "parent note not found: $NOBODY" "a create over an existing comment checks its new parent"
api_req PATCH "/v1/comments/$COMMENT" --data-binary '{"parentType":"note","parentUid":"'"$NOTE"'"}'
err_is 404 "parent note not found: $NOTE" "PATCH onto a deleted parent is 404"
api_req PATCH "/v1/comments/$COMMENT" --data-binary '{"parentType":"note"}'
err_is 404 "parent note not found: $TASK" "PATCH checks the merged payload"
api_req PATCH "/v1/comments/$COMMENT" --data-binary '{"parentUid":5}'
err_is 400 "invalid parentUid: must be a UUID" "PATCH checks the parent fields it sends"
is "$(pg_sql "SELECT version, parent_type, parent_uid FROM comment WHERE uid = '$COMMENT'")" "1|task|$TASK" \
	"the refused PATCHes changed nothing"
api_req PATCH "/v1/comments/$COMMENT" --data-binary '{"parentType":"note","parentUid":"'"$PNOTE"'"}'
is "$HTTP_STATUS $(jb '[.version, .payload.parentType, .payload.parentUid]')" "200 [2,\"note\",\"$PNOTE\"]" \
	"PATCH onto a live note"
is "$(pg_sql "SELECT parent_type, parent_uid FROM comment WHERE uid = '$COMMENT'")" "note|$PNOTE" \
	"the parent columns follow"
api_req PUT "/v1/comments/$COMMENT" --data-binary '{"content":"only"}'
err_is 400 "missing parentType" "PUT needs the parent fields"
for step in 'resolve "resolved"' 'reopen "open"'; do
	set -- $step
	api_req POST "/v1/comments/$COMMENT/process" --data-binary "{\"action\":\"$1\"}"
	is "$HTTP_STATUS $(jb .payload.status)" "200 $2" "comment process $1"
done
api_req POST "/v1/comments/$COMMENT/archive"
is "$HTTP_STATUS $(jb .payload.status)" '200 "archived"' "comment archive sets status"

#
# chat messages: the chat rule
#
api_req POST /v1/chat_messages --data-binary '{"content":"m"}'
err_is 400 "missing chatUid" "a message without chatUid is 400"
api_req POST /v1/chat_messages --data-binary '{"content":"m","chatUid":"x"}'
err_is 400 "invalid chatUid: must be a UUID" "chatUid must be a UUID"
api_req POST /v1/chat_messages --data-binary '{"content":"m","chatUid":"'"$NOBODY"'"}'
err_is 404 "parent chat not found: $NOBODY" "an unknown chat is 404"
api_req POST /v1/chat_messages --data-binary '{"content":"m","chatUid":"'"$CHAT"'"}'
is "$HTTP_STATUS $(jb '[.version, .payload.chatUid]')" "201 [1,\"$CHAT\"]" "a message in a live chat is created"
MSG=$(jb -r .uid)
is "$(pg_sql "SELECT chat_uid FROM chat_message WHERE uid = '$MSG'")" "$CHAT" "chat_uid is filled"
for step in 'mark_read read' 'mark_delivered delivered'; do
	set -- $step
	api_req POST "/v1/chat_messages/$MSG/process" --data-binary "{\"action\":\"$1\"}"
	is "$HTTP_STATUS $(jb .payload.$2)" "200 true" "message process $1"
done
api_req POST "/v1/chat_messages/$MSG/archive"
is "$HTTP_STATUS $(jb .payload.archived)" "200 true" "message archive sets archived=true"
api_req DELETE "/v1/chats/$CHAT"
is "$HTTP_STATUS" 200 "the chat is deleted"
api_req PATCH "/v1/chat_messages/$MSG" --data-binary '{"content":"edited"}'
err_is 404 "parent chat not found: $CHAT" "a write that leaves a message alive needs a live chat"
api_req DELETE "/v1/chat_messages/$MSG"
is "$HTTP_STATUS $(jb .payload.sync.isDeleted)" "200 true" "deleting a message needs no live chat"
api_req GET "/v1/chat_messages/$MSG"
is "$HTTP_STATUS $(jb .error)" '410 "chat message deleted"' "the noun of chat_messages is \"chat message\""

#
# guards on entity routes
#
API_EPOCH=0 api_req GET /v1/notes
is "$HTTP_STATUS $(http_header x-sync-epoch) $(jb 'del(.correlation_id)')" \
	'409 1 {"error":"epoch_mismatch","epoch":1}' "an old epoch is 409 with the server's epoch"
is "$(http_header x-ratelimit-limit)" 600 "after the rate limit step"
API_SESSION=$NOBODY api_req GET /v1/notes
err_is 428 "sync session required: create one with POST /v1/sync/sessions" "an unknown sync session is 428"
is "$(http_header x-ratelimit-limit)" "" "before the rate limit step"
API_SESSION= api_req GET /v1/notes
err_is 428 "sync session required: create one with POST /v1/sync/sessions" "no sync session is 428"

# A session lives 30 minutes: one that expired is as good as none.
OLD_SESSION=$API_SESSION
api_req GET "/v1/sync/sessions/$OLD_SESSION"
is "$HTTP_STATUS $(jb '[.id, .epoch]')" "200 [\"$OLD_SESSION\",1]" "GET /v1/sync/sessions/{id} while it lives"
pg_sql "UPDATE trestle_sync_session SET expires_at = now() - interval '1 second' WHERE id = '$OLD_SESSION'"
# Changed behind the API child's back: what it remembers of the session serves
# for up to 2 s (SESSION_CACHE_TTL_MS), as a change made by another API child would.
sleep 2.1
api_req GET /v1/notes
err_is 428 "sync session required: create one with POST /v1/sync/sessions" "an expired sync session is 428"
api_req GET "/v1/sync/sessions/$OLD_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "404 session not found or expired" "GET of an expired session is 404"
api_req DELETE "/v1/sync/sessions/$OLD_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "404 session not found or expired" "DELETE of an expired session is 404"
api_session || bail "a new session"
api_req GET /v1/notes
is "$HTTP_STATUS" 200 "a new session opens the entity routes"
api_req DELETE "/v1/sync/sessions/$API_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "204 " "DELETE of a live session is 204, no body"
is "$(pg_sql "SELECT count(*) FROM trestle_sync_session WHERE id = '$API_SESSION'")" 0 "its row is gone"
api_req GET /v1/notes
is "$HTTP_STATUS" 428 "and it no longer opens the entity routes"
api_session || bail "another session"
api_req GET /v1/widgets
err_is 404 "not found" "an unknown entity is 404"
api_req POST /v1/notes/$NOBODY
err_is 405 "method not allowed" "POST on an item is 405"

trestled_stop
check_logs_clean
done_testing
