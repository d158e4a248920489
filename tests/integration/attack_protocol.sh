#!/usr/bin/env bash
# Hostile bytes at the MCP endpoint and the API child: JSON-RPC with the wrong
# type in every field, JSON nested 10,000 deep, invalid UTF-8, bodies,
# headers and URIs beyond the limits, Host and Origin spoofing.  Each answer
# is the documented error of spec/mcp.md §1 (400/-32700 for what is not JSON,
# 400/-32600 for what is not a JSON-RPC message, -32602 for bad params of a
# method, an isError result for bad tool arguments, 403 for Host/Origin) or of
# the contract (400 "invalid JSON"), the daemon keeps serving, and no row of
# the database changes.
#
# Covered elsewhere, not repeated here:
#   mcp_transport.sh	rows 7-9, 11, 12, 15, 16: Accept, Content-Type, a body that is not
#			JSON, batches, a foreign Origin/Host, methods, 413 over max_body_bytes
#   api_security.sh	the API child's 1 MB body and 413 beyond it
#   fuzz_smoke.sh	the parsers (JSON-RPC, tool arguments, tenant, JWT, origin) under libFuzzer
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"

pg_start
write_conf "workers = 1" "mcp_rate_limit_per_minute = 0" "api_rate_limit_per_minute = 0" \
	"mcp_conformance_fixtures = on"
trestled_start
mcp_init || bail "no MCP session"
tools_load
tool_call create_note '{"title":"keep me","content":"x"}'
KEEP=$(jq -r .result.structuredContent.uid <<<"$HTTP_JSON")
api_session || bail "no API session"
db_mark

INVALID='400 {"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request: not a JSON-RPC 2.0 message"},"id":null}'
PARSE='400 {"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}'
post_is() {	# post_is BODY WANT DESC: the status and body of the answer to BODY
	mcp_post "$SESSION" "$1"
	is "$HTTP_STATUS $HTTP_BODY" "$2" "$3"
}

#
# JSON-RPC: the wrong type in every field
#
post_is '{"jsonrpc":2,"id":1,"method":"ping"}' "$INVALID" "jsonrpc a number: -32600"
post_is '{"jsonrpc":"1.0","id":1,"method":"ping"}' "$INVALID" "jsonrpc 1.0: -32600"
post_is '{"jsonrpc":null,"id":1,"method":"ping"}' "$INVALID" "jsonrpc null: -32600"
post_is '{"id":1,"method":"ping"}' "$INVALID" "no jsonrpc member: -32600"
for id in '{}' '[1]' true false 1.5 null '"a","id":{}'; do
	post_is '{"jsonrpc":"2.0","id":'"$id"',"method":"ping"}' "$INVALID" "id $id: -32600 (MCP ids are strings or integers)"
done
for m in 5 null '{}' '["ping"]' true; do
	post_is '{"jsonrpc":"2.0","id":1,"method":'"$m"'}' "$INVALID" "method $m: -32600"
done
for p in '"x"' 5 '[1]' true; do
	post_is '{"jsonrpc":"2.0","id":1,"method":"ping","params":'"$p"'}' "$INVALID" "params $p: -32600 (params are an object)"
done
post_is '{"jsonrpc":"2.0","id":1,"method":"ping","params":null}' '200 {"jsonrpc":"2.0","id":1,"result":{}}' \
	"params null counts as none"
post_is '{"jsonrpc":"2.0","id":1,"result":{},"error":5,"method":7}' "$INVALID" "a response and a request at once: -32600"
for name in 5 null '[]' '{}'; do
	post_is '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":'"$name"'}}' \
		'200 {"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"params.name (a string) is required"}}' \
		"tools/call name $name: -32602"
done
post_is '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"no_such_tool"}}' \
	'200 {"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"unknown tool"}}' "an unknown tool: -32602"
for a in '"x"' '[1]' 5 true; do
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_notes","arguments":'"$a"'}}'
	is "$HTTP_STATUS $(tool_error) $(tool_text)" \
		"200 true Invalid arguments for list_notes: arguments must be an object. Nothing was changed; call list_notes again with corrected arguments." \
		"tools/call arguments $a: an isError result"
done
# every tool, every parameter, a value of the wrong type
wrong_types=0
for tool in $(tool_names 'select(.name | test("^(test_|json_schema)") | not)'); do
	for p in $(jq -r --arg t "$tool" '.result.tools[] | select(.name == $t) | .inputSchema.properties | keys[]' <<<"$TOOLS"); do
		type=$(jq -r --arg t "$tool" --arg p "$p" '.result.tools[] | select(.name == $t) | .inputSchema.properties[$p].type' <<<"$TOOLS")
		case $type in
		string) bad='{"nested":true}' ;;
		integer) bad='"twelve"' ;;
		boolean) bad='"yes please"' ;;
		*) bad=12345 ;;	# objects and lists
		esac
		base='{}'
		[[ $tool == patch_* && $p != updates ]] && base='{"updates":{"k":1}}'
		tool_call "$tool" "$(tool_args "$tool" "$(jq -c ". + {\"$p\": $bad}" <<<"$base")")"
		refused_with "Invalid arguments for $tool: argument '$p' " \
			"$tool with $p of the wrong type ($bad): an isError result naming '$p'" &&
			wrong_types=$((wrong_types + 1))
	done
done
ok "every parameter of every tool refuses a value of the wrong type, naming it ($wrong_types cases)" \
	[ "$wrong_types" -ge 100 ]
post_is '{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"cursor":5}}' \
	'200 {"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"invalid cursor"}}' "tools/list cursor 5: -32602"
post_is '{"jsonrpc":"2.0","id":5,"method":"logging/setLevel","params":{"level":5}}' \
	'200 {"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"level must be one of debug, info, notice, warning, error, critical, alert, emergency"}}' \
	"logging/setLevel level 5: -32602"
post_is '{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":5}}' \
	'200 {"jsonrpc":"2.0","id":6,"error":{"code":-32002,"message":"Resource not found"}}' "resources/read uri 5: -32002"
mcp_post "" '{"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":5,"capabilities":"x","clientInfo":[]}}'
is "$HTTP_STATUS $(jq -r .result.protocolVersion <<<"$HTTP_BODY")" "200 2025-11-25" \
	"initialize with a protocolVersion of the wrong type: the newest version (§2)"
post_is '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{}}}' "202 " \
	"notifications/cancelled with a requestId of the wrong type: 202, nothing cancelled"
post_is '"ping"' "$INVALID" "a JSON string as the body: -32600"
for scalar in 5 true null; do
	# json-c needs a delimiter to end a bare scalar, so these read as unfinished JSON
	post_is "$scalar" "$PARSE" "a bare $scalar as the body: -32700"
done
post_is '{}' "$INVALID" "an empty object: -32600"

#
# JSON nested 10,000 deep (json-c stops at 32), invalid UTF-8
#
deep_array=$(printf '[%.0s' $(seq 10000))$(printf ']%.0s' $(seq 10000))
deep_object=$(printf '{"a":%.0s' $(seq 10000))1$(printf '}%.0s' $(seq 10000))
post_is "$deep_array" "$PARSE" "an array nested 10,000 deep: -32700"
post_is '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"deep","content":"x","additional_fields":{"d":'"$deep_object"'}}}}' \
	"$PARSE" "tool arguments nested 10,000 deep: -32700, nothing created"
api_req POST /v1/notes --data-binary '{"title":"deep","d":'"$deep_array"'}'
is "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "400 invalid JSON" "the API child: a payload nested 10,000 deep is 400 invalid JSON"
api_req POST /v1/sync/notes/push --data-binary '{"items":['"$deep_object"']}'
is "$HTTP_STATUS $(jq -c '.[0].error' <<<"$HTTP_BODY")" '400 "invalid json"' "and so is a push of one"
for bytes in '\xff\xfe' '\xc3\x28' '\xed\xa0\x80' '\xf8\x88\x80\x80\x80' '\xc0\xaf'; do
	# shellcheck disable=SC2059 # the bytes are the point
	body=$(printf '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"bad '"$bytes"' utf-8","content":"x"}}}')
	post_is "$body" "$PARSE" "invalid UTF-8 ($bytes) in a string: -32700"
	# shellcheck disable=SC2059
	api_req POST /v1/notes --data-binary "$(printf '{"title":"bad '"$bytes"' utf-8"}')"
	is "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "400 invalid JSON" "the API child: invalid UTF-8 ($bytes) is 400 invalid JSON"
done
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"nul \u0000 inside","content":"x"}}}'
is "$(tool_error) $(tool_text)" \
	"true The request was refused: invalid JSON. Nothing was changed; correct the arguments and call create_note again." \
	"an escaped NUL (PostgreSQL stores no NUL): isError, nothing changed"

#
# Beyond the limits: headers, URIs (bodies: mcp_transport.sh, api_security.sh)
#
big_header=$(head -c 70000 /dev/zero | tr '\0' a)
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":11,"method":"ping"}' -H "X-Big: $big_header"
is "$HTTP_STATUS $(http_header connection)" "400 close" "a header of 70 KB (the limit is 64 KB): 400, connection closed"
many=()
for i in $(seq 6000); do many+=(-H "X-Many-$i: 0123456789"); done
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":12,"method":"ping"}' "${many[@]}"
is "$HTTP_STATUS" 400 "6000 headers (over 64 KB in all): 400"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$MCP_URL?$(head -c 100000 /dev/zero | tr '\0' a)")
is "$status" 400 "a URI of 100 KB: 400"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":13,"method":"ping"}' -H "X-Fine: $(head -c 8000 /dev/zero | tr '\0' a)"
is "$HTTP_STATUS" 200 "a header of 8 KB is fine"

#
# Host and Origin spoofing (DNS rebinding); the allowed names are localhost, 127.0.0.1, [::1]
#
FORBIDDEN='403 {"jsonrpc":"2.0","error":{"code":-32000,"message":"Forbidden: Host or Origin not allowed"},"id":null}'
for h in "localhost.evil.example" "evil.example" "localhost:1@evil.example" "evil@localhost" \
	"127.0.0.1.nip.io" "127.0.0.1:80:80" "[::1]x" "[::1" "localhost:" "localhost:99999999" \
	"LOCALHOST.evil.example" "127.0.0.2" "0.0.0.0" ""; do
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":14,"method":"ping"}' -H "Host: $h"
	is "$HTTP_STATUS $HTTP_BODY" "$FORBIDDEN" "Host '$h': 403"
done
for h in "localhost" "LOCALHOST:$PORT" "[::1]:$PORT"; do
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":14,"method":"ping"}' -H "Host: $h"
	is "$HTTP_STATUS" 200 "Host '$h': allowed"
done
for o in "null" "http://localhost.evil.example" "http://evil.example" "http://localhost@evil.example" \
	"http://evil.example#@localhost" "http://localhost/path" "http://localhost:1@evil.example" \
	"file://" "http://127.0.0.1.nip.io" "https://[::1].evil.example" "localhost"; do
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":15,"method":"ping"}' -H "Origin: $o"
	is "$HTTP_STATUS $HTTP_BODY" "$FORBIDDEN" "Origin '$o': 403"
done
for o in "http://localhost:3000" "https://127.0.0.1" "http://[::1]:8080"; do
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":15,"method":"ping"}' -H "Origin: $o"
	is "$HTTP_STATUS" 200 "Origin '$o': allowed"
done
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $TOKEN" \
	-H "Origin: http://evil.example" -H "Mcp-Session-Id: $SESSION" -X DELETE "$MCP_URL")
is "$status" 403 "DELETE from a foreign Origin: 403, the session lives on"
post_is '{"jsonrpc":"2.0","id":16,"method":"ping"}' '200 {"jsonrpc":"2.0","id":16,"result":{}}' \
	"the daemon still serves, and the session still works"

tool_call get_note '{"uid":"'"$KEEP"'"}'
is "$(jq -r .result.structuredContent.version <<<"$HTTP_JSON")" 1 "the note made first is still at version 1"
db_unchanged "none of it changed a row"
trestled_stop
check_logs_clean
done_testing
