#!/usr/bin/env bash
# Log rotation under load: the master rotates the access log by size
# (log_max_bytes) while MCP requests stream in, once more on SIGUSR1, and an
# outside tool moves the file away before trestlectl reopen.  Every request
# must appear exactly once in the access logs, across all the files, and
# every line must be whole JSON.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

LOADGEN=$TRESTLE_BUILDDIR/tests/loadgen
ACCESS=$T/access.log

rotated_files() {
	find "$T" -maxdepth 1 -name 'access.log.[0-9]*' | wc -l
}

has_rotated() {
	[ "$(rotated_files)" -ge "$1" ]
}

new_lines_in() {
	[ -s "$1" ] && grep -q '"correlation_id":"rot-' "$1"
}

pg_start
write_conf "workers = 2" "access_log_file = $ACCESS" "log_max_bytes = 150000" "log_keep = 100" \
	"mcp_rate_limit_per_minute = 0"
trestled_start
mcp_init || bail "MCP session"

_spawn_group "$LOADGEN" -u "$MCP_URL" -t "$TOKEN" -s "$SESSION" -c 4 -n 8000 -r 1000 -d 60 \
	-p rot >"$T/load.out" 2>"$T/load.err"
load=$_bg_pid

ok "the access log is rotated by size" wait_for -t 10 has_rotated 2

# An outside tool moves the file away; trestlectl reopen starts a new one.
mv "$ACCESS" "$T/access.log.moved"
out=$("$TRESTLECTL" -c "$T/trestle.conf" reopen)
is "$?" 0 "trestlectl reopen exits 0"
like "$out" "reopened $ACCESS" "and says the moved file was reopened, not rotated"
ok "new lines go to a new access.log" wait_for -t 5 new_lines_in "$ACCESS"

n=$(rotated_files)
kill -USR1 "$TRESTLED_PID"
ok "SIGUSR1 rotates the file in place" wait_for -t 5 has_rotated $((n + 1))

wait "$load"
is "$?" 0 "no request failed"
diag "load: $(cat "$T/load.out")" "$(head -n 5 "$T/load.err")"
sent=$(awk '{print $2}' "$T/load.out")
diag "$(rotated_files) rotated access files; $(wc -l <"$T/access.log.moved") lines in the moved one"

# Whole lines only: jq fails on a torn one.
cat "$T"/access.log* >"$T/all-access"
jq -c . "$T/all-access" >/dev/null
is "$?" 0 "every line of every access file is whole JSON"
jq -r 'select(.type == "access") | .correlation_id' "$T/all-access" | grep '^rot-' | sort >"$T/cids"
is "$(wc -l <"$T/cids")" "$sent" "every request is in the access logs ($sent)"
is "$(uniq -d "$T/cids" | wc -l)" 0 "and none twice"
cid=$(head -n 1 "$T/cids")
is "$(jq -r --arg c "$cid" 'select(.correlation_id == $c) | "\(.method) \(.path) \(.status)"' "$T/all-access")" \
	"POST /mcp 200" "an access line has the method, the path and the status"
like "$(grep -m1 "\"$cid\"" "$T/all-access")" \
	'^\{"time":"[0-9T:.-]+Z","level":"info","role":"worker","pid":[0-9]+,"type":"access",.*"duration_ms":[0-9.]+' \
	"with time, level, role, pid and duration"
unlike "$(cat "$T/trestle.log")" '"type":"access"' "no access line went to the main log"

trestled_stop
check_logs_clean
done_testing
