#!/usr/bin/env bash
# Shutdown leaves no process behind: SIGTERM stops the master and its children
# cleanly, and children whose master was killed outright exit on their own.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# children_started N: the master has N children, each a trestle-mcp or trestle-api.
children_started() {
	local kids

	kids=$(child_pids "$TRESTLED_PID")
	[ "$(wc -w <<<"$kids")" -eq "$1" ]
}

# The command names of the master's children, sorted.
children_names() {
	local p

	for p in $(child_pids "$TRESTLED_PID"); do
		cat "/proc/$p/comm"
	done | sort | tr '\n' ' '
}

pg_start
write_conf "workers = 2"

trestled_start
ok "the master has 3 children" wait_for children_started 3
is "$(children_names)" "trestle-api trestle-mcp trestle-mcp " "two MCP workers and one API child"
kids=$(child_pids "$TRESTLED_PID")
trestled_stop
# shellcheck disable=SC2086 # one pid a word
ok "no child remains after SIGTERM" wait_for -t 5 none_alive $kids

trestled_start
ok "the master has 3 children again" wait_for children_started 3
kids=$(child_pids "$TRESTLED_PID")
kill -KILL "$TRESTLED_PID"
wait "$TRESTLED_PID" 2>/dev/null
TRESTLED_PID=
# shellcheck disable=SC2086
ok "every child exits within 2 s of its master's SIGKILL" wait_for -t 2 none_alive $kids

# What is left after a crash (sockets, a dead master's pid) must not stop a new start.
trestled_start
ok "after the crash, the master has 3 children" wait_for children_started 3
trestled_stop

check_logs_clean
done_testing
