#!/usr/bin/env bash
# Fault injection: 10,000 idle connections and slow-header clients, under a
# steady MCP load from other clients (writes, pings, health checks; every
# request counted).  The workers keep serving the others, new connections
# included, and close the idle and slow ones by their timeouts
# (mcp_http_timeout_sec) or refuse them at their connection limits.
# Afterwards every acknowledged write is in PostgreSQL exactly once and no
# process wrote a sanitizer report.
#
# The idle and slow clients come from other loopback addresses (127.0.0.2 to
# .4) than the load (127.0.0.1), as they would from other hosts, so that the
# workers' per-address limits (mcp_max_connections_per_ip) apply to them and
# not to the clients being served.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

IDLE=10000
PARTIAL=300
DRIP=100
TIMEOUT=3	# mcp_http_timeout_sec
WORKERS=2

# The master and the workers inherit this shell's limit; each end of 10,000
# connections needs a descriptor.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((IDLE + PARTIAL + DRIP + 1000)) ]; then
	skip_all "the hard limit on open files ($hard) is below $((IDLE + PARTIAL + DRIP + 1000))"
fi
ulimit -n $((IDLE + PARTIAL + DRIP + 1000)) || skip_all "cannot raise the limit on open files"

# healthz_loop SECONDS: a new connection every 100 ms; prints "sent N failed F".
healthz_loop() {
	local n=0 f=0 end=$(($(wall_ms) + $1 * 1000))

	while [ "$(wall_ms)" -lt "$end" ]; do
		n=$((n + 1))
		curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" 2>>"$T/healthz.err" ||
			f=$((f + 1))
		sleep 0.1
	done
	echo "sent $n failed $f"
}

# idle_field NAME FIELD: a figure of idle_conns' last line.
idle_field() {
	tail -n 1 "$T/$1.out" | awk -v f="$2" '{ for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }'
}

opened_all() {
	grep -q '^opened ' "$T/idle.out" && grep -q '^opened ' "$T/partial.out" &&
		grep -q '^opened ' "$T/drip.out"
}

pg_start
make_users "$NOTE_THREADS"
fault_conf "workers = $WORKERS" "mcp_http_timeout_sec = $TIMEOUT" "log_level = info"
trestled_start
mcp_init || bail "MCP session"
users_init || bail "an MCP session for each user"

t0=$(_now_us)
case_load conns 16
sleep 1
_spawn_group "$IDLE_CONNS" -p "$PORT" -b 127.0.0.2 -n "$IDLE" -m idle -w 14 >"$T/idle.out" 2>&1
idle_pid=$_bg_pid
_spawn_group "$IDLE_CONNS" -p "$PORT" -b 127.0.0.3 -n "$PARTIAL" -m partial -w 14 >"$T/partial.out" 2>&1
partial_pid=$_bg_pid
_spawn_group "$IDLE_CONNS" -p "$PORT" -b 127.0.0.4 -n "$DRIP" -m drip -i 1000 -w 14 >"$T/drip.out" 2>&1
drip_pid=$_bg_pid
ok "the idle and slow clients connected" wait_for -t 10 opened_all
diag "idle: $(head -n 1 "$T/idle.out"); partial: $(head -n 1 "$T/partial.out");" \
	"drip: $(head -n 1 "$T/drip.out")"
healthz=$(healthz_loop 8)
wait "$idle_pid" "$partial_pid" "$drip_pid"
case_wait conns
diag "10,000 idle: $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent," \
	"$((($(_now_us) - t0) / 1000)) ms" \
	"idle: $(tail -n 1 "$T/idle.out")" "partial: $(tail -n 1 "$T/partial.out")" \
	"drip: $(tail -n 1 "$T/drip.out")" "new connections: $healthz"

is "$CASE_FAILED" 0 "the workers kept serving the other clients: no request failed"
ok "thousands of requests were sent ($CASE_SENT)" test "$CASE_SENT" -ge 3000
like "$healthz" '^sent [0-9]+ failed 0$' "new connections from the others were served all along"
is "$(head -n 1 "$T/idle.out")" "opened $IDLE failed 0" "$IDLE idle connections were opened"
for c in idle partial drip; do
	is "$(idle_field "$c" open)" 0 "every $c connection was closed by the server"
	age=$(idle_field "$c" max_age_ms)
	ok "$c connections lived at most the timeout and a little ($age ms)" \
		test "${age:-99999}" -le $(((TIMEOUT + 3) * 1000))
done
ok "every child runs" all_running "$WORKERS"
is "$(status_field '[.children[] | .restarts] | add')" 0 "no child restarted"
writes_exactly_once conns
no_sanitizer_report "10,000 idle connections"

trestled_stop
check_logs_clean
done_testing
