#!/usr/bin/env bash
# The official TypeScript SDK client (@modelcontextprotocol/sdk, from npm)
# against trestle, the real API child and PostgreSQL: tools/list paged
# through, every one of the 41 tools called and its result checked (the SDK
# validates structured content against each tool's outputSchema itself),
# every failure kind a model must act on (bad arguments, 404, 410, 412, 429,
# the API child slow or down, an epoch change), two users who cannot reach
# each other's items, the session ended with DELETE, and one audit line for
# every call of a write tool.  mcp_sdk_client.mjs makes the calls; this
# script starts everything, does what it asks (stopping the API child...)
# and turns its lines into TAP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/npm_lib.sh"

SDK_VERSION=1.32.2
command -v node >/dev/null || { [ -n "${CI:-}" ] && bail "node is installed"; skip_all "no node"; }
need_npm sdk "@modelcontextprotocol/sdk@$SDK_VERSION"

TOKEN_C=trd_$(_random_hex 24)
pg_start
write_conf "api_timeout_ms = 1500" "audit_log_file = $T/audit.log"
printf '%s user-c\n' "$(_sha256_hex "$TOKEN_C")" >>"$T/api_keys"
trestled_start

child_pid() {	# ROLE: the pid of the master's child of that role
	local p

	for p in $(child_pids "$TRESTLED_PID"); do
		grep -qF -- "trestle-$1" "/proc/$p/cmdline" 2>/dev/null && { echo "$p"; return; }
	done
}

api_healthy() {
	curl -fsS -o /dev/null --max-time 1 --unix-socket "$API_SOCK" http://api/healthz 2>/dev/null
}

# What the client asks for between its calls.
act() {
	case $1 in
	stop-api) kill -STOP "$(child_pid api)" ;;
	cont-api) kill -CONT "$(child_pid api)" ;;
	kill-api)
		# The master is held so it does not start a new API child at once.
		kill -STOP "$TRESTLED_PID" && kill -KILL "$(child_pid api)" ;;
	restart-api)
		kill -CONT "$TRESTLED_PID" && wait_for -t 15 api_healthy ;;
	bump-epoch)
		pg_sql "UPDATE owner_state SET epoch = epoch + 1 WHERE owner_id =
			(SELECT id::text FROM app_user WHERE sub = 'user-c')" >/dev/null ;;
	*) false ;;
	esac
}

WRITES=
coproc CLIENT { NPM_DIR=$NPM_DIR MCP_URL=$MCP_URL TOKEN_A=$TOKEN TOKEN_B=$TOKEN_B TOKEN_C=$TOKEN_C \
	node "$TRESTLE_SRCDIR/tests/integration/mcp_sdk_client.mjs" 2>"$T/client.err"; }
CLIENT_IN=${CLIENT[1]}
client_pid=$CLIENT_PID	# bash unsets CLIENT_PID when the client ends
while IFS=$'\t' read -r kind desc detail <&"${CLIENT[0]}"; do
	case $kind in
	ok) pass "$desc" ;;
	"not ok") fail "$desc"; diag "  $detail" ;;
	diag) diag "$desc" ;;
	do)
		if act "$desc"; then echo done >&"$CLIENT_IN"; else echo failed >&"$CLIENT_IN"; fi ;;
	writes) WRITES=$desc ;;
	*) diag "client: $kind $desc $detail" ;;
	esac
done
wait "$client_pid"
is "$?" 0 "the SDK client exits 0"
[ -s "$T/client.err" ] && diag "$(tail -n 20 "$T/client.err")"
kill -CONT "$TRESTLED_PID" 2>/dev/null

ok "the client made write calls ($WRITES)" test "${WRITES:-0}" -gt 50
ok "the audit log has one line per write call ($WRITES)" \
	wait_for -t 5 test "$(wc -l <"$T/audit.log")" -eq "${WRITES:-0}"
is "$(jq -r '.outcome' "$T/audit.log" | sort | uniq -c | awk '{ print $2 }' | tr '\n' ' ')" \
	"invalid_arguments ok refused unavailable " "outcomes: ok, refused, invalid_arguments, unavailable"
is "$(jq -r 'select(.subject == "user-b") | .outcome' "$T/audit.log" | sort -u | tr '\n' ' ')" "refused " \
	"every write call of user-b on user-a's items was refused"
leaks=
for secret in "$TOKEN" "$TOKEN_B" "$TOKEN_C" "$JWT_SECRET" "$TENANT_SECRET"; do
	grep -qF -- "$secret" "$T/audit.log" "$T/trestle.log" && leaks+=" ${secret:0:8}…"
done
is "$leaks" "" "no token or secret in the audit log or the main log"

# What PostgreSQL holds afterwards.
is "$(pg_sql "SELECT count(*) FROM note n JOIN app_user u ON u.id = n.owner_id WHERE u.sub = 'user-b'")" 0 \
	"user-b owns no note"
is "$(pg_sql "SELECT c.payload_json->>'parentType', c.payload_json->>'author', c.parent_uid = t.uid
	FROM comment c JOIN app_user u ON u.id = c.owner_id JOIN task t ON t.owner_id = c.owner_id
	WHERE u.sub = 'user-a' AND c.payload_json->>'content' = 'LGTM!' AND t.payload_json->>'title' = 'Parent of comments'")" \
	"task|ann|t" "the updated comment keeps its parent and author in the database"
is "$(pg_sql "SELECT count(*) FROM (SELECT payload_json FROM note UNION ALL SELECT payload_json FROM task
	UNION ALL SELECT payload_json FROM comment UNION ALL SELECT payload_json FROM chat
	UNION ALL SELECT payload_json FROM chat_message) p WHERE payload_json ? 'owner'")" 0 \
	"no item was changed by user-b"
trestled_stop
check_logs_clean
done_testing
