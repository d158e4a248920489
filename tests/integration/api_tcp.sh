#!/usr/bin/env bash
# The API child's optional TCP listener (api_listen).  With
# api_tcp_require_tenant off and dev_mode on, a request with X-Debug-Sub and no
# tenant headers works over TCP and is refused on the Unix socket; tenant
# headers that are sent are still verified.  With the defaults (tenant headers
# required, dev_mode off) TCP is as strict as the socket.
. "$(dirname "$0")/lib.sh"

# Raw requests: only the headers each one names.
API_SUB=
API_TENANT=none

pg_start
APORT=$(free_port) || bail "no free port for the API"
while [ "$APORT" = "$PORT" ]; do APORT=$(free_port); done
write_conf "api_listen = 127.0.0.1:$APORT" "api_tcp_require_tenant = off" "dev_mode = on"
trestled_start
wait_for curl -so /dev/null "http://127.0.0.1:$APORT/healthz" || bail "the API child listens on TCP"

API_TCP=127.0.0.1:$APORT api_req POST /v1/sync/sessions -H "X-Debug-Sub: tcp-user"
is "$HTTP_STATUS" 201 "over TCP: X-Debug-Sub and no tenant headers open a session"
SID=$(jq -r .id <<<"$HTTP_BODY")
is "$(pg_sql "SELECT u.sub FROM trestle_sync_session s JOIN app_user u ON u.id = s.owner_id WHERE s.id = '$SID'")" \
	tcp-user "the session is in PostgreSQL, owned by the debug subject"
like "$(http_header x-correlation-id)" '^[0-9a-f-]{36}$' "with a correlation id"

api_req POST /v1/sync/sessions -H "X-Debug-Sub: tcp-user"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" \
	"the same request on the Unix socket is refused"

API_TCP=127.0.0.1:$APORT api_req POST /v1/sync/sessions -H "X-Debug-Sub: tcp-user" \
	-H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $(now_ms)" -H "X-TB-Signature: forged"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" \
	"over TCP, tenant headers that are sent are verified"
tenant_v1
API_TCP=127.0.0.1:$APORT api_req POST /v1/sync/sessions -H "X-Debug-Sub: tcp-user" \
	"${TENANT_HEADERS[@]}"
is "$HTTP_STATUS" 201 "over TCP, good tenant headers pass"
API_TCP=127.0.0.1:$APORT api_req POST /v1/sync/sessions
is "$HTTP_STATUS $HTTP_BODY" "401 unauthorized" "over TCP, no user at all: 401"
is "$(pg_sql "SELECT count(*) FROM trestle_sync_session")" 2 "two sessions, no more"
trestled_stop

# The defaults: tenant headers required on TCP too, and no X-Debug-Sub.
write_conf "api_listen = 127.0.0.1:$APORT"
trestled_start
wait_for curl -so /dev/null "http://127.0.0.1:$APORT/healthz" || bail "the API child listens on TCP"
API_TCP=127.0.0.1:$APORT api_req POST /v1/sync/sessions \
	-H "Authorization: Bearer $(jwt_for tcp-user)"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" \
	"api_tcp_require_tenant on: TCP without tenant headers is refused"
tenant_v1
API_TCP=127.0.0.1:$APORT api_req POST /v1/sync/sessions \
	-H "Authorization: Bearer $(jwt_for tcp-user)" "${TENANT_HEADERS[@]}"
is "$HTTP_STATUS" 201 "with a token and tenant headers TCP works"
API_TCP=127.0.0.1:$APORT api_req POST /v1/sync/sessions -H "X-Debug-Sub: tcp-user" \
	"${TENANT_HEADERS[@]}"
is "$HTTP_STATUS $HTTP_BODY" "401 unauthorized" "outside dev_mode X-Debug-Sub is ignored"
is "$(pg_sql "SELECT count(*) FROM trestle_sync_session")" 3 "one more session"
trestled_stop

write_conf
trestled_start
ok "api_listen empty (the default): nothing listens on TCP" \
	bash -c "! curl -so /dev/null --max-time 2 http://127.0.0.1:$APORT/healthz"
trestled_stop
check_logs_clean
done_testing
