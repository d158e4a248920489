#!/usr/bin/env bash
# The man pages are clean mdoc, and they describe the programs as they are:
# every option trestled and trestlectl accept is documented, every command
# trestlectl(8) documents is one trestlectl knows, and --help and --version
# work on both programs.  (The configuration keys of trestle.conf(5) are
# checked against the parser by config_check.sh.)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

MAN=$TRESTLE_SRCDIR/man
VERSION=$(sed -nE 's/^#define PACKAGE_VERSION "(.*)"$/\1/p' "$TRESTLE_BUILDDIR/config.h")

# lint PAGE: mandoc's warnings, or groff's when mandoc is missing.
lint() {
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W warning "$1" 2>&1
	else
		groff -mdoc -Tutf8 -ww -z "$1" 2>&1
	fi
}

for page in trestled.8 trestlectl.8 trestle.conf.5; do
	is "$(lint "$MAN/$page")" "" "$page: no lint warning"
	like "$(sed -n 's/^\.Sh //p' "$MAN/$page" | tr '\n' ' ')" \
		'^NAME (SYNOPSIS )?DESCRIPTION ' "$page: NAME, SYNOPSIS, DESCRIPTION first"
done
for page in trestled.8 trestlectl.8; do
	for section in "EXIT STATUS" FILES "SEE ALSO"; do
		ok "$page has $section" grep -qx ".Sh $section" "$MAN/$page"
	done
done
ok "trestled.8 has SIGNALS" grep -qx '.Sh SIGNALS' "$MAN/trestled.8"

# --help and --version: exit 0, on standard output.
for prog in "$TRESTLED" "$TRESTLECTL"; do
	name=${prog##*/}
	for opt in --version -V; do
		out=$("$prog" "$opt" 2>&1)
		is "$?:$out" "0:$name $VERSION" "$name $opt prints the version"
	done
	for opt in --help -h; do
		out=$("$prog" "$opt" 2>/dev/null)
		rc=$?
		is "$rc:$(head -n 1 <<<"$out" | cut -c 1-$((7 + ${#name})))" "0:usage: $name" \
			"$name $opt prints the usage"
	done
done

# documented PAGE OPTION: PAGE has ".Fl x" for -x, ".Fl -long" for --long.
documented() {
	grep -qE "(^|[ .])Fl ${2#-}( |$)" "$MAN/$1"
}

# usage_options: the options a usage message on standard input shows: in
# its first line ("[-thV]", "[-c FILE | -s SOCKET] [--json]"), and at the
# start of its indented lines ("  -h, --help   ...").
usage_options() {
	local line first=1

	while IFS= read -r line; do
		if [ -n "$first" ]; then
			grep -oE '(^|[][ |])(--[a-z][a-z-]*|-[a-zA-Z]+)' <<<"$line" |
				sed -E 's/^[][ |]//' | while read -r o; do
					if [[ $o == --* ]]; then
						echo "$o"
					else
						grep -o . <<<"${o#-}" | sed 's/^/-/'
					fi
				done
			first=
		elif [[ $line =~ ^[[:space:]]+- ]]; then
			line=${line#"${line%%[![:space:]]*}"}
			grep -oE -- '--?[a-zA-Z][a-z-]*' <<<"${line%%  *}"
		fi
	done | sort -u
}

# Every option a usage message shows is in the man page.
for prog in "$TRESTLED" "$TRESTLECTL"; do
	name=${prog##*/}
	opts=$("$prog" --help 2>/dev/null | usage_options)
	ok "$name --help shows options" [ -n "$opts" ]
	for opt in $opts; do
		ok "$name $opt is in $name.8" documented "$name.8" "$opt"
	done
done

# trestlectl's commands: the ones the design names, each documented, each in
# --help, and each known to trestlectl: with no daemon running, a command
# that talks to it exits 3, never 64 (unknown command).
commands=$(sed -nE 's/^\.It Cm ([a-z]+).*/\1/p' "$MAN/trestlectl.8" | sort | tr '\n' ' ')
is "$commands" "check reload reopen status stop " "trestlectl.8 documents status, reload, reopen, stop, check"
ctl_help=$("$TRESTLECTL" --help 2>&1)
write_conf
for cmd in status reload reopen stop "stop --fast"; do
	if [ "$cmd" = "stop --fast" ]; then
		like "$ctl_help" "--fast" "trestlectl --help shows stop --fast"
	else
		like "$ctl_help" "(^|[^a-z])$cmd([^a-z]|$)" "trestlectl --help shows $cmd"
	fi
	# shellcheck disable=SC2086 # "stop --fast" is two words
	out=$("$TRESTLECTL" -c "$T/trestle.conf" $cmd 2>&1)
	is "$?" 3 "trestlectl $cmd: exit 3 when trestled is not running"
	[ -n "$out" ] || diag "trestlectl $cmd printed nothing"
done
like "$ctl_help" "(^|[^a-z])check([^a-z]|$)" "trestlectl --help shows check"
out=$("$TRESTLECTL" -c "$T/trestle.conf" check 2>&1)
is "$?:$out" "0:configuration OK" "trestlectl check: a valid configuration, exit 0"
echo "frobnicate = 1" >>"$T/trestle.conf"
out=$("$TRESTLECTL" -c "$T/trestle.conf" check 2>&1)
is "$?" 1 "trestlectl check: an invalid configuration, exit 1"
like "$out" "frobnicate" "trestlectl check names the problem"
"$TRESTLECTL" -c "$T/trestle.conf" frobnicate >/dev/null 2>&1
is "$?" 64 "trestlectl with an unknown command: exit 64"

check_logs_clean
done_testing
