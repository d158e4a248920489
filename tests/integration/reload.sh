#!/usr/bin/env bash
# Reload under load: a steady stream of MCP requests (pings answered by the
# workers, health_check tool calls that go through the API child) while
# trestlectl reloads six times, some of them replacing the API child; not one
# request may fail.  A bad configuration changes nothing and trestlectl
# reload exits 1 with the parser's message; a restart-only setting is
# reported, not applied.  systemd hears READY, RELOADING, READY, STOPPING
# and the watchdog.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

LOADGEN=$TRESTLE_BUILDDIR/tests/loadgen
NOTIFY_LISTEN=$TRESTLE_BUILDDIR/tests/notify_listen

ctl() {
	CTL_OUT=$("$TRESTLECTL" -c "$T/trestle.conf" "$@" 2>"$T/.ctl_err")
	CTL_STATUS=$?
	CTL_ERR=$(cat "$T/.ctl_err")
}

status_field() {
	"$TRESTLECTL" -c "$T/trestle.conf" status --json | jq -r "$1"
}

# The children's "role:slot:generation:pid" a line, sorted.
children() {
	status_field '.children[] | "\(.role):\(.slot):\(.generation):\(.pid)"' | sort
}

# settled G N: the table holds N children, every one running, every worker of
# generation G.
settled() {
	local n

	n=$(status_field "[.children[] | select(.state != \"running\" or
		(.role == \"worker\" and .generation != $1))] | length")
	[ "$n" = 0 ] && [ "$(status_field '.children | length')" = "$2" ]
}

notified() {
	grep -Eq -- "$1" "$T/notify.out"
}

pg_start
write_conf "workers = 2" "db_pool_size = 4" "mcp_rate_limit_per_minute = 0"
cp "$T/trestle.conf" "$T/base.conf"

_spawn_group "$NOTIFY_LISTEN" "$T/notify.sock" 120 >"$T/notify.out"
wait_for test -S "$T/notify.sock" || bail "notify_listen is listening"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=2000000 trestled_start
ok "READY=1 once the workers serve" wait_for -t 5 notified "^READY=1 STATUS=serving on 127.0.0.1:$PORT"
mcp_init || bail "MCP session"

# The load: two generators for the whole run, each failure counted; paced, so
# that tests running beside this one keep their share of the two cores.
_spawn_group "$LOADGEN" -u "$MCP_URL" -t "$TOKEN" -s "$SESSION" -c 3 -d 14 -r 1500 -m ping -p ping \
	>"$T/load-ping.out" 2>"$T/load-ping.err"
LOAD_PING=$_bg_pid
_spawn_group "$LOADGEN" -u "$MCP_URL" -t "$TOKEN" -s "$SESSION" -c 2 -d 14 -r 300 -m health -p health \
	>"$T/load-health.out" 2>"$T/load-health.err"
LOAD_HEALTH=$_bg_pid
sleep 1

# Six reloads: odd ones change only the workers' settings, even ones the API child's too.
gen=1
for i in 1 2 3 4 5 6; do
	if [ $((i % 2)) -eq 0 ]; then
		write_conf "workers = 2" "db_pool_size = $((4 + i))" "mcp_rate_limit_per_minute = 0"
	else
		write_conf "workers = 2" "db_pool_size = $((4 + i - 1))" "mcp_http_timeout_sec = $((30 + i))" \
			"mcp_rate_limit_per_minute = 0"
	fi
	before=$(children)
	ctl reload
	gen=$((gen + 1))
	is "$CTL_STATUS" 0 "reload $i exits 0"
	like "$CTL_OUT" "^reloaded: generation $gen serves with 2 workers" "reload $i: generation $gen serves"
	if [ $((i % 2)) -eq 0 ]; then
		like "$CTL_OUT" "and a new API child" "reload $i replaced the API child (db_pool_size changed)"
	else
		unlike "$CTL_OUT" "API child" "reload $i kept the API child (only worker settings changed)"
	fi
	ok "reload $i: the old generation drained and left" wait_for -t 10 settled "$gen" 3
	isnt "$(children)" "$before" "reload $i: new processes"
	sleep 0.5
done

# A bad configuration: nothing changes, the reload fails with the parser's words.
before=$(children)
write_conf "workers = 0"
ctl reload
is "$CTL_STATUS" 1 "a reload with a bad configuration exits 1"
like "$CTL_ERR" "configuration is invalid; the old one keeps serving" "and says the old one keeps serving"
like "$CTL_ERR" "trestle.conf:[0-9]+: workers: bad value '0': must be an integer from 1 to 64" \
	"with the parser's message"
is "$(children)" "$before" "no child was started or stopped"
is "$(status_field .master.generation)" "$gen" "the generation is unchanged"
like "$(status_field .master.last_reload.message)" "configuration is invalid" \
	"status shows the failed reload"

# A setting only a restart can change is reported and kept.
sed "s/^listen = .*/listen = 127.0.0.1:1/" "$T/base.conf" >"$T/trestle.conf"
ctl reload
is "$CTL_STATUS" 0 "a reload that changes listen succeeds"
gen=$((gen + 1))
like "$CTL_OUT" "listen: changed from '127.0.0.1:$PORT' to '127.0.0.1:1'; not applied: it takes effect only after a restart" \
	"and reports listen as needing a restart"
ok "the daemon still serves on the old port" wait_for -t 10 settled "$gen" 3
cp "$T/base.conf" "$T/trestle.conf"

# SIGHUP reloads too.
kill -HUP "$TRESTLED_PID"
gen=$((gen + 1))
ok "SIGHUP: generation $gen serves" wait_for -t 10 settled "$gen" 3

wait "$LOAD_PING"
is "$?" 0 "no ping failed during the reloads"
diag "pings: $(cat "$T/load-ping.out")" "$(head -n 5 "$T/load-ping.err")"
wait "$LOAD_HEALTH"
is "$?" 0 "no tool call failed during the reloads"
diag "tool calls: $(cat "$T/load-health.out")" "$(head -n 5 "$T/load-health.err")"
like "$(cat "$T/load-ping.out")" "^sent [0-9]{4,} ok [0-9]+ failed 0$" "thousands of pings were sent"
like "$(cat "$T/load-health.out")" "^sent [0-9]{3,} ok [0-9]+ failed 0$" "and hundreds of tool calls"

# What systemd heard.
ok "WATCHDOG=1 while the children's heartbeats are fresh" notified "^WATCHDOG=1$"
ok "RELOADING=1 with MONOTONIC_USEC" notified "^RELOADING=1 MONOTONIC_USEC=[0-9]+ STATUS=reloading"
ok "READY=1 after a good reload" notified "^READY=1 STATUS=reloaded: generation"
ok "READY=1 with the failure after a bad one" notified "^READY=1 STATUS=reload failed: the configuration is invalid"
trestled_stop
ok "STOPPING=1" notified "^STOPPING=1"

check_logs_clean
done_testing
