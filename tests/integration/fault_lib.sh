# Sourced by the fault-injection tests (fault_*.sh) after lib.sh: a steady
# MCP load that counts every request, and the checks made after each case.
#
#	fault_conf [LINE...]	(write_conf without the rate limits, plus the users of
#				make_users)
#	make_users N		(N more users, user-1 .. user-N, each with a token; after
#				trestled_start, users_init gives each an MCP session, in
#				$T/users: loadgen -a, a user for each thread)
#	case_load NAME SECONDS	(the steady load of a case: three generators, NAME
#				writing notes, NAME-ping and NAME-health; THREADS in all)
#	case_wait NAME		(sets CASE_SENT, CASE_FAILED, CASE_RESENT over the three)
#	disturbed_outside NAME FROM TO...	(their failed or resent requests that
#				overlap none of the windows)
#	load_start NAME [LOADGEN-ARG...]	(background; writes $T/NAME.*)
#	load_wait NAME		(sets LOAD_STATUS, LOAD_SENT, LOAD_OK, LOAD_FAILED)
#	failures NAME		(the failed requests' log lines: CID KIND fail START END)
#	fails_outside NAME FROM TO...	(failed requests that do not overlap any [FROM, TO])
#	starts_after NAME MS	(requests that started at or after MS, failed ones)
#	writes_exactly_once NAME	(every acknowledged create_note of the run is in
#				PostgreSQL once, with its uid; none is stored twice)
#	no_sanitizer_report	(so far, by any process)
#	status_field JQ, worker_pids, api_pid, all_running N
#	wall_ms			(now, in ms since the epoch, as loadgen's request log)
#
# loadgen's request log has "CID KIND ok|fail START_MS END_MS" lines (see
# tests/loadgen.c); a write's marker is its correlation id, "NAME-THREAD-N".

# shellcheck shell=bash disable=SC2034
LOADGEN=$TRESTLE_BUILDDIR/tests/loadgen
IDLE_CONNS=$TRESTLE_BUILDDIR/tests/idle_conns

wall_ms() {
	local t=$EPOCHREALTIME

	echo $((${t/./} / 1000))
}

USER_TOKENS=()

make_users() {
	local i

	for ((i = 1; i <= $1; i++)); do
		USER_TOKENS+=("trd_$(_random_hex 24)")
	done
}

fault_conf() {
	local i

	# The load is far above the per-user rate limits: they are not what is tested here.
	write_conf "mcp_rate_limit_per_minute = 0" "api_rate_limit_per_minute = 0" "$@"
	for i in "${!USER_TOKENS[@]}"; do
		printf '%s user-%d\n' "$(_sha256_hex "${USER_TOKENS[i]}")" $((i + 1)) >>"$T/api_keys"
	done
}

# An MCP session for each user of make_users, in $T/users ("TOKEN SESSION" lines).
users_init() {
	local t saved=$TOKEN saved_session=${SESSION:-}

	: >"$T/users"
	for t in "${USER_TOKENS[@]}"; do
		TOKEN=$t mcp_init || { TOKEN=$saved; return 1; }
		echo "$t $SESSION" >>"$T/users"
	done
	TOKEN=$saved
	SESSION=$saved_session
}

# load_start NAME [LOADGEN-ARG...]: -p NAME, acknowledged writes to
# $T/NAME.acked, the request log to $T/NAME.req; LOAD_PID_<NAME> is its pid
# (any character of NAME but a letter, a digit or _ becomes _).
# With users_init's $T/users, each thread is a user of its own (loadgen -a).
load_start() {
	local name=$1

	shift
	: >"$T/$name.acked"
	: >"$T/$name.req"
	[ -s "$T/users" ] && set -- -a "$T/users" "$@"
	_spawn_group "$LOADGEN" -u "$MCP_URL" -t "$TOKEN" -s "${SESSION:-none}" -p "$name" \
		-w "$T/$name.acked" -l "$T/$name.req" "$@" >"$T/$name.out" 2>"$T/$name.err"
	printf -v "LOAD_PID_${name//[^A-Za-z0-9_]/_}" %s "$_bg_pid"
}

load_wait() {
	local name=$1 pidvar="LOAD_PID_${1//[^A-Za-z0-9_]/_}" line

	wait "${!pidvar}"
	LOAD_STATUS=$?
	line=$(cat "$T/$name.out")
	read -r _ LOAD_SENT _ LOAD_OK _ LOAD_FAILED <<<"$line"
	: "${LOAD_SENT:=0}" "${LOAD_OK:=0}" "${LOAD_FAILED:=0}"
	diag "load $name: ${line:-no summary (status $LOAD_STATUS)}"
	[ -s "$T/$name.err" ] && diag "$(sort "$T/$name.err" | head -n 5)"
	return 0
}

failures() {
	awk '$3 == "fail"' "$T/$1.req"
}

# fails_outside NAME FROM TO [FROM TO...]: how many failed requests overlap
# none of the windows.
fails_outside() {
	local name=$1

	shift
	failures "$name" | awk -v w="$*" '
		BEGIN { n = split(w, b, " ") }
		{ inside = 0
		  for (i = 1; i < n; i += 2) if ($4 <= b[i + 1] && $5 >= b[i]) inside = 1
		  if (!inside) { out++; if (out <= 5) print "outside: " $0 > "/dev/stderr" } }
		END { print out + 0 }'
}

# starts_after NAME MS: "TOTAL FAILED" of the requests that started at or after MS.
starts_after() {
	awk -v t="$2" '$4 >= t { n++; if ($3 == "fail") f++ } END { print n + 0, f + 0 }' "$T/$1.req"
}

# Every acknowledged write once, with the uid the client saw; no marker twice,
# except a request libcurl itself sent again (its kept-alive connection died
# before any answer: the first copy may have been applied), which the
# request log marks "resent": a client's resend, at most twice then.
writes_exactly_once() {
	local name=$1 acked stored resent missing doubled wrong lied

	pg_sql "SELECT payload_json->>'title', count(*), string_agg(uid::text, ',') FROM note
		WHERE payload_json->>'title' LIKE '$name-%' GROUP BY 1" >"$T/$name.stored" ||
		{ fail "$name: the notes can be read from PostgreSQL"; return; }
	awk '$6 == "resent" { print $1 }' "$T/$name.req" >"$T/$name.resent"
	acked=$(wc -l <"$T/$name.acked")
	stored=$(wc -l <"$T/$name.stored")
	resent=$(wc -l <"$T/$name.resent")
	# shellcheck disable=SC2016
	read -r missing doubled wrong < <(awk -F'[ |]' '
		FILENAME == ARGV[1] { resent[$1] = 1; next }
		FILENAME == ARGV[2] { count[$1] = $2; uids[$1] = $3
			if ($2 > 2 || ($2 > 1 && !($1 in resent))) {
				doubled++; if (doubled <= 5) print "stored " $2 " times: " $1 > "/dev/stderr" }
			next }
		!($1 in count) { missing++; if (missing <= 5) print "missing: " $0 > "/dev/stderr"; next }
		index(uids[$1], $2) == 0 { wrong++; if (wrong <= 5) print "other uid: " $0 > "/dev/stderr" }
		END { print missing + 0, doubled + 0, wrong + 0 }' \
		"$T/$name.resent" "$T/$name.stored" "$T/$name.acked")
	diag "$name: $acked writes acknowledged, $stored markers stored, $resent requests" \
		"resent by libcurl, $(awk -F'|' '$2 > 1' "$T/$name.stored" | wc -l) markers stored twice"
	# A failed write that was applied all the same must not have said it was not.
	lied=$(awk -F'[ |]' 'NR == FNR { stored[$1] = 1; next }
		/^failure: / { cid = $2; sub(/:$/, "", cid)
			if ((cid in stored) && /Nothing was changed/) print cid }' \
		"$T/$name.stored" "$T/$name.err" | head -n 5)
	is "$lied" "" "$name: no failed write that was applied said that nothing was changed"
	ok "$name: some writes were acknowledged" test "$acked" -gt 0
	is "$missing" 0 "$name: every acknowledged write is in PostgreSQL"
	is "$doubled" 0 "$name: no write is stored twice (unless the client sent it twice)"
	is "$wrong" 0 "$name: each with the uid its answer gave"
}

no_sanitizer_report() {
	local reports

	reports=$(ls "$T"/asan.* 2>/dev/null)
	is "$reports" "" "$1: no sanitizer report"
}

status_field() {
	"$TRESTLECTL" -c "$T/trestle.conf" status --json | jq -r "$1"
}

worker_pids() {
	status_field '.children[] | select(.role == "worker" and .state == "running") | .pid'
}

api_pid() {
	status_field '.children[] | select(.role == "api" and .state == "running") | .pid'
}

# all_running N: N workers and the API child, every one running.
all_running() {
	[ "$(status_field "[.children[] | select(.state == \"running\")] | length")" = $(($1 + 1)) ] &&
		[ "$(status_field '.children | length')" = $(($1 + 1)) ]
}

: "${NOTE_THREADS:=6}" "${PING_THREADS:=3}" "${HEALTH_THREADS:=2}"
THREADS=$((NOTE_THREADS + PING_THREADS + HEALTH_THREADS))

# The steady load of one case, for SECONDS: writes paced under the API's
# per-user rate limit (10 a second), each thread a user of its own.
case_load() {
	local name=$1 seconds=$2

	load_start "$name" -c "$NOTE_THREADS" -m note -r $((NOTE_THREADS * 7)) -d "$seconds"
	load_start "$name-ping" -c "$PING_THREADS" -m ping -r 600 -d "$seconds"
	load_start "$name-health" -c "$HEALTH_THREADS" -m health -r 100 -d "$seconds"
}

# case_wait NAME: wait for the three generators; CASE_SENT, CASE_FAILED and
# CASE_RESENT over all three.
case_wait() {
	local g

	CASE_SENT=0
	CASE_FAILED=0
	CASE_RESENT=0
	for g in "$1" "$1-ping" "$1-health"; do
		load_wait "$g"
		CASE_SENT=$((CASE_SENT + LOAD_SENT))
		CASE_FAILED=$((CASE_FAILED + LOAD_FAILED))
		CASE_RESENT=$((CASE_RESENT + $(grep -c ' resent$' "$T/$g.req")))
	done
}

# disturbed_outside NAME FROM TO...: failed or resent requests of the three
# generators that overlap none of the windows (each listed on stderr).
disturbed_outside() {
	local name=$1 g n=0

	shift
	for g in "$name" "$name-ping" "$name-health"; do
		n=$((n + $(awk '$3 == "fail" || $6 == "resent"' "$T/$g.req" |
			awk -v w="$*" '
			BEGIN { n = split(w, b, " ") }
			{ inside = 0
			  for (i = 1; i < n; i += 2) if ($4 <= b[i + 1] && $5 >= b[i]) inside = 1
			  if (!inside) { out++; print "outside every fault: " $0 > "/dev/stderr" } }
			END { print out + 0 }')))
	done
	echo "$n"
}
