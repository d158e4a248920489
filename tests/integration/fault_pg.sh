#!/usr/bin/env bash
# Fault injection on PostgreSQL, each case under a steady MCP load (writes,
# pings, health checks; every request counted):
#   1. a fast stop, 3 s down, then a start: calls fail only while it is down,
#      each with a clear message, none once it is back; the pool holds no
#      more connections than its bound afterwards;
#   2. every connection slot (max_connections) taken by other clients:
#      trestle queues or answers "unavailable", never crashes, and serves
#      again once the slots are free.
# After each case every acknowledged write is in PostgreSQL exactly once
# and no process wrote a sanitizer report.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

WORKERS=2
POOL=4
MAX_CONNECTIONS=12
GRACE_MS=500	# the pool waits 200 ms between connection attempts (DB_BACKOFF_MS)
# Another client: it holds a connection until killed (its server process
# notices the closed socket within 100 ms, even while it sleeps).
SLEEPER="SET client_connection_check_interval = 100; SELECT pg_sleep(120)"

# PostgreSQL connections of the API child (its pool names itself trestle-api).
trestle_conns() {
	pg_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'trestle-api'"
}

# sleepers N: N other clients hold a connection (pg_sql itself takes one more).
sleepers() {
	[ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE query = '$SLEEPER'
		AND pid <> pg_backend_pid()" 2>/dev/null)" = "$1" ]
}

conns_within_bound() {
	local n

	n=$(trestle_conns) && [ "$n" -le "$POOL" ]
}

# Failed tool calls must say why in words a user understands.
unclear_failures() {
	cat "$@" | grep '^failure: ' |
		grep -Ecv 'The notes service (is unavailable|went away while it had the request|did not answer in time|could not do this \(HTTP 503: database)'
}

pg_start
# A small max_connections, so that other clients can take every slot.
pg_sql "ALTER SYSTEM SET max_connections = $MAX_CONNECTIONS" >/dev/null || bail "ALTER SYSTEM"
pg_down && pg_up || bail "PostgreSQL restarted with max_connections = $MAX_CONNECTIONS"
make_users "$NOTE_THREADS"
fault_conf "workers = $WORKERS" "db_pool_size = $POOL" "log_level = info"
trestled_start
mcp_init || bail "MCP session"
users_init || bail "an MCP session for each user"
api=$(api_pid)

#
# 1. Fast stop, 3 s down, start.
#
t0=$(_now_us)
case_load pgstop 9
sleep 2
down_at=$(wall_ms)
pg_down || bail "pg_ctl stop -m fast"
sleep 3
pg_up || bail "PostgreSQL started again"
up_at=$(wall_ms)
case_wait pgstop
diag "PostgreSQL fast stop: $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent," \
	"down $((up_at - down_at)) ms, $((($(_now_us) - t0) / 1000)) ms in all"
ok "calls failed while PostgreSQL was down" test "$CASE_FAILED" -gt 0
is "$(failures pgstop-ping | wc -l)" 0 "pings (answered by the workers) never fail"
is "$(disturbed_outside pgstop "$down_at" "$((up_at + GRACE_MS))")" 0 \
	"failures only while PostgreSQL was down (and within $GRACE_MS ms of its start)"
is "$(unclear_failures "$T/pgstop.err" "$T/pgstop-health.err")" 0 \
	"each failure says that the notes service is unavailable"
cat "$T/pgstop.req" "$T/pgstop-health.req" >"$T/pgstop-all.req"
read -r after failed_after < <(awk -v t=$((up_at + GRACE_MS)) \
	'$4 >= t { n++; if ($3 == "fail") f++ } END { print n + 0, f + 0 }' "$T/pgstop-all.req")
is "$failed_after" 0 "none of the $after tool calls sent once PostgreSQL was back failed"
ok "tool calls were sent after that" test "$after" -gt 20
is "$(api_pid)" "$api" "the API child did not restart"
ok "the pool holds at most db_pool_size ($POOL) connections" conns_within_bound
diag "trestle-api connections: $(trestle_conns)"
writes_exactly_once pgstop
no_sanitizer_report "PostgreSQL fast stop"

#
# 2. Other clients take every connection slot.  The API child's connections
# are dropped first (a restart), then other clients take each free slot, one
# by one, until PostgreSQL refuses the next: the API child may have got one
# back in between (its readiness checks), and then it queues on that one.
#
pg_down && pg_up || bail "PostgreSQL restarted"
diag "trestle-api connections before the others came: $(trestle_conns)"
fillers=()
for ((i = 1; i <= MAX_CONNECTIONS + 1; i++)); do
	_spawn_group "$PG_BIN/psql" -h "$PG_HOST" -U trestle -d trestle -X -q \
		-c "$SLEEPER" >/dev/null 2>"$T/filler.err"
	# Refused at once, or connected and sleeping.
	if ! wait_for -t 1 none_alive "$_bg_pid"; then
		fillers+=("$_bg_pid")
		continue
	fi
	grep -q 'too many clients already' "$T/filler.err" || bail "another client: $(cat "$T/filler.err")"
	break
done
diag "${#fillers[@]} other clients hold a connection"
out=$(pg_sql "SELECT 1" 2>&1)
like "$out" "too many clients already" "PostgreSQL is at max_connections ($MAX_CONNECTIONS)"

t0=$(_now_us)
case_load pgfull 8
sleep 4
kill -KILL "${fillers[@]}"
{ wait "${fillers[@]}"; } 2>/dev/null
freed_at=$(wall_ms)
ok "the other clients are gone" wait_for -t 5 sleepers 0
case_wait pgfull
diag "max_connections: $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent," \
	"$((($(_now_us) - t0) / 1000)) ms"
ok "the master runs" pid_alive "$TRESTLED_PID"
is "$(api_pid)" "$api" "the API child never crashed (the same pid)"
is "$(status_field '[.children[] | .restarts] | add')" 0 "no child restarted"
is "$(failures pgfull-ping | wc -l)" 0 "pings never fail"
is "$(unclear_failures "$T/pgfull.err" "$T/pgfull-health.err")" 0 \
	"each failure says that the notes service is unavailable (HTTP 503 from the API child)"
cat "$T/pgfull.req" "$T/pgfull-health.req" >"$T/pgfull-all.req"
read -r after failed_after < <(awk -v t=$((freed_at + 1000)) \
	'$4 >= t { n++; if ($3 == "fail") f++ } END { print n + 0, f + 0 }' "$T/pgfull-all.req")
is "$failed_after" 0 "none of the $after tool calls sent 1 s after the slots were freed failed"
ok "tool calls were sent after that" test "$after" -gt 20
ok "the pool holds at most db_pool_size ($POOL) connections" conns_within_bound
writes_exactly_once pgfull
no_sanitizer_report "PostgreSQL at max_connections"

trestled_stop
check_logs_clean
done_testing
