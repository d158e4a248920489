#!/usr/bin/env bash
# The API child's own socket refuses requests whose tenant headers are forged,
# stale or missing, and writes nothing for them.
. "$(dirname "$0")/lib.sh"

# Every request as "mallory", with only the tenant headers it names.
API_SUB=mallory

pg_start
write_conf
trestled_start

now_ms=$(($(date +%s%N) / 1000000))
good_sig=$(tenant_sig "$TENANT_ID" "$now_ms" "$TENANT_SECRET")

api_req POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $good_sig"
is "$HTTP_STATUS" 201 "correctly signed tenant headers are accepted"

bad_sig=$(tenant_sig "$TENANT_ID" "$now_ms" "not-the-secret-at-all")
api_req POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $bad_sig"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a forged signature gets 401"

old_ms=$((now_ms - 301000))
api_req POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $old_ms" \
	-H "X-TB-Signature: $(tenant_sig "$TENANT_ID" "$old_ms" "$TENANT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a timestamp 301 s old gets 401"

api_req POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a missing signature gets 401"

api_req POST /v1/sync/sessions -H "X-TB-Tenant-ID: other-tenant" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $(tenant_sig other-tenant "$now_ms" "$TENANT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "another tenant's id gets 401"

api_req POST /v1/notes -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $bad_sig" -H "X-Sync-Epoch: 1" -d '{"title":"forged"}'
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a forged write gets 401"

is "$(pg_sql "SELECT count(*) FROM note")" 0 "no note was written"
is "$(pg_sql "SELECT count(*) FROM trestle_sync_session")" 1 "only the well-signed request opened a session"

trestled_stop
check_logs_clean
done_testing
