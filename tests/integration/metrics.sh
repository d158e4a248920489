#!/usr/bin/env bash
# /metrics: Prometheus text summed over every process from the shared
# memory the master created.  The request totals equal the requests sent,
# whichever worker answered, and still do after a worker was killed (its
# counts stay in its slot for the next one).  Restarts by role, reloads, the
# generation, sessions and the API child's pool are there too.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

LOADGEN=$TRESTLE_BUILDDIR/tests/loadgen

metrics() {
	curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics"
}

# metric NAME{LABELS}: its value (0 when absent).
metric() {
	metrics | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}

# The POST requests answered 200, summed over the label sets.
posts_ok() {
	metric 'trestle_http_requests_total{method="POST",code="200"}'
}

status_field() {
	"$TRESTLECTL" -c "$T/trestle.conf" status --json | jq -r "$1"
}

worker1_back() {
	[ "$(status_field '.children[] | select(.role=="worker" and .slot==1) | "\(.pid) \(.state)"')" != "$1 running" ] &&
		[ "$(status_field '.children[] | select(.role=="worker" and .slot==1) | .state')" = running ]
}

pg_start
write_conf "workers = 2" "db_pool_size = 3" "mcp_rate_limit_per_minute = 0"
trestled_start

text=$(metrics)
is "$?" 0 "GET /metrics answers"
like "$text" $'# TYPE trestle_http_requests_total counter\n' "Prometheus text with TYPE lines"
like "$text" $'\ntrestle_http_request_duration_seconds_bucket\\{le="\\+Inf"\\} [0-9]+\n' "a latency histogram"
is "$(metric trestle_generation)" 1 "the generation"
is "$(metric trestle_workers_up)" 2 "two workers up"

mcp_init || bail "MCP session"
sessions=$(metric trestle_mcp_sessions_created_total)
is "$sessions" 1 "one session created"
base=$(posts_ok)
"$LOADGEN" -u "$MCP_URL" -t "$TOKEN" -s "$SESSION" -c 4 -n 1000 -p m1 >"$T/load1.out" 2>&1
is "$?" 0 "1000 pings, none failed"
is "$(posts_ok)" $((base + 1000)) "the POST total grew by exactly 1000"

old=$(status_field '.children[] | select(.role=="worker" and .slot==1) | .pid')
kill -KILL "$old"
ok "worker 1 is back" wait_for -t 5 worker1_back "$old"
is "$(posts_ok)" $((base + 1000)) "after the kill, the total is unchanged"
"$LOADGEN" -u "$MCP_URL" -t "$TOKEN" -s "$SESSION" -c 4 -n 500 -p m2 >"$T/load2.out" 2>&1
is "$?" 0 "500 more pings, none failed"
is "$(posts_ok)" $((base + 1500)) "the total counts them all: 1500 more"
is "$(metric 'trestle_restarts_total{role="worker"}')" 1 "one worker restart"
is "$(metric 'trestle_restarts_total{role="api"}')" 0 "no API child restart"

# The API child's pool figures reach the metrics within a second or two.
pool_ready() {
	[ "$(metric trestle_db_pool_size)" = 3 ]
}
ok "the pool size is published" wait_for -t 5 pool_ready
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"m","content":"n"}}}'
is "$(jq -r .result.isError <<<"$HTTP_JSON")" false "a tool call"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"get_note","arguments":{"uid":"00000000-0000-4000-8000-000000000000"}}}'
is "$(jq -r .result.isError <<<"$HTTP_JSON")" true "a tool call that fails"
is "$(metric 'trestle_tool_calls_total{tool="create_note",outcome="ok"}') $(metric 'trestle_tool_calls_total{tool="get_note",outcome="error"}')" \
	"1 1" "tool calls are counted by tool and outcome"
served() {
	[ "$(metric 'trestle_db_queries_total{result="served"}')" -gt 0 ]
}
ok "database queries are counted" wait_for -t 5 served
like "$(metric trestle_db_pipelined_total)" '^[0-9]+$' "pipelined queries are counted"

before=$(posts_ok)
is "$before" $((base + 1502)) "the tool calls' POSTs are counted too"
"$TRESTLECTL" -c "$T/trestle.conf" reload >/dev/null
is "$?" 0 "a reload"
is "$(metric 'trestle_reloads_total{result="ok"}')" 1 "is counted"
is "$(metric trestle_generation)" 2 "the generation follows"
is "$(posts_ok)" "$before" "the totals survive the reload"

trestled_stop
check_logs_clean
done_testing
