#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, and run each for a bounded time on its seed
# corpus (tests/fuzz/corpus/NAME/).
#
#	tests/fuzz/run.sh [-s SECONDS | -r RUNS] [-b] [TARGET...]
#
#	-s SECONDS	how long each target runs (default: $FUZZ_SECONDS, else 60)
#	-r RUNS		run each target for RUNS executions instead of a time
#	-b		build only
#	TARGET		conf, jwt, ... (default: every tests/fuzz/fuzz_*.c)
#
# Environment:
#	TRESTLE_BUILDDIR	a configured build directory, for its config.h
#				(default: _build/ of the source tree)
#	FUZZ_DIR		where the fuzzers are built and their corpora grow
#				(default: $TRESTLE_BUILDDIR/fuzz)
#	CLANG			the compiler (default: clang)
#	FUZZ_ARGS		more libFuzzer options for every run
#
# Prints one line a target:
#	FUZZ target=NAME status=ok|crash runs=N seconds=S exec_per_sec=E corpus=C
# Exits 0 when every target ran clean, 1 when one crashed, leaked, timed out or
# ran out of memory (the input that did it is in $FUZZ_DIR/artifacts/, the log
# in $FUZZ_DIR/logs/), 2 when the build failed, 77 when clang or its fuzzer
# runtime is missing (Debian: clang libclang-rt-14-dev).
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=${TRESTLE_BUILDDIR:-$top/_build}
fuzzdir=${FUZZ_DIR:-$builddir/fuzz}
clang=${CLANG:-clang}
seconds=${FUZZ_SECONDS:-60}
runs=
build_only=0
jobs=$(nproc 2>/dev/null || echo 2)
pkgs="libevent libevent_pthreads json-c libcurl libpq openssl zlib"

# Per target: the longest input libFuzzer makes (a configuration file has long lines).
declare -A max_len=([conf]=16384 [jsonrpc]=8192 [api_body]=8192 [jwt]=8192 [jwks]=16384)

usage() {
	echo "usage: tests/fuzz/run.sh [-s SECONDS | -r RUNS] [-b] [TARGET...]" >&2
	exit 2
}

while getopts s:r:b opt; do
	case $opt in
	s)	seconds=$OPTARG ;;
	r)	runs=$OPTARG ;;
	b)	build_only=1 ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$top"/tests/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		targets+=("${f%.c}")
	done
fi

say() {
	printf 'fuzz: %s\n' "$*" >&2
}

# ---- build ----

check_tools() {
	local probe=$fuzzdir/probe

	if ! command -v "$clang" >/dev/null; then
		say "$clang not found (Debian: apt-get install clang libclang-rt-14-dev)"
		exit 77
	fi
	if [ ! -f "$builddir/config.h" ]; then
		say "no config.h in $builddir: configure a build there first (or set TRESTLE_BUILDDIR)"
		exit 2
	fi
	mkdir -p "$fuzzdir/obj" "$fuzzdir/artifacts" "$fuzzdir/logs" "$fuzzdir/corpus"
	printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
		>"$probe.c"
	if ! "$clang" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" 2>"$probe.log"; then
		say "$clang cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)"
		cat "$probe.log" >&2
		exit 77
	fi
}

common_flags() {
	# shellcheck disable=SC2086 # pkg-config's words
	echo -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
		-Wall -Wextra -Werror=implicit-function-declaration \
		-I"$builddir" -I"$top/src/common" -I"$top/src/mcp" -I"$top/src/api" -I"$top/tests/fuzz" \
		"-DSYSCONFDIR=\"/etc\"" "-DPKGLIBEXECDIR=\"/usr/libexec/trestle\"" \
		$(pkg-config --cflags $pkgs)
}

# The project's sources, but for the processes' main files, instrumented for
# coverage (fuzzer-no-link) into one archive: each target links what it needs.
build_library() {
	local flags src obj newest_header rebuild=() objs=() lib=$fuzzdir/libtrestle-fuzz.a

	read -r -a flags <<<"$(common_flags)"
	newest_header=$(find "$top/src" "$builddir/config.h" -name '*.h' -newer "$lib" 2>/dev/null | head -n 1)
	[ -f "$lib" ] || newest_header=always
	for src in "$top"/src/common/*.c "$top"/src/mcp/*.c "$top"/src/api/*.c; do
		case $src in
		*/worker_main.c | */api_main.c) continue ;;
		esac
		obj=$fuzzdir/obj/$(basename "$(dirname "$src")")_$(basename "${src%.c}").o
		objs+=("$obj")
		if [ -n "$newest_header" ] || [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
			rebuild+=("$src:$obj")
		fi
	done
	if [ ${#rebuild[@]} -gt 0 ]; then
		say "compiling ${#rebuild[@]} source file(s) with $clang"
		export CLANG_FLAGS="${flags[*]} -fsanitize=fuzzer-no-link" clang
		printf '%s\n' "${rebuild[@]}" | xargs -P "$jobs" -I{} bash -c '
			src=${1%%:*}; obj=${1#*:}
			# shellcheck disable=SC2086
			$clang $CLANG_FLAGS -c "$src" -o "$obj" 2>"$obj.log" || { cat "$obj.log" >&2; exit 255; }
			[ -s "$obj.log" ] && cat "$obj.log" >&2
			exit 0' _ {} || return 1
		rm -f "$lib"
		ar rcs "$lib" "${objs[@]}" || return 1
	fi
}

build_target() {
	local name=$1 src=$top/tests/fuzz/fuzz_$1.c bin=$fuzzdir/fuzz_$1 flags

	if [ ! -f "$src" ]; then
		say "no such target: $name"
		return 1
	fi
	if [ -f "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$fuzzdir/libtrestle-fuzz.a" ] &&
		[ "$bin" -nt "$top/tests/fuzz/fuzz.h" ]; then
		return 0
	fi
	read -r -a flags <<<"$(common_flags)"
	# shellcheck disable=SC2046,SC2086
	"$clang" "${flags[@]}" -fsanitize=fuzzer "$src" "$fuzzdir/libtrestle-fuzz.a" \
		$(pkg-config --libs $pkgs) -o "$bin"
}

# ---- run ----

# stat NAME LOG: the value of libFuzzer's final stat::NAME line.
stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

run_target() {
	local name=$1 bin=$fuzzdir/fuzz_$1 work=$fuzzdir/corpus/$1 seeds=$top/tests/fuzz/corpus/$1
	local log=$fuzzdir/logs/$1.log limit status=ok rc args=() start

	mkdir -p "$work"
	[ -n "$runs" ] && limit=(-runs="$runs") || limit=(-max_total_time="$seconds")
	[ -n "${max_len[$name]:-}" ] && args+=(-max_len="${max_len[$name]}")
	start=$(date +%s)
	# shellcheck disable=SC2086 # FUZZ_ARGS: words
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" "${limit[@]}" "${args[@]}" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$fuzzdir/artifacts/$name-" ${FUZZ_ARGS:-} \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || status=crash
	echo "FUZZ target=$name status=$status runs=$(stat number_of_executed_units "$log")" \
		"seconds=$(($(date +%s) - start))" \
		"exec_per_sec=$(stat average_exec_per_sec "$log")" \
		"corpus=$(find "$work" -type f | wc -l)"
	if [ $rc -ne 0 ]; then
		say "$name failed (exit $rc): end of $log"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written|artifact' "$log" | head -n 20 >&2
		tail -n 40 "$log" >&2
		return 1
	fi
}

main() {
	local failed=() t

	check_tools
	# One build at a time in a directory: concurrent runs share its objects.
	exec 9>"$fuzzdir/build.lock"
	flock 9
	build_library || { say "build failed"; exit 2; }
	for t in "${targets[@]}"; do
		build_target "$t" || { say "build of $t failed"; exit 2; }
	done
	flock -u 9
	[ "$build_only" -eq 1 ] && exit 0
	for t in "${targets[@]}"; do
		run_target "$t" || failed+=("$t")
	done
	if [ ${#failed[@]} -ne 0 ]; then
		say "FAILED: ${failed[*]}"
		exit 1
	fi
}

main
