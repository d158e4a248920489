#!/usr/bin/env bash
# The API child and a real PostgreSQL that goes away and comes back:
#  - down when the API child starts: it serves (503 with Retry-After, never a
#    crash loop) and applies the schema on its own once PostgreSQL is up;
#  - stopped (pg_ctl stop -m fast) under a stream of requests: those in the
#    outage get 503 with the contract's JSON error and Retry-After, and once
#    it is back not one request fails;
#  - a pool of 4 connections under 64 concurrent clients: every request is
#    queued and served, and PostgreSQL never sees more than 4 connections;
#  - a statement that runs past db_statement_timeout_ms is cut short: 503,
#    nothing changed, and the connection serves the next request.
. "$(dirname "$0")/lib.sh"

jb() { jq -c "$@" <<<"$HTTP_BODY"; }

api_child_pid() {
	local p

	for p in $(child_pids "$TRESTLED_PID"); do
		[[ $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) == *trestle-api* ]] && echo "$p"
	done
}

# is503 DESC: the last answer is the contract's 503 for a database that is away.
is503() {
	is "$HTTP_STATUS $(http_header retry-after) $(jb 'keys')" '503 1 ["correlation_id","error"]' \
		"$1: 503, Retry-After: 1, a JSON error"
	like "$(jb -r .error)" '^database unavailable(: schema not yet applied)?$' \
		"$1: the error says the database is unavailable, and no more (no host, no socket)"
	is "$(jb -r .correlation_id)" "$(http_header x-correlation-id)" "$1: with the correlation id"
}

pg_start
pg_down
write_conf "db_pool_size = 4" "db_statement_timeout_ms = 1000"

#
# PostgreSQL down when the API child starts
#
TRESTLED_WAIT=socket trestled_start
API_PID=$(api_child_pid)
ok "the API child runs (pid $API_PID)" test -n "$API_PID"
api_req POST /v1/sync/sessions
is503 "a session with PostgreSQL down"
status=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$API_SOCK" http://api/healthz)
is "$status" 200 "/healthz still answers"
status=$(curl -s -o "$T/readyz" -w '%{http_code}' --unix-socket "$API_SOCK" http://api/readyz)
is "$status $(cat "$T/readyz")" "503 not ready: database schema not yet applied" "/readyz says why it is not ready"
sleep 2.5	# a few of the schema's retries, once a second
api_req GET /v1/sync/state -H "X-Sync-Session: 00000000-0000-4000-8000-000000000000"
is503 "2.5 s later"
is "$(api_child_pid)" "$API_PID" "the API child was not restarted: no crash loop"
is "$(grep -c 'migrations: cannot apply the schema yet' "$T/trestle.log")" 1 \
	"the failing schema is logged once, not at every retry"
like "$(grep -F '"role":"api"' "$T/trestle.log" | grep -F 'db_pool: at most 4 connections')" . \
	"the pool's size is logged at start"
like "$(grep -F 'api: PostgreSQL pool of 4 connections (db_pool_size)' "$T/trestle.log")" . \
	"and named after its setting"

pg_up || bail "PostgreSQL starts again"
session_opened() { api_session 2>/dev/null; }
ok "once PostgreSQL is up, requests succeed without a restart" wait_for -t 15 session_opened
is "$(api_child_pid)" "$API_PID" "the same API child"
is "$(grep -c 'migrations: the schema is up to date' "$T/trestle.log")" 1 "it applied the schema itself"
status=$(curl -s -o "$T/readyz" -w '%{http_code}' --unix-socket "$API_SOCK" http://api/readyz)
is "$status $(cat "$T/readyz")" "200 ready" "/readyz: ready"
is "$(pg_sql "SELECT count(*) FROM pg_tables WHERE tablename IN ('app_user', 'note', 'task', 'comment', 'chat', 'chat_message', 'owner_state', 'trestle_sync_session')")" \
	8 "every table is there"

#
# PostgreSQL stopped under a stream of requests, then started again
#
# The stream: GET /v1/sync/state (the session guard's query and the state's;
# not rate limited) in a loop, one line per answer: status|Retry-After|body.
now=$(now_ms)
STREAM_ARGS=(-s --max-time 10 --unix-socket "$API_SOCK" -H "Authorization: Bearer $(jwt_for user-a)"
	-H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $now"
	-H "X-TB-Signature: $(tenant_sig "$TENANT_ID" "$now" "$TENANT_SECRET")"
	-H "X-Sync-Session: $API_SESSION" -H "X-Sync-Epoch: $API_EPOCH")
stream() {
	while [ ! -e "$T/stream.stop" ]; do
		curl "${STREAM_ARGS[@]}" -o "$T/stream.body" -w '%{http_code}|%header{retry-after}|' \
			http://api/v1/sync/state >>"$T/stream"
		cat "$T/stream.body" >>"$T/stream"
		echo >>"$T/stream"
	done
}
: >"$T/stream"
_spawn_group stream
STREAM_PID=$_bg_pid
answered() { [ "$(grep -c "^$1|" "$T/stream")" -ge "$2" ]; }
ok "the stream is served" wait_for -t 10 answered 200 20
pg_down
ok "with PostgreSQL stopped, the stream gets 503s" wait_for -t 10 answered 503 20
pg_up || bail "PostgreSQL starts again"
served_after_503() { tail -n 1 "$T/stream" | grep -q '^200|'; }
ok "and is served again once it is back" wait_for -t 15 served_after_503
touch "$T/stream.stop"
wait_for -t 15 bash -c "! kill -0 $STREAM_PID 2>/dev/null"
others=$(grep -v -E '^(200|503)\|' "$T/stream")
is "$others" "" "every answer in the stream was 200 or 503"
bad503=$(grep '^503|' "$T/stream" | grep -v -E '^503\|1\|\{"error":"database unavailable","correlation_id":"[0-9a-f-]{36}"\}$')
is "$bad503" "" "every 503 has Retry-After: 1 and the contract's JSON error: database unavailable"
# The order of the stream: served, then refused, then served again.
is "$(cut -c1-3 "$T/stream" | uniq | tr '\n' ' ')" "200 503 200 " "served, refused during the outage, served"
diag "stream: $(grep -c '^200|' "$T/stream") served, $(grep -c '^503|' "$T/stream") refused"

# Back: not one request fails.  200 reads (session and state) and 100 writes.
now=$(now_ms)
AUTH=(-H "Authorization: Bearer $(jwt_for user-a)" -H "X-TB-Tenant-ID: $TENANT_ID"
	-H "X-TB-Timestamp: $now" -H "X-TB-Signature: $(tenant_sig "$TENANT_ID" "$now" "$TENANT_SECRET")"
	-H "X-Sync-Session: $API_SESSION" -H "X-Sync-Epoch: $API_EPOCH" -H "Expect:")
curl -s --unix-socket "$API_SOCK" -o /dev/null -w '%{stderr}%{http_code}\n' "${AUTH[@]}" \
	"http://api/v1/sync/state?n=[1-200]" 2>"$T/after.reads"
is "$(sort "$T/after.reads" | uniq -c | sed 's/^ *//')" "200 200" "then 200 reads in a row: all 200"
curl -s --unix-socket "$API_SOCK" -o /dev/null -w '%{stderr}%{http_code}\n' "${AUTH[@]}" \
	--data-binary '{"title":"after the outage"}' "http://api/v1/notes?n=[1-100]" 2>"$T/after.writes"
is "$(sort "$T/after.writes" | uniq -c | sed 's/^ *//')" "100 201" "and 100 creates: all 201"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' = 'after the outage'")" 100 \
	"the 100 rows are in PostgreSQL"
is "$(api_child_pid)" "$API_PID" "still the same API child"

#
# A pool of 4 under 64 concurrent clients
#
N=30
for i in $(seq 64); do
	API_SUB=load-$i
	api_session || bail "a session for load-$i"
	now=$(now_ms)
	printf '%s\n' "-H \"Authorization: Bearer $(jwt_for "load-$i")\"" \
		"-H \"X-TB-Tenant-ID: $TENANT_ID\"" "-H \"X-TB-Timestamp: $now\"" \
		"-H \"X-TB-Signature: $(tenant_sig "$TENANT_ID" "$now" "$TENANT_SECRET")\"" \
		"-H \"X-Sync-Session: $API_SESSION\"" "-H \"X-Sync-Epoch: $API_EPOCH\"" \
		'-H "Expect:"' "--unix-socket \"$API_SOCK\"" '-s' '-o /dev/null' \
		"-w \"%{http_code}\\n\"" "--data-binary \"{\\\"title\\\":\\\"load $i\\\"}\"" \
		"url = \"http://api/v1/notes?n=[1-$N]\"" >"$T/load-$i.curlrc"
done
# PostgreSQL's view of the API child's connections, sampled during the load.
sample() {
	while [ ! -e "$T/load.done" ]; do
		pg_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'trestle-api'" \
			>>"$T/conns" 2>/dev/null
		sleep 0.02
	done
}
_spawn_group sample
SAMPLER_PID=$_bg_pid
pids=()
for i in $(seq 64); do
	curl -K "$T/load-$i.curlrc" >"$T/load-$i.codes" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
touch "$T/load.done"
wait_for -t 10 bash -c "! kill -0 $SAMPLER_PID 2>/dev/null"
is "$(cat "$T"/load-*.codes | sort | uniq -c | sed 's/^ *//')" "$((64 * N)) 201" \
	"64 clients × $N creates: every one 201, none refused by the pool"
is "$(pg_sql "SELECT count(*) FROM note WHERE payload_json->>'title' LIKE 'load %'")" "$((64 * N))" \
	"all $((64 * N)) rows are in PostgreSQL"
is "$(pg_sql "SELECT count(DISTINCT owner_id) FROM note WHERE payload_json->>'title' LIKE 'load %'")" 64 \
	"for 64 users"
max=$(sort -n "$T/conns" | tail -n 1)
ok "PostgreSQL saw at most 4 connections of the API child (at most $max in $(wc -l <"$T/conns") samples)" \
	test "${max:-0}" -le 4 -a "${max:-0}" -ge 1

#
# The statement timeout: a PATCH waits for a row another session holds
#
API_SUB=user-a
api_session || bail "user-a's session"
LOCKED=$(pg_sql "SELECT uid FROM note WHERE payload_json->>'title' = 'after the outage' LIMIT 1")
_spawn_group pg_sql "BEGIN; SELECT 1 FROM note WHERE uid = '$LOCKED' FOR UPDATE; SELECT pg_sleep(4); COMMIT"
locked() { [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")" = 1 ]; }
ok "another session holds the row" wait_for -t 5 locked
start=$(_now_us)
api_req PATCH "/v1/notes/$LOCKED" --data-binary '{"title":"waited"}'
elapsed_ms=$((($(_now_us) - start) / 1000))
is "$HTTP_STATUS $(http_header retry-after) $(jb 'del(.correlation_id)')" '503 1 {"error":"database busy: timed out"}' \
	"a PATCH that waits past db_statement_timeout_ms (1 s) is 503"
ok "after about a second ($elapsed_ms ms)" test "$elapsed_ms" -ge 900 -a "$elapsed_ms" -lt 3500
api_req GET "/v1/notes/$LOCKED"
is "$HTTP_STATUS $(jb '[.version, .payload.title]')" '200 [1,"after the outage"]' \
	"the note is unchanged, and the pool serves on"

trestled_stop
check_logs_clean
done_testing
