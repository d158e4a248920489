#!/usr/bin/env bash
# Cross-user access (BOLA): user-b aims at user-a's rows of all five entities
# through every tool that takes a uid or a parent, and through every route of
# the API child.  Each answer is the documented one (an isError result "No
# <noun> with uid … exists for this user" or "was not saved: parent … not
# found"; 404 "<noun> not found"; 403 for another user's sync session), user-b
# sees nothing of user-a's in any list or pull, and not one row changes.
#
# Covered elsewhere, not repeated here:
#   api_security.sh	a push or create of user-a's uid by user-b makes user-b's own row
#   mcp_transport.sh	row 5: user-a's MCP session with user-b's token is 404
#   mcp_auth.sh		sessions bound to their subject across token kinds
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"

pg_start
# One worker: each worker opens its own API sync session for a user, a row of its own.
write_conf "workers = 1" "mcp_rate_limit_per_minute = 0" "api_rate_limit_per_minute = 0"
trestled_start

#
# user-a's rows: one of each entity, each comment and message with its parent
#
mcp_init || bail "user-a's MCP session"
A_SESSION_MCP=$SESSION
tools_load
declare -A A_UID
made() {	# made ENTITY: the uid of the item the last call made
	A_UID[$1]=$(jq -r .result.structuredContent.uid <<<"$HTTP_JSON")
	[[ ${A_UID[$1]} =~ ^[0-9a-f-]{36}$ ]] || bail "user-a's $1: $HTTP_BODY"
}
tool_call create_note '{"title":"a note of a","content":"private"}'
made note
tool_call create_task '{"title":"a task of a"}'
made task
tool_call create_comment '{"content":"a comment of a","parent_type":"note","parent_uid":"'"${A_UID[note]}"'"}'
made comment
tool_call create_chat '{"title":"a chat of a"}'
made chat
tool_call create_chat_message '{"chat_uid":"'"${A_UID[chat]}"'","content":"a message of a"}'
made chat_message
api_session || bail "user-a's API session"
A_API_SESSION=$API_SESSION

# user-b, known to both sides, before the mark
TOKEN=$TOKEN_B mcp_init || bail "user-b's MCP session"
B_SESSION_MCP=$SESSION
TOKEN=$TOKEN_B tool_call list_notes '{}'
is "$(tool_error)" false "user-b's first call works"
API_SUB=user-b api_session || bail "user-b's API session"
B_API_SESSION=$API_SESSION
db_mark

#
# Every tool that takes a uid, on user-a's item of its entity
#
entity_of() {	# the entity a tool name ends in
	case $1 in
	*chat_message) echo chat_message ;;
	*comment) echo comment ;;
	*note) echo note ;;
	*task) echo task ;;
	*chat) echo chat ;;
	esac
}
noun_of() { [ "$1" = chat_message ] && echo "chat message" || echo "$1"; }
n=0
for tool in $(tool_names 'select(.inputSchema.properties.uid)'); do
	e=$(entity_of "$tool")
	over='{"uid":"'"${A_UID[$e]}"'"}'
	[[ $tool == patch_* ]] && over='{"uid":"'"${A_UID[$e]}"'","updates":{"title":"pwned"}}'
	TOKEN=$TOKEN_B tool_call "$tool" "$(tool_args "$tool" "$over")"
	is "$(tool_error)|$(tool_text)" \
		"true|No $(noun_of "$e") with uid ${A_UID[$e]} exists for this user. Check the uid, e.g. with list_${e}s." \
		"$tool on user-a's $e: isError, not found for user-b"
	n=$((n + 1))
done
is "$n" 30 "thirty tools take a uid (six for each entity)"

# parents of another user
TOKEN=$TOKEN_B tool_call create_comment '{"content":"x","parent_type":"note","parent_uid":"'"${A_UID[note]}"'"}'
like "$(tool_error)|$(tool_text)" "^true\|The comment was not saved: parent note not found: ${A_UID[note]} " \
	"create_comment under user-a's note: isError, parent not found"
TOKEN=$TOKEN_B tool_call create_comment '{"content":"x","parent_type":"task","parent_uid":"'"${A_UID[task]}"'"}'
like "$(tool_error)|$(tool_text)" "^true\|The comment was not saved: parent task not found" \
	"create_comment under user-a's task: isError"
TOKEN=$TOKEN_B tool_call create_chat_message '{"content":"x","chat_uid":"'"${A_UID[chat]}"'"}'
like "$(tool_error)|$(tool_text)" "^true\|The chat message was not saved: parent chat not found: ${A_UID[chat]} " \
	"create_chat_message in user-a's chat: isError, parent not found"

# lists: nothing of user-a's, also with tombstones
for tool in $(tool_names 'select(.name | startswith("list_"))'); do
	TOKEN=$TOKEN_B tool_call "$tool" '{"include_deleted":true}'
	is "$(tool_error)|$(jq -c '.result.structuredContent.items' <<<"$HTTP_JSON")" "false|[]" \
		"$tool as user-b: empty"
done

#
# Every route of the API child, as user-b with user-b's own session
#
declare -A ACTION=([notes]=pin [tasks]=start [comments]=resolve [chats]=resolve [chat_messages]=mark_read)
# a full body for PUT: a comment names its parent, a message its chat (user-a's: no better)
declare -A BODY=([notes]='{"title":"pwned"}' [tasks]='{"title":"pwned"}' [chats]='{"title":"pwned"}'
	[comments]='{"content":"pwned","parentType":"note","parentUid":"'"${A_UID[note]}"'"}'
	[chat_messages]='{"content":"pwned","chatUid":"'"${A_UID[chat]}"'"}')
API_SUB=user-b
API_SESSION=$B_API_SESSION
err_is() {	# err_is STATUS ERROR DESC
	is "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "$1 $2" "$3"
}
for path in notes tasks comments chats chat_messages; do
	e=${path%s}
	uid=${A_UID[$e]}
	noun=$(noun_of "$e")
	api_req GET "/v1/$path/$uid"
	err_is 404 "$noun not found" "GET /v1/$path/<a's>: 404"
	api_req GET "/v1/$path/$uid?includeDeleted=true"
	err_is 404 "$noun not found" "GET /v1/$path/<a's>?includeDeleted=true: 404"
	api_req PUT "/v1/$path/$uid" --data-binary "${BODY[$path]}"
	like "$HTTP_STATUS $(jq -r .error <<<"$HTTP_BODY")" "^404 ($noun|parent (note|chat)) not found" \
		"PUT /v1/$path/<a's>: 404"
	api_req PATCH "/v1/$path/$uid" --data-binary '{"title":"pwned"}'
	err_is 404 "$noun not found" "PATCH /v1/$path/<a's>: 404"
	api_req PATCH "/v1/$path/$uid" -H 'If-Match: 1' --data-binary '{"title":"pwned"}'
	err_is 404 "$noun not found" "PATCH /v1/$path/<a's> with If-Match: 404"
	api_req POST "/v1/$path/$uid/archive"
	err_is 404 "$noun not found" "POST /v1/$path/<a's>/archive: 404"
	api_req POST "/v1/$path/$uid/process" --data-binary '{"action":"'"${ACTION[$path]}"'"}'
	err_is 404 "$noun not found" "POST /v1/$path/<a's>/process: 404"
	api_req DELETE "/v1/$path/$uid"
	err_is 404 "$noun not found" "DELETE /v1/$path/<a's>: 404"
	api_req GET "/v1/$path?includeDeleted=true"
	is "$HTTP_STATUS $HTTP_BODY" '200 {"items":[]}' "GET /v1/$path: nothing of user-a's"
	api_req GET "/v1/sync/$path/pull"
	is "$HTTP_STATUS $HTTP_BODY" '200 {"upserts":[],"deletes":[]}' "GET /v1/sync/$path/pull: nothing of user-a's"
done
api_req GET "/v1/sync/sessions/$A_API_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "403 forbidden" "GET user-a's sync session: 403"
api_req DELETE "/v1/sync/sessions/$A_API_SESSION"
is "$HTTP_STATUS $HTTP_BODY" "403 forbidden" "DELETE user-a's sync session: 403"
for route in "GET /v1/notes" "GET /v1/sync/state" "POST /v1/sync/notes/push" "GET /v1/sync/notes/pull"; do
	API_SESSION=$A_API_SESSION api_req ${route% *} "${route#* }" --data-binary '{"items":[]}'
	err_is 403 forbidden "$route with user-a's sync session: 403"
done
API_SESSION=$A_API_SESSION api_req POST /v1/sync/wipe --data-binary '{"confirm":"WIPE"}'
err_is 403 forbidden "POST /v1/sync/wipe with user-a's sync session: 403"
api_req GET /v1/sync/state
is "$HTTP_STATUS $HTTP_BODY" '200 {"epoch":1}' "user-b's state is user-b's"

# Through the MCP endpoint: user-a's MCP session is no credential for user-b.
TOKEN=$TOKEN_B mcp_post "$A_SESSION_MCP" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_note","arguments":{"uid":"'"${A_UID[note]}"'"}}}'
is "$HTTP_STATUS" 404 "user-a's MCP session with user-b's token: 404"

db_unchanged "none of it changed a row"

# user-b's wipe is user-b's: user-a's rows stay as they were
api_req POST /v1/sync/wipe --data-binary '{"confirm":"WIPE"}'
is "$HTTP_STATUS $(jq -c .deleted <<<"$HTTP_BODY")" '200 {"chat_message":0,"comment":0,"chat":0,"task":0,"note":0}' \
	"user-b's wipe deletes nothing of user-a's"
is "$(pg_sql "SELECT count(*) FROM (SELECT owner_id FROM note UNION ALL SELECT owner_id FROM task
	UNION ALL SELECT owner_id FROM comment UNION ALL SELECT owner_id FROM chat
	UNION ALL SELECT owner_id FROM chat_message) r JOIN app_user u ON u.id = r.owner_id
	WHERE u.sub = 'user-a' ")" 5 "user-a still has five rows"
SESSION=$A_SESSION_MCP tool_call get_note '{"uid":"'"${A_UID[note]}"'"}'
is "$(jq -r '.result.structuredContent | "\(.version) \(.payload.title)"' <<<"$HTTP_JSON")" "1 a note of a" \
	"and user-a reads the note at version 1"
: "$B_SESSION_MCP"
trestled_stop
check_logs_clean
done_testing
