#!/usr/bin/env bash
# Credentials that are not what they claim: tenant headers (v1) forged in the
# ways the contract's checks must catch; user JWTs of the API child wrong in
# issuer, audience, algorithm or claim types; token passthrough in both
# directions (the client's token is no credential at the API child, the
# API's kind of token none at the MCP endpoint, and tool calls work only
# because the worker uses credentials of its own); headers smuggled through
# the MCP endpoint to choose another user; repeated Authorization headers.
# Each is refused with the documented answer (401 "Unauthorized: invalid
# tenant headers", 401 "unauthorized", 401 with error="invalid_token", 400
# with error="invalid_request"), and no row changes.
#
# Covered elsewhere, not repeated here:
#   forged_tenant.sh	a forged v1 signature, a timestamp 301 s old, a missing signature,
#			another tenant's id
#   tenant_v2.sh	v2: replayed, another body/path/method/query/user, 31 s old, another tenant
#   api_security.sh	API JWTs: bad signature, expired, alg none, no subject, another token's signature
#   jwks.sh		API JWTs: RS256 bad signature, wrong issuer/audience, nbf, alg none,
#			HS256 keyed with the RSA public key (HS/RS confusion)
#   mcp_auth.sh		MCP tokens: alg none, HS/RS confusion, bad signature, expired, wrong
#			audience and issuer, scopes, email domains, unknown kid
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"

ISS=https://auth.example.test
RESOURCE=http://127.0.0.1:$PORT/mcp
API_ISS=https://api-issuer.example.test
API_AUD=trestle-api
MCP_SECRET=mcp-$(_random_hex 24)
REFUSED_TENANT="401 Unauthorized: invalid tenant headers"
REFUSED_USER="401 unauthorized"
META="http://127.0.0.1:$PORT/.well-known/oauth-protected-resource/mcp"
INVALID_TOKEN="Bearer resource_metadata=\"$META\", error=\"invalid_token\""

jwt() {	# jwt SECRET CLAIMS-JSON [HEADER-JSON] [HMAC]: a signed token
	local input header=${3:-'{"alg":"HS256","typ":"JWT"}'}

	input=$(printf %s "$header" | b64url).$(printf %s "$2" | b64url)
	printf '%s.%s' "$input" "$(printf %s "$input" | openssl dgst "-${4:-sha256}" -hmac "$1" -binary | b64url)"
}
claims() {	# claims SUB ISS AUD [EXTRA-JSON]
	jq -nc --arg sub "$1" --arg iss "$2" --arg aud "$3" --argjson now "$(date +%s)" \
		--argjson extra "${4:-null}" '{sub: $sub, iss: $iss, aud: $aud, exp: ($now + 300)} + ($extra // {})'
}
api_token() { jwt "$JWT_SECRET" "$(claims "$1" "$API_ISS" "$API_AUD" "${2:-null}")"; }

pg_start
write_conf "workers = 1" "mcp_rate_limit_per_minute = 0" "api_rate_limit_per_minute = 0" \
	"jwt_issuer = $API_ISS" "jwt_audience = $API_AUD" \
	"mcp_jwt_secret = $MCP_SECRET" "mcp_jwt_issuer = $ISS" "mcp_resource_url = $RESOURCE"
trestled_start
mcp_init || bail "no MCP session"
tool_call create_note '{"title":"of user-a","content":"x"}'
is "$(tool_error)" false "user-a writes a note through a worker (API tokens with iss and aud)"
API_SUB=
as_user() { API_SUB= api_req "$@" -H "Authorization: Bearer $(api_token user-a)"; }
as_user POST /v1/sync/sessions
is "$HTTP_STATUS" 201 "an API token with the configured iss and aud opens a session"
SESSION_ID=$(jq -r .id <<<"$HTTP_BODY")
db_mark

#
# Tenant headers, version 1
#
v1() {	# v1 TIMESTAMP SIGNATURE [TENANT]: POST a note with these tenant headers
	as_user POST /v1/notes -H "X-TB-Tenant-ID: ${3:-$TENANT_ID}" -H "X-TB-Timestamp: $1" \
		-H "X-TB-Signature: $2" -H "X-Sync-Session: $SESSION_ID" -H "X-Sync-Epoch: 1" \
		--data-binary '{"title":"forged"}'
}
now=$(now_ms)
good=$(tenant_sig "$TENANT_ID" "$now" "$TENANT_SECRET")
v1 "$now" "$good"
is "$HTTP_STATUS" 201 "a good v1 signature works (the control)"
db_mark
now=$(now_ms)
for case in "over 300 s in the future|$((now + 305000))" "in seconds, not milliseconds|$((now / 1000))" \
	"not a number|${now}abc" "negative|-$now" "empty|" "with a fraction|$now.5" "hex|0x$(printf %x "$now")"; do
	ts=${case#*|}
	v1 "$ts" "$(tenant_sig "$TENANT_ID" "$ts" "$TENANT_SECRET")"
	is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "timestamp ${case%%|*}, correctly signed: 401"
done
v1 "$now" "${good^^}"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "the signature in upper-case hex: 401"
v1 "$now" "${good:0:63}"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "the signature one digit short: 401"
v1 "$now" "sha256=$good"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "the signature with a prefix: 401"
v1 "$now" "$(printf '%s:%s' "$TENANT_ID" "$now" | openssl dgst -sha256 -hmac "$TENANT_SECRET" -binary | b64url)"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "the signature in base64url: 401"
v1 "$now" "$(tenant_sig "$TENANT_ID" "$((now + 1))" "$TENANT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "the signature of another timestamp: 401"
v1 "$now" "$(tenant_sig "other-tenant" "$now" "$TENANT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "the signature of another tenant id, sent with ours: 401"
v1 "$now" "$(tenant_sig "$TENANT_ID" "$now" "$JWT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "signed with the JWT secret instead: 401"
v1 "$now" "$(tenant_sig "$TENANT_ID:$now" "" "$TENANT_SECRET")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_TENANT" "a signature over another split of the message: 401"

#
# The API child's user tokens, with iss and aud configured
#
for case in "the wrong issuer|$(jwt "$JWT_SECRET" "$(claims user-a https://evil.example "$API_AUD")")" \
	"no issuer|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD" '{"iss":null}')")" \
	"the wrong audience|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" other-api)")" \
	"no audience|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD" '{"aud":null}')")" \
	"the MCP endpoint as audience|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$RESOURCE")")" \
	"exp as a string|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD" '{"exp":"9999999999"}')")" \
	"sub a number|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD" '{"sub":42}')")" \
	"sub empty|$(jwt "$JWT_SECRET" "$(claims "" "$API_ISS" "$API_AUD")")" \
	"nbf in the future|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD" '{"nbf":9999999999}')")" \
	"alg HS256 but an HS512 signature|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD")" '{"alg":"HS256"}' sha512)" \
	"alg hs256 in lower case|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD")" '{"alg":"hs256"}')" \
	"alg RS256 with an HMAC signature|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD")" '{"alg":"RS256","kid":"x"}')" \
	"alg none|$(printf '{"alg":"none"}' | b64url).$(claims user-a "$API_ISS" "$API_AUD" | b64url)." \
	"no alg|$(jwt "$JWT_SECRET" "$(claims user-a "$API_ISS" "$API_AUD")" '{"typ":"JWT"}')"; do
	API_SUB= API_SESSION=$SESSION_ID API_EPOCH=1 api_req POST /v1/notes \
		-H "Authorization: Bearer ${case#*|}" --data-binary '{"title":"forged"}'
	is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_USER" "an API token with ${case%%|*}: 401"
done

#
# Token passthrough, both ways
#
MCP_TOKEN=$(jwt "$MCP_SECRET" "$(claims jwt-user "$ISS" "$RESOURCE")")
API_SUB= api_req POST /v1/sync/sessions -H "Authorization: Bearer $MCP_TOKEN"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_USER" "the client's MCP token at the API child: 401"
API_SUB= api_req POST /v1/sync/sessions -H "Authorization: Bearer $TOKEN"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_USER" "a client's static key at the API child: 401"
API_SUB= api_req POST /v1/sync/sessions -H "Authorization: Bearer $(jwt "$MCP_SECRET" "$(claims jwt-user "$API_ISS" "$API_AUD")")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED_USER" "an API-shaped token signed with the MCP secret: 401"
for case in "the API's own kind of token (its secret, iss, aud)|$(api_token user-a)" \
	"one signed with the API's secret for the MCP audience|$(jwt "$JWT_SECRET" "$(claims user-a "$ISS" "$RESOURCE")")" \
	"one signed with the MCP secret for the API audience|$(jwt "$MCP_SECRET" "$(claims user-a "$ISS" "$API_AUD")")" \
	"the tenant secret as a token|$TENANT_SECRET"; do
	TOKEN=${case#*|} mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"ping"}'
	is "$HTTP_STATUS|$(http_header www-authenticate)" "401|$INVALID_TOKEN" "${case%%|*} at the MCP endpoint: 401"
done

#
# Repeated and smuggled headers at the MCP endpoint
#
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"ping"}' -H "Authorization: Bearer $TOKEN" \
	-H "Authorization: Bearer $TOKEN_B"
is "$HTTP_STATUS|$(http_header www-authenticate)" \
	"400|Bearer resource_metadata=\"$META\", error=\"invalid_request\"" \
	"two Authorization headers (two users): 400 invalid_request"
is "$(jq -r .error.message <<<"$HTTP_BODY")" "Bad Request: send one Authorization header" "saying why"
db_unchanged "no refused credential changed a row"

# The client's own headers never reach the API child: the note is user-a's, whatever they say.
API_SUB= api_req POST /v1/sync/sessions -H "Authorization: Bearer $(api_token user-b)"
is "$HTTP_STATUS" 201 "user-b has a sync session of the API child"
tool_call create_note '{"title":"smuggled","content":"x"}' -H "X-TB-User: user-b" -H "X-Debug-Sub: user-b" \
	-H "X-Sync-Session: $(jq -r .id <<<"$HTTP_BODY")" -H "X-TB-Tenant-ID: other-tenant" -H "X-Sync-Epoch: 99" \
	-H "X-TB-Signature: $(_random_hex 32)" -H "X-Forwarded-For: 10.0.0.1"
is "$(tool_error)" false "a tool call with smuggled user, session, tenant and epoch headers works"
is "$(pg_sql "SELECT u.sub FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.payload_json->>'title' = 'smuggled'")" \
	user-a "and writes as the token's user, user-a"
TOKEN=$MCP_TOKEN mcp_init || bail "an MCP session with a JWT"
TOKEN=$MCP_TOKEN tool_call create_note '{"title":"by jwt-user","content":"x"}'
is "$(tool_error)" false "a tool call with the client's JWT works (the worker calls the API child as itself)"
is "$(pg_sql "SELECT u.sub FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.payload_json->>'title' = 'by jwt-user'")" \
	jwt-user "as the JWT's subject"
trestled_stop
check_logs_clean
done_testing
