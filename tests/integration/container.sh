#!/usr/bin/env bash
# The container's contract, without a container engine: trestled runs as the
# image runs it (the Dockerfile's ENTRYPOINT and ENV, no configuration file,
# the rest from environment variables including a plain DATABASE_URL, a
# non-root user) and as PID 1 of a PID namespace of its own.  It must answer
# the image's HEALTHCHECK and a tool call, log JSON lines to standard error,
# restart a killed worker, reap an orphan the kernel hands it as PID 1, and
# stop gracefully with status 0 on SIGTERM.  The runtime stage must install the
# package of every shared library the binaries need.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

DOCKERFILE=$TRESTLE_SRCDIR/etc/container/Dockerfile
RUN_AS=nobody

[ "$(id -u)" -eq 0 ] || skip_all "needs root (unshare --pid, setpriv)"
command -v unshare >/dev/null && command -v setpriv >/dev/null && command -v nsenter >/dev/null ||
	skip_all "needs unshare, setpriv and nsenter (util-linux)"
unshare --pid --fork --mount-proc true 2>/dev/null || skip_all "cannot create a PID namespace here"
setpriv --reuid="$RUN_AS" --regid=nogroup --clear-groups test -x "$TRESTLED" ||
	skip_all "$RUN_AS cannot execute $TRESTLED (a build under a private directory?)"

#
# What the Dockerfile says
#

# The last stage of the Dockerfile: the image that runs.
runtime_stage() {
	awk '/^FROM /{buf = ""} {buf = buf $0 "\n"} END {printf "%s", buf}' "$DOCKERFILE"
}

is "$(runtime_stage | sed -n 's/^ENTRYPOINT //p')" '["/usr/sbin/trestled"]' \
	"the entrypoint is trestled itself (PID 1), without a configuration file"
ok "no CMD adds arguments" [ -z "$(runtime_stage | grep '^CMD ')" ]
like "$(runtime_stage | sed -n 's/^USER //p')" '^[a-z]' "the image runs as a named non-root user"
unlike "$(runtime_stage | sed -n 's/^USER //p')" '^(root|0)$' "the image's user is not root"
ok "the runtime stage is a slim Debian" grep -qx 'FROM debian:12-slim' <(runtime_stage)
ok "the build is a separate stage" grep -qE '^FROM debian:12 AS build$' "$DOCKERFILE"

# The ENV lines of the runtime stage, as KEY=VALUE words.
mapfile -t image_env < <(runtime_stage | sed -nE 's/^ENV ([A-Z_]+)=(.*)$/\1=\2/p')
ok "the image sets its defaults with ENV" [ "${#image_env[@]}" -ge 3 ]

# Every shared library a binary needs directly comes from a package the runtime stage installs.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
runtime_packages=" $(runtime_stage | sed -n '/apt-get install/,/rm -rf/p' | tr -s ' \t\\\n' ' ') "
for bin in "$TRESTLED" "$TRESTLECTL" "$TRESTLE_BUILDDIR/trestle-mcp" "$TRESTLE_BUILDDIR/trestle-api"; do
	for lib in $(objdump -p "$bin" | awk '/NEEDED/ {print $2}'); do
		pkg=$(dpkg -S "*/$multiarch/$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
		case $pkg in
		# In every Debian image; the image is built without systemd and sanitizers.
		libc6 | libsystemd0 | libasan* | libubsan* | "") continue ;;
		esac
		[[ $runtime_packages == *" $pkg "* ]] || missing_pkgs+="$pkg ($lib)"$'\n'
	done
done
is "$(sort -u <<<"${missing_pkgs:-}")" "" \
	"the runtime stage installs every shared library the binaries need"

#
# Run it as the image would
#

pg_start
printf '%s %s\n' "$(_sha256_hex "$TOKEN")" user-a >"$T/api_keys"
mkdir -p "$T/state" "$T/asan.d"
chown "$RUN_AS" "$T/run" "$T/state" "$T/asan.d"

# The image's ENV, then what "docker run -e" would add.  TRESTLE_LISTEN and
# the directories move to this test's own port and directories.
container_env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/ "${image_env[@]}"
	TRESTLE_LISTEN="127.0.0.1:$PORT"
	TRESTLE_RUNTIME_DIR="$T/run" TRESTLE_STATE_DIR="$T/state"
	TRESTLE_TENANT_ID="$TENANT_ID" TRESTLE_TENANT_SECRET="$TENANT_SECRET"
	TRESTLE_JWT_SECRET="$JWT_SECRET" TRESTLE_JWT_ISSUER=trestle-tests
	TRESTLE_JWT_AUDIENCE=trestle-api TRESTLE_API_KEYS_FILE="$T/api_keys"
	TRESTLE_LOG_LEVEL=debug
	DATABASE_URL="$DATABASE_URL"
	ASAN_OPTIONS="log_path=$T/asan.d/asan:halt_on_error=1:detect_leaks=1"
	UBSAN_OPTIONS="log_path=$T/asan.d/asan:halt_on_error=1:print_stacktrace=1")

# unshare forks trestled as PID 1 of a new PID namespace; setpriv and env
# exec, so nothing sits between them.  --kill-child: nothing outlives the test.
: >"$T/trestled.out"
_spawn_group unshare --pid --fork --mount-proc --kill-child \
	setpriv --reuid="$RUN_AS" --regid=nogroup --clear-groups \
	env -i "${container_env[@]}" "$TRESTLED" \
	>"$T/stdout" 2>"$T/trestled.out" </dev/null
UNSHARE_PID=$_bg_pid

master_found() {
	MASTER=$(pgrep -P "$UNSHARE_PID" -x trestled)
	[ -n "$MASTER" ]
}
wait_for master_found || bail "trestled started under unshare"
TRESTLED_PID=$MASTER	# for the cleanup

is "$(awk '/^NSpid:/ {print $NF}' "/proc/$MASTER/status")" 1 "trestled is PID 1 in its namespace"
is "$(stat -c %U "/proc/$MASTER")" "$RUN_AS" "trestled runs as $RUN_AS"

healthcheck() {
	env -i "${container_env[@]}" /bin/sh -c "$(runtime_stage | sed -n 's/^[[:space:]]*CMD //p')"
}
ok "the image's HEALTHCHECK command passes" wait_for -t 15 healthcheck
wait_for -t 10 test -S "$API_SOCK" || bail "the API child's socket"

mcp_init || bail "MCP session"
pass "an MCP session is initialized"
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"From a container","content":"env only"}}}'
is "$(jq -c '[.result.isError, .result.structuredContent.payload.title]' <<<"$HTTP_JSON")" \
	'[false,"From a container"]' "create_note through the MCP endpoint"
uid=$(jq -r '.result.structuredContent.uid' <<<"$HTTP_JSON")
is "$(pg_sql "SELECT n.payload_json->>'title', u.sub FROM note n JOIN app_user u ON u.id = n.owner_id WHERE n.uid = '$uid'")" \
	"From a container|user-a" "the note is in the DATABASE_URL database, owned by user-a"

# json_lines FILE: every line of FILE is a JSON object with a time.
json_lines() {
	[ -s "$1" ] && jq -se 'all(.[]; type == "object" and has("time"))' "$1" >/dev/null
}
ok "the logs go to standard error, as JSON lines" json_lines "$T/trestled.out"
like "$(cat "$T/trestled.out")" 'configuration from the environment' \
	"no configuration file was read"
is "$(cat "$T/stdout")" "" "nothing on standard output"

# workers_up N: the master has N+1 children (the API child and N workers), none a zombie.
workers_up() {
	local kids k

	kids=$(pgrep -P "$MASTER" -x trestle-mcp | tr '\n' ' ')
	[ "$(wc -w <<<"$kids")" -eq "$1" ] || return 1
	for k in $kids; do
		pid_alive "$k" || return 1
	done
}
ok "two workers run" wait_for workers_up 2
victim=$(pgrep -P "$MASTER" -x trestle-mcp | head -n 1)
kill -KILL "$victim"
gone_for_good() {
	[ ! -e "/proc/$1" ]
}
ok "a killed worker is reaped (no zombie left)" wait_for -t 5 gone_for_good "$victim"
ok "and replaced" wait_for -t 5 workers_up 2

# An orphan: a shell in the namespace starts a sleep and exits, so the kernel
# hands the sleep to PID 1 (trestled), which must reap it when it dies.
ns_sleep=$(nsenter --target "$MASTER" --pid --mount -- \
	setpriv --reuid="$RUN_AS" --regid=nogroup --clear-groups \
	/bin/sh -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!')
orphan_found() {
	orphan=$(pgrep -P "$MASTER" -x sleep)
	[ -n "$orphan" ]
}
ok "an orphan is handed to trestled (PID 1)" wait_for -t 5 orphan_found
is "$(awk '/^NSpid:/ {print $NF}' "/proc/$orphan/status" 2>/dev/null)" "$ns_sleep" \
	"it is the orphaned sleep"
kill -KILL "$orphan"
ok "trestled reaps the orphan (no zombie left)" wait_for -t 5 gone_for_good "$orphan"
ok "the workers are untouched" workers_up 2

mcp_post "$SESSION" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_note","arguments":{"uid":"'"$uid"'"}}}'
is "$(jq -c '.result.isError' <<<"$HTTP_JSON")" false "tool calls still work"

# docker stop: SIGTERM to PID 1 from outside the namespace.
kids=$(pgrep -P "$MASTER" | tr '\n' ' ')
kill -TERM "$MASTER"
unshare_gone() {
	! pid_alive "$UNSHARE_PID"
}
if wait_for -t 15 unshare_gone; then
	wait "$UNSHARE_PID"
	is "$?" 0 "SIGTERM: trestled (PID 1) exits 0"
else
	fail "SIGTERM: trestled (PID 1) exits within 15 s"
fi
TRESTLED_PID=
# shellcheck disable=SC2086 # one pid a word
ok "no child remains" wait_for -t 2 none_alive $kids
like "$(cat "$T/trestled.out")" 'SIGTERM: graceful shutdown' "the shutdown was graceful"

check_logs_clean
reports=$(ls "$T"/asan.d/asan.* 2>/dev/null)
is "$reports" "" "no sanitizer report from the processes run as $RUN_AS"
[ -z "$reports" ] || diag "$(head -n 40 $reports)"
done_testing
