#!/usr/bin/env bash
# RS256 user tokens end to end: the API child fetches its JWKS (a file:// URL,
# no server needed), checks iss and aud, refreshes once for an unknown kid
# (the request waits for the fetch), and refuses alg none and an HS256 token
# keyed with the RSA public key.  The workers' own backend tokens carry the
# configured iss and aud, so MCP tool calls keep working.
. "$(dirname "$0")/lib.sh"

ISS=https://issuer.example
AUD=trestle-api

new_key() {	# NAME: $T/NAME.pem, and its JWK in $T/NAME.jwk
	local hex

	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/$1.pem" 2>/dev/null
	hex=$(openssl rsa -in "$T/$1.pem" -noout -modulus | cut -d= -f2)
	printf '{"kty":"RSA","use":"sig","alg":"RS256","kid":"%s","n":"%s","e":"AQAB"}' "$1" \
		"$(perl -e 'print pack("H*", shift)' "$hex" | b64url)" >"$T/$1.jwk"
}

jwks_of() {	# NAME...: the JWKS document of these keys in $T/jwks.json
	local sep= name

	{
		printf '{"keys":['
		for name in "$@"; do
			printf '%s%s' "$sep" "$(cat "$T/$name.jwk")"
			sep=,
		done
		printf ']}'
	} >"$T/jwks.json"
}

jwt_rs() {	# KEY KID CLAIMS-JSON [ALG]
	local header claims sig

	header=$(printf '{"alg":"%s","typ":"JWT","kid":"%s"}' "${4:-RS256}" "$2" | b64url)
	claims=$(printf %s "$3" | b64url)
	sig=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$T/$1.pem" -binary |
		b64url)
	printf '%s.%s.%s' "$header" "$claims" "$sig"
}

claims() {	# SUB [EXTRA]
	printf '{"sub":"%s","iss":"%s","aud":["other","%s"],"exp":%d%s}' "$1" "$ISS" "$AUD" \
		$(($(date +%s) + 300)) "${2:-}"
}

session_as() {	# TOKEN: POST /v1/sync/sessions with it and good v1 tenant headers
	tenant_v1
	api_req POST /v1/sync/sessions -H "Authorization: Bearer $1" "${TENANT_HEADERS[@]}"
}

REFUSED="401 unauthorized"
new_key k1
new_key k2
jwks_of k1
pg_start
write_conf "jwks_url = file://$T/jwks.json" "jwt_issuer = $ISS" "jwt_audience = $AUD"
trestled_start
wait_for grep -q 'jwks: 1 signing key(s) loaded' "$T/trestle.log" || fail "the JWKS is loaded at start"

session_as "$(jwt_rs k1 k1 "$(claims rs-user)")"
is "$HTTP_STATUS" 201 "a valid RS256 token opens a session"
is "$(pg_sql "SELECT count(*) FROM app_user WHERE sub = 'rs-user'")" 1 "its subject is the user"

session_as "$(jwt_rs k1 k1 "$(claims rs-user)" | sed 's/.....$/AAAAA/')"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "a bad signature: 401"
session_as "$(jwt_rs k1 k1 "{\"sub\":\"x\",\"iss\":\"https://evil.example\",\"aud\":\"$AUD\"}")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "the wrong issuer: 401"
session_as "$(jwt_rs k1 k1 "{\"sub\":\"x\",\"iss\":\"$ISS\",\"aud\":[\"a\",\"b\"]}")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "an audience array without ours: 401"
session_as "$(jwt_rs k1 k1 "$(claims x ',"nbf":9999999999')")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "nbf in the future: 401"
session_as "$(printf '{"alg":"none","kid":"k1"}' | b64url).$(claims x | b64url)."
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "alg none: 401"
header=$(printf '{"alg":"HS256","kid":"k1"}' | b64url)
body=$(claims mallory | b64url)
openssl pkey -in "$T/k1.pem" -pubout -out "$T/k1.pub" 2>/dev/null
sig=$(printf '%s.%s' "$header" "$body" | openssl dgst -sha256 -hmac "$(cat "$T/k1.pub")" -binary | b64url)
session_as "$header.$body.$sig"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "HS256 keyed with the RSA public key: 401"
session_as "$(jwt_for hs-user)"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "an HS256 token without the configured iss/aud: 401"
session_as "$(jwt_for hs-user ",\"iss\":\"$ISS\",\"aud\":\"$AUD\"")"
is "$HTTP_STATUS" 201 "an HS256 token with them: 201"

# Key rotation: a token signed by a key the cached set lacks forces one refresh.
jwks_of k1 k2
session_as "$(jwt_rs k2 k2 "$(claims rotated-user)")"
is "$HTTP_STATUS" 201 "a token of a new key: the request waits for a refresh, then passes"
is "$(grep -c 'jwks: 2 signing key(s) loaded' "$T/trestle.log")" 1 "the set was fetched again, once"
session_as "$(jwt_rs k2 k3 "$(claims x)")"
is "$HTTP_STATUS $HTTP_BODY" "$REFUSED" "another unknown kid within the minute: 401"
is "$(grep -c 'signing key(s) loaded' "$T/trestle.log")" 2 "without another fetch"
is "$(pg_sql "SELECT count(*) FROM app_user WHERE sub IN ('x', 'mallory')")" 0 \
	"no refused subject reached the database"

# The workers mint their backend tokens with the configured iss and aud.
mcp_init || bail "MCP session"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"with iss and aud","content":"x"}}}'
is "$(jq -c '.result.isError' <<<"$HTTP_JSON")" false "an MCP tool call still works"
is "$(pg_sql "SELECT u.sub FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.payload_json->>'title' = 'with iss and aud'")" \
	user-a "its note is user-a's"

trestled_stop
check_logs_clean
done_testing
