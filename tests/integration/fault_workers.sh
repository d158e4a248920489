#!/usr/bin/env bash
# Fault injection on the workers, each case under a steady MCP load (writes
# through the API child, pings, health checks; every request counted):
#   1. kill -9 a random worker every 500 ms for 20 s: only requests in flight
#      on a killed worker may fail, the slots all serve afterwards;
#   2. SIGSTOP a worker for 10 s: the heartbeat deadline replaces it;
#   3. five reloads: not one request fails.
# After each case every write the load generator saw acknowledged is in
# PostgreSQL exactly once and no process wrote a sanitizer report.
#
# The bound on failures: each load thread has at most one request in flight
# and a worker holds at most the threads whose kept-alive connection it
# accepted, so a kill can take at most THREADS requests with it (all of them
# when every connection happened to be on that worker).  The test allows
# kills x THREADS failures in all, and requires each failed request to have
# been in flight at the moment of a kill.  libcurl sends a request again by
# itself when the kept-alive connection it reused died before any answer:
# such requests count as disturbed too (same bound, same timing check).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

WORKERS=2

# worker_replaced SLOT OLDPID: the slot runs again, in another process.
worker_replaced() {
	local line

	line=$(status_field ".children[] | select(.role==\"worker\" and .slot==$1) | \"\(.pid) \(.state)\"")
	[ "${line% *}" != "$2" ] && [ "${line% *}" != 0 ] && [ "${line#* }" = running ]
}

pg_start
make_users "$NOTE_THREADS"
fault_conf "workers = $WORKERS" "heartbeat_timeout_sec = 3" "access_log_file = $T/access.log" \
	"log_level = info" "db_pool_size = 4"
trestled_start
mcp_init || bail "MCP session"
users_init || bail "an MCP session for each user"

#
# 1. kill -9 a random worker every 500 ms for 20 s.
#
t0=$(_now_us)
case_load kill 22
sleep 1
kills=0
windows=()
deadline=$(($(wall_ms) + 20000))
while [ "$(wall_ms)" -lt "$deadline" ]; do
	mapfile -t pids < <(worker_pids)
	if [ "${#pids[@]}" -gt 0 ]; then
		victim=${pids[RANDOM % ${#pids[@]}]}
		before=$(wall_ms)
		if kill -KILL "$victim" 2>/dev/null; then
			kills=$((kills + 1))
			# Its connections close when it is gone, which takes a while for a big process.
			wait_for -t 2 none_alive "$victim"
			windows+=("$((before - 5))" "$(($(wall_ms) + 5))")
		fi
	fi
	sleep 0.5
done
case_wait kill
disturbed=$((CASE_FAILED + CASE_RESENT))
diag "kill loop: $kills kills, $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent," \
	"bound $((kills * THREADS)) (kills x $THREADS threads), $((($(_now_us) - t0) / 1000)) ms"
ok "kill loop: at least 30 kills in 20 s ($kills)" test "$kills" -ge 30
ok "kill loop: failed + resent requests ($disturbed) <= kills x threads ($((kills * THREADS)))" \
	test "$disturbed" -le $((kills * THREADS))
is "$(disturbed_outside kill "${windows[@]}")" 0 \
	"kill loop: every failed or resent request was in flight at a kill"
ok "kill loop: thousands of requests were sent ($CASE_SENT)" test "$CASE_SENT" -ge 5000
ok "kill loop: every slot runs again" wait_for -t 5 all_running "$WORKERS"
like "$(status_field '[.children[] | select(.role == "worker") | .restarts] | add')" '^[0-9]+$' \
	"kill loop: status counts the restarts"
unlike "$(cat "$T/trestle.log")" 'FAILED: died' "kill loop: no slot was given up"

# Every slot serves afterwards: a request reaches each worker while the others
# are stopped for a moment (far below the heartbeat deadline).
mapfile -t pids < <(worker_pids)
is "${#pids[@]}" "$WORKERS" "kill loop: afterwards, $WORKERS workers run"
for p in "${pids[@]}"; do
	others=()
	for q in "${pids[@]}"; do
		[ "$q" = "$p" ] || others+=("$q")
	done
	kill -STOP "${others[@]}"
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 -H "X-Correlation-ID: alone-$p" \
		"http://127.0.0.1:$PORT/healthz")
	kill -CONT "${others[@]}"
	is "$code" 200 "kill loop: afterwards, worker pid $p serves on its own"
	wait_for -t 2 grep -q "\"correlation_id\":\"alone-$p\"" "$T/access.log"
	is "$(jq -r "select(.correlation_id == \"alone-$p\") | .pid" "$T/access.log")" "$p" \
		"kill loop: and the access log names it"
done
load_start after -c 8 -m ping -n 800 -d 10
load_wait after
is "$LOAD_FAILED" 0 "kill loop: afterwards, no request fails"
writes_exactly_once kill
no_sanitizer_report "kill loop"

#
# 2. SIGSTOP a worker for 10 s: the heartbeat deadline (3 s) replaces it.
#
t0=$(_now_us)
case_load stop 13
sleep 1
slot=1
victim=$(status_field ".children[] | select(.role==\"worker\" and .slot==$slot) | .pid")
stopped_at=$(wall_ms)
kill -STOP "$victim"
ok "SIGSTOP: the stopped worker is replaced within 6 s" wait_for -t 6 worker_replaced "$slot" "$victim"
replaced_at=$(wall_ms)
diag "SIGSTOP: replaced after $((replaced_at - stopped_at)) ms"
like "$(status_field ".children[] | select(.role==\"worker\" and .slot==$slot) | .last_exit.cause")" \
	"no heartbeat: killed by the master" "SIGSTOP: status says it was killed for want of heartbeats"
sleep $(((stopped_at + 10000 - $(wall_ms)) / 1000))
kill -CONT "$victim" 2>/dev/null
case_wait stop
disturbed=$((CASE_FAILED + CASE_RESENT))
diag "SIGSTOP: $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent, bound $THREADS," \
	"$((($(_now_us) - t0) / 1000)) ms"
ok "SIGSTOP: failed + resent requests ($disturbed) <= threads ($THREADS)" test "$disturbed" -le "$THREADS"
is "$(disturbed_outside stop "$stopped_at" "$((replaced_at + 100))")" 0 \
	"SIGSTOP: every failed or resent request was in flight while the worker was stopped"
ok "SIGSTOP: every slot runs" wait_for -t 5 all_running "$WORKERS"
writes_exactly_once stop
no_sanitizer_report "SIGSTOP"

#
# 3. Five reloads during the load: not one request fails.
#
t0=$(_now_us)
case_load reload 12
sleep 1
for i in 1 2 3 4 5; do
	# Odd: worker settings only; even: the pool size too, so a new API child.
	fault_conf "workers = $WORKERS" "heartbeat_timeout_sec = 3" "access_log_file = $T/access.log" \
		"log_level = info" "db_pool_size = $((4 + i / 2 * 2))" "mcp_http_timeout_sec = $((30 + i))"
	out=$("$TRESTLECTL" -c "$T/trestle.conf" reload 2>&1)
	is "$?" 0 "reload $i exits 0"
	diag "$out"
	ok "reload $i: every child runs" wait_for -t 10 all_running "$WORKERS"
	sleep 1
done
case_wait reload
diag "reloads: $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent," \
	"$((($(_now_us) - t0) / 1000)) ms"
is "$CASE_FAILED" 0 "reloads: no request failed"
ok "reloads: thousands of requests were sent ($CASE_SENT)" test "$CASE_SENT" -ge 3000
writes_exactly_once reload
no_sanitizer_report "reloads"

trestled_stop
check_logs_clean
done_testing
