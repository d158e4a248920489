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
is "$(pg_sql "SELECT u.sub, n.payload_json->>'title' FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.uid = '$A_NOTE' ORDER BY u.sub")" \
	"user-a|secret of a
user-b|pwned" "each user has a row of their own"
api_req POST /v1/notes --data-binary '{"uid":"'"$A_NOTE"'","title":"pwned by create"}'
is "$HTTP_STATUS $(jb .version)" "201 2" "a create with user-a's uid by user-b overwrites only user-b's own row"
is "$(a_row)" "1|t|secret of a" "user-a's note is unchanged after all of it"
API_SUB=user-b API_SESSION=$A_SESSION api_req GET /v1/notes
err_is 403 "forbidden" "user-a's sync session is 403 for user-b"
API_SUB=user-b api_req GET "/v1/sync/sessions/$A_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "403 forbidden" "user-b cannot look at user-a's session"
API_SUB=user-b api_req DELETE "/v1/sync/sessions/$A_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "403 forbidden" "nor end it"
is "$(pg_sql "SELECT count(*) FROM trestle_sync_session WHERE id = '$A_SESSION'")" 1 "user-a's session is still there"

#
# tokens that are not good enough: 401, and no user or row for them
#
jwt_hs256() {	# CLAIMS-JSON [SECRET]
	local input

	input=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url).$(printf %s "$1" | b64url)
	printf '%s.%s' "$input" "$(printf %s "$input" | openssl dgst -sha256 -hmac "${2:-$JWT_SECRET}" -binary | b64url)"
}
exp=$(($(date +%s) + 300))
for t in "a bad signature|$(jwt_hs256 '{"sub":"mallory","exp":'$exp'}' not-the-secret)" \
	"an expired exp|$(jwt_hs256 '{"sub":"mallory","exp":'$(($(date +%s) - 600))'}')" \
	"alg none|$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(printf '{"sub":"mallory","exp":%d}' $exp | b64url)." \
	"no subject|$(jwt_hs256 '{"exp":'$exp'}')" \
	"a signature of another token|$(jwt_for mallory | cut -d. -f1-2).$(jwt_for user-a | cut -d. -f3)"; do
	API_SESSION=$A_SESSION api_req POST /v1/notes -H "Authorization: Bearer ${t#*|}" \
		--data-binary '{"title":"mallory"}'
	is "$HTTP_STATUS $HTTP_BODY" "401 unauthorized" "a token with ${t%%|*}: 401"
done
is "$(pg_sql "SELECT count(*) FROM app_user WHERE sub = 'mallory'")/$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' = 'mallory'")" \
	"0/0" "none of them made a user or a row"

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
api_req GET "/v1/notes?cursor=$(printf "1|' OR 1=1 --" | b64url)"
err_is 400 "invalid cursor" "SQL in the cursor is 400"
api_req PATCH "/v1/notes/$NASTY" -H "If-Match: 1 OR 1=1" --data-binary '{}'
is "$HTTP_STATUS" 400 "SQL in If-Match is 400"
API_SESSION="' OR 1=1 --" api_req GET /v1/notes
is "$HTTP_STATUS" 428 "SQL in X-Sync-Session is 428"
is "$(pg_sql "SELECT count(*) FROM note")" 3 "every table and row is still there"

#
# a megabyte: max_body_bytes (1048576) is stored whole, one byte more is 413
#
big=$T/big.json
content=$T/content
# Base64 of random bytes: '+', '/' and '=' among letters and digits.
head -c 786411 /dev/urandom | openssl base64 -A >"$content"
{ printf '{"title":"big","content":"'; cat "$content"; printf '"}'; } >"$big"
is "$(wc -c <"$big")" 1048576 "the body is exactly max_body_bytes"
api_req POST /v1/notes --data-binary "@$big"
is "$HTTP_STATUS" 201 "a payload of 1 MB is stored"
BIG=$(jb -r .uid)
api_req GET "/v1/notes/$BIG"
is "$HTTP_STATUS" 200 "and read back"
ok "its content comes back verbatim" cmp -s "$content" <(jq -j .payload.content <<<"$HTTP_BODY")
is "$(pg_sql "SELECT md5(payload_json->>'content') FROM note WHERE uid = '$BIG'")" \
	"$(md5sum <"$content" | cut -d' ' -f1)" "PostgreSQL has all of it"

printf ' ' >>"$big"	# 1048577 bytes, still valid JSON
api_req POST /v1/notes -H 'X-Correlation-ID: cid-too-big' --data-binary "@$big"
is "$HTTP_STATUS $HTTP_BODY" \
	'413 {"error":"request body too large: at most 1048576 bytes","correlation_id":"cid-too-big"}' \
	"one byte more is 413 with the contract's JSON error"
is "$(http_header x-correlation-id) $(http_header content-type)" "cid-too-big application/json" \
	"with the correlation id, as JSON"
api_req POST /v1/sync/notes/push --data-binary "@$big"
is "$HTTP_STATUS $(jb .error)" '413 "request body too large: at most 1048576 bytes"' "also for a push"
{ printf '{"title":"far too big","content":"'; head -c 3000000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$big"
api_req POST /v1/notes --data-binary "@$big"
is "$HTTP_STATUS" 413 "a body beyond twice the limit is 413 too, unread"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' IN ('big', 'far too big')")" 1 \
	"nothing of them was stored"
api_req GET "/v1/notes/$BIG"
is "$HTTP_STATUS" 200 "the API child still serves"

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
# the rate limit: 120 at once, then 10 a second, else 429
#
API_SUB=user-c
api_session || bail "user-c's session"
now=$(now_ms)
mkdir -p "$T/burst"
start=$(_now_us)
curl -s --unix-socket "$API_SOCK" -o "$T/burst/#1.json" \
	-w '%{stderr}%{http_code} %header{retry-after}|%header{x-ratelimit-remaining}|%header{x-ratelimit-limit}|%header{x-ratelimit-burst}|%header{x-correlation-id}\n' \
	-H "Authorization: Bearer $(jwt_for user-c)" -H "X-TB-Tenant-ID: $TENANT_ID" \
	-H "X-TB-Timestamp: $now" -H "X-TB-Signature: $(tenant_sig "$TENANT_ID" "$now" "$TENANT_SECRET")" \
	-H "X-Sync-Session: $API_SESSION" -H "X-Sync-Epoch: 1" -H "Expect:" \
	--data-binary '{"title":"burst"}' "http://api/v1/notes?n=[1-300]" 2>"$T/codes" >/dev/null
refill=$((($(_now_us) - start) / 100000 + 1))	# tokens that came back meanwhile, at most
ok201=$(grep -c '^201 ' "$T/codes")
ok429=$(grep -c '^429 ' "$T/codes")
is "$((ok201 + ok429))" 300 "a burst of 300 creates is answered 201 or 429"
is "$(head -n 120 "$T/codes" | grep -c '^201 ')" 120 "the first 120 pass"
ok "later ones only as tokens come back ($ok201 of 300 passed, refill $refill)" \
	test "$ok201" -le $((120 + refill)) -a "$ok429" -ge 1
first=$(grep -n '^429 ' "$T/codes" | head -n 1 | cut -d: -f1)
line=$(sed -n "${first}p" "$T/codes")
is "${line%|*}" "429 1|0|600|120" "a 429 has Retry-After and the rate limit headers"
is "$(cat "$T/burst/$first.json")" \
	"{\"error\":\"Rate limit exceeded. Please retry after 1 seconds.\",\"correlation_id\":\"${line##*|}\"}" \
	"and the contract's body"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' = 'burst'")" "$ok201" \
	"only the requests that passed wrote a row"
API_SUB=user-b
api_session || bail "user-b's session again"
api_req GET /v1/notes
is "$HTTP_STATUS" 200 "another user is not limited"
api_req GET /v1/sync/info
is "$HTTP_STATUS $(http_header x-ratelimit-limit)" "200 " "sync info is not limited"

trestled_stop
check_logs_clean
done_testing
