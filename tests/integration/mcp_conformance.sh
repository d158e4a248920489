#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, under
# Node 22 from npm) against trestled with four workers and the fixtures on:
# every scenario must pass, with no expected-failures file, for the latest
# protocol version (the whole suite, pending scenarios included) and for
# 2025-06-18.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/node22.sh"

need_conformance_suite
is "$("$NODE_BIN/node" --version | cut -d. -f1)" v22 "Node 22 is installed"

pg_start
write_conf "workers = 4" "state_dir = $T/state" "mcp_conformance_fixtures = on"
trestled_start

# run_suite DESC [ARG...]: the whole suite must pass.
run_suite() {
	local desc=$1 status out=$T/conformance.$RANDOM total

	shift
	conformance server --url "$MCP_URL" "$@" >"$out" 2>&1
	status=$?
	total=$(grep -E '^Total: ' "$out" | tail -n 1)
	diag "$desc: $total"
	is "$status" 0 "$desc: the suite exits 0"
	like "$total" '^Total: [1-9][0-9]* passed, 0 failed$' "$desc: every check passed"
	[ "$status" -eq 0 ] || diag "$(grep -E '^[✓✗]|FAILURE|errorMessage' "$out" | head -n 80)"
}

run_suite "MCP 2025-11-25, all scenarios" --suite all
run_suite "MCP 2025-06-18" --spec-version 2025-06-18

# Only one is served: a client without a token sees the fixtures alone.
mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}' -H "Authorization:"
SESSION=$(http_header mcp-session-id)
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' -H "Authorization:"
is "$(jq -c '[.result.tools[].name | select(startswith("test_") | not)]' <<<"$HTTP_BODY")" \
	'["json_schema_2020_12_tool"]' "a client without a token is offered the fixtures only"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_notes","arguments":{}}}' -H "Authorization:"
is "$(jq -c '.error.code' <<<"$HTTP_BODY")" -32602 "and cannot call the real tools"

trestled_stop
check_logs_clean
done_testing
