#!/usr/bin/env bash
# The MCP workers' protections, through the real sockets:
#  - the per-user rate limit, one budget over every worker: a tool call over
#    it gets an isError result that says when to retry (and changes nothing),
#    any other request 429 with Retry-After; another user is not affected;
#    refusals are counted in /metrics;
#  - the connection limits, per address and in all, and connections that
#    close stop counting; a client that drips its first request a byte at a
#    time is cut off after mcp_http_timeout_sec in all;
#  - the circuit breaker for the API child: PostgreSQL stopped, a few tool
#    calls fail, then calls fail at once with the breaker's message; /readyz
#    says why within seconds (never a stale verdict) and is ready again once
#    PostgreSQL is back, without a tool call to probe it.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

jr() { jq -r "$@" <<<"$HTTP_JSON"; }

call_tool() {	# call_tool ID NAME ARGS-JSON [CURL-ARG...]
	local id=$1 name=$2 args=$3

	shift 3
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":'"$id"',"method":"tools/call","params":{"name":"'"$name"'","arguments":'"$args"'}}' "$@"
}

readyz() {	# sets READY_STATUS, READY_BODY
	READY_BODY=$(curl -sS --max-time 5 -o - -w '\n%{http_code}' "http://127.0.0.1:$PORT/readyz")
	READY_STATUS=${READY_BODY##*$'\n'}
	READY_BODY=${READY_BODY%$'\n'*}
}
readyz_is() { readyz; [ "$READY_STATUS" = "$1" ]; }

metric() {
	curl -sS --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

notes_titled() { pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' LIKE '$1'"; }

pg_start

#
# 1. The rate limit: 6 a minute, 5 at once (a refill takes 10 s, longer than this part)
#
write_conf "mcp_rate_limit_per_minute = 6" "mcp_rate_limit_burst = 5"
trestled_start
mcp_init || bail "no MCP session"	# 2 of the 5
for i in 1 2 3; do
	call_tool "$i" create_note '{"title":"rl-'"$i"'","content":"x"}'
	is "$HTTP_STATUS $(jr .result.isError)" "200 false" "create_note $i of the burst: a result"
done
call_tool 4 create_note '{"title":"rl-over","content":"x"}'
is "$HTTP_STATUS $(jr '.id, .result.isError' | tr '\n' ' ')" "200 4 true " \
	"the 6th request, a tool call: HTTP 200 with an isError result"
like "$(jr '.result.content[0].text')" \
	'^Too many requests: this user'"'"'s rate limit was reached and nothing was done\. Wait ([2-9]|10) seconds, then try again \(the limit is 6 requests a minute, 5 at once\)\.$' \
	"its text says when to retry, and what the limit is"
is "$(notes_titled 'rl-%')" 3 "the refused call changed nothing: 3 notes"

mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"tools/list"}'
is "$HTTP_STATUS" 429 "any other request over the limit: 429"
like "$(http_header retry-after)" '^([1-9]|10)$' "with Retry-After in seconds"
is "$(jq -c '[.error.code, .id]' <<<"$HTTP_BODY")" '[-32000,null]' "and a JSON-RPC error"
like "$(jq -r .error.message <<<"$HTTP_BODY")" '^Too Many Requests: rate limit exceeded, retry after [0-9]+ s$' \
	"that says when to retry"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $TOKEN" \
	-H "Mcp-Session-Id: $SESSION" -H "Accept: text/event-stream" "$MCP_URL")
is "$status" 429 "GET (a stream) over the limit: 429"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X DELETE -H "Authorization: Bearer $TOKEN" \
	-H "Mcp-Session-Id: $SESSION" "$MCP_URL")
is "$status" 429 "DELETE over the limit: 429 (and the session is not ended by it)"
like "$(metric trestle_rate_limited_total)" '^[4-9]$|^[1-9][0-9]+$' "/metrics counts the refusals"

SESSION_A=$SESSION
TOKEN=$TOKEN_B mcp_init || bail "user-b: no MCP session"
is "$HTTP_STATUS" 202 "another user has a budget of their own"

# user-b has 3 left; 16 pings at once, each on a connection of its own, over both workers
pids=()
for i in $(seq 16); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 -H "Authorization: Bearer $TOKEN_B" \
		-H "Mcp-Session-Id: $SESSION" -H "Content-Type: application/json" \
		-H "Accept: application/json, text/event-stream" -H "X-Correlation-ID: rl-flood-$i" \
		--data '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$MCP_URL" >"$T/flood.$i" &
	pids+=($!)
done
wait "${pids[@]}"
flood=$(cat "$T"/flood.* | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
like "$flood" '^200:[34] 429:1[23] $' "16 pings at once with 3 left: 3 (4 with a refill) answered, the rest 429"
workers=$(grep -F '"correlation_id":"rl-flood-' "$T/trestle.log" | grep -o '"pid":[0-9]*' | sort -u | wc -l)
if [ "$workers" -ge 2 ]; then
	pass "the flood was served by $workers workers: the budget is shared"
else
	skip "all the flood landed on one worker: sharing not shown this time"
fi
trestled_stop

#
# 2. Connection limits: 2 from one address, 4 in all, on one worker; 2 s for a first request
#
write_conf "workers = 1" "mcp_rate_limit_per_minute = 0" "mcp_max_connections = 4" \
	"mcp_max_connections_per_ip = 2" "mcp_http_timeout_sec = 2"
trestled_start
mcp_init || bail "no MCP session"

STREAMS=()
open_stream() {	# open_stream SOURCE-ADDRESS: a GET stream held open in the background
	local out=$T/stream.${#STREAMS[@]}

	curl -sN --max-time 60 --interface "$1" -H "Authorization: Bearer $TOKEN" \
		-H "Mcp-Session-Id: $SESSION" -H "MCP-Protocol-Version: 2025-11-25" \
		-H "Accept: text/event-stream" "$MCP_URL" >"$out" 2>&1 &
	STREAMS+=($!)
	wait_for -t 5 test -s "$out" || diag "stream from $1 did not start: $(cat "$out")"
}
ping_from() {	# ping_from SOURCE-ADDRESS: sets HTTP_STATUS, HTTP_HEADERS, HTTP_BODY
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":9,"method":"ping"}' --interface "$1"
}

open_stream 127.0.0.1
open_stream 127.0.0.1
ping_from 127.0.0.1
is "$HTTP_STATUS" 503 "a third connection from one address: 503"
is "$(jq -r .error.message <<<"$HTTP_BODY")" "Service Unavailable: too many connections from this address" \
	"naming the limit"
is "$(http_header connection)" close "and the connection is closed"
ping_from 127.0.0.2
is "$HTTP_STATUS" 200 "another address is served"
open_stream 127.0.0.2
open_stream 127.0.0.2
ping_from 127.0.0.3
is "$HTTP_STATUS" 503 "a fifth connection in all: 503"
is "$(jq -r .error.message <<<"$HTTP_BODY")" "Service Unavailable: too many connections" "naming the limit"
kill "${STREAMS[0]}" "${STREAMS[1]}"
ping_ok() { ping_from "$1"; [ "$HTTP_STATUS" = 200 ]; }
ok "once its streams closed, the first address is served again" wait_for -t 5 ping_ok 127.0.0.1
ok "and so is a new address" ping_ok 127.0.0.3
kill "${STREAMS[2]}" "${STREAMS[3]}"
wait "${STREAMS[@]}" 2>/dev/null

# drip_lasted: ms until the server ends a connection that sends a byte of its request every 200 ms
drip_lasted() {
	local start line rc i

	start=$(_now_us)
	exec 7<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n' >&7
	for i in $(seq 50); do
		printf 'X' >&7 2>/dev/null || break
		read -r -t 0.2 -u 7 line
		rc=$?
		[ "$rc" -gt 128 ] || break	# not a timeout: the end of the stream (or an answer)
	done
	exec 7>&-
	echo $((($(_now_us) - start) / 1000))
}
lasted=$(drip_lasted)
ok "a request dripped a byte at a time is cut off after 2 s in all ($lasted ms)" \
	[ "$lasted" -ge 1800 ] && [ "$lasted" -le 3500 ]
ok "and the worker serves on" ping_ok 127.0.0.1
trestled_stop

#
# 3. The circuit breaker and /readyz
#
write_conf "workers = 1" "mcp_breaker_failures = 3" "mcp_breaker_cooldown_sec = 3" \
	"api_timeout_ms = 3000"
trestled_start
ok "/readyz: ready" wait_for -t 5 readyz_is 200
is "$READY_BODY" ready "/readyz says ready"
mcp_init || bail "no MCP session"
call_tool 1 create_note '{"title":"br-before","content":"x"}'
is "$(jr .result.isError)" false "a tool call before the outage"

pg_down
ok "/readyz turns 503 within 4 s of PostgreSQL stopping" wait_for -t 4 readyz_is 503
like "$READY_BODY" "^not ready: the API child has not said it is ready for [0-9]+ s: HTTP 503: not ready: database unavailable$" \
	"and says why"
for i in 1 2 3; do
	call_tool "1$i" create_note '{"title":"br-down-'"$i"'","content":"x"}'
	is "$HTTP_STATUS $(jr .result.isError)" "200 true" "failure $i: an isError result"
done
start=$(_now_us)
call_tool 14 create_note '{"title":"br-open","content":"x"}'
took=$((($(_now_us) - start) / 1000))
is "$HTTP_STATUS $(jr .result.isError)" "200 true" "the breaker is open: an isError result"
like "$(jr '.result.content[0].text')" \
	'^The notes service is unavailable \(circuit open after 3 failures\); retry in [1-3] s\. Nothing was changed\.$' \
	"that says so and when to retry"
ok "at once ($took ms)" [ "$took" -lt 500 ]
like "$(grep -F 'circuit open after 3 failures in a row' "$T/trestle.log")" . "the opening is logged"
readyz
is "$READY_STATUS" 503 "/readyz: 503 while the breaker is open"
like "$READY_BODY" "^not ready: the API child's circuit is open after [0-9]+ failures in a row; next probe in [0-9]+ s$" \
	"naming the breaker"

pg_up || bail "PostgreSQL starts again"
ok "/readyz is ready again without a tool call (the breaker's probe)" wait_for -t 10 readyz_is 200
like "$(grep -F 'circuit closed' "$T/trestle.log")" . "the closing is logged"
call_tool 15 create_note '{"title":"br-after","content":"x"}'
is "$(jr .result.isError)" false "tool calls succeed again"
is "$(pg_sql "SELECT string_agg(payload_json->>'title', ',' ORDER BY updated_at_ms) FROM note WHERE payload_json->>'title' LIKE 'br-%'")" \
	"br-before,br-after" "nothing of the failed or refused calls reached the database"
trestled_stop
check_logs_clean
done_testing
