# Harness sourced by every integration test (bash).
#
# A test runs the real binaries in its own temporary directory $T with its own
# port, sockets and PostgreSQL cluster, and speaks TAP on standard output
# (make check reads it through automake's TAP driver).  Everything it started
# is stopped by an EXIT trap, which also removes $T unless TRESTLE_KEEP_TMP=1.
#
#	. "$(dirname "$0")/lib.sh"
#	pg_start; write_conf; trestled_start
#	mcp_init || bail "no MCP session"
#	mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
#	is "$HTTP_STATUS" 200 "tools/list answers 200"
#	trestled_stop
#	check_logs_clean
#	done_testing
#
# TAP:		ok DESC CMD [ARG...]	(passes when CMD exits 0; CMD runs in this shell)
#		is GOT WANT DESC, isnt GOT UNWANTED DESC, like GOT ERE DESC, unlike GOT ERE DESC
#		pass DESC, fail DESC, diag MSG..., skip DESC, skip_all REASON, bail REASON,
#		done_testing (prints "1..N"; exit status 1 when a test failed)
# Waiting:	wait_for [-t SECONDS] CMD [ARG...]	(polls; 0 when CMD succeeded in time)
#		pid_alive PID, child_pids PID
# PostgreSQL:	pg_start, pg_stop, pg_sql SQL	($PG_HOST is the socket directory)
#		pg_down, pg_up	(stop fast and start again the same cluster)
# trestled:	free_port, write_conf [LINE...], trestled_start, trestled_stop
#		($PORT, $TRESTLED_PID, $MCP_URL, $TOKEN for "user-a", $TOKEN_B for "user-b",
#		$TENANT_ID, $TENANT_SECRET, $JWT_SECRET, $API_SOCK)
# MCP:		mcp_post SESSION JSON [CURL-ARG...], mcp_init
#		(set HTTP_STATUS, HTTP_HEADERS, HTTP_BODY, HTTP_JSON; mcp_init sets SESSION;
#		TOKEN=$TOKEN_B mcp_post ... calls as user-b)
#		http_header NAME	(a header of the last response)
# API child:	api_req METHOD PATH [CURL-ARG...], api_session	(to $API_SOCK, or to
#		http://$API_TCP when set, as $API_SUB (default user-a; empty: no token) with
#		fresh v1 tenant headers (API_TENANT=none: none) and X-Sync-Session/X-Sync-Epoch
#		from $API_SESSION/$API_EPOCH; an -H among the CURL-ARGs replaces the default
#		header of that name, an X-TB-* one all the tenant headers; set HTTP_STATUS,
#		HTTP_HEADERS, HTTP_BODY; api_session sets API_SESSION, API_EPOCH)
#		jwt_for SUB [CLAIMS], tenant_sig TENANT TIMESTAMP SECRET, tenant_v1 [SECRET],
#		tenant_v2 METHOD PATH BODY USER [TS_MS] [NONCE] (these two set TENANT_HEADERS,
#		curl arguments), b64url, now_ms
# End:		check_logs_clean	(no fatal log line, no sanitizer report)
# Binaries:	$TRESTLED, $TRESTLECTL; $T/trestle.log is the daemon's log

# shellcheck shell=bash disable=SC2034 # the globals are for the tests
set -u

: "${TRESTLE_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TRESTLE_BUILDDIR:=$TRESTLE_SRCDIR/_build}"
export TRESTLE_SRCDIR TRESTLE_BUILDDIR

TRESTLED=$TRESTLE_BUILDDIR/trestled
TRESTLECTL=$TRESTLE_BUILDDIR/trestlectl
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

# A developer's own TRESTLE_<KEY> settings must not leak into the daemon under test.
for _v in $(compgen -e TRESTLE_); do
	case $_v in
	TRESTLE_SRCDIR | TRESTLE_BUILDDIR | TRESTLE_SANITIZERS | TRESTLE_KEEP_TMP | TRESTLE_TEST_*) ;;
	*) unset "$_v" ;;
	esac
done
unset _v

#
# TAP
#

_tap_n=0
_tap_failed=0
_tap_planned=

# diag MSG...: each MSG on lines of its own, as TAP comments.
diag() {
	local arg line

	for arg in "$@"; do
		while IFS= read -r line; do
			printf '# %s\n' "$line"
		done <<<"$arg"
	done
}

pass() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s\n' "$_tap_n" "$1"
}

fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$1"
	_where
}

# Name the line of the test (not of this file) that failed.
_where() {
	local i

	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [ "${BASH_SOURCE[i]}" != "${BASH_SOURCE[0]}" ]; then
			diag "  at ${BASH_SOURCE[i]##*/} line ${BASH_LINENO[i - 1]}"
			return
		fi
	done
}

ok() {
	local desc=$1

	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		diag "  got:      '$1'" "  expected: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3"
		diag "  got '$1', which it should not be"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3"
		diag "  got:" "$1" "  expected to match: $2"
	fi
}

unlike() {
	if [[ $1 =~ $2 ]]; then
		fail "$3"
		diag "  got:" "$1" "  expected not to match: $2"
	else
		pass "$3"
	fi
}

skip() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d # SKIP %s\n' "$_tap_n" "$1"
}

skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	_tap_planned=1
	exit 0
}

# End the test at once: a later check would only repeat this failure.
bail() {
	fail "$1"
	done_testing
}

done_testing() {
	if [ -z "$_tap_planned" ]; then
		printf '1..%d\n' "$_tap_n"
		_tap_planned=1
	fi
	[ "$_tap_failed" -eq 0 ] || exit 1
	exit 0
}

#
# Waiting: poll with a deadline, never sleep and hope.
#

_now_us() {
	local t=$EPOCHREALTIME

	echo "${t/./}"
}

wait_for() {
	local timeout=10 deadline

	if [ "$1" = -t ]; then
		timeout=$2
		shift 2
	fi
	deadline=$(($(_now_us) + timeout * 1000000))
	until "$@"; do
		[ "$(_now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# True while PID runs: a zombie counts as gone (PID 1 here may not reap orphans).
pid_alive() {
	local stat

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

none_alive() {
	local p

	for p in "$@"; do
		! pid_alive "$p" || return 1
	done
}

child_pids() {
	pgrep -P "$1" | tr '\n' ' '
}

#
# The temporary directory, the watchdog and the cleanup.
#

T=$(mktemp -d "${TMPDIR:-/tmp}/trestle-test.XXXXXX") || exit 1
chmod 755 "$T"		# PostgreSQL runs as another user when we are root
mkdir -p "$T/run"
PG_HOST=$T/pg		# the cluster's data directory's parent and socket directory

# Each process writes its own report, found by check_logs_clean.
export ASAN_OPTIONS="log_path=$T/asan:halt_on_error=1:abort_on_error=0:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$T/asan:halt_on_error=1:print_stacktrace=1"

TRESTLED_PID=
PG_STARTED=
_reports_shown=
_groups=()

# Start CMD... in the background in a process group of its own, so that the
# cleanup can reach every process it leaves behind.  Sets _bg_pid.
_spawn_group() {
	set -m
	"$@" &
	_bg_pid=$!
	set +m
	_groups+=("$_bg_pid")
}

_cleanup() {
	local status=$? g

	trap - EXIT TERM
	if [ -n "$TRESTLED_PID" ]; then
		kill -TERM "$TRESTLED_PID" 2>/dev/null
		wait_for -t 5 _trestled_gone
	fi
	for g in "${_groups[@]}"; do
		kill -KILL -- "-$g" 2>/dev/null
	done
	[ -n "$PG_STARTED" ] && pg_stop
	if [ "$_tap_failed" -ne 0 ] || [ "$status" -ne 0 ]; then
		_show_logs
	fi
	if [ "${TRESTLE_KEEP_TMP:-0}" = 1 ]; then
		diag "kept $T"
	else
		rm -rf "$T"
	fi
	return "$status"
}

# The end of each log, and the sanitizer reports unless check_logs_clean showed them.
_show_logs() {
	local f files=("$T"/trestle.log "$T"/trestled.out "$PG_HOST"/postgresql.log)

	[ -n "$_reports_shown" ] || files+=("$T"/asan.*)
	for f in "${files[@]}"; do
		[ -s "$f" ] || continue
		diag "--- last lines of ${f##*/}"
		diag "$(tail -n 40 "$f")"
	done
}

_timed_out() {
	fail "timed out after ${TRESTLE_TEST_TIMEOUT:-300} s"
	done_testing
}

# The watchdog: TERM to the test, then to what it waits on (bash runs a trap
# only once the foreground command returned).
trap _cleanup EXIT
trap _timed_out TERM
_spawn_group bash -c 'sleep "$1"; kill -TERM "$2"; sleep 2; pkill -TERM -P "$2"' \
	watchdog "${TRESTLE_TEST_TIMEOUT:-300}" $$ \
	</dev/null >/dev/null 2>&1
disown "$_bg_pid"	# its end is no news

#
# PostgreSQL: a private cluster, Unix socket only, superuser "trestle" with
# trust authentication, database "trestle".  As root it runs as "nobody".
#

PG_TEMPLATE=$TRESTLE_BUILDDIR/tests/.pg-template

_pg_user() {
	if [ "$(id -u)" -eq 0 ]; then
		echo nobody
	else
		id -un
	fi
}

_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$T" && runuser -u nobody -- "$@")
	else
		(cd "$T" && "$@")
	fi
}

# initdb once per build directory; parallel tests wait on the lock and copy.
_pg_template() {
	local major tmp

	[ -x "$PG_BIN/initdb" ] || { diag "no PostgreSQL server binaries (postgresql package)"; return 1; }
	major=$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)[.].*/\1/')
	mkdir -p "${PG_TEMPLATE%/*}"
	(
		flock 9
		[ "$(cat "$PG_TEMPLATE/PG_VERSION" 2>/dev/null)" = "$major" ] && exit 0
		tmp=$T/pg-initdb
		mkdir "$tmp" && chown "$(_pg_user)" "$tmp" || exit 1
		_as_pg "$PG_BIN/initdb" -D "$tmp" -U trestle -A trust -E UTF8 --locale=C \
			--no-sync >"$T/initdb.log" 2>&1 || { diag "$(cat "$T/initdb.log")"; exit 1; }
		echo "CREATE DATABASE trestle" |
			_as_pg "$PG_BIN/postgres" --single -D "$tmp" template1 \
			>>"$T/initdb.log" 2>&1 || { diag "$(cat "$T/initdb.log")"; exit 1; }
		rm -rf "$PG_TEMPLATE.new" && cp -a "$tmp" "$PG_TEMPLATE.new" &&
			rm -rf "$PG_TEMPLATE" && mv "$PG_TEMPLATE.new" "$PG_TEMPLATE" &&
			rm -rf "$tmp"
	) 9>"$PG_TEMPLATE.lock"
}

pg_start() {
	_pg_template || bail "PostgreSQL template cluster (initdb)"
	mkdir -p "$PG_HOST" && cp -a "$PG_TEMPLATE" "$PG_HOST/data" &&
		chown -R "$(_pg_user)" "$PG_HOST" && chmod 700 "$PG_HOST/data" ||
		bail "PostgreSQL data directory"
	pg_up || bail "PostgreSQL started"
}

# pg_up: start the cluster pg_start made (again, after pg_down); non-zero (after a diag) on failure.
pg_up() {
	if ! _as_pg "$PG_BIN/pg_ctl" -D "$PG_HOST/data" -l "$PG_HOST/postgresql.log" -w -t 30 \
		-o "-c listen_addresses='' -k $PG_HOST -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB" \
		start >/dev/null; then
		diag "$(tail -n 20 "$PG_HOST/postgresql.log" 2>/dev/null)"
		return 1
	fi
	PG_STARTED=1
}

# pg_down: a fast shutdown, as an administrator's (clients are disconnected); the data stays.
pg_down() {
	_as_pg "$PG_BIN/pg_ctl" -D "$PG_HOST/data" -m fast -w stop >/dev/null
	PG_STARTED=
}

pg_stop() {
	_as_pg "$PG_BIN/pg_ctl" -D "$PG_HOST/data" -m immediate -w stop >/dev/null 2>&1
	PG_STARTED=
}

# pg_sql SQL: unaligned, tuples only; non-zero on an SQL error.
pg_sql() {
	"$PG_BIN/psql" -h "$PG_HOST" -U trestle -d trestle -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"
}

#
# trestled
#

# A TCP port on 127.0.0.1 nobody listens on: random, to keep parallel tests
# apart, and below Linux's ephemeral ports (32768 up), so no outgoing
# connection holds it.
free_port() {
	local p i

	for i in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

_random_hex() {
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

_sha256_hex() {
	printf %s "$1" | sha256sum | cut -d' ' -f1
}

PORT=$(free_port) || bail "no free port"
MCP_URL=http://127.0.0.1:$PORT/mcp
API_SOCK=$T/run/api.sock
TOKEN=trd_$(_random_hex 24)
TOKEN_B=trd_$(_random_hex 24)
TENANT_ID=test-tenant
TENANT_SECRET=$(_random_hex 32)
JWT_SECRET=$(_random_hex 32)
DATABASE_URL="host=$PG_HOST dbname=trestle user=trestle"

# write_conf [LINE...]: $T/trestle.conf and $T/api_keys; each LINE ("key = value")
# is appended, so it overrides the base settings.
write_conf() {
	local line

	printf '%s %s\n' "$(_sha256_hex "$TOKEN")" user-a "$(_sha256_hex "$TOKEN_B")" user-b \
		>"$T/api_keys"
	{
		echo "listen = 127.0.0.1:$PORT"
		echo "workers = 2"
		echo "runtime_dir = $T/run"
		echo "state_dir = $T/state"
		echo "database_url = \"$DATABASE_URL\""
		echo "tenant_id = $TENANT_ID"
		echo "tenant_secret = $TENANT_SECRET"
		echo "jwt_secret = $JWT_SECRET"
		echo "api_keys_file = $T/api_keys"
		echo "log_file = $T/trestle.log"
		echo "log_level = debug"
		for line in "$@"; do
			echo "$line"
		done
	} >"$T/trestle.conf"
}

# Serving: a worker answers /healthz and the API child has applied its schema
# (TRESTLED_WAIT=socket trestled_start: only that the API child's socket
# exists, for a test that starts it without a database).
_healthy() {
	curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" 2>/dev/null || return 1
	if [ "${TRESTLED_WAIT:-schema}" = socket ]; then
		[ -S "$API_SOCK" ]
	else
		curl -fsS -o /dev/null --max-time 2 --unix-socket "$API_SOCK" http://api/readyz 2>/dev/null
	fi
}

_trestled_gone() {
	! pid_alive "$TRESTLED_PID"
}

# Start trestled in the background; passes when /healthz answers and the API
# socket exists, else fails, shows the log and ends the test.
trestled_start() {
	: >>"$T/trestled.out"
	_spawn_group "$TRESTLED" -c "$T/trestle.conf" >>"$T/trestled.out" 2>&1
	TRESTLED_PID=$_bg_pid
	wait_for -t 10 _trestled_up_or_gone
	if ! _trestled_gone && _healthy; then
		pass "trestled started (pid $TRESTLED_PID)"
		return 0
	fi
	if _trestled_gone; then
		wait "$TRESTLED_PID"
		diag "trestled exited with status $?"
		TRESTLED_PID=
	fi
	bail "trestled started: /healthz on port $PORT and $API_SOCK"
}

_trestled_up_or_gone() {
	_healthy || _trestled_gone
}

# SIGTERM, then the master must exit 0 within 10 s.
trestled_stop() {
	local status

	if [ -z "$TRESTLED_PID" ]; then
		fail "trestled_stop: trestled is not running"
		return 1
	fi
	kill -TERM "$TRESTLED_PID"
	if ! wait_for -t 10 _trestled_gone; then
		fail "trestled exits within 10 s of SIGTERM"
		kill -KILL "$TRESTLED_PID"	# only the master: a test may look at its children
		wait "$TRESTLED_PID"
		TRESTLED_PID=
		return 1
	fi
	wait "$TRESTLED_PID"
	status=$?
	TRESTLED_PID=
	is "$status" 0 "trestled exits 0 on SIGTERM"
}

#
# MCP over HTTP
#

# mcp_post SESSION JSON [CURL-ARG...]: POST JSON to $MCP_URL as $TOKEN.  An
# -H among the CURL-ARGs replaces the default header of that name ("-H
# Authorization:" sends none).
mcp_post() {
	local session=$1 body=$2 h name args replaced=" " prev=

	shift 2
	for h in "$@"; do
		[ "$prev" = -H ] && replaced+="${h%%:*} "
		prev=$h
	done
	replaced=${replaced,,}
	args=(-sS --max-time 10 -o "$T/.http_body" -D "$T/.http_headers" -w '%{http_code}'
		--data-binary "$body")
	for h in "Authorization: Bearer $TOKEN" "Content-Type: application/json" \
		"Accept: application/json, text/event-stream" "MCP-Protocol-Version: 2025-11-25" \
		"Expect:" ${session:+"Mcp-Session-Id: $session"}; do
		name=${h%%:*}
		[[ $replaced == *" ${name,,} "* ]] || args+=(-H "$h")
	done
	: >"$T/.http_body"
	: >"$T/.http_headers"
	HTTP_STATUS=$(curl "${args[@]}" "$@" "$MCP_URL")
	HTTP_HEADERS=$(tr -d '\r' <"$T/.http_headers")
	# A shell variable cannot hold NUL bytes: a binary body is read from $T/.http_body.
	HTTP_BODY=$(tr -d '\0' <"$T/.http_body")
	HTTP_JSON=$(_jsonrpc_message)
}

# The JSON-RPC message of the last response: the body itself, or the last
# data line of an SSE stream.
_jsonrpc_message() {
	if [[ $(http_header content-type) == text/event-stream* ]]; then
		sed -n 's/^data: *//p' <<<"$HTTP_BODY" | grep -v '^$' | tail -n 1
	else
		printf '%s\n' "$HTTP_BODY"
	fi
}

# http_header NAME: the value of header NAME (any case) in the last response.
http_header() {
	awk -v name="${1,,}" '
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == name) {
			v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }' \
		<<<"$HTTP_HEADERS"
}

# initialize + notifications/initialized; sets SESSION.  Non-zero (after a
# diag) when either step fails.
mcp_init() {
	SESSION=
	mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"trestle-tests","version":"0"}}}'
	SESSION=$(http_header mcp-session-id)
	if [ "$HTTP_STATUS" != 200 ] || [ -z "$SESSION" ]; then
		diag "initialize: HTTP $HTTP_STATUS" "$HTTP_HEADERS" "$HTTP_BODY"
		return 1
	fi
	mcp_post "$SESSION" '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	if [ "$HTTP_STATUS" != 202 ]; then
		diag "notifications/initialized: HTTP $HTTP_STATUS" "$HTTP_BODY"
		return 1
	fi
}

#
# The API child, straight over its Unix socket (or its TCP listener)
#

b64url() {
	openssl base64 -A | tr '+/' '-_' | tr -d '='
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# jwt_for SUB [CLAIMS]: an HS256 token for SUB signed with $JWT_SECRET, valid
# for 5 minutes; CLAIMS are more members of the claims object (',"aud":"x"').
jwt_for() {
	local header claims sig

	header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
	claims=$(printf '{"sub":"%s","exp":%d%s}' "$1" $(($(date +%s) + 300)) "${2:-}" | b64url)
	sig=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -hmac "$JWT_SECRET" -binary | b64url)
	printf '%s.%s.%s' "$header" "$claims" "$sig"
}

# tenant_sig TENANT TIMESTAMP SECRET: the v1 signature, lowercase hex.
tenant_sig() {
	printf '%s:%s' "$1" "$2" | openssl dgst -sha256 -hmac "$3" -r | cut -d' ' -f1
}

# tenant_v1 [SECRET]: TENANT_HEADERS, curl arguments of v1 headers signed now.
tenant_v1() {
	local ts

	ts=$(now_ms)
	TENANT_HEADERS=(-H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $ts"
		-H "X-TB-Signature: $(tenant_sig "$TENANT_ID" "$ts" "${1:-$TENANT_SECRET}")")
}

# tenant_v2 METHOD PATH BODY USER [TS_MS] [NONCE]: TENANT_HEADERS of version 2,
# as a worker signs them.
tenant_v2() {
	local method=$1 path=$2 body=$3 user=$4 ts=${5:-$(now_ms)} nonce=${6:-$(_random_hex 16)}
	local digest sig

	digest=$(_sha256_hex "$body")
	sig=$(printf 'v2\n%s\n%s\n%s\n%s\n%s\n%s\n%s' "$TENANT_ID" "$ts" "$nonce" "$method" \
		"$path" "$digest" "$user" | openssl dgst -sha256 -hmac "$TENANT_SECRET" -r |
		cut -d' ' -f1)
	TENANT_HEADERS=(-H "X-TB-Tenant-ID: $TENANT_ID" -H "X-TB-Timestamp: $ts"
		-H "X-TB-Nonce: $nonce" -H "X-TB-User: $user" -H "X-TB-Body-SHA256: $digest"
		-H "X-TB-Signature-V2: $sig")
}

API_SUB=user-a
API_TENANT=v1
API_SESSION=
API_EPOCH=
API_TCP=

# api_req METHOD PATH [CURL-ARG...]: to $API_SOCK, or to http://$API_TCP when
# set.  The default headers: a token for $API_SUB (none when empty), v1 tenant
# headers signed now (none when API_TENANT=none, or when a CURL-ARG sends any
# X-TB- header), X-Sync-Session and X-Sync-Epoch from $API_SESSION and
# $API_EPOCH when set.  An -H among the CURL-ARGs replaces the default header
# of that name.
api_req() {
	local method=$1 path=$2 given=" " prev= h now where=(--unix-socket "$API_SOCK") base=http://api
	local args defaults=() h_name

	shift 2
	for h in "$@"; do
		[ "$prev" = -H ] && given+="${h%%:*} "
		prev=$h
	done
	given=${given,,}
	if [ -n "$API_TCP" ]; then
		where=()
		base=http://$API_TCP
	fi
	[ -n "$API_SUB" ] && defaults+=("Authorization: Bearer $(jwt_for "$API_SUB")")
	if [ "$API_TENANT" != none ] && [[ $given != *" x-tb-"* ]]; then
		now=$(now_ms)
		defaults+=("X-TB-Tenant-ID: $TENANT_ID" "X-TB-Timestamp: $now"
			"X-TB-Signature: $(tenant_sig "$TENANT_ID" "$now" "$TENANT_SECRET")")
	fi
	[ -n "$API_SESSION" ] && defaults+=("X-Sync-Session: $API_SESSION")
	[ -n "$API_EPOCH" ] && defaults+=("X-Sync-Epoch: $API_EPOCH")
	args=(-sS --max-time 20 -o "$T/.api_body" -D "$T/.api_headers" -w '%{http_code}'
		"${where[@]}" -X "$method" -H "Expect:")
	for h in "${defaults[@]}"; do
		h_name=${h%%:*}
		[[ $given == *" ${h_name,,} "* ]] || args+=(-H "$h")
	done
	: >"$T/.api_body"
	: >"$T/.api_headers"
	HTTP_STATUS=$(curl "${args[@]}" "$@" "$base$path")
	HTTP_HEADERS=$(tr -d '\r' <"$T/.api_headers")
	HTTP_BODY=$(cat "$T/.api_body")
}

# A sync session for $API_SUB; non-zero (after a diag) when it cannot be opened.
api_session() {
	API_SESSION=
	API_EPOCH=
	api_req POST /v1/sync/sessions
	if [ "$HTTP_STATUS" != 201 ]; then
		diag "POST /v1/sync/sessions: HTTP $HTTP_STATUS" "$HTTP_BODY"
		return 1
	fi
	API_SESSION=$(jq -r .id <<<"$HTTP_BODY")
	API_EPOCH=$(jq -r .epoch <<<"$HTTP_BODY")
}

#
# The end of every test
#

# No process logged a fatal error and none wrote a sanitizer report.
check_logs_clean() {
	local fatal reports

	fatal=$(cat "$T"/*.log "$T"/*.out 2>/dev/null | grep -F '"level":"fatal"')
	is "$fatal" "" "no fatal log line"
	reports=$(ls "$T"/asan.* 2>/dev/null)
	if [ -z "$reports" ]; then
		pass "no sanitizer report"
	else
		fail "no sanitizer report"
		# shellcheck disable=SC2086 # one file a word
		diag "$(head -n 40 $reports)"
		_reports_shown=1
	fi
}
