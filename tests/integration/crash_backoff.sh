#!/usr/bin/env bash
# A worker that crashes at start (the test-only TRESTLE_TEST_CRASH_AT_START
# switch, for slot 2): the gaps between its spawns grow (1, 2, 4, 8 s), the
# master answers trestlectl status quickly all along, worker 1 keeps serving,
# and after five deaths within a minute the slot is marked failed, with why.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

status_field() {
	"$TRESTLECTL" -c "$T/trestle.conf" status --json | jq -r "$1"
}

slot2_state() {
	status_field '.children[] | select(.role=="worker" and .slot==2) | .state'
}

slot2_failed() {
	[ "$(slot2_state)" = failed ]
}

# The times (ms) the master spawned worker 2, one a line.
spawn_times() {
	jq -r 'select(.role=="master" and (.msg | test("^spawned worker 2,"))) | .time' \
		"$T/trestle.log" |
		while read -r t; do
			date -d "${t/T/ }" +%s%3N
		done
}

pg_start
write_conf "workers = 2"
TRESTLE_TEST_CRASH_AT_START=2 trestled_start

# Status stays quick while slot 2 crash-loops.  A master that blocked through
# its backoff (1 to 8 s) would be slow on most polls; one in ten slower than
# 0.5 s is scheduler noise on a loaded machine.  Failures count without mercy.
slow=0
failed=0
polls=0
deadline=$(($(_now_us) + 30000000))
until slot2_failed || [ "$(_now_us)" -gt "$deadline" ]; do
	t0=$(_now_us)
	"$TRESTLECTL" -c "$T/trestle.conf" status >/dev/null || failed=$((failed + 1))
	[ $(($(_now_us) - t0)) -lt 500000 ] || slow=$((slow + 1))
	polls=$((polls + 1))
	curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" || failed=$((failed + 1))
	sleep 0.2
done
ok "slot 2 ends failed" slot2_failed
is "$failed" 0 "status answered and worker 1 served, every time ($polls polls)"
ok "status answered within 0.5 s on at least 9 polls in 10 ($slow of $polls slower)" \
	test $((slow * 10)) -le "$polls"

mapfile -t times < <(spawn_times)
is "${#times[@]}" 5 "worker 2 was spawned five times"
gaps=()
for ((i = 1; i < ${#times[@]}; i++)); do
	gaps+=($((times[i] - times[i - 1])))
done
diag "gaps between spawns (ms): ${gaps[*]}"
for ((i = 0; i < ${#gaps[@]}; i++)); do
	want=$((1000 << i))
	ok "gap $((i + 1)) is about $want ms" test "${gaps[i]}" -ge $((want - 50)) -a "${gaps[i]}" -lt $((want + 900))
done

like "$(status_field '.children[] | select(.role=="worker" and .slot==2) | .last_exit.cause')" \
	"^exited with status 70$" "status gives the cause"
is "$(status_field '.children[] | select(.role=="worker" and .slot==2) | .restarts')" 4 \
	"status counts 4 restarts"
like "$(cat "$T/trestle.log")" "worker 2: FAILED: died 5 times within 60 s" "the master says why loudly"
is "$(status_field '.children[] | select(.role=="worker" and .slot==1) | .state')" running \
	"worker 1 still runs"
ctl_out=$("$TRESTLECTL" -c "$T/trestle.conf" status)
like "$ctl_out" $'\nworker +2 +1 +0  failed +- +4  exited with status 70' "the human status shows the failed slot"

trestled_stop
check_logs_clean
done_testing
