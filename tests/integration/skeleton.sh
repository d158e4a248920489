#!/usr/bin/env bash
# The walking skeleton end to end: curl → worker → API child → PostgreSQL.
. "$(dirname "$0")/lib.sh"

pg_start
write_conf
trestled_start

mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
is "$HTTP_STATUS" 200 "initialize answers 200"
is "$(http_header content-type)" "application/json" "initialize answers JSON"
is "$(jq -c '[.id, .result.protocolVersion, .result.serverInfo.name, (.result.capabilities.tools != null)]' <<<"$HTTP_JSON")" \
	'[1,"2025-11-25","trestle",true]' "initialize result: id, version, server, tools capability"
SESSION=$(http_header mcp-session-id)
like "$SESSION" '^[A-Za-z0-9_.-]{40,}$' "a session id of visible ASCII is issued"

mcp_post "$SESSION" '{"jsonrpc":"2.0","method":"notifications/initialized"}'
is "$HTTP_STATUS" 202 "notifications/initialized answers 202"
is "$HTTP_BODY" "" "with an empty body"

mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
is "$HTTP_STATUS" 200 "tools/list answers 200"
is "$(jq -c '[.result.tools[].name | select(. == "create_note" or . == "get_note" or . == "list_notes")] | sort' <<<"$HTTP_JSON")" \
	'["create_note","get_note","list_notes"]' "tools/list names the skeleton's tools"
is "$(jq '.result.tools | length' <<<"$HTTP_JSON")" 41 "and the other tools of the table (41 in all)"
is "$(jq -c '.result.tools[] | select(.name=="get_note") | [.inputSchema.type, .inputSchema.required, .annotations.readOnlyHint]' <<<"$HTTP_JSON")" \
	'["object",["uid"],true]' "get_note: object schema, uid required, read-only"

mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"Groceries","content":"milk; \"eggs\" & '"'"'bread'"'"'","tags":["home"]}}}'
is "$HTTP_STATUS" 200 "create_note answers 200"
is "$(jq -c '[.id, .result.isError, .result.structuredContent.version, .result.structuredContent.payload.title, .result.structuredContent.payload.content, .result.structuredContent.payload.tags, .result.structuredContent.payload.sync]' <<<"$HTTP_JSON")" \
	'[3,false,1,"Groceries","milk; \"eggs\" & '"'"'bread'"'"'",["home"],{"version":1,"isDeleted":false}]' \
	"create_note returns the item at version 1 with its payload"
UID_=$(jq -r '.result.structuredContent.uid' <<<"$HTTP_JSON")
like "$UID_" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "the new note has a UUID v4"
is "$(jq -c '.result.content[0].text | fromjson | .uid' <<<"$HTTP_JSON")" "\"$UID_\"" \
	"the text block repeats the structured content"

is "$(pg_sql "SELECT n.version, n.payload_json->>'title', u.sub, n.deleted_at_ms IS NULL FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.uid = '$UID_'")" \
	"1|Groceries|user-a|t" "the note is in PostgreSQL, owned by user-a"
is "$(pg_sql "SELECT count(*) FROM trestle_sync_session s JOIN app_user u ON u.id = s.owner_id WHERE u.sub = 'user-a'")" \
	1 "one API sync session was opened for the user"

mcp_post "$SESSION" '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_note","arguments":{"uid":"'"$UID_"'"}}}'
is "$(jq -c '[.id, .result.isError, .result.structuredContent.uid, .result.structuredContent.version, .result.structuredContent.payload.title]' <<<"$HTTP_JSON")" \
	"[4,false,\"$UID_\",1,\"Groceries\"]" "get_note returns the same note"

mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_notes","arguments":{"limit":10}}}'
is "$(jq -c '[.id, .result.isError, [.result.structuredContent.items[].uid], (.result.structuredContent.nextCursor | type)]' <<<"$HTTP_JSON")" \
	"[5,false,[\"$UID_\"],\"string\"]" "list_notes lists exactly that note, and a cursor"
cursor=$(jq -r .result.structuredContent.nextCursor <<<"$HTTP_JSON")
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_notes","arguments":{"cursor":"'"$cursor"'"}}}'
is "$(jq -c '[.result.isError, .result.structuredContent]' <<<"$HTTP_JSON")" '[false,{"items":[]}]' \
	"the next page is empty: the end"
for i in 1 2 3 4 5 6; do
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":50,"method":"tools/call","params":{"name":"list_notes","arguments":{}}}'
done
sessions=$(pg_sql "SELECT count(*) FROM trestle_sync_session")
ok "the API sync session is reused: $sessions for 8 calls on 2 workers" test "$sessions" -ge 1 -a "$sessions" -le 2

# Failures a model can act on, and protocol errors.
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"get_note","arguments":{}}}'
is "$(jq -c '.result.isError' <<<"$HTTP_JSON")" true "a missing argument is an isError result"
like "$(jq -r '.result.content[0].text' <<<"$HTTP_JSON")" "^Invalid arguments for get_note: missing required argument 'uid'" \
	"saying which argument is missing"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_note","arguments":{"uid":"00000000-0000-4000-8000-000000000000"}}}'
is "$(jq -c '.result.isError' <<<"$HTTP_JSON")" true "an unknown note is an isError result"
like "$(jq -r '.result.content[0].text' <<<"$HTTP_JSON")" '^No note with uid 00000000-0000-4000-8000-000000000000 exists' \
	"saying it was not found"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"no_such_tool"}}'
is "$(jq -c '[.id, .error.code]' <<<"$HTTP_JSON")" '[8,-32602]' "an unknown tool is JSON-RPC -32602"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":9,"method":"no/such/method"}'
is "$(jq -c '[.id, .error.code]' <<<"$HTTP_JSON")" '[9,-32601]' "an unknown method is -32601"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":10,"method":"tools/list"}' -H "Authorization: Bearer wrong"
is "$HTTP_STATUS" 401 "a wrong bearer token gets 401"
like "$(http_header www-authenticate)" '^Bearer resource_metadata=".*/\.well-known/oauth-protected-resource/mcp", error="invalid_token"$' \
	"with a WWW-Authenticate challenge"
TOKEN=$TOKEN_B mcp_post "$SESSION" '{"jsonrpc":"2.0","id":11,"method":"tools/list"}'
is "$HTTP_STATUS" 404 "user-a's session is unknown to user-b (404)"

curl -sS -o "$T/h" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" >"$T/s"
is "$(cat "$T/s") $(cat "$T/h")" "200 ok" "GET /healthz answers 200 ok"

trestled_stop
check_logs_clean
done_testing
