#!/usr/bin/env bash
# Supervision through the real binaries: trestlectl's exit codes and status,
# the control socket's permissions, a worker killed with SIGKILL (back within
# a second, its restart and cause in status), a hung worker (SIGSTOP: killed
# for want of heartbeats and restarted), trestlectl stop.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

CTL_SOCK=$T/run/control.sock

# ctl ARG...: trestlectl against this test's daemon; sets CTL_OUT, CTL_ERR, CTL_STATUS.
ctl() {
	CTL_OUT=$("$TRESTLECTL" -c "$T/trestle.conf" "$@" 2>"$T/.ctl_err")
	CTL_STATUS=$?
	CTL_ERR=$(cat "$T/.ctl_err")
}

# status_field JQ: a value from trestlectl status --json.
status_field() {
	"$TRESTLECTL" -s "$CTL_SOCK" status --json | jq -r "$1"
}

worker_pid() {
	status_field ".children[] | select(.role==\"worker\" and .slot==$1) | .pid"
}

# worker_back SLOT OLDPID: the slot runs again, in another process.
worker_back() {
	local line

	line=$(status_field ".children[] | select(.role==\"worker\" and .slot==$1) | \"\(.pid) \(.state)\"")
	[ "${line% *}" != "$2" ] && [ "${line% *}" != 0 ] && [ "${line#* }" = running ]
}

pg_start
write_conf "workers = 2" "heartbeat_timeout_sec = 2"

ctl status
is "$CTL_STATUS" 3 "trestlectl status exits 3 when trestled is not running"
like "$CTL_ERR" "trestled is not running \\(nothing answers on $CTL_SOCK\\)" "and says so"
"$TRESTLECTL" -s "$T/nowhere.sock" reload 2>/dev/null
is "$?" 3 "trestlectl -s with a socket nobody listens on exits 3"
"$TRESTLECTL" -c "$T/trestle.conf" frobnicate 2>/dev/null
is "$?" 64 "an unknown command exits 64"
ctl check
is "$CTL_STATUS:$CTL_OUT" "0:configuration OK" "trestlectl check accepts the configuration"

trestled_start
is "$(stat -c '%a %U' "$CTL_SOCK")" "600 $(id -un)" "the control socket is mode 0600, owned by the daemon's user"

ctl status
is "$CTL_STATUS" 0 "trestlectl status exits 0"
like "$CTL_OUT" "trestled [0-9.]+, pid $TRESTLED_PID, serving, generation 1" "status names the master"
like "$CTL_OUT" $'\nworker +1 +1 +[0-9]+ +running' "status lists worker 1 running"
like "$CTL_OUT" $'\nworker +2 +1 +[0-9]+ +running' "status lists worker 2 running"
like "$CTL_OUT" $'\napi +0 +1 +[0-9]+ +running' "status lists the API child running"
is "$(status_field '.children | length')" 3 "status --json: three children"
is "$(status_field '.master.pid')" "$TRESTLED_PID" "status --json: the master's pid"

# A permitted file mode is not enough: the master checks the peer's uid itself.
if [ "$(id -u)" -eq 0 ]; then
	chmod 666 "$CTL_SOCK"
	out=$(runuser -u nobody -- "$TRESTLECTL" -s "$CTL_SOCK" status 2>&1)
	is "$?" 1 "another user is refused (exit 1)"
	like "$out" "permission denied: uid [0-9]+ may not control trestled" "with the reason"
	chmod 600 "$CTL_SOCK"
else
	skip "peer credentials: needs root to run a client as another user"
	skip "peer credentials: reason"
fi

# kill -9 a worker: a new one serves within a second; status tells.
old=$(worker_pid 1)
t0=$(_now_us)
kill -KILL "$old"
ok "worker 1 runs again within 1 s of SIGKILL" wait_for -t 1 worker_back 1 "$old"
diag "worker 1 back after $((($(_now_us) - t0) / 1000)) ms"
curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz"
is "$?" 0 "the service answers"
is "$(status_field '.children[] | select(.role=="worker" and .slot==1) | .restarts')" 1 \
	"status counts worker 1's restart"
like "$(status_field '.children[] | select(.role=="worker" and .slot==1) | .last_exit.cause')" \
	"^killed by signal 9" "status gives the cause: killed by signal 9"
ctl status
like "$CTL_OUT" $'\nworker +1 +1 +[0-9]+ +running +[0-9]+s +1  killed by signal 9 \\(Killed\\), [0-9]+ s ago' \
	"the human status shows the restart and its cause"

# SIGTERM straight to a child (systemd's stop signals every process of the unit)
# is a graceful stop of that child: it says so, exits 0, and is replaced.
old=$(worker_pid 1)
kill -TERM "$old"
ok "worker 1 runs again after a SIGTERM of its own" wait_for -t 3 worker_back 1 "$old"
like "$(cat "$T/trestle.log")" "\"pid\":$old,\"msg\":\"worker: stopped\"" "the worker stopped gracefully"
is "$(status_field '.children[] | select(.role=="worker" and .slot==1) | .last_exit.cause')" \
	"exited with status 0" "status: it exited with status 0"

# A worker whose event loop stops (SIGSTOP) is killed once heartbeats are overdue.
old=$(worker_pid 2)
kill -STOP "$old"
ok "a hung worker is replaced (heartbeat_timeout_sec = 2)" wait_for -t 6 worker_back 2 "$old"
like "$(status_field '.children[] | select(.role=="worker" and .slot==2) | .last_exit.cause')" \
	"no heartbeat: killed by the master" "status says it was killed for want of heartbeats"
like "$(cat "$T/trestle.log")" "worker 2: pid $old sent no heartbeat for" "the master logged why"

# trestlectl stop waits until the master is gone.
kids=$(child_pids "$TRESTLED_PID")
ctl stop
is "$CTL_STATUS:$CTL_OUT" "0:trestled stopped" "trestlectl stop exits 0 once trestled is gone"
# It answers once the master has closed everything; the process itself may take
# a moment more to end (a sanitizer build checks for leaks at exit).
ok "the master is gone" wait_for -t 2 _trestled_gone
wait "$TRESTLED_PID"
is "$?" 0 "and it exited 0"
TRESTLED_PID=
# shellcheck disable=SC2086
ok "no child remains" wait_for -t 2 none_alive $kids
ok "the control socket is removed" test ! -e "$CTL_SOCK"
ctl status
is "$CTL_STATUS" 3 "trestlectl status exits 3 after the stop"

check_logs_clean
done_testing
