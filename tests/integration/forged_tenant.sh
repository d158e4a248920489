#!/usr/bin/env bash
# The API child's own socket refuses requests whose tenant headers are forged,
# stale or missing, and writes nothing for them.
. "$(dirname "$0")/lib.sh"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# An HS256 token for subject $1, signed with the deployment's JWT secret.
jwt_for() {
	local header claims sig
	header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
	claims=$(printf '{"sub":"%s","exp":%d}' "$1" $(($(date +%s) + 300)) | b64url)
	sig=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -hmac "$JWT_SECRET" -binary | b64url)
	printf '%s.%s.%s' "$header" "$claims" "$sig"
}

tenant_sig() {	# tenant timestamp secret
	printf '%s:%s' "$1" "$2" | openssl dgst -sha256 -hmac "$3" -r | cut -d' ' -f1
}

# api METHOD PATH [CURL-ARG...]: a request straight to the API child's socket.
api() {
	local method=$1 path=$2
	shift 2
	HTTP_STATUS=$(curl -sS --max-time 5 -o "$T/.api_body" -w '%{http_code}' --unix-socket "$API_SOCK" \
		-X "$method" -H "Authorization: Bearer $(jwt_for mallory)" "$@" "http://api$path")
	HTTP_BODY=$(cat "$T/.api_body")
}

pg_start
write_conf
trestled_start

now_ms=$(($(date +%s%N) / 1000000))
good_sig=$(tenant_sig "$TENANT_ID" "$now_ms" "$TENANT_SECRET")

api POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $good_sig"
is "$HTTP_STATUS" 201 "correctly signed tenant headers are accepted"

bad_sig=$(tenant_sig "$TENANT_ID" "$now_ms" "not-the-secret-at-all")
api POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $bad_sig"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a forged signature gets 401"

old_ms=$((now_ms - 301000))
api POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $old_ms" \
	-H "X-TB-Signature: $(tenant_sig "$TENANT_ID" "$old_ms" "$TENANT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a timestamp 301 s old gets 401"

api POST /v1/sync/sessions -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a missing signature gets 401"

api POST /v1/sync/sessions -H "X-TB-Tenant-ID: other-tenant" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $(tenant_sig other-tenant "$now_ms" "$TENANT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "another tenant's id gets 401"

api POST /v1/notes -H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now_ms" \
	-H "X-TB-Signature: $bad_sig" -H "X-Sync-Epoch: 1" -d '{"title":"forged"}'
is "$HTTP_STATUS $HTTP_BODY" "401 Unauthorized: invalid tenant headers" "a forged write gets 401"

is "$(pg_sql "SELECT count(*) FROM note")" 0 "no note was written"
is "$(pg_sql "SELECT count(*) FROM trestle_sync_session")" 1 "only the well-signed request opened a session"

trestled_stop
check_logs_clean
done_testing
