# Helpers of the tests that speak to the API child itself (sourced after lib.sh):
# tokens, tenant headers of both versions, and a curl to its Unix socket or TCP.
#
#	jwt_hs SUB [CLAIMS]		HS256 token with $JWT_SECRET (CLAIMS: ',"aud":"x"' …)
#	tenant_v1 [SECRET]		TENANT_HEADERS: version 1, signed now
#	tenant_v2 METHOD PATH BODY USER [TS_MS] [NONCE]
#					TENANT_HEADERS: version 2, as a worker signs them
#	api_call METHOD PATH [CURL-ARG...]
#					to $API_SOCK, or to http://$API_TCP when set; sets
#					HTTP_STATUS, HTTP_BODY, HTTP_HEADERS
# shellcheck shell=bash disable=SC2034

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

jwt_hs() {
	local header claims sig

	header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
	claims=$(printf '{"sub":"%s","exp":%d%s}' "$1" $(($(date +%s) + 300)) "${2:-}" | b64url)
	sig=$(printf '%s.%s' "$header" "$claims" |
		openssl dgst -sha256 -hmac "$JWT_SECRET" -binary | b64url)
	printf '%s.%s.%s' "$header" "$claims" "$sig"
}

tenant_v1() {
	local ts sig secret=${1:-$TENANT_SECRET}

	ts=$(now_ms)
	sig=$(printf '%s:%s' "$TENANT_ID" "$ts" | openssl dgst -sha256 -hmac "$secret" -r |
		cut -d' ' -f1)
	TENANT_HEADERS=(-H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $ts"
		-H "X-TB-Signature: $sig")
}

tenant_v2() {
	local method=$1 path=$2 body=$3 user=$4 ts=${5:-$(now_ms)} nonce=${6:-$(_random_hex 16)}
	local digest sig

	digest=$(printf %s "$body" | sha256sum | cut -d' ' -f1)
	sig=$(printf 'v2\n%s\n%s\n%s\n%s\n%s\n%s\n%s' "$TENANT_ID" "$ts" "$nonce" "$method" \
		"$path" "$digest" "$user" | openssl dgst -sha256 -hmac "$TENANT_SECRET" -r |
		cut -d' ' -f1)
	TENANT_HEADERS=(-H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $ts"
		-H "X-TB-Nonce: $nonce" -H "X-TB-User: $user" -H "X-TB-Body-SHA256: $digest"
		-H "X-TB-Signature-V2: $sig")
}

api_call() {
	local method=$1 path=$2 where=(--unix-socket "$API_SOCK") base=http://api

	shift 2
	if [ -n "${API_TCP:-}" ]; then
		where=()
		base=http://$API_TCP
	fi
	: >"$T/.api_body"
	: >"$T/.api_headers"
	HTTP_STATUS=$(curl -sS --max-time 10 -o "$T/.api_body" -D "$T/.api_headers" \
		-w '%{http_code}' "${where[@]}" -X "$method" -H "Expect:" "$@" "$base$path")
	HTTP_BODY=$(cat "$T/.api_body")
	HTTP_HEADERS=$(tr -d '\r' <"$T/.api_headers")
}
