#!/usr/bin/env bash
# The Streamable HTTP transport: one check per row of the table in mcp.md §1,
# on a daemon with four workers, asserting status, content type and body.
. "$(dirname "$0")/lib.sh"

pg_start
write_conf "workers = 4" "state_dir = $T/state" "mcp_conformance_fixtures = on" \
	"max_body_bytes = 4096" "mcp_http_timeout_sec = 2"
trestled_start

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"0"}}}'
ERR_NULL='"jsonrpc":"2.0","error":{"code":%s,"message":"%s"},"id":null'

# error_body CODE MESSAGE: the body of a transport error.
error_body() {
	# shellcheck disable=SC2059 # the format is ours
	printf "{$ERR_NULL}" "$1" "$2"
}

# sse_events: the data of each event of the last response, one a line ("" for the priming event).
sse_events() {
	sed -n 's/^data: \{0,1\}//p' <<<"$HTTP_BODY"
}

# 1: initialize
mcp_post "" "$INIT"
is "$HTTP_STATUS" 200 "row 1: initialize answers 200"
is "$(http_header content-type)" application/json "row 1: as application/json"
SESSION=$(http_header mcp-session-id)
like "$SESSION" '^[!-~]{40,}$' "row 1: Mcp-Session-Id is visible ASCII, long enough to be unguessable"
is "$(jq -c '[.jsonrpc, .id, .result.protocolVersion, .result.serverInfo.name, (.result.capabilities | keys)]' <<<"$HTTP_BODY")" \
	'["2.0",1,"2025-11-25","trestle",["completions","logging","prompts","resources","tools"]]' \
	"row 1: the result names the version, the server and the capabilities"
mcp_post "" "$INIT"
isnt "$(http_header mcp-session-id)" "$SESSION" "row 1: each initialize issues a new session id"
mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-01-01","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
is "$(jq -r .result.protocolVersion <<<"$HTTP_BODY")" 2025-11-25 "row 1: an unknown version is answered with the newest one"
mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
is "$(jq -r .result.protocolVersion <<<"$HTTP_BODY")" 2025-03-26 "row 1: a supported older version is echoed"
OLD_SESSION=$(http_header mcp-session-id)

# 2: notifications and client responses
mcp_post "$SESSION" '{"jsonrpc":"2.0","method":"notifications/initialized"}'
is "$HTTP_STATUS|$HTTP_BODY" "202|" "row 2: a notification gets 202 with an empty body"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":"t.9.9.00000000.1","result":{}}'
is "$HTTP_STATUS|$HTTP_BODY" "202|" "row 2: a client response gets 202 with an empty body"

# 3: requests, as JSON or as an SSE stream ending with the response
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":"p-1","method":"ping"}'
is "$HTTP_STATUS" 200 "row 3: ping answers 200"
is "$(http_header content-type)" application/json "row 3: a request needing no stream is answered as JSON"
is "$HTTP_BODY" '{"jsonrpc":"2.0","id":"p-1","result":{}}' "row 3: one JSON object with the same id"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test_tool_with_progress","arguments":{},"_meta":{"progressToken":"tok"}}}'
is "$HTTP_STATUS" 200 "row 3: a call with progress answers 200"
is "$(http_header content-type)" text/event-stream "row 3: as an SSE stream"
like "$HTTP_BODY" $'^event: message\nid: [^\n]+\ndata: \n\n' "row 3: the stream starts with the priming event"
is "$(sse_events | jq -c -s '[.[] | (.method // .id)]' 2>/dev/null)" \
	'["notifications/progress","notifications/progress","notifications/progress",7]' \
	"row 3: progress notifications on the call's stream, then the response"
is "$(sse_events | tail -n 1 | jq -c '[.id, .result.content[0].type]')" '[7,"text"]' \
	"row 3: the stream ends with the response of the same id"
is "$(sse_events | jq -s -c '[.[0:3][] | .params | [.progressToken, .progress, .total]]')" \
	'[["tok",0,100],["tok",50,100],["tok",100,100]]' "row 3: progress increases, with the request's token"

# 4: no session id
mcp_post "" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
is "$HTTP_STATUS|$(http_header content-type)" "400|application/json" "row 4: a request without a session id gets 400"
is "$HTTP_BODY" "$(error_body -32000 'Bad Request: Mcp-Session-Id header is required')" "row 4: with a JSON-RPC error"

# 5: unknown or forged session
mcp_post "not-a-session" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
is "$HTTP_STATUS|$(http_header content-type)" "404|application/json" "row 5: an unknown session id gets 404"
is "$HTTP_BODY" "$(error_body -32001 'Session not found')" "row 5: Session not found (-32001)"
c=${SESSION: -5:1}
[ "$c" = A ] && c=B || c=A
mcp_post "${SESSION:0:${#SESSION}-5}$c${SESSION: -4}" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
is "$HTTP_STATUS" 404 "row 5: a session id with a forged MAC gets 404"
TOKEN=$TOKEN_B mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
is "$HTTP_STATUS" 404 "row 5: another user's session gets 404"

# 6: protocol version header
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"ping"}' -H "MCP-Protocol-Version: 1999-01-01"
is "$HTTP_STATUS|$HTTP_BODY" "400|$(error_body -32000 'Bad Request: unsupported MCP-Protocol-Version')" \
	"row 6: an unsupported MCP-Protocol-Version gets 400"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_tool_with_logging","arguments":{}}}' -H "MCP-Protocol-Version:"
like "$HTTP_BODY" $'^event: message\nid: [^\n]+\ndata: \n' "row 6: absent, the negotiated version (2025-11-25: priming event) applies"
mcp_post "$OLD_SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_tool_with_logging","arguments":{}}}' -H "MCP-Protocol-Version:"
is "$(sse_events | head -n 1 | jq -r .method)" notifications/message "row 6: a 2025-03-26 session's stream has no priming event"

# 7: Accept
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":4,"method":"ping"}' -H "Accept: application/json"
is "$HTTP_STATUS|$(http_header content-type)" "406|application/json" "row 7: Accept without text/event-stream gets 406"
is "$HTTP_BODY" "$(error_body -32000 'Not Acceptable: Accept must list application/json and text/event-stream')" "row 7: with a JSON-RPC error"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":4,"method":"ping"}' -H "Accept: text/event-stream"
is "$HTTP_STATUS" 406 "row 7: Accept without application/json gets 406"

# 8: Content-Type
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"ping"}' -H "Content-Type: text/plain"
is "$HTTP_STATUS|$HTTP_BODY" "415|$(error_body -32000 'Unsupported Media Type: send application/json')" \
	"row 8: a body that is not application/json gets 415"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"ping"}' -H "Content-Type: application/json; charset=utf-8"
is "$HTTP_STATUS" 200 "row 8: application/json with a charset is fine"

# 9: not JSON
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":6,'
is "$HTTP_STATUS|$(http_header content-type)" "400|application/json" "row 9: a body that is not JSON gets 400"
is "$HTTP_BODY" "$(error_body -32700 'Parse error')" "row 9: with -32700 and id null"

# 10: unknown method
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":8,"method":"no/such/method"}'
is "$HTTP_STATUS|$HTTP_BODY" '200|{"jsonrpc":"2.0","id":8,"error":{"code":-32601,"message":"Method not found"}}' \
	"row 10: an unknown method gets -32601"

# 11: batches
mcp_post "$OLD_SESSION" '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"no/such"}]' -H "MCP-Protocol-Version: 2025-03-26"
is "$HTTP_STATUS|$(http_header content-type)" "200|application/json" "row 11: a batch under 2025-03-26 is accepted"
is "$HTTP_BODY" '[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}}]' \
	"row 11: with an array of the responses"
mcp_post "$OLD_SESSION" '[{"jsonrpc":"2.0","method":"notifications/initialized"}]' -H "MCP-Protocol-Version: 2025-03-26"
is "$HTTP_STATUS|$HTTP_BODY" "202|" "row 11: a batch of notifications gets 202"
mcp_post "$SESSION" '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'
is "$HTTP_STATUS|$HTTP_BODY" "400|$(error_body -32600 'Invalid Request: JSON-RPC batches are not supported in this protocol version')" \
	"row 11: a batch under 2025-11-25 gets 400 -32600"

# 12: Host and Origin
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":9,"method":"ping"}' -H "Origin: http://evil.example.com"
is "$HTTP_STATUS|$HTTP_BODY" "403|$(error_body -32000 'Forbidden: Host or Origin not allowed')" \
	"row 12: a foreign Origin gets 403"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":9,"method":"ping"}' -H "Host: evil.example.com"
is "$HTTP_STATUS" 403 "row 12: a foreign Host gets 403"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":9,"method":"ping"}' -H "Origin: http://localhost:6274" -H "Host: localhost:$PORT"
is "$HTTP_STATUS" 200 "row 12: a loopback Origin and Host are allowed"

# 13: GET stream; one is kept open for 27 s in the background, to see its keep-alive
curl -sS -N --max-time 27 -o "$T/keepalive.b" -H "Authorization: Bearer $TOKEN" \
	-H "Accept: text/event-stream" -H "Mcp-Session-Id: $SESSION" "$MCP_URL" 2>/dev/null &
KEEPALIVE_PID=$!
curl -sS -N --max-time 1 -D "$T/get.h" -o "$T/get.b" -H "Authorization: Bearer $TOKEN" \
	-H "Accept: text/event-stream" -H "Mcp-Session-Id: $SESSION" "$MCP_URL" 2>/dev/null
HTTP_HEADERS=$(tr -d '\r' <"$T/get.h")
like "$(head -n 1 <<<"$HTTP_HEADERS")" '^HTTP/1.1 200' "row 13: GET with Accept: text/event-stream opens a stream"
is "$(http_header content-type)" text/event-stream "row 13: of type text/event-stream"
like "$(cat "$T/get.b"; echo .)" $'^event: message\nid: [^\n]+\ndata: \n\n\\.$' "row 13: starting with the priming event (nothing else within a second)"
mcp_post "$SESSION" "" -X GET -H "Accept: application/json"
is "$HTTP_STATUS" 406 "row 13: GET without text/event-stream gets 406"

# 15: other methods
for m in PUT PATCH OPTIONS; do
	mcp_post "$SESSION" "" -X "$m"
	is "$HTTP_STATUS|$(http_header allow)" "405|GET, POST, DELETE" "row 15: $m gets 405 with Allow"
done
is "$HTTP_BODY" "$(error_body -32000 'Method Not Allowed')" "row 15: with a JSON-RPC error"

# 16: body limit (libevent answers it, before the body is read: its own error page)
BIG="{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\",\"params\":{\"pad\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}}"
mcp_post "$SESSION" "$BIG"
is "$HTTP_STATUS|$(http_header content-type)|$(http_header connection)" "413|text/html|close" \
	"row 16: a body over max_body_bytes gets 413, and the connection is closed"
like "$HTTP_BODY" '<TITLE>413 Request Entity Too Large</TITLE>' "row 16: saying so"
mcp_post "$SESSION" "$BIG" -H "Transfer-Encoding: chunked"
is "$HTTP_STATUS" 413 "row 16: so does a chunked body over the limit"
mcp_post "$SESSION" "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\",\"params\":{\"pad\":\"$(head -c 3900 /dev/zero | tr '\0' x)\"}}"
is "$HTTP_STATUS" 200 "row 16: a body just under the limit is served"

# Slow or silent clients cannot hold a connection (mcp_http_timeout_sec = 2).
# closed_after SECONDS TEXT: TEXT is sent on a new connection, which must be closed within SECONDS.
closed_after() {
	local start=$SECONDS

	exec 5<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf '%b' "$2" >&5
	timeout "$1" cat <&5 >/dev/null
	local status=$?
	exec 5<&-
	[ "$status" -eq 0 ] && [ $((SECONDS - start)) -le "$1" ]
}
ok "a silent connection is closed after the idle timeout" closed_after 4 ""
ok "so is one whose headers stall (slowloris)" closed_after 4 'POST /mcp HTTP/1.1\r\nHost: localhost\r\n'
ok "and one whose body stalls" closed_after 4 'POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{'
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":"wait","method":"tools/call","params":{"name":"test_slow","arguments":{"seconds":3}}}'
is "$(jq -c '[.id, .result.content[0].text]' <<<"$HTTP_BODY")" '["wait","Slow operation completed"]' \
	"a call that takes longer than the idle timeout is answered"

# A client that goes away abandons its call, whether its answer streams or not.
for mode in json sse; do
	meta=
	[ $mode = sse ] && meta=',"_meta":{"progressToken":1}'
	mcp_post "$SESSION" "{\"jsonrpc\":\"2.0\",\"id\":\"gone-$mode\",\"method\":\"tools/call\",\"params\":{\"name\":\"test_slow\",\"arguments\":{\"seconds\":30}$meta}}" --max-time 1 2>/dev/null
	ok "a client that leaves a $mode call abandons it" wait_for -t 3 \
		grep -q -E "fixtures: call [^ ]*gone-$mode[^ ]* cancelled" "$T/trestle.log"
done

# Authentication stays in force: a wrong token is refused even with the fixtures on.
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":11,"method":"ping"}' -H "Authorization: Bearer wrong"
is "$HTTP_STATUS" 401 "a wrong bearer token gets 401"

# 14: DELETE, then 404 from every worker (fresh connections spread over the four)
mcp_post "$SESSION" "" -X DELETE
is "$HTTP_STATUS|$HTTP_BODY" "204|" "row 14: DELETE ends the session (204)"
statuses=
for i in $(seq 24); do
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":12,"method":"ping"}'
	statuses+="$HTTP_STATUS "
done
is "$(tr ' ' '\n' <<<"$statuses" | sort -u | tr -d '\n')" 404 "row 14: afterwards the id gets 404 (24 requests over 4 workers)"
mcp_post "$SESSION" "" -X DELETE
is "$HTTP_STATUS" 404 "row 14: a second DELETE gets 404"

wait "$KEEPALIVE_PID"
like "$(cat "$T/keepalive.b"; echo .)" $'^event: message\nid: [^\n]+\ndata: \n\n: keep-alive\n\n\\.$' \
	"row 13: the GET stream outlives the idle timeout, with a keep-alive comment after 25 s"
trestled_stop

# Without the fixtures: a token is required, only the real tools are offered,
# and a worker holds at most mcp_max_streams streams.
write_conf "workers = 1" "state_dir = $T/state" "mcp_max_streams = 1"
trestled_start
mcp_post "" "$INIT" -H "Authorization:"
is "$HTTP_STATUS" 401 "without the fixtures, a client without a token gets 401"
mcp_init || bail "no MCP session"
is "$(jq -c '.result.capabilities | keys' <<<"$(mcp_post "" "$INIT"; echo "$HTTP_BODY")")" '["logging","tools"]' \
	"the capabilities are tools and logging"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
is "$(jq -c '[.result.tools[].name | select(startswith("test_"))]' <<<"$HTTP_BODY")" '[]' "no fixture tool is offered"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_simple_text"}}'
is "$(jq -c '.error.code' <<<"$HTTP_BODY")" -32602 "nor served"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":4,"method":"resources/list"}'
is "$HTTP_BODY" '{"jsonrpc":"2.0","id":4,"result":{"resources":[]}}' "resources/list is empty"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"test_simple_prompt"}}'
is "$(jq -c '.error.code' <<<"$HTTP_BODY")" -32602 "prompts/get finds nothing"
curl -sS -N --max-time 3 -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Accept: text/event-stream" \
	-H "Mcp-Session-Id: $SESSION" "$MCP_URL" 2>/dev/null &
STREAM_PID=$!
wait_for -t 2 false
mcp_post "$SESSION" "" -X GET -H "Accept: text/event-stream"
is "$HTTP_STATUS|$(http_header retry-after)" "503|5" "a stream past mcp_max_streams gets 503 with Retry-After"
wait "$STREAM_PID"
mcp_post "$SESSION" "" -X GET -H "Accept: text/event-stream" --max-time 1 2>/dev/null
is "$HTTP_STATUS" 200 "once the other stream closed, a new one opens"
trestled_stop

check_logs_clean
done_testing
