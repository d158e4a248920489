#!/usr/bin/env bash
# Sessions without stickiness, with four workers: any worker serves any
# request of a session; the client's answers to sampling and elicitation and
# its cancellations reach the worker that holds the call; a session ended by
# DELETE stays ended on every worker, after kill -9 of all workers, a reload
# and a restart of trestled, while a live session survives all three.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/node22.sh"

pg_start
write_conf "workers = 4" "state_dir = $T/state" "mcp_conformance_fixtures = on" \
	"mcp_rate_limit_per_minute = 0"
trestled_start

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"elicitation":{}},"clientInfo":{"name":"t","version":"0"}}}'

# The slot of the worker that sent the SSE stream in file $1 (event ids start with it).
stream_slot() {
	sed -n 's/^id: \([0-9]*\)\..*/\1/p' "$1" | head -n 1
}

# One session over fresh connections (one curl each): the statuses, then the
# slot of the worker that streamed its tools/call.
one_session() {
	local f=$T/s.$1 sid out body
	local -a h=(-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json"
		-H "Accept: application/json, text/event-stream" -H "Expect:")

	out=$(curl -sS --max-time 10 -o "$f.b" -D "$f.h" -w '%{http_code}' "${h[@]}" \
		--data-binary "$INIT" "$MCP_URL")
	sid=$(tr -d '\r' <"$f.h" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
	h+=(-H "Mcp-Session-Id: $sid" -H "MCP-Protocol-Version: 2025-11-25")
	for body in '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
		'{"jsonrpc":"2.0","id":3,"method":"ping"}' \
		'{"jsonrpc":"2.0","id":4,"method":"logging/setLevel","params":{"level":"debug"}}' \
		'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"test_tool_with_logging","arguments":{}}}'; do
		out+=" $(curl -sS --max-time 10 -o "$f.b" -w '%{http_code}' "${h[@]}" \
			--data-binary "$body" "$MCP_URL")"
	done
	echo "$out $(grep -c '"method":"notifications/message"' "$f.b") slot=$(stream_slot "$f.b")"
	rm -f "$f.b" "$f.h"
}
export -f one_session stream_slot
export T TOKEN MCP_URL INIT

# 1. 200 sessions, eight at a time, every request on a fresh connection.
seq 200 | xargs -P 8 -I{} bash -c 'one_session {}' >"$T/sessions.txt"
is "$(wc -l <"$T/sessions.txt")" 200 "200 sessions ran"
is "$(grep -c -E '(^| )(400|404)( |$)' "$T/sessions.txt")" 0 "no request of theirs got 400 or 404"
is "$(cut -d' ' -f1-7 "$T/sessions.txt" | sort | uniq -c | sed 's/^ *//')" "200 200 202 200 200 200 200 3" \
	"every request was answered as it should (the log level set on one worker held on another)"
slots=$(sed -n 's/.*slot=//p' "$T/sessions.txt" | sort -u | tr '\n' ' ')
is "$slots" "1 2 3 4 " "their calls were served by all four workers"

# 2. Sampling and elicitation, 20 times in a row each: the client's answer is
# a new POST, which lands on any worker and is routed to the one that asked.
need_conformance_suite
for scenario in tools-call-sampling tools-call-elicitation; do
	passed=0
	for i in $(seq 20); do
		conformance server --url "$MCP_URL" --scenario "$scenario" >"$T/run.out" 2>&1 &&
			grep -q '^Passed: 1/1, 0 failed' "$T/run.out" && passed=$((passed + 1))
	done
	is "$passed" 20 "$scenario passes 20 times in a row"
done
routed=$(grep -c 'routed to its owner' "$T/trestle.log")
ok "answers were routed to another worker ($routed of 40)" test "$routed" -ge 1

# 3. A cancellation on a new connection stops a slow call on another worker.
mcp_init || bail "no MCP session"
stopped=0
remote=0
for i in $(seq 6); do
	rm -f "$T/slow.out"
	curl -sS -N --max-time 40 -o "$T/slow.out" -H "Authorization: Bearer $TOKEN" \
		-H "Content-Type: application/json" -H "Accept: application/json, text/event-stream" \
		-H "Mcp-Session-Id: $SESSION" -H "MCP-Protocol-Version: 2025-11-25" \
		--data-binary "{\"jsonrpc\":\"2.0\",\"id\":\"slow-$i\",\"method\":\"tools/call\",\"params\":{\"name\":\"test_slow\",\"arguments\":{\"seconds\":30},\"_meta\":{\"progressToken\":\"p$i\"}}}" \
		"$MCP_URL" &
	slow_pid=$!
	wait_for grep -qs notifications/progress "$T/slow.out" || { fail "the slow call $i streams progress"; continue; }
	before=$(grep -c 'cancelled by another worker' "$T/trestle.log")
	mcp_post "$SESSION" "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"slow-$i\",\"reason\":\"test\"}}"
	[ "$HTTP_STATUS" = 202 ] || fail "notifications/cancelled $i gets 202 (got $HTTP_STATUS)"
	if wait_for -t 5 none_alive "$slow_pid" && ! grep -q "\"id\":\"slow-$i\"" "$T/slow.out"; then
		stopped=$((stopped + 1))
	fi
	wait "$slow_pid"
	[ "$(grep -c 'cancelled by another worker' "$T/trestle.log")" -gt "$before" ] && remote=$((remote + 1))
done
is "$stopped" 6 "each cancellation ended the slow call's stream at once, without a response"
ok "cancellations were routed to the worker holding the call ($remote of 6)" test "$remote" -ge 1
is "$(grep -c -E 'fixtures: call [^ ]*slow-[0-9]+[^ ]* cancelled' "$T/trestle.log")" 6 "the calls themselves stopped"

# 4. DELETE for good; a live session survives.
mcp_init || bail "no MCP session"
ENDED=$SESSION
mcp_init || bail "no MCP session"
LIVE=$SESSION
mcp_post "$LIVE" '{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"error"}}'
mcp_post "$ENDED" "" -X DELETE
is "$HTTP_STATUS" 204 "DELETE ends a session"

# check_sessions WHEN: 16 requests of each session on fresh connections.
check_sessions() {
	local ended="" live="" i

	for i in $(seq 16); do
		mcp_post "$ENDED" '{"jsonrpc":"2.0","id":2,"method":"ping"}'
		ended+="$HTTP_STATUS "
		mcp_post "$LIVE" '{"jsonrpc":"2.0","id":2,"method":"ping"}'
		live+="$HTTP_STATUS "
	done
	is "$(tr ' ' '\n' <<<"$ended" | sort -u | tr -d '\n')" 404 "$1: the ended session gets 404 from every worker"
	is "$(tr ' ' '\n' <<<"$live" | sort -u | tr -d '\n')" 200 "$1: the live session is served by every worker"
}

worker_pids() {
	pgrep -P "$TRESTLED_PID" -x trestle-mcp | sort | tr '\n' ' '
}

four_new_workers() {
	local now

	now=$(worker_pids)
	[ "$(wc -w <<<"$now")" -eq 4 ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$1" | sort) <(tr ' ' '\n' <<<"$now" | sort) | tr -d '\n')" ] &&
		curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz"
}

check_sessions "after DELETE"

old=$(worker_pids)
# shellcheck disable=SC2086 # one pid a word
kill -9 $old
wait_for -t 20 four_new_workers "$old" || fail "four new workers after kill -9"
check_sessions "after kill -9 of every worker"
mcp_post "$LIVE" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_tool_with_logging","arguments":{}}}'
is "$(http_header content-type)" application/json \
	"after kill -9: the live session's log level (error) still holds: no info messages, no stream"

old=$(worker_pids)
kill -HUP "$TRESTLED_PID"
if wait_for -t 15 four_new_workers "$old"; then
	check_sessions "after a reload"
else
	skip "reload (SIGHUP) is not implemented by trestled yet"
fi

trestled_stop
trestled_start
check_sessions "after a restart of trestled"

trestled_stop
check_logs_clean
done_testing
