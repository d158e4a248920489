# Helpers of the attack suites (attack_*.sh), sourced after lib.sh.
#
# Where each attack is tested (every answer the documented error, no row changed):
#   cross-user access (BOLA), every route and tool	attack_bola.sh, api_security.sh
#   tenant headers: forged, expired, wrong tenant	forged_tenant.sh, attack_auth.sh
#   tenant headers: replayed (v2; v1 replays within	tenant_v2.sh
#     5 minutes are the contract's known weakness)
#   JWTs: alg none, HS/RS confusion, bad signature,	mcp_auth.sh (MCP endpoint), jwks.sh,
#     expired, wrong audience, wrong issuer		api_security.sh, attack_auth.sh (API child)
#   token passthrough					attack_auth.sh, secrets_grep.sh
#   oversized bodies and headers			mcp_transport.sh (row 16), api_security.sh,
#							attack_protocol.sh
#   JSON nested 10,000 deep, invalid UTF-8,		attack_protocol.sh
#     JSON-RPC with wrong types in every field
#   Host and Origin spoofing				mcp_transport.sh (row 12), attack_protocol.sh
#   path traversal, SQL metacharacters		attack_injection.sh, api_security.sh
#   floods: rate limit, connections, slow clients	protect.sh, fault_conns.sh
#
# Database:	db_mark			(remember every row of every table)
#		db_unchanged DESC	(passes when every row is as db_mark left it;
#					 else fails and shows the difference)
# MCP:		tools_load		(TOOLS: the tools/list result, as $TOKEN)
#		tool_args NAME [JSON]	(valid arguments of NAME from its inputSchema:
#					 each required property gets a value of its type, the
#					 first of its enum, a UUID for a *uid; JSON's members
#					 are put over them)
#		tool_names JQ-FILTER	(the names of the tools the filter selects, e.g.
#					 'select(.inputSchema.properties.uid)')
#		tool_call NAME ARGS [CURL-ARG...]	(tools/call on $SESSION as $TOKEN)
#		tool_error			(1 when the last answer is an isError result)
#		tool_text			(its first text block)
#		refused_with PREFIX DESC	(0 when the last answer is an isError result whose
#					 text starts with PREFIX; else fails DESC and shows it)

# Every row of every table of the public schema, one line each, sorted.
_db_rows() {
	local union

	union=$(pg_sql "SELECT string_agg(format('SELECT %L || '': '' || row_to_json(x)::text AS r FROM %I x',
		tablename, tablename), ' UNION ALL ') FROM pg_tables WHERE schemaname = 'public'")
	pg_sql "SELECT r FROM ($union) rows ORDER BY r"
}

db_mark() {
	_db_rows >"$T/db.mark" || bail "db_mark: cannot read the database"
}

db_unchanged() {
	_db_rows >"$T/db.now"
	if cmp -s "$T/db.mark" "$T/db.now"; then
		pass "$1 ($(wc -l <"$T/db.mark") rows, unchanged)"
	else
		fail "$1"
		diag "rows changed (< before, > after):" "$(diff "$T/db.mark" "$T/db.now" | head -n 20)"
	fi
}

tools_load() {
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":"tools","method":"tools/list"}'
	TOOLS=$HTTP_JSON
	[ "$(jq '.result.tools | length' <<<"$TOOLS")" -gt 0 ] || bail "tools/list: $HTTP_BODY"
}

tool_args() {
	local over=${2:-'{}'}

	jq -c --arg name "$1" --argjson over "$over" '
		.result.tools[] | select(.name == $name) | .inputSchema as $s
		| reduce ($s.required // [])[] as $p ({};
			. + {($p): ($s.properties[$p] |
				if .enum then .enum[0]
				elif $p | endswith("uid") then "00000000-0000-4000-8000-000000000000"
				elif .type == "integer" then 1
				elif .type == "boolean" then false
				elif .type == "object" then {}
				elif .type == "array" then []
				else "x" end)})
		| . + $over' <<<"$TOOLS"
}

tool_names() {
	jq -r ".result.tools[] | $1 | .name" <<<"$TOOLS"
}

tool_call() {
	local name=$1 args=$2

	shift 2
	mcp_post "$SESSION" "$(jq -nc --arg name "$name" --argjson args "$args" \
		'{jsonrpc: "2.0", id: 1, method: "tools/call", params: {name: $name, arguments: $args}}')" "$@"
}

tool_error() {
	jq -r '.result.isError' <<<"$HTTP_JSON"
}

tool_text() {
	jq -r '.result.content[0].text' <<<"$HTTP_JSON"
}

refused_with() {
	[ "$(tool_error)" = true ] && [[ $(tool_text) == "$1"* ]] && return 0
	fail "$2"
	diag "$HTTP_BODY"
	return 1
}
