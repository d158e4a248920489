#!/usr/bin/env bash
# The API child against hostile or careless clients: another user's rows, SQL
# metacharacters, a payload of a megabyte, two writers racing with the same
# If-Match, and a burst beyond the rate limit.
. "$(dirname "$0")/lib.sh"

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

api_session || bail "user-a's session"
A_SESSION=$API_SESSION
api_req POST /v1/notes --data-binary '{"title":"secret of a"}'
A_NOTE=$(jb -r .uid)
api_req POST /v1/chats --data-binary '{"title":"chat of a"}'
A_CHAT=$(jb -r .uid)
a_row() {
	pg_sql "SELECT n.version, n.deleted_at_ms IS NULL, n.payload_json->>'title' FROM note n
		JOIN app_user u ON u.id = n.owner_id WHERE u.sub = 'user-a' AND n.uid = '$A_NOTE'"
}
is "$(a_row)" "1|t|secret of a" "user-a has a note"

#
# user-b cannot see or touch user-a's rows
#
API_SUB=user-b
api_session || bail "user-b's session"
api_req GET "/v1/notes/$A_NOTE"
err_is 404 "note not found" "user-b cannot read user-a's note"
api_req GET "/v1/notes/$A_NOTE?includeDeleted=true"
err_is 404 "note not found" "not even with includeDeleted"
api_req PUT "/v1/notes/$A_NOTE" --data-binary '{"title":"pwned"}'
err_is 404 "note not found" "nor replace it"
api_req PATCH "/v1/notes/$A_NOTE" -H 'If-Match: 1' --data-binary '{"title":"pwned"}'
err_is 404 "note not found" "nor patch it"
api_req POST "/v1/notes/$A_NOTE/archive"
err_is 404 "note not found" "nor archive it"
api_req POST "/v1/notes/$A_NOTE/process" --data-binary '{"action":"pin"}'
err_is 404 "note not found" "nor process it"
api_req DELETE "/v1/notes/$A_NOTE"
err_is 404 "note not found" "nor delete it"
api_req GET '/v1/notes?includeDeleted=true'
is "$HTTP_STATUS $HTTP_BODY" '200 {"items":[]}' "user-b's list is empty"
api_req GET /v1/sync/notes/pull
is "$HTTP_STATUS $HTTP_BODY" '200 {"upserts":[],"deletes":[]}' "user-b's pull is empty"
api_req POST /v1/comments --data-binary '{"content":"x","parentType":"note","parentUid":"'"$A_NOTE"'"}'
err_is 404 "parent note not found: $A_NOTE" "user-b cannot comment on user-a's note"
api_req POST /v1/chat_messages --data-binary '{"content":"x","chatUid":"'"$A_CHAT"'"}'
err_is 404 "parent chat not found: $A_CHAT" "nor write into user-a's chat"
api_req POST /v1/sync/notes/push --data-binary '{"items":[{"uid":"'"$A_NOTE"'","title":"pwned","updatedTs":"2099-01-01T00:00:00Z"}]}'
is "$HTTP_STATUS $(jb '.[0].version')" "200 1" "a push of user-a's uid by user-b makes user-b's own row"
is "$(a_row)" "1|t|secret of a" "user-a's note is unchanged after all of it"
is "$(pg_sql "SELECT u.sub, n.payload_json->>'title' FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.uid = '$A_NOTE' ORDER BY u.sub")" \
	"user-a|secret of a
user-b|pwned" "each user has a row of their own"
API_SUB=user-b API_SESSION=$A_SESSION api_req GET /v1/notes
err_is 403 "forbidden" "user-a's sync session is 403 for user-b"
API_SUB=user-b api_req GET "/v1/sync/sessions/$A_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "403 forbidden" "user-b cannot look at user-a's session"

#
# SQL metacharacters are data
#
API_SUB=user-a
API_SESSION=$A_SESSION
nasty=$(jq -cn '{title:"x'"'"'; DROP TABLE note; --", body:"$1 $$ \\\\ \" %s %n \u00e9 ✓ NULL", tags:["'"'"' OR 1=1 --"]}')
api_req POST /v1/notes --data-binary "$nasty"
is "$HTTP_STATUS" 201 "a payload full of SQL metacharacters is stored"
NASTY=$(jb -r .uid)
api_req GET "/v1/notes/$NASTY"
is "$(jb '.payload | {title, body, tags}')" "$(jq -c . <<<"$nasty")" "and returned verbatim"
is "$(pg_sql "SELECT payload_json->>'title' FROM note WHERE uid = '$NASTY'")" "x'; DROP TABLE note; --" \
	"PostgreSQL holds the text as text"
api_req GET "/v1/notes/'%20OR%20'1'='1"
err_is 400 "invalid UID" "SQL in the path is an invalid UID"
api_req GET "/v1/notes?limit=1;DELETE%20FROM%20note"
is "$HTTP_STATUS" 400 "SQL in the limit is 400"
api_req GET "/v1/notes?cursor=$(printf "1|' OR 1=1 --" | _b64url)"
err_is 400 "invalid cursor" "SQL in the cursor is 400"
api_req PATCH "/v1/notes/$NASTY" -H "If-Match: 1 OR 1=1" --data-binary '{}'
is "$HTTP_STATUS" 400 "SQL in If-Match is 400"
API_SESSION="' OR 1=1 --" api_req GET /v1/notes
is "$HTTP_STATUS" 428 "SQL in X-Sync-Session is 428"
is "$(pg_sql "SELECT count(*) FROM note")" 3 "every table and row is still there"

#
# a megabyte
#
big=$T/big.json
{ printf '{"title":"big","content":"'; head -c 1000000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$big"
api_req POST /v1/notes --data-binary "@$big"
is "$HTTP_STATUS" 201 "a payload of 1 MB is stored"
BIG=$(jb -r .uid)
api_req GET "/v1/notes/$BIG"
is "$HTTP_STATUS $(jb '.payload.content | length')" "200 1000000" "and returned whole"
is "$(pg_sql "SELECT length(payload_json->>'content') FROM note WHERE uid = '$BIG'")" 1000000 "PostgreSQL has all of it"
{ printf '{"title":"too big","content":"'; head -c 1100000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$big"
api_req POST /v1/notes --data-binary "@$big"
is "$HTTP_STATUS" 413 "a body beyond max_body_bytes is 413"
api_req POST /v1/sync/notes/push --data-binary "@$big"
is "$HTTP_STATUS" 413 "also for a push"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' = 'too big'")" 0 "nothing of it was stored"

#
# two writers, one If-Match: exactly one wins
#
racer() {	# DIR VERSION UID
	mkdir -p "$1"
	(T=$1; api_req PATCH "/v1/notes/$3" -H "If-Match: $2" --data-binary "{\"by\":\"${1##*/}\"}"
		printf '%s %s' "$HTTP_STATUS" "$(jq -r '.error // .version' "$T/.api_body")" >"$T/result")
}
api_req POST /v1/notes --data-binary '{"title":"race"}'
RACE=$(jb -r .uid)
for round in 1 2 3 4 5; do
	racer "$T/r$round-a" "$round" "$RACE" &
	pa=$!
	racer "$T/r$round-b" "$round" "$RACE" &
	pb=$!
	wait "$pa" "$pb"
	results=$(sort <<<"$(cat "$T/r$round-a/result")
$(cat "$T/r$round-b/result")")
	is "$results" "200 $((round + 1))
412 version mismatch: expected $round, actual $((round + 1))" "round $round: one PATCH wins, the other is 412"
done
is "$(pg_sql "SELECT version FROM note WHERE uid = '$RACE'")" 6 "five rounds, five versions"

#
# the rate limit: 120 at once, then 429
#
now=$(($(date +%s%N) / 1000000))
curl -s --unix-socket "$API_SOCK" -o /dev/null -w '%{stderr}%{http_code}\n' \
	-H "Authorization: Bearer $(jwt_for user-a)" -H "X-TB-Tenant-ID: $TENANT_ID" \
	-H "X-TB-Timestamp: $now" -H "X-TB-Signature: $(tenant_sig "$TENANT_ID" "$now" "$TENANT_SECRET")" \
	-H "X-Sync-Session: $A_SESSION" -H "X-Sync-Epoch: 1" "http://api/v1/notes?limit=1&n=[1-160]" \
	2>"$T/codes" >/dev/null
ok200=$(grep -c '^200$' "$T/codes")
ok429=$(grep -c '^429$' "$T/codes")
is "$((ok200 + ok429))" 160 "a burst of 160 is answered 200 or 429"
ok "about the burst passes ($ok200 of 160)" test "$ok200" -ge 100 -a "$ok200" -le 135
ok "the rest is refused ($ok429)" test "$ok429" -ge 25
api_req POST /v1/notes --data-binary '{"title":"over the limit"}'
err_is 429 "Rate limit exceeded. Please retry after 1 seconds." "a request over the limit is 429"
is "$(http_header retry-after) $(http_header x-ratelimit-remaining) $(http_header x-ratelimit-limit) $(http_header x-ratelimit-burst)" \
	"1 0 600 120" "with Retry-After and the rate limit headers"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' = 'over the limit'")" 0 "and writes nothing"
API_SUB=user-b
api_session || bail "user-b's session again"
api_req GET /v1/notes
is "$HTTP_STATUS" 200 "another user is not limited"
api_req GET /v1/sync/info
is "$HTTP_STATUS $(http_header x-ratelimit-limit)" "200 " "sync info is not limited"

trestled_stop
check_logs_clean
done_testing
