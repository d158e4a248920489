#!/usr/bin/env bash
# Fault injection on the API child, under a steady MCP load (writes, pings,
# health checks; every request counted): kill -9 the API child.  Tool calls
# fail fast, as isError results that say the notes service is unavailable,
# none waits past the configured api_timeout_ms; pings never fail; none
# fails once the child has been back for a second.  Afterwards every
# acknowledged write is in PostgreSQL exactly once and no process wrote a
# sanitizer report.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

WORKERS=2
API_TIMEOUT_MS=2000

api_replaced() {
	local p

	p=$(api_pid)
	[ -n "$p" ] && [ "$p" != "$1" ] && [ -S "$API_SOCK" ]
}

pg_start
make_users "$NOTE_THREADS"
fault_conf "workers = $WORKERS" "api_timeout_ms = $API_TIMEOUT_MS" "log_level = info"
trestled_start
mcp_init || bail "MCP session"
users_init || bail "an MCP session for each user"

t0=$(_now_us)
case_load apikill 8
sleep 2
victim=$(api_pid)
killed_at=$(wall_ms)
kill -KILL "$victim"
ok "the API child is back within 1 s" wait_for -t 1 api_replaced "$victim"
back_at=$(wall_ms)
wait_for -t 5 api_replaced "$victim"
diag "API child pid $victim killed; pid $(api_pid) serves after $((back_at - killed_at)) ms"
case_wait apikill
diag "API child kill: $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent," \
	"$((($(_now_us) - t0) / 1000)) ms"

is "$(failures apikill-ping | wc -l)" 0 "pings (answered by the workers) never fail"
cat "$T"/apikill.err "$T"/apikill-health.err | grep '^failure: ' >"$T/failed" || true
is "$(grep -cv '"isError":true' "$T/failed")" 0 \
	"every failed tool call is an isError result (no transport or HTTP error)"
is "$(grep -Ecv 'The notes service (is unavailable|went away while it had the request)' \
	"$T/failed")" 0 "each says that the notes service is unavailable, or went away with the request"
slowest=$(cat "$T/apikill.req" "$T/apikill-health.req" | awk '$3 == "fail" { d = $5 - $4; if (d > m) m = d } END { print m + 0 }')
diag "the slowest failure took $slowest ms (api_timeout_ms = $API_TIMEOUT_MS)"
ok "no failed call waited past api_timeout_ms ($slowest ms)" test "$slowest" -le $((API_TIMEOUT_MS + 500))
is "$(disturbed_outside apikill "$((killed_at - 5))" "$((back_at + 1000))")" 0 \
	"failures only while the API child was down (and within 1 s of its return)"
read -r after failed_after < <(cat "$T/apikill.req" "$T/apikill-health.req" >"$T/all.req" &&
	awk -v t=$((back_at + 1000)) '$4 >= t { n++; if ($3 == "fail") f++ } END { print n + 0, f + 0 }' "$T/all.req")
is "$failed_after" 0 "none of the $after tool calls sent 1 s after the child was back failed"
ok "tool calls were sent after that" test "$after" -gt 20
like "$(cat "$T/trestle.log")" "api 0: pid $victim killed by signal 9" "the master logged the death"
ok "every child runs" all_running "$WORKERS"
writes_exactly_once apikill
no_sanitizer_report "API child kill"

trestled_stop
check_logs_clean
done_testing
