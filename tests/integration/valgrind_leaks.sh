#!/usr/bin/env bash
# Leaks: a long-lived worker and the API child run under valgrind
# (memcheck, through TRESTLE_TEST_CHILD_WRAPPER) while a few thousand mixed
# requests go through them (pings, health checks, note writes and lists, new
# sessions, refused and malformed requests), then a graceful stop.  Each
# child's valgrind report must say "definitely lost: 0 bytes" (or that no
# leak is possible) and show no error (invalid read or write, use of
# uninitialised memory).  Skipped in a sanitizer build: valgrind and
# AddressSanitizer cannot watch the same process.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
# configure --enable-sanitizers says so; the binary too, when run outside make check.
if [ "${TRESTLE_SANITIZERS:-no}" = yes ] || grep -q __asan_init "$TRESTLE_BUILDDIR/trestle-mcp"; then
	skip_all "a sanitizer build: valgrind cannot run AddressSanitizer's binaries"
fi

REQUESTS=3000
export TRESTLE_TEST_CHILD_WRAPPER="valgrind --leak-check=full --show-leak-kinds=definite
	--errors-for-leak-kinds=definite --num-callers=30 --log-file=$T/valgrind.%p"
TRESTLE_TEST_CHILD_WRAPPER=$(tr -s ' \t\n' ' ' <<<"$TRESTLE_TEST_CHILD_WRAPPER")

# One line a kind of refused or malformed request, each answered by the worker.
bad_requests() {
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope","arguments":{}}}'
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_note","arguments":{"title":3}}}'
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_note","arguments":{"uid":"00000000-0000-4000-8000-000000000000"}}}'
	mcp_post "$SESSION" '{"jsonrpc":"2.0",'
	mcp_post "not-a-session" '{"jsonrpc":"2.0","id":4,"method":"ping"}'
	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":5,"method":"ping"}' -H "Authorization: Bearer wrong"
	curl -fsS -o /dev/null "http://127.0.0.1:$PORT/metrics"
	curl -sS -o /dev/null "http://127.0.0.1:$PORT/nowhere"
}

pg_start
make_users 4
fault_conf "workers = 1" "heartbeat_timeout_sec = 60" "log_level = info"
trestled_start
mcp_init || bail "MCP session"
users_init || bail "an MCP session for each user"

t0=$(_now_us)
load_start vg -c 4 -m mix -n "$REQUESTS" -r 150 -d 90 -T 60
for i in 1 2 3 4 5; do
	mcp_init || fail "a new session under valgrind"
	bad_requests
	sleep 1
done
load_wait vg
is "$LOAD_FAILED" 0 "the $REQUESTS mixed requests under valgrind succeed"
is "$LOAD_SENT" "$REQUESTS" "all of them were sent"
writes_exactly_once vg
kids=$(child_pids "$TRESTLED_PID")
trestled_stop
# shellcheck disable=SC2086
ok "the children are gone" wait_for -t 20 none_alive $kids
diag "$((($(_now_us) - t0) / 1000)) ms under valgrind"

reports=("$T"/valgrind.*)
[ -e "${reports[0]}" ] || bail "valgrind wrote its reports ($T/valgrind.PID)"
is "${#reports[@]}" 2 "a report from the worker and one from the API child"
for r in "${reports[@]}"; do
	pid=${r##*.}
	role=$(grep -m 1 -o "\"role\":\"[a-z]*\",\"pid\":$pid," "$T/trestle.log" | cut -d'"' -f4)
	summary=$(grep -E 'definitely lost:|no leaks are possible|ERROR SUMMARY' "$r")
	like "$summary" 'ERROR SUMMARY: 0 errors' "$role $pid: valgrind's error summary says 0 errors"
	like "$summary" 'definitely lost: 0 bytes|All heap blocks were freed -- no leaks are possible' \
		"$role $pid: definitely lost: 0 bytes"
	grep -q 'definitely lost: [1-9]' "$r" && diag "$(grep -A25 'definitely lost in' "$r" | head -n 60)"
	errors=$(grep -E '^==[0-9]+== (Invalid|Conditional|Use of uninitialised|Syscall param|Mismatched|Source and destination)' "$r")
	is "$errors" "" "$role $pid: no invalid read or write, no use of uninitialised memory"
	[ -z "$errors" ] || diag "$(head -n 40 "$r")"
done
check_logs_clean
done_testing
