#!/usr/bin/env bash
# Fault injection: the log directory's file system is full (a 1 MiB tmpfs),
# under a steady MCP load (writes, pings, health checks; every request
# counted).  Serving goes on, not one request fails; each process reports
# the condition on standard error (rate-limited) and counts the lines it
# lost (trestle_log_lines_lost_total); once there is room again logging
# resumes, and each log file says how many of its lines were lost.
# Afterwards every acknowledged write is in PostgreSQL exactly once and no
# process wrote a sanitizer report.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "mounting a tmpfs for the log directory needs root"
LOGS=$T/logs
mkdir -p "$LOGS"
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$LOGS" 2>"$T/mount.err" ||
	skip_all "cannot mount a tmpfs here: $(cat "$T/mount.err")"
# Detached first (lazily: the daemon may still hold its files), then the usual cleanup.
trap 'st=$?; umount -l "$LOGS" 2>/dev/null; (exit $st); _cleanup' EXIT

WORKERS=2

metric() {
	curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" |
		awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}

full() {
	dd if=/dev/zero of="$LOGS/filler" bs=4k status=none 2>/dev/null
	[ "$(df --output=avail -k "$LOGS" | tail -n 1 | tr -d ' ')" -eq 0 ]
}

pg_start
make_users "$NOTE_THREADS"
fault_conf "workers = $WORKERS" "log_file = $LOGS/trestle.log" "access_log_file = $LOGS/access.log" \
	"log_level = debug"
trestled_start
mcp_init || bail "MCP session"
users_init || bail "an MCP session for each user"

ok "the log file system is full" full
t0=$(_now_us)
case_load diskfull 6
case_wait diskfull
diag "disk full: $CASE_SENT requests, $CASE_FAILED failed, $CASE_RESENT resent," \
	"$((($(_now_us) - t0) / 1000)) ms"
is "$CASE_FAILED" 0 "serving goes on: not one request failed"
ok "thousands of requests were sent ($CASE_SENT)" test "$CASE_SENT" -ge 3000
ok "every child runs" all_running "$WORKERS"

reports=$(grep -F "log: cannot write to $LOGS/" "$T/trestled.out")
diag "$(head -n 3 <<<"$reports")"
like "$reports" "\"role\":\"worker\".*cannot write to $LOGS/(trestle|access)\\.log: No space left on device; its lines are lost" \
	"a worker reports on standard error that it cannot write its log"
like "$reports" "\"role\":\"api\".*cannot write to $LOGS/trestle\\.log: No space left on device" \
	"so does the API child"
# At most one report per file every 10 s from each process (3 children, the master; 2 files).
ok "the reports are rate-limited ($(wc -l <<<"$reports") lines)" test "$(wc -l <<<"$reports")" -le 16
lost=$(metric trestle_log_lines_lost_total)
ok "trestle_log_lines_lost_total counts the lost lines ($lost)" test "$lost" -gt 100

# Room again: logging resumes, and each file tells what it misses.
rm -f "$LOGS/filler"
load_start resume -c 2 -m note -r 10 -n 20 -d 10
load_wait resume
is "$LOAD_FAILED" 0 "after the disk has room again, no request fails"
ok "logging resumed: the new requests are in the access log" \
	grep -q '"correlation_id":"resume-' "$LOGS/access.log"
ok "and their audit lines in the main log" grep -q '"correlation_id":"resume-' "$LOGS/trestle.log"
ok "the access log says how many of its lines were lost" grep -q '"msg":"log: [0-9]* lines could not be written here (No space left on device) and were lost"' "$LOGS/access.log"
torn=$(cat "$LOGS/trestle.log" "$LOGS/access.log" | grep -v '^$' | jq -R 'fromjson? // "torn"' | grep -c '^"torn"$')
# A short write leaves part of a line; the next line starts afresh: at most one per process and file.
ok "at most one torn fragment per process and file ($torn)" test "$torn" -le 8

writes_exactly_once diskfull
no_sanitizer_report "disk full"
trestled_stop
# Every process has logged since (its shutdown at least): each that could not
# write the main log says there how many of its lines were lost.
for pid in $(grep -F "cannot write to $LOGS/trestle.log" "$T/trestled.out" | jq -r .pid | sort -u); do
	like "$(grep -F "\"pid\":$pid," "$LOGS/trestle.log" | grep -F 'could not be written here')" \
		'"level":"warn".*"msg":"log: [0-9]+ lines could not be written here \(No space left on device\) and were lost"' \
		"process $pid says in the main log how many of its lines were lost"
done
check_logs_clean
done_testing
