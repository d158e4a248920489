#!/usr/bin/env bash
# The MCP endpoint as an OAuth resource server: every way a bearer token can
# be wrong gets its exact status and WWW-Authenticate challenge; HS256,
# RS256 and ES256 tokens (keys from a JWKS, refreshed for an unknown kid),
# static keys, the clock-skew allowance, required scopes and email domains;
# the protected resource metadata; sessions bound to their subject; the
# audit log (one line per write call, no secret anywhere); dev_mode refused
# on a non-loopback listener.
. "$(dirname "$0")/lib.sh"

ISS=https://auth.example.test
RESOURCE=http://127.0.0.1:$PORT/mcp
META_URL=http://127.0.0.1:$PORT/.well-known/oauth-protected-resource/mcp
MCP_SECRET=$(_random_hex 24)
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"auth-test","version":"0"}}}'
CHALLENGE="Bearer resource_metadata=\"$META_URL\""
INVALID="$CHALLENGE, error=\"invalid_token\""

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
hex_to_b64url() { perl -e 'print pack("H*", shift)' "$1" | b64url; }

# claims SUB [JSON]: valid claims for SUB, with the members of JSON over them.
claims() {
	local extra=${2:-'{}'}

	jq -nc --arg sub "$1" --arg iss "$ISS" --arg aud "$RESOURCE" --argjson now "$(date +%s)" \
		--argjson extra "$extra" \
		'{sub: $sub, iss: $iss, aud: ["other", $aud], iat: $now, exp: ($now + 300),
		  scope: "openid notes", email: ($sub + "@example.com")} + $extra'
}

signing_input() {	# HEADER-JSON CLAIMS-JSON
	printf '%s.%s' "$(printf %s "$1" | b64url)" "$(printf %s "$2" | b64url)"
}

jwt_hs() {	# SECRET CLAIMS [HEADER]
	local input header=${3:-'{"alg":"HS256","typ":"JWT"}'}

	input=$(signing_input "$header" "$2")
	printf '%s.%s' "$input" "$(printf %s "$input" | openssl dgst -sha256 -hmac "$1" -binary | b64url)"
}

jwt_rs() {	# KEY KID CLAIMS
	local input

	input=$(signing_input "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"$2\"}" "$3")
	printf '%s.%s' "$input" "$(printf %s "$input" | openssl dgst -sha256 -sign "$T/$1.pem" -binary | b64url)"
}

# ES256 signatures are r||s, 32 bytes each; openssl writes a DER sequence.
jwt_es() {	# KEY KID CLAIMS
	local input raw= h

	input=$(signing_input "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"$2\"}" "$3")
	printf %s "$input" | openssl dgst -sha256 -sign "$T/$1.pem" -binary >"$T/sig.der"
	for h in $(openssl asn1parse -inform DER -in "$T/sig.der" | awk -F: '/INTEGER/ { print $NF }'); do
		h=${h#"${h%%[!0]*}"}
		raw+=$(printf '%64s' "$h" | tr ' ' 0)
	done
	printf '%s.%s' "$input" "$(hex_to_b64url "$raw")"
}

rsa_key() {	# NAME: $T/NAME.pem and its JWK in $T/NAME.jwk
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/$1.pem" 2>/dev/null
	printf '{"kty":"RSA","use":"sig","alg":"RS256","kid":"%s","n":"%s","e":"AQAB"}' "$1" \
		"$(hex_to_b64url "$(openssl rsa -in "$T/$1.pem" -noout -modulus | cut -d= -f2)")" >"$T/$1.jwk"
}

ec_key() {	# NAME
	local pub

	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.pem" 2>/dev/null
	pub=$(openssl pkey -in "$T/$1.pem" -pubout -outform DER | tail -c 64 | od -An -v -tx1 | tr -d ' \n')
	printf '{"kty":"EC","use":"sig","crv":"P-256","kid":"%s","x":"%s","y":"%s"}' "$1" \
		"$(hex_to_b64url "${pub:0:64}")" "$(hex_to_b64url "${pub:64:64}")" >"$T/$1.jwk"
}

jwks_of() {	# NAME...
	local sep= name

	{
		printf '{"keys":['
		for name in "$@"; do
			printf '%s%s' "$sep" "$(cat "$T/$name.jwk")"
			sep=,
		done
		printf ']}'
	} >"$T/jwks.json.new" && mv "$T/jwks.json.new" "$T/jwks.json"
}

# as TOKEN DESC STATUS [CHALLENGE]: initialize with TOKEN; exact status and challenge.
as() {
	local token=$1 desc=$2 status=$3 challenge=${4-}

	TOKEN=$token mcp_post "" "$INIT"
	is "$HTTP_STATUS|$(http_header www-authenticate)" "$status|$challenge" "$desc"
}

rsa_key k1
rsa_key k2
ec_key e1
jwks_of k1 e1
pg_start
write_conf "mcp_resource_url = $RESOURCE" "mcp_jwt_issuer = $ISS" "mcp_jwt_secret = $MCP_SECRET" \
	"mcp_jwks_url = file://$T/jwks.json" "mcp_required_scopes = notes" \
	"mcp_allowed_email_domains = example.com, example.org" "audit_log_file = $T/audit.log" \
	"mcp_jwt_leeway_sec = 60"
trestled_start
ok "the workers load the JWKS at start" wait_for grep -q '"role":"worker".*jwks: 2 signing key(s) loaded' "$T/trestle.log"

# The metadata, without a token.
for path in /.well-known/oauth-protected-resource /.well-known/oauth-protected-resource/mcp; do
	status=$(curl -sS -o "$T/meta" -D "$T/meta.h" -w '%{http_code}' "http://127.0.0.1:$PORT$path")
	is "$status|$(jq -c . "$T/meta")" \
		"200|{\"resource\":\"$RESOURCE\",\"authorization_servers\":[\"$ISS\"],\"scopes_supported\":[\"notes\"],\"bearer_methods_supported\":[\"header\"],\"resource_name\":\"trestle\"}" \
		"GET $path: the protected resource metadata"
done
like "$(tr -d '\r' <"$T/meta.h")" $'\n[Cc]ontent-[Tt]ype: application/json' "as JSON"
status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/.well-known/oauth-protected-resource")
is "$status" 405 "POST to the metadata: 405"

# Refused: 401, with error="invalid_token" whenever a token was sent.
TOKEN= mcp_post "" "$INIT" -H "Authorization:"
is "$HTTP_STATUS|$(http_header www-authenticate)" "401|$CHALLENGE" "no Authorization header: 401, resource_metadata only"
TOKEN= mcp_post "" "$INIT" -H "Authorization: Basic dXNlcjpwYXNz"
is "$HTTP_STATUS|$(http_header www-authenticate)" "401|$CHALLENGE" "another scheme counts as no token"
as "trd_not_a_key" "an unknown static key: 401 invalid_token" 401 "$INVALID"
as "$(jwt_hs "wrong-secret-$MCP_SECRET" "$(claims hs-user)")" "a bad HS256 signature" 401 "$INVALID"
as "$(jwt_rs k2 k1 "$(claims rs-user)")" "a bad RS256 signature (another key, same kid)" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"exp":'$(($(date +%s) - 120))'}')")" \
	"expired beyond the 60 s leeway" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"nbf":'$(($(date +%s) + 600))'}')")" \
	"not yet valid beyond the leeway" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"aud":"http://127.0.0.1:1/mcp"}')")" \
	"the wrong audience" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"aud":["a","b"]}')")" \
	"an audience list without this server" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"iss":"https://evil.example"}')")" \
	"the wrong issuer" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"iss":null}')")" "no issuer" 401 "$INVALID"
as "$(signing_input '{"alg":"none","typ":"JWT"}' "$(claims hs-user)")." "alg none" 401 "$INVALID"
as "$(signing_input '{"alg":"none","typ":"JWT","kid":"k1"}' "$(claims hs-user)").$(printf x | b64url)" \
	"alg none with a kid and a signature" 401 "$INVALID"
openssl pkey -in "$T/k1.pem" -pubout -out "$T/k1.pub" 2>/dev/null
as "$(jwt_hs "$(cat "$T/k1.pub")" "$(claims mallory)" '{"alg":"HS256","typ":"JWT","kid":"k1"}')" \
	"HS/RS confusion: HS256 keyed with the RSA public key" 401 "$INVALID"
as "$(jwt_rs k1 e1 "$(claims mallory)")" "RS256 naming the EC key" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims "bad user")")" "a subject with a space" 401 "$INVALID"
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user)").x" "a token of four parts" 401 "$INVALID"

# Accepted.
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user)")" "a valid HS256 token: 200" 200
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"exp":'$(($(date +%s) - 20))'}')")" \
	"expired 20 s ago: within the leeway" 200
as "$(jwt_rs k1 k1 "$(claims rs-user)")" "a valid RS256 token: 200" 200
as "$(jwt_es e1 e1 "$(claims es-user '{"aud":"'"$RESOURCE"'","scp":["notes"],"scope":null}')")" \
	"a valid ES256 token (aud a string, scp a list): 200" 200
as "$TOKEN" "a static key: 200" 200

# An unknown kid makes the worker fetch the JWKS again, once.
jwks_of k1 e1 k2
as "$(jwt_rs k2 k2 "$(claims rs-user-2)")" "a key added to the JWKS after start: fetched again, 200" 200
as "$(jwt_rs k2 k9 "$(claims rs-user-2)")" "an unknown kid: 401" 401 "$INVALID"

# Valid tokens that do not grant enough: 403.
as "$(jwt_hs "$MCP_SECRET" "$(claims hs-user '{"scope":"openid"}')")" "without the required scope: 403" \
	403 "Bearer error=\"insufficient_scope\", scope=\"notes\", resource_metadata=\"$META_URL\""
as "$(jwt_hs "$MCP_SECRET" "$(claims eve '{"email":"eve@evil.example"}')")" \
	"an email domain not on the list: 403" 403 "$CHALLENGE"
as "$(jwt_hs "$MCP_SECRET" "$(claims eve '{"email":"eve@example.org","email_verified":false}')")" \
	"an unverified email: 403" 403 "$CHALLENGE"
as "$(jwt_hs "$MCP_SECRET" "$(claims gsuite '{"email":null,"hd":"example.org"}')")" \
	"a listed hosted domain (hd): 200" 200

# A session is bound to the subject it was issued to.
HS=$(jwt_hs "$MCP_SECRET" "$(claims hs-user)")
TOKEN=$HS mcp_init || bail "an MCP session for hs-user"
HS_SESSION=$SESSION
TOKEN=$(jwt_rs k1 k1 "$(claims rs-user)") mcp_post "$HS_SESSION" '{"jsonrpc":"2.0","id":2,"method":"ping"}'
is "$HTTP_STATUS" 404 "hs-user's session is unknown to rs-user"
TOKEN=$HS mcp_post "$HS_SESSION" '{"jsonrpc":"2.0","id":2,"method":"ping"}'
is "$HTTP_STATUS" 200 "and works for hs-user"
mcp_post "$HS_SESSION" '{"jsonrpc":"2.0","id":2,"method":"ping"}' -H "Authorization: Bearer trd_wrong"
is "$HTTP_STATUS|$(http_header www-authenticate)" "401|$INVALID" "a session id is no credential: a bad token with it gets 401"

# Audit: one line per write call, whatever its outcome; none for reads.
call() {	# NAME ARGS-JSON
	TOKEN=$HS mcp_post "$HS_SESSION" "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":$2}}"
}
call create_note '{"title":"audited","content":"x"}'
UID_A=$(jq -r .result.structuredContent.uid <<<"$HTTP_JSON")
is "$(jq -r .result.structuredContent.version <<<"$HTTP_JSON")" 1 "create_note as hs-user"
call update_note "{\"uid\":\"$UID_A\",\"title\":\"t2\",\"content\":\"y\",\"if_match\":1}"
is "$(jq -r .result.structuredContent.version <<<"$HTTP_JSON")" 2 "update_note with if_match 1"
call update_note "{\"uid\":\"$UID_A\",\"title\":\"t3\",\"content\":\"z\",\"if_match\":1}"
like "$(jq -r '.result.isError, .result.content[0].text' <<<"$HTTP_JSON")" "^true.*now at version 2" \
	"update_note with a stale if_match: isError naming the current version"
call create_note '{"content":"no title"}'
is "$(jq -r .result.isError <<<"$HTTP_JSON")" true "create_note without a title"
call get_note "{\"uid\":\"$UID_A\"}"
call list_notes '{}'
call delete_note "{\"uid\":\"$UID_A\"}"
is "$(jq -r .result.structuredContent.uid <<<"$HTTP_JSON")" "$UID_A" "delete_note"
ok "the audit log has its lines" wait_for test "$(wc -l <"$T/audit.log" 2>/dev/null)" -ge 5
is "$(jq -c '[.type, .subject, .tool, .uid, .outcome, .status]' "$T/audit.log" | tr '\n' ' ')" \
	"[\"audit\",\"hs-user\",\"create_note\",\"$UID_A\",\"ok\",201] [\"audit\",\"hs-user\",\"update_note\",\"$UID_A\",\"ok\",200] [\"audit\",\"hs-user\",\"update_note\",\"$UID_A\",\"refused\",412] [\"audit\",\"hs-user\",\"create_note\",null,\"invalid_arguments\",0] [\"audit\",\"hs-user\",\"delete_note\",\"$UID_A\",\"ok\",200] " \
	"exactly one audit line per write call (5), none for get and list"
is "$(jq -r 'select((.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and (.correlation_id | test("^[0-9a-f-]{36}$"))) | .tool' "$T/audit.log" | wc -l)" 5 \
	"each with its time and correlation id"
is "$(grep -c '"type":"audit"' "$T/trestle.log")" 0 "with audit_log_file set, the main log has no audit line"
leaks=
for secret in "$HS" "$TOKEN" "$TOKEN_B" "$MCP_SECRET" "$JWT_SECRET" "$TENANT_SECRET"; do
	grep -qF -- "$secret" "$T/audit.log" "$T/trestle.log" "$T/trestled.out" && leaks+=" ${secret:0:12}…"
done
is "$leaks" "" "no token or secret in the audit log or the main log"
is "$(pg_sql "SELECT string_agg(sub, ',' ORDER BY sub) FROM app_user")" "hs-user" \
	"the API child knows the user by subject only"

trestled_stop
check_logs_clean

# Without audit_log_file the lines go to the main log, marked as audit lines.
write_conf
trestled_start
mcp_init || bail "an MCP session"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_task","arguments":{"title":"t"}}}'
ok "an audit line in the main log" wait_for grep -q '"type":"audit".*"subject":"user-a","tool":"create_task"' "$T/trestle.log"
is "$(grep -c '"type":"audit"' "$T/trestle.log")" 1 "exactly one"
TOKEN=trd_wrong mcp_post "" "$INIT"
is "$HTTP_STATUS|$(http_header www-authenticate)" \
	"401|Bearer resource_metadata=\"http://127.0.0.1:$PORT/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\"" \
	"without mcp_resource_url the challenge names the Host's URL"
TOKEN=$(jwt_hs "$JWT_SECRET" "$(claims user-a)") mcp_post "" "$INIT"
is "$HTTP_STATUS" 401 "without mcp_jwt_secret no JWT is accepted, even one signed with the API's secret"
trestled_stop
check_logs_clean

# dev_mode serves loopback addresses only.
write_conf "dev_mode = on" "listen = 0.0.0.0:$PORT"
"$TRESTLED" -t -c "$T/trestle.conf" >"$T/check.out" 2>&1
is "$?" 78 "dev_mode with listen 0.0.0.0 is a configuration error (78)"
like "$(cat "$T/check.out")" "dev_mode: refused with listen = 0.0.0.0:$PORT" "naming the key"
write_conf "dev_mode = on" "listen = [::1]:$PORT"
"$TRESTLED" -t -c "$T/trestle.conf" >"$T/check.out" 2>&1
is "$?" 0 "dev_mode with listen [::1] is accepted"
write_conf "mcp_jwt_secret = $MCP_SECRET"
"$TRESTLED" -t -c "$T/trestle.conf" >"$T/check.out" 2>&1
like "$(cat "$T/check.out")" "mcp_jwt_issuer: required.*"$'\n'".*mcp_resource_url: required" \
	"client JWTs need an issuer and the resource URL"
done_testing
