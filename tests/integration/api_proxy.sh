#!/usr/bin/env bash
# Proxy mode: this trestle's API child keeps no database and forwards to an
# upstream ToolBridge API, here a second trestled in normal mode listening on
# TCP with a tenant secret of its own.  Requests through the proxy land in
# the upstream's database; the proxy verifies the incoming tenant headers
# itself and signs anew for the upstream.
. "$(dirname "$0")/lib.sh"

UP_SECRET=$(_random_hex 32)
UP_PORT=$(free_port) || bail "no free port"
UP_API=$(free_port) || bail "no free port"
UP_PID=

# The upstream: its own runtime directory, log, ports and tenant secret.
start_upstream() {
	mkdir -p "$T/up/run"
	{
		echo "listen = 127.0.0.1:$UP_PORT"
		echo "workers = 1"
		echo "runtime_dir = $T/up/run"
		echo "database_url = \"$DATABASE_URL\""
		echo "tenant_id = $TENANT_ID"
		echo "tenant_secret = $UP_SECRET"
		echo "jwt_secret = $JWT_SECRET"
		echo "log_file = $T/upstream.log"
		echo "log_level = debug"
		echo "api_listen = 127.0.0.1:$UP_API"
	} >"$T/up/trestle.conf"
	_spawn_group "$TRESTLED" -c "$T/up/trestle.conf" >>"$T/upstream.out" 2>&1
	UP_PID=$_bg_pid
	wait_for curl -so /dev/null "http://127.0.0.1:$UP_API/healthz" ||
		bail "the upstream trestled serves its API on TCP"
	pass "upstream trestled started (pid $UP_PID)"
}

pg_start
start_upstream
# database_url points nowhere: proxy mode must not use it.
write_conf "api_upstream_url = http://127.0.0.1:$UP_API" "api_upstream_tenant_secret = $UP_SECRET" \
	"database_url = \"host=$T/nowhere dbname=none connect_timeout=1\""
trestled_start
like "$(grep -c 'proxy mode: forwarding to' "$T/trestle.log")" '^1$' "the API child says it is in proxy mode"

AUTH=(-H "Authorization: Bearer $(jwt_for proxy-user)")
tenant_v1
api_req POST /v1/sync/sessions "${AUTH[@]}" "${TENANT_HEADERS[@]}" -H "X-Correlation-ID: cid-proxy-1"
is "$HTTP_STATUS" 201 "POST /v1/sync/sessions through the proxy: 201"
is "$(http_header x-correlation-id)" cid-proxy-1 "the correlation id comes back once"
is "$(grep -c '^x-correlation-id:' <<<"${HTTP_HEADERS,,}")" 1 "exactly once"
SID=$(jq -r .id <<<"$HTTP_BODY")
EPOCH=$(jq -r .epoch <<<"$HTTP_BODY")
is "$(pg_sql "SELECT u.sub FROM trestle_sync_session s JOIN app_user u ON u.id = s.owner_id WHERE s.id = '$SID'")" \
	proxy-user "the session is in the upstream's database"
SYNC=(-H "X-Sync-Session: $SID" -H "X-Sync-Epoch: $EPOCH")

tenant_v1
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" \
	-H "Content-Type: application/json" --data-binary '{"title":"through the proxy"}'
is "$HTTP_STATUS" 201 "POST /v1/notes through the proxy: 201"
NUID=$(jq -r .uid <<<"$HTTP_BODY")
like "$(http_header content-type)" '^application/json' "with the upstream's content type"
tenant_v1
api_req GET "/v1/notes/$NUID" "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}"
is "$HTTP_STATUS $(jq -r '.payload.title' <<<"$HTTP_BODY")" "200 through the proxy" \
	"GET /v1/notes/{uid} through the proxy returns it"
is "$(pg_sql "SELECT n.payload_json->>'title' || '|' || u.sub FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.uid = '$NUID'")" \
	"through the proxy|proxy-user" "the note is in the upstream's database"
tenant_v1
api_req GET "/v1/notes/00000000-0000-4000-8000-000000000000" "${AUTH[@]}" "${SYNC[@]}" \
	"${TENANT_HEADERS[@]}"
is "$HTTP_STATUS" 404 "the upstream's 404 comes back as it is"

# The proxy's own checks: the client's tenant headers, against our secret.
tenant_v1 "$UP_SECRET"
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" \
	-H "Content-Type: application/json" --data-binary '{"title":"forged"}'
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" \
	"headers signed with another secret (even the upstream's) get 401 from the proxy"
BODY='{"title":"once"}'
tenant_v2 POST /v1/notes "$BODY" proxy-user
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" \
	-H "Content-Type: application/json" --data-binary "$BODY"
is "$HTTP_STATUS" 201 "version 2 headers are accepted by the proxy"
api_req POST /v1/notes "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}" \
	-H "Content-Type: application/json" --data-binary "$BODY"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "and their replay is refused"
is "$(pg_sql "SELECT count(*) FROM note")" 2 "two notes upstream, nothing forged or replayed"
tenant_v1
api_req POST /v1/notes -H "Authorization: Bearer not-a-token" "${SYNC[@]}" "${TENANT_HEADERS[@]}" \
	--data-binary '{}'
is "$HTTP_STATUS $HTTP_BODY" "401 unauthorized" "a bad token is passed through and refused upstream"
api_req GET /healthz
is "$HTTP_STATUS $HTTP_BODY" "200 ok" "/healthz is the proxy's own"

# An MCP tool call: worker (v2) -> proxy -> upstream (v1) -> PostgreSQL.
mcp_init || bail "MCP session"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"from MCP","content":"via proxy"}}}'
is "$(jq -c '[.result.isError, .result.structuredContent.payload.title]' <<<"$HTTP_JSON")" \
	'[false,"from MCP"]' "create_note through the worker and the proxy"
MUID=$(jq -r '.result.structuredContent.uid' <<<"$HTTP_JSON")
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_note","arguments":{"uid":"'"$MUID"'"}}}'
is "$(jq -c '[.result.isError, .result.structuredContent.uid]' <<<"$HTTP_JSON")" \
	"[false,\"$MUID\"]" "get_note finds it"
is "$(pg_sql "SELECT u.sub FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.uid = '$MUID'")" \
	user-a "the note is in the upstream's database, user-a's"

unlike "$(cat "$T/trestle.log")" 'db_pool|schema' "the proxy never touched a database"

# The upstream goes away: a clear 502, not a hang.
kill -TERM "$UP_PID"
wait_for -t 10 bash -c "! kill -0 $UP_PID 2>/dev/null"
tenant_v1
api_req GET "/v1/notes/$NUID" "${AUTH[@]}" "${SYNC[@]}" "${TENANT_HEADERS[@]}"
is "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "502 upstream API unavailable" \
	"with the upstream down: 502"

trestled_stop
check_logs_clean
done_testing
