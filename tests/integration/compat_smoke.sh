#!/usr/bin/env bash
# A smoke test in the style of the reference's own (scripts/smoke-test.sh,
# test_rest_api.sh): plain curl and jq against the API over TCP in development
# mode, as a developer points them at the Go API, with X-Debug-Sub as the user
# and no tenant headers.  Health, info, a sync session, then for each of the
# five entities: create, get, patch (If-Match and a stale one), list with
# pagination, archive, every process action, delete, and delta sync push/pull;
# then state and the session's end.  Exact statuses and key fields, and the
# rows in PostgreSQL at the end.
. "$(dirname "$0")/lib.sh"

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
USER_SUB="smoke-test-user-$$"

pg_start
APORT=$(free_port) || bail "no free port for the API"
while [ "$APORT" = "$PORT" ]; do APORT=$(free_port); done
API_URL=http://127.0.0.1:$APORT
write_conf "api_listen = 127.0.0.1:$APORT" "api_tcp_require_tenant = off" "dev_mode = on"
trestled_start
wait_for curl -so /dev/null "$API_URL/healthz" || bail "the API child listens on TCP"

SESSION_ID=
EPOCH=

# call METHOD PATH [CURL-ARG...]: sets STATUS, BODY, HEADERS, as the
# reference's scripts call the API.
call() {
	local method=$1 path=$2

	shift 2
	STATUS=$(curl -s -o "$T/.body" -D "$T/.headers" -w '%{http_code}' -X "$method" \
		-H "X-Debug-Sub: $USER_SUB" -H "Content-Type: application/json" \
		${SESSION_ID:+-H "X-Sync-Session: $SESSION_ID"} ${EPOCH:+-H "X-Sync-Epoch: $EPOCH"} \
		"$@" "$API_URL$path")
	BODY=$(cat "$T/.body")
	HEADERS=$(tr -d '\r' <"$T/.headers")
}

j() { jq -c "$@" <<<"$BODY"; }

#
# health, info, session
#
STATUS=$(curl -s -o "$T/.body" -w '%{http_code}' "$API_URL/healthz")
is "$STATUS $(cat "$T/.body")" "200 ok" "GET /healthz: 200 ok"
STATUS=$(curl -s -o "$T/.body" -w '%{http_code}' "$API_URL/v1/sync/info")
is "$STATUS $(jq -c '[.apiVersion, .entities.notes.maxLimit, .rateLimit.burst]' "$T/.body")" \
	'200 ["1.1",1000,120]' "GET /v1/sync/info"

call POST /v1/sync/sessions
is "$STATUS" 201 "POST /v1/sync/sessions: 201"
SESSION_ID=$(j -r .id)
EPOCH=$(j -r .epoch)
like "$SESSION_ID" "$UUID_RE" "the session id is a UUID"
is "$EPOCH $(grep -i '^x-sync-epoch:' <<<"$HEADERS" | cut -d' ' -f2)" "1 1" "epoch 1, in the body and X-Sync-Epoch"
is "$(j '((.expiresAt | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.createdAt | sub("\\.[0-9]+Z$"; "Z") | fromdate))')" \
	1800 "the session lives 30 minutes"
like "$(grep -i '^x-correlation-id:' <<<"$HEADERS")" '^[Xx]-[Cc]orrelation-[Ii][Dd]: [0-9a-f-]{36}$' \
	"X-Correlation-ID comes back"
call GET "/v1/sync/sessions/$SESSION_ID"
is "$STATUS $(j -r .id)" "200 $SESSION_ID" "GET /v1/sync/sessions/{id}"

#
# REST CRUD of each entity
#
create_body() {	# ENTITY N
	case $1 in
	notes) printf '{"title":"Smoke Test Note %s","content":"This is a smoke test"}' "$2" ;;
	tasks) printf '{"title":"Smoke Task %s","status":"open","priority":"high"}' "$2" ;;
	chats) printf '{"title":"Smoke Chat %s","participants":["a","b"]}' "$2" ;;
	comments) printf '{"content":"Comment %s","parentType":"note","parentUid":"%s"}' "$2" "$NOTE_PARENT" ;;
	chat_messages) printf '{"content":"Message %s","chatUid":"%s","sender":"a"}' "$2" "$CHAT_PARENT" ;;
	esac
}

actions() {	# ENTITY: "action field value" lines
	case $1 in
	notes) printf '%s\n' 'pin pinned true' 'unpin pinned false' 'archive status "archived"' \
		'unarchive status "active"' ;;
	tasks) printf '%s\n' 'start status "in_progress"' 'complete status "completed"' 'reopen status "open"' ;;
	comments) printf '%s\n' 'resolve status "resolved"' 'reopen status "open"' ;;
	chats) printf '%s\n' 'resolve status "resolved"' 'reopen status "active"' ;;
	chat_messages) printf '%s\n' 'mark_read read true' 'mark_delivered delivered true' ;;
	esac
}

noun() {
	case $1 in
	chat_messages) echo "chat message" ;;
	*) echo "${1%s}" ;;
	esac
}

crud() {	# ENTITY
	local e=$1 uid uid2 version cursor first archived action field value

	call POST "/v1/$e" --data-binary "$(create_body "$e" 1)"
	is "$STATUS $(j '[.version, .payload.sync.isDeleted, has("deletedAt")]')" "201 [1,false,false]" \
		"$e: create is 201, version 1"
	uid=$(j -r .uid)
	like "$uid" "$UUID_RE" "$e: the server made a UUID"
	[ "$e" = notes ] && NOTE_PARENT=$uid
	[ "$e" = chats ] && CHAT_PARENT=$uid

	call GET "/v1/$e/$uid"
	is "$STATUS $(j -r .uid) $(j .version)" "200 $uid 1" "$e: get"

	call PATCH "/v1/$e/$uid" -H 'If-Match: "1"' --data-binary '{"smoke":"patched"}'
	is "$STATUS $(j '[.version, .payload.smoke]')" '200 [2,"patched"]' "$e: patch with If-Match \"1\""
	call PATCH "/v1/$e/$uid" -H 'If-Match: 1' --data-binary '{"smoke":"stale"}'
	is "$STATUS $(j -r .error)" "412 version mismatch: expected 1, actual 2" "$e: a stale If-Match is 412"

	call POST "/v1/$e" --data-binary "$(create_body "$e" 2)"
	is "$STATUS" 201 "$e: a second one"
	uid2=$(j -r .uid)
	call GET "/v1/$e?limit=1"
	first=$(j -r '.items[0].uid')
	cursor=$(j -r '.nextCursor // empty')
	is "$STATUS $(j '.items | length') ${cursor:+cursor}" "200 1 cursor" "$e: list limit=1 has a nextCursor"
	call GET "/v1/$e?limit=1&cursor=$cursor"
	is "$STATUS $(j -r '.items[0].uid')" "200 $uid2" "$e: its next page is the other one"
	call GET "/v1/$e?limit=1&cursor=$(j -r .nextCursor)"
	is "$STATUS $(j -c .)" '200 {"items":[]}' "$e: then an empty page ends the list"
	is "$first" "$uid" "$e: oldest change first"

	call POST "/v1/$e/$uid/archive"
	case $e in
	chats | chat_messages) archived=".archived true" ;;
	*) archived='.status "archived"' ;;
	esac
	is "$STATUS $(j .version) $(j ".payload${archived% *}")" "200 3 ${archived#* }" "$e: archive"

	version=3
	while read -r action field value; do
		version=$((version + 1))
		call POST "/v1/$e/$uid/process" --data-binary "{\"action\":\"$action\",\"metadata\":{\"by\":\"smoke\"}}"
		is "$STATUS $(j .version) $(j ".payload.$field")" "200 $version $value" "$e: process $action"
	done < <(actions "$e")
	call POST "/v1/$e/$uid/process" --data-binary '{"action":"explode"}'
	is "$STATUS $(j -r .error)" "400 invalid action: explode" "$e: an unknown action is 400"

	# The children go first: a parent must stay alive while they are written.
	[ "$e" = notes ] || [ "$e" = chats ] && return
	smoke_delete "$e" "$uid"
}

smoke_delete() {	# ENTITY UID
	local e=$1 uid=$2 version

	call GET "/v1/$e/$uid"
	version=$(($(j .version) + 1))
	call DELETE "/v1/$e/$uid"
	is "$STATUS $(j .version) $(j '.deletedAt != null')" "200 $version true" "$e: delete"
	call GET "/v1/$e/$uid"
	is "$STATUS $(j -r .error)" "410 $(noun "$e") deleted" "$e: get of the tombstone is 410"
	call GET "/v1/$e/$uid?includeDeleted=true"
	is "$STATUS $(j .version)" "200 $version" "$e: includeDeleted=true returns it"
	DELETED[$e]=$uid
}

declare -A DELETED
for e in notes tasks chats comments chat_messages; do
	crud "$e"
done
smoke_delete chats "$CHAT_PARENT"
smoke_delete notes "$NOTE_PARENT"

#
# delta sync: push (last writer wins) and pull
#
for e in notes tasks chats comments chat_messages; do
	uid=$(cat /proc/sys/kernel/random/uuid)
	item=$(create_body "$e" push | jq -c --arg uid "$uid" '. + {uid: $uid, updatedTs: "2025-11-03T10:00:00Z", sync: {version: 1, isDeleted: false}}')
	# A pushed child needs a live parent: push it a fresh one of its own.
	case $e in
	comments) call POST /v1/notes --data-binary '{"title":"parent"}'
		item=$(jq -c --arg p "$(j -r .uid)" '.parentUid = $p' <<<"$item") ;;
	chat_messages) call POST /v1/chats --data-binary '{"title":"parent"}'
		item=$(jq -c --arg p "$(j -r .uid)" '.chatUid = $p' <<<"$item") ;;
	esac
	call POST "/v1/sync/$e/push" --data-binary "{\"items\":[$item]}"
	is "$STATUS $(j '[.[0].uid, .[0].version, .[0].updatedAt, .[0].error]')" \
		"200 [\"$uid\",1,\"2025-11-03T10:00:00.000Z\",null]" "$e: push version 1"
	call POST "/v1/sync/$e/push" --data-binary "{\"items\":[$item]}"
	is "$STATUS $(j '.[0].version')" "200 1" "$e: the same push again is a no-op"
	newer=$(jq -c '.updatedTs = "2025-11-03T10:01:00Z" | .smoke = "newer"' <<<"$item")
	call POST "/v1/sync/$e/push" --data-binary "{\"items\":[$newer]}"
	is "$STATUS $(j '.[0].version')" "200 2" "$e: a newer push wins, version 2"
	older=$(jq -c '.updatedTs = "2025-11-03T09:00:00Z" | .smoke = "older"' <<<"$item")
	call POST "/v1/sync/$e/push" --data-binary "{\"items\":[$older]}"
	is "$STATUS $(j '.[0].version')" "200 2" "$e: an older push loses"

	call GET "/v1/sync/$e/pull?limit=100"
	is "$STATUS $(j --arg u "$uid" '[(.upserts[] | select(.uid == $u) | .smoke), (.deletes | map(.uid) | index("'"${DELETED[$e]}"'") != null), (.nextCursor | length > 0)]')" \
		'200 ["newer",true,true]' "$e: pull has the winner, the REST delete as a tombstone, a cursor"
	cursor=$(j -r .nextCursor)
	call GET "/v1/sync/$e/pull?limit=100&cursor=$cursor"
	is "$STATUS $BODY" '200 {"upserts":[],"deletes":[]}' "$e: nothing after the cursor"
done

#
# state, the guards a client meets, the end of the session
#
call GET /v1/sync/state
is "$STATUS $BODY" '200 {"epoch":1}' "GET /v1/sync/state"
EPOCH=0 call GET /v1/notes
is "$STATUS $(j -c 'del(.correlation_id)')" '409 {"error":"epoch_mismatch","epoch":1}' "a stale epoch is 409"
call DELETE "/v1/sync/sessions/$SESSION_ID"
is "$STATUS" 204 "DELETE /v1/sync/sessions/{id}: 204"
call GET "/v1/sync/sessions/$SESSION_ID"
is "$STATUS $BODY" "404 session not found or expired" "the session is gone"
call GET /v1/notes
is "$STATUS" 428 "entity routes need a session again"

counts() {
	pg_sql "SELECT (SELECT count(*) FROM note t WHERE t.owner_id = u.id) || ' ' ||
		(SELECT count(*) FROM task t WHERE t.owner_id = u.id) || ' ' ||
		(SELECT count(*) FROM chat t WHERE t.owner_id = u.id) || ' ' ||
		(SELECT count(*) FROM comment t WHERE t.owner_id = u.id) || ' ' ||
		(SELECT count(*) FROM chat_message t WHERE t.owner_id = u.id) || ' ' ||
		(SELECT count(*) FROM note t WHERE t.owner_id = u.id AND t.deleted_at_ms IS NOT NULL)
		FROM app_user u WHERE u.sub = '$USER_SUB'"
}
# notes: 2 + 1 pushed + 1 parent; tasks 2 + 1; chats 2 + 1 + 1 parent; comments and messages 2 + 1.
is "$(counts)" "4 3 4 3 3 1" "the rows in PostgreSQL, all the smoke user's"

trestled_stop
check_logs_clean
done_testing
