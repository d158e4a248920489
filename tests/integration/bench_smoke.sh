#!/usr/bin/env bash
# The benchmark's smoke run: tests/bench/run.sh in BENCH_SMOKE mode (a second
# or two a phase, thousands of notes, a thousand calls for the memory phase).
# No timing is asserted, only that every phase ran and saw no error: no
# non-200 answer, JSON-RPC error, isError result or socket error, every
# create_note a row, trestled stopped cleanly.
. "$(dirname "$0")/lib.sh"

for tool in wrk pgbench; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (Debian: wrk, postgresql-contrib)"
done

out=$T/bench.out
BENCH_SMOKE=1 bash "$TRESTLE_SRCDIR/tests/bench/run.sh" >"$out" 2>&1
status=$?
is "$status" 0 "the smoke run exits 0"
[ "$status" -eq 0 ] || diag "--- end of the run" "$(tail -n 80 "$out")"

# figure_ok NAME: the run printed NAME with a number and no error.
figure_ok() {
	like "$(grep "^BENCH name=$1 " "$out")" "^BENCH name=$1 value=[0-9]+([.][0-9]+)? unit=[^ ]+ errors=0$" \
		"$1: a figure, no error"
}

for name in pgbench_select_tps healthz_rps tools_list_rps \
	list_notes_small_rps list_notes_small_page_ms list_notes_large_rps list_notes_large_page_ms \
	get_note_rps get_note_c1_rps get_note_c8_rps get_note_c64_rps get_note_c256_rps \
	memory_calls rss_growth_max_kb rss_worker_max_kb create_note_rps pgbench_insert_tps; do
	figure_ok "$name"
done
if command -v node >/dev/null; then
	for name in get_note_fixed_rate get_note_fixed_rate_achieved get_note_p50_ms get_note_p99_ms \
		get_note_p999_ms; do
		figure_ok "$name"
	done
else
	skip "latency phase: no node"
fi
like "$(grep '^BENCH name=memory_calls ' "$out")" "value=(100[0-9]|10[1-9][0-9]|1[1-9][0-9]{2}) " \
	"the memory phase made its thousand calls"
like "$(grep -c '^BENCH name=rss_trestle_mcp_[0-9]*_kb value=[0-9]* ' "$out")" '^[1-9][0-9]*$' \
	"the RSS of each MCP worker is reported"

# Every target is computed (PASS or MISS: a MISS is a result, not an error).
targets=$(grep '^BENCH ratio=' "$out")
is "$(grep -c . <<<"$targets")" "$(command -v node >/dev/null && echo 9 || echo 8)" "every target line is printed"
unlike "$targets" "status=FAIL" "no target lacks its figures"
is "$(grep -c 'value=FAIL' "$out")" 0 "no figure says FAIL"

check_logs_clean
done_testing
