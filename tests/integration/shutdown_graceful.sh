#!/usr/bin/env bash
# SIGTERM with a slow request in flight: a create_note tool call waits on a
# lock held in PostgreSQL when the master gets SIGTERM.  New connections are
# refused at once, the request completes (its row is in the table), the
# master exits 0 and no process is left.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

lock_held() {
	[ "$(pg_sql "SELECT count(*) FROM pg_locks WHERE relation = 'note'::regclass AND mode = 'ShareLock' AND granted")" = 1 ]
}

insert_waiting() {
	[ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT%'")" -ge 1 ]
}

refused() {
	! curl -sS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" 2>/dev/null
}

pg_start
write_conf "workers = 2" "shutdown_timeout_sec = 20"
trestled_start
mcp_init || bail "MCP session"
kids=$(child_pids "$TRESTLED_PID")
# Warm the API child's pool: its connections are open and prepared before the lock.
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"warm","content":"before"}}}'
is "$(jq -r '.result.isError' <<<"$HTTP_JSON")" false "a first tool call succeeds"

# A lock that lets reads through but holds inserts for 4 s; the tool call waits behind it.
_spawn_group "$PG_BIN/psql" -h "$PG_HOST" -U trestle -d trestle -X -q -o /dev/null -c \
	"BEGIN; LOCK TABLE note IN SHARE MODE; SELECT pg_sleep(4); COMMIT;"
ok "a session holds a lock on the notes" wait_for -t 5 lock_held
(
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"slow","content":"in flight at SIGTERM"}}}' \
		--max-time 30
	echo "$HTTP_STATUS" >"$T/slow.status"
	echo "$HTTP_JSON" >"$T/slow.json"
) &
slow_pid=$!
ok "the tool call waits on the lock" wait_for -t 5 insert_waiting

t0=$(_now_us)
kill -TERM "$TRESTLED_PID"
ok "new connections are refused once the shutdown began" wait_for -t 2 refused
ok "the master is still draining a second later" pid_alive "$TRESTLED_PID"
wait "$slow_pid"
is "$(cat "$T/slow.status")" 200 "the slow request completed with 200"
is "$(jq -r '.result.isError' "$T/slow.json")" false "and its tool call succeeded"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'content' = 'in flight at SIGTERM'")" 1 \
	"its note is in the table"
ok "the master exits" wait_for -t 15 _trestled_gone
wait "$TRESTLED_PID"
is "$?" 0 "with status 0"
diag "shutdown took $((($(_now_us) - t0) / 1000)) ms"
TRESTLED_PID=
# shellcheck disable=SC2086
ok "no process is left" none_alive $kids
like "$(cat "$T/trestle.log")" "worker: drained; exiting" "a worker drained"

check_logs_clean
done_testing
