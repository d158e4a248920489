#!/usr/bin/env bash
# Tenant headers version 2 on the API child's socket: a well-signed request
# works once; its replay, and any change to what was signed, gets 401 and
# writes nothing.  The signed user must be the token's subject.  Version 1
# still works for outside clients.
. "$(dirname "$0")/lib.sh"

pg_start
write_conf
trestled_start

AUTH=(-H "Authorization: Bearer $(jwt_for user-a)")
JSON=(-H "Content-Type: application/json")
REFUSED="401 Unauthorized: invalid tenant headers"

tenant_v2 POST /v1/sync/sessions "" user-a
api_req POST /v1/sync/sessions "${AUTH[@]}" "${TENANT_HEADERS[@]}"
is "$HTTP_STATUS" 201 "a v2-signed POST /v1/sync/sessions opens a session"
SID=$(jq -r .id <<<"$HTTP_BODY")
EPOCH=$(jq -r .epoch <<<"$HTTP_BODY")
SYNC=(-H "X-Sync-Session: $SID" -H "X-Sync-Epoch: $EPOCH")

BODY='{"title":"signed once"}'
tenant_v2 POST /v1/notes "$BODY" user-a
CAPTURED=("${TENANT_HEADERS[@]}")
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${CAPTURED[@]}" "${JSON[@]}" --data-binary "$BODY"
is "$HTTP_STATUS" 201 "a v2-signed POST /v1/notes creates the note"
is "$(pg_sql "SELECT count(*) FROM note")" 1 "one note in PostgreSQL"

api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${CAPTURED[@]}" "${JSON[@]}" --data-binary "$BODY"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "the same request replayed gets 401"
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${CAPTURED[@]}" "${JSON[@]}" \
	--data-binary '{"title":"changed body"}'
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "its headers on another body get 401"
api_req POST /v1/tasks "${AUTH[@]}" "${SYNC[@]}" "${CAPTURED[@]}" "${JSON[@]}" --data-binary "$BODY"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "its headers on another path get 401"
is "$(pg_sql "SELECT count(*) FROM note") $(pg_sql "SELECT count(*) FROM task")" "1 0" \
	"the replays wrote nothing"

# Fresh nonces, but something else wrong.
tenant_v2 POST /v1/notes "$BODY" user-b
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" "${JSON[@]}" --data-binary "$BODY"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "X-TB-User other than the token's subject gets 401"
tenant_v2 POST /v1/notes "$BODY" user-a $(($(now_ms) - 31000))
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" "${JSON[@]}" --data-binary "$BODY"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "a v2 timestamp 31 s old gets 401"
tenant_v2 GET /v1/notes "$BODY" user-a
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" "${JSON[@]}" --data-binary "$BODY"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "signed for GET, sent as POST: 401"
tenant_v2 POST /v1/notes "$BODY" user-a
TENANT_HEADERS[1]="X-TB-Tenant-ID: other-tenant"
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" "${JSON[@]}" \
	--data-binary "$BODY"
is "$HTTP_STATUS" 401 "another tenant id under a v2 signature: 401"
is "$(pg_sql "SELECT count(*) FROM note")" 1 "still one note"

tenant_v2 GET "/v1/notes?limit=5" "" user-a
api_req GET "/v1/notes?limit=5" "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}"
is "$HTTP_STATUS $(jq -r '.items | length' <<<"$HTTP_BODY")" "200 1" "a v2-signed GET with a query works"
tenant_v2 GET "/v1/notes?limit=5" "" user-a
api_req GET "/v1/notes?limit=6" "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "signed for one query, sent with another: 401"

tenant_v1
api_req POST /v1/sync/sessions "${AUTH[@]}" "${TENANT_HEADERS[@]}"
is "$HTTP_STATUS" 201 "version 1 headers still work (outside clients)"

# The workers sign with version 2: an MCP tool call goes through.
mcp_init || bail "MCP session"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"via the worker","content":"v2"}}}'
is "$(jq -c '.result.isError' <<<"$HTTP_JSON")" false "create_note through a worker works"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' = 'via the worker'")" 1 \
	"and its note is in PostgreSQL"
like "$(grep -c 'tenant headers refused' "$T/trestle.log")" '^8$' \
	"the API child logged each of the 8 refusals"

trestled_stop
check_logs_clean
done_testing
