#!/usr/bin/env bash
# Injection through every parameter: path traversal in everything file-like
# (each uid, parent and chat uid, cursor, resource URI, and the paths of both
# HTTP servers) and SQL metacharacters in every string field of every tool
# and in the API child's paths, queries and headers.  A refused value gets
# the documented error (an isError result that names the argument, -32002,
# 400 "invalid UID", 400 for a cursor or limit, 404 for a path no route has)
# and changes no row; an accepted one is stored and returned byte for byte,
# as data: no statement is ever built from it (pg_sleep in it never sleeps,
# DROP TABLE drops nothing).
#
# Covered elsewhere, not repeated here:
#   api_security.sh	SQL metacharacters in an API payload, in limit, If-Match and
#			X-Sync-Session
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"

NASTY=$'Robert\'); DROP TABLE note; -- " \\ %_ $1 ;SELECT pg_sleep(3);/* é 中 😀'
NASTY_KEY="k'); DELETE FROM app_user; --"
ZERO_UUID=00000000-0000-4000-8000-000000000000

pg_start
write_conf "workers = 1" "mcp_rate_limit_per_minute = 0" "api_rate_limit_per_minute = 0" \
	"mcp_conformance_fixtures = on"
trestled_start
mcp_init || bail "no MCP session"
tools_load

# user-a's own items, the targets of every uid
declare -A OWN
own() {	# own ENTITY TOOL ARGS
	tool_call "$2" "$3"
	OWN[$1]=$(jq -r .result.structuredContent.uid <<<"$HTTP_JSON")
	[[ ${OWN[$1]} =~ ^[0-9a-f-]{36}$ ]] || bail "user-a's $1: $HTTP_BODY"
}
own note create_note '{"title":"n","content":"x"}'
own task create_task '{"title":"t"}'
own comment create_comment '{"content":"c","parent_type":"note","parent_uid":"'"${OWN[note]}"'"}'
own chat create_chat '{"title":"c"}'
own chat_message create_chat_message '{"chat_uid":"'"${OWN[chat]}"'","content":"m"}'
api_session || bail "no API session"
entity_of() {
	case $1 in
	*chat_message | *chat_messages) echo chat_message ;;
	*comment | *comments) echo comment ;;
	*note | *notes) echo note ;;
	*task | *tasks) echo task ;;
	*chat | *chats) echo chat ;;
	esac
}
# uid_params TOOL: the names of its parameters that hold a uid
uid_params() {
	jq -r --arg t "$1" '.result.tools[] | select(.name == $t) | .inputSchema.properties | keys[]
		| select(endswith("uid"))' <<<"$TOOLS"
}
# own_args TOOL: valid arguments that aim at user-a's own items
own_args() {
	local e over

	e=$(entity_of "$1")
	over=$(jq -nc --arg uid "${OWN[$e]:-$ZERO_UUID}" --arg note "${OWN[note]}" --arg chat "${OWN[chat]}" \
		'{uid: $uid, parent_uid: $note, parent_type: "note", chat_uid: $chat}')
	[[ $1 == patch_* ]] && over=$(jq -c '. + {updates: {k: 1}}' <<<"$over")
	jq -c --argjson over "$over" '. as $a | reduce ($over | keys[]) as $k ($a;
		if has($k) then .[$k] = $over[$k] else . end)' <<<"$(tool_args "$1" "{}")"
}
WRITE_TOOLS=$(tool_names 'select(.name | test("^(test_|json_schema|health|list_|get_)") | not)')
db_mark

#
# Path traversal
#
TRAVERSALS=("../../../../etc/passwd" "..%2F..%2F..%2Fetc%2Fpasswd" "/etc/passwd" "$ZERO_UUID/../../x"
	"....//....//etc/passwd" "%2e%2e%2f" 'C:\Windows\win.ini' "file:///etc/passwd")
n=0
want=0
for tool in $(tool_names 'select(.name | test("^(test_|json_schema)") | not)'); do
	for p in $(uid_params "$tool"); do
		want=$((want + ${#TRAVERSALS[@]}))
		for t in "${TRAVERSALS[@]}"; do
			tool_call "$tool" "$(jq -c --arg p "$p" --arg t "$t" '.[$p] = $t' <<<"$(own_args "$tool")")"
			refused_with "Invalid arguments for $tool: argument '$p' must be a UUID" \
				"$tool with $p '$t': isError, must be a UUID" && n=$((n + 1))
		done
	done
done
ok "every uid parameter of every tool refuses a path ($n of $want cases)" [ "$n" -eq "$want" ] && [ "$n" -ge 240 ]
for tool in $(tool_names 'select(.name | startswith("list_"))'); do
	for t in "${TRAVERSALS[@]}"; do
		tool_call "$tool" "$(jq -nc --arg t "$t" '{cursor: $t}')"
		is "$(tool_error)|$(tool_text)" \
			"true|The request was refused: invalid cursor. Nothing was changed; correct the arguments and call $tool again." \
			"$tool with cursor '$t': isError, invalid cursor"
	done
done
for uri in "file:///etc/passwd" "test://../../../../etc/passwd" "test://static-text/../../etc/passwd" \
	"/etc/passwd" "test://template/../../../etc/passwd"; do
	mcp_post "$SESSION" "$(jq -nc --arg u "$uri" '{jsonrpc: "2.0", id: 5, method: "resources/read", params: {uri: $u}}')"
	unlike "$HTTP_BODY" 'root:' "resources/read '$uri': nothing of /etc/passwd"
	[[ $uri == test://template/* ]] ||
		is "$HTTP_BODY" '{"jsonrpc":"2.0","id":5,"error":{"code":-32002,"message":"Resource not found"}}' \
			"resources/read '$uri': -32002"
done
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":6,"method":"prompts/get","params":{"name":"test_prompt_with_embedded_resource","arguments":{"resourceUri":"file:///etc/passwd"}}}'
unlike "$HTTP_BODY" 'root:' "a prompt that embeds 'file:///etc/passwd': nothing of the file"
path_status() {	# path_status URL-PATH [CURL-ARG...]: the status of a GET, the path sent as is
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is "${@:2}" "$1"
}
for p in "/mcp/../metrics" "/mcp/..%2Fmetrics" "/.well-known/oauth-protected-resource/../../../etc/passwd" \
	"/healthz/../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "//etc/passwd"; do
	is "$(path_status "http://127.0.0.1:$PORT$p")" 404 "MCP listener: GET $p is 404"
done
for p in "/v1/notes/../../../etc/passwd" "/v1/notes/..%2F..%2Fetc%2Fpasswd" "/v1/sync/info/../../notes" \
	"/v1/%2e%2e/notes" "//v1/notes" "/v1/notes/$ZERO_UUID/../../tasks"; do
	api_req GET "$p" --path-as-is
	like "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY" 2>/dev/null)" '^(404 not found|400 invalid UID)$' \
		"API child: GET $p is 404 not found or 400 invalid UID"
done
db_unchanged "path traversal changed no row"

#
# SQL metacharacters, refused: in every uid, every choice, every number, every cursor
#
refused=0
want=0
for tool in $(tool_names 'select(.name | test("^(test_|json_schema)") | not)'); do
	for p in $(jq -r --arg t "$tool" '.result.tools[] | select(.name == $t) | .inputSchema.properties
		| to_entries[] | select(.value.enum or .value.type == "integer" or (.key | endswith("uid")))
		| .key' <<<"$TOOLS"); do
		want=$((want + 1))
		tool_call "$tool" "$(jq -c --arg p "$p" --arg v "$NASTY" '.[$p] = $v' <<<"$(own_args "$tool")")"
		refused_with "Invalid arguments for $tool: argument '$p' " \
			"$tool with SQL in $p: isError naming '$p'" && refused=$((refused + 1))
	done
done
ok "SQL in a uid, a choice or a number is refused, naming the argument ($refused of $want cases)" \
	[ "$refused" -eq "$want" ] && [ "$refused" -ge 50 ]
api_req GET "/v1/notes?cursor=$(jq -rn --arg v "$NASTY" '$v | @uri')"
is "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "400 invalid cursor" "API child: SQL in cursor is 400"
api_req GET "/v1/notes?includeDeleted=$(jq -rn --arg v "$NASTY" '$v | @uri')"
is "$HTTP_STATUS" 200 "API child: SQL in includeDeleted is not 'true', so it is false"
api_req GET "/v1/notes/$(jq -rn --arg v "$NASTY" '$v | @uri')"
like "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "^(400 invalid UID|404 not found)$" \
	"API child: SQL as the uid is 400 invalid UID (or 404: longer than any uid, no route)"
api_req GET /v1/notes/x%27%3BDROP%20TABLE%20note%3B--
is "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "400 invalid UID" "API child: a short one is 400 invalid UID"
api_req GET /v1/notes -H "X-Sync-Epoch: 1; DROP TABLE note"
is "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "409 epoch_mismatch" \
	"API child: SQL in X-Sync-Epoch is no epoch: 409 epoch_mismatch"
api_req GET /v1/notes -H "X-Correlation-ID: $NASTY_KEY"
is "$HTTP_STATUS" 200 "API child: SQL in X-Correlation-ID is only an id"
api_req POST /v1/sync/notes/push --data-binary "$(jq -nc --arg v "$NASTY" '{items: [{uid: $v, title: "x"}]}')"
is "$HTTP_STATUS $(jq -r '.[0].error' <<<"$HTTP_BODY")" "200 missing or invalid uid" \
	"API child: SQL as a pushed uid is a per-item error"
db_unchanged "refused SQL changed no row"

#
# SQL metacharacters, accepted as data: every other string, list and object of every write tool
#
slowest=0
stored=0
for tool in $WRITE_TOOLS; do
	args=$(jq -c --arg v "$NASTY" --arg k "$NASTY_KEY" --argjson props "$(jq -c --arg t "$tool" \
		'.result.tools[] | select(.name == $t) | .inputSchema.properties' <<<"$TOOLS")" '
		reduce ($props | to_entries[]) as $e (.;
			if ($e.value.enum or ($e.key | endswith("uid"))) then .
			elif $e.value.type == "string" then .[$e.key] = $v
			elif $e.value.type == "array" then .[$e.key] = [$v, $k]
			elif $e.value.type == "object" then .[$e.key] = {($k): $v}
			else . end)' <<<"$(own_args "$tool")")
	[ "$args" = "$(own_args "$tool")" ] && continue	# no free text to try
	[[ $tool == update_* ]] && args=$(jq -c 'del(.if_match)' <<<"$args")
	start=$(_now_us)
	tool_call "$tool" "$args"
	took=$((($(_now_us) - start) / 1000))
	[ "$took" -gt "$slowest" ] && slowest=$took
	if [ "$(tool_error)" = false ] &&
		[ "$(jq --arg v "$NASTY" '[.result.structuredContent | .. | strings | select(. == $v)] | length' <<<"$HTTP_JSON")" -gt 0 ]; then
		stored=$((stored + 1))
	elif [ "$(tool_error)" = true ] && [[ $(tool_text) == "Invalid arguments for $tool: argument "* ]]; then
		pass "$tool: a value it validates is refused, naming it: $(tool_text | cut -c1-80)"
	else
		fail "$tool with SQL in every free field: stored verbatim, or refused naming the argument"
		diag "$args" "$HTTP_BODY"
	fi
done
ok "SQL in every free field of the write tools is stored as given ($stored tools)" [ "$stored" -ge 20 ]
ok "no pg_sleep ran (the slowest call took $slowest ms)" [ "$slowest" -lt 2500 ]
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' = \$q\$$NASTY\$q\$")" 2 \
	"PostgreSQL holds the title byte for byte (create_note's note, update_note's)"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json ? \$q\$$NASTY_KEY\$q\$")" 2 \
	"and a key of additional_fields or updates"
is "$(pg_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN
	('app_user', 'note', 'task', 'comment', 'chat', 'chat_message', 'owner_state', 'trestle_sync_session')")" \
	8 "every table is still there"
is "$(pg_sql "SELECT string_agg(sub, ',' ORDER BY sub) FROM app_user")" user-a "and every user"
tool_call get_note '{"uid":"'"${OWN[note]}"'"}'
is "$(tool_error)" false "the service still serves"
trestled_stop
check_logs_clean
done_testing
