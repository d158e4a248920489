#!/usr/bin/env bash
# No secret ever leaves in an output.  A representative run — tool calls,
# every kind of refused credential, bad tenant headers, a reload and a failed
# one, trestlectl status (text and --json), /metrics, /readyz, the API
# child's info, configuration checks, and a database that refuses the
# connection with a password in database_url — then every log file, every
# standard output and error, every answer and the processes' command lines
# are searched for each secret: tenant_secret, jwt_secret, mcp_jwt_secret,
# the static API keys and the clients' JWTs (never passed through), the
# database password, and the start of each (a cut-off copy is a leak too).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

OUT=$T/out	# everything the run printed or answered, one file each
mkdir -p "$OUT"
ISS=https://auth.example.test
RESOURCE=http://127.0.0.1:$PORT/mcp
MCP_JWT_SECRET=mcpjwt-$(_random_hex 24)
DB_PASSWORD=dbpw-$(_random_hex 12)
n=0

save() {	# save NAME: the last answer's headers and body into $OUT
	n=$((n + 1))
	printf '%s\n%s\n' "$HTTP_HEADERS" "$HTTP_BODY" >"$OUT/$n-$1"
}

jwt_mcp() {	# jwt_mcp SECRET SUB [EXTRA-CLAIMS-JSON]
	local header claims input extra=${3:-'{}'}

	header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
	claims=$(jq -nc --arg sub "$2" --arg iss "$ISS" --arg aud "$RESOURCE" \
		--argjson now "$(date +%s)" --argjson extra "$extra" \
		'{sub: $sub, iss: $iss, aud: $aud, iat: $now, exp: ($now + 300)} + $extra' | b64url)
	input=$header.$claims
	printf '%s.%s' "$input" "$(printf %s "$input" | openssl dgst -sha256 -hmac "$1" -binary | b64url)"
}

ctl() {	# ctl NAME ARG...: trestlectl's output and status into $OUT
	n=$((n + 1))
	"$TRESTLECTL" -c "$T/trestle.conf" "${@:2}" >"$OUT/$n-$1" 2>&1
	echo "exit $?" >>"$OUT/$n-$1"
}

get() {	# get NAME URL [CURL-ARG...]
	n=$((n + 1))
	curl -sS -i --max-time 10 "${@:3}" "$2" >"$OUT/$n-$1" 2>&1
}

pg_start
DATABASE_URL="host=$PG_HOST dbname=trestle user=trestle password=$DB_PASSWORD"
BASE=("mcp_jwt_secret = $MCP_JWT_SECRET" "mcp_jwt_issuer = $ISS" "mcp_resource_url = $RESOURCE"
	"audit_log_file = $T/audit.log" "access_log_file = $T/access.log")
write_conf "${BASE[@]}"
trestled_start

#
# The run
#
CLIENT_JWT=$(jwt_mcp "$MCP_JWT_SECRET" jwt-user)
mcp_init || bail "no MCP session (static key)"
save init
call() { mcp_post "$SESSION" '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"'"$1"'","arguments":'"$2"'}}'; save "call-$1"; }
call create_note '{"title":"secret-run","content":"x","tags":["a"]}'
NOTE=$(jq -r .result.structuredContent.uid <<<"$HTTP_JSON")
call get_note '{"uid":"'"$NOTE"'"}'
call update_note '{"uid":"'"$NOTE"'","title":"t2","if_match":"9"}'
call create_note '{"content":"no title"}'
call get_note '{"uid":"../../etc/passwd"}'
call list_notes '{"limit":5}'
call health_check '{}'
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":8,"method":"tools/list"}'
save tools-list
TOKEN=$CLIENT_JWT mcp_init || bail "no MCP session (JWT)"
save init-jwt
call create_task '{"title":"jwt task"}'

# every kind of refused credential
for bad in "trd_$(_random_hex 24)" "$(jwt_mcp "wrong-$MCP_JWT_SECRET" mallory)" \
	"$(jwt_mcp "$MCP_JWT_SECRET" late '{"exp":1}')" "$(jwt_mcp "$JWT_SECRET" passthrough)" \
	"$(jwt_for user-a)" "$TENANT_SECRET" "$MCP_JWT_SECRET"; do
	TOKEN=$bad mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"ping"}'
	save refused-token
done
api_req GET /v1/notes -H "X-TB-Signature: $(_random_hex 32)"
save api-bad-tenant
api_req GET /v1/notes -H "Authorization: Bearer $TOKEN"
save api-static-key
API_SUB= api_req GET /v1/notes -H "Authorization: Bearer $(jwt_mcp "$MCP_JWT_SECRET" x)"
save api-mcp-jwt
tenant_v1 "wrong-$TENANT_SECRET"
api_req POST /v1/sync/sessions "${TENANT_HEADERS[@]}"
save api-wrong-tenant-secret
api_req GET /v1/sync/info
save api-info

get metrics "http://127.0.0.1:$PORT/metrics"
get readyz "http://127.0.0.1:$PORT/readyz"
get healthz "http://127.0.0.1:$PORT/healthz"
get oauth "http://127.0.0.1:$PORT/.well-known/oauth-protected-resource/mcp"
ctl status status
ctl status-json status --json
ctl check check
ctl reload reload
cp "$T/trestle.conf" "$T/good.conf"
echo "workers = 0" >>"$T/trestle.conf"
ctl reload-bad reload
cp "$T/good.conf" "$T/trestle.conf"
ctl reopen reopen
n=$((n + 1))
"$TRESTLED" -t -c "$T/trestle.conf" >"$OUT/$n-check" 2>&1
for p in $TRESTLED_PID $(child_pids "$TRESTLED_PID"); do
	tr '\0' ' ' <"/proc/$p/cmdline" >>"$OUT/cmdlines"
	echo >>"$OUT/cmdlines"
done
ok "trestlectl status answered" grep -q "exit 0" "$OUT"/*-status-json
ok "the reload succeeded" grep -q "exit 0" "$OUT"/*-reload
like "$(cat "$OUT"/*-reload-bad)" "workers.*exit 1" "the bad reload failed, naming the key"
trestled_stop

# A database that refuses the connection, with the password in database_url.
DATABASE_URL="host=$PG_HOST dbname=nosuchdb user=nosuchuser password=$DB_PASSWORD connect_timeout=2"
write_conf "${BASE[@]}"
TRESTLED_WAIT=socket trestled_start
mcp_init || bail "no MCP session with the database away"
call create_note '{"title":"db away","content":"x"}'
is "$(jq -r .result.isError <<<"$HTTP_JSON")" true "with the database refusing, a tool call fails"
get readyz-db-away "http://127.0.0.1:$PORT/readyz"
api_req GET /v1/sync/state -H "X-Sync-Session: 00000000-0000-4000-8000-000000000000"
save api-db-away
ok "the connection failure is logged" wait_for -t 5 grep -q 'nosuchuser\|nosuchdb' "$T/trestle.log"
ctl status-db-away status --json
trestled_stop

#
# The search: every file the run left, but the configuration and keys it was given
#
secrets=("tenant_secret:$TENANT_SECRET" "jwt_secret:$JWT_SECRET" "mcp_jwt_secret:$MCP_JWT_SECRET"
	"user-a's API key:$TOKEN" "user-b's API key:$TOKEN_B" "the database password:$DB_PASSWORD"
	"a client's JWT (its signature):${CLIENT_JWT##*.}")
files=$(find "$T" -type f ! -path "$PG_HOST/*" ! -name trestle.conf ! -name good.conf \
	! -name api_keys ! -name '*.shm' | sort)
ok "the run left its logs and outputs ($(wc -l <<<"$files") files)" [ "$(wc -l <<<"$files")" -ge 30 ]
for f in "$T/trestle.log" "$T/audit.log" "$T/access.log"; do
	ok "${f##*/} was written" test -s "$f"
done
for s in "${secrets[@]}"; do
	name=${s%%:*}
	value=${s#*:}
	# shellcheck disable=SC2086 # one file a word
	hits=$(grep -lF -e "$value" -e "${value:0:16}" $files 2>/dev/null | sed "s|$T/||" | tr '\n' ' ')
	is "$hits" "" "$name: in no output, whole or cut"
done
# The database password also may not appear as a connection string's field.
# shellcheck disable=SC2086
is "$(grep -l 'password=' $files | sed "s|$T/||" | tr '\n' ' ')" "" "no output shows a password= field"
check_logs_clean
done_testing
