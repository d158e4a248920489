#!/usr/bin/env bash
# The fuzz targets' bounded run (tests/fuzz/run.sh): every libFuzzer target is
# built with clang, ASan and UBSan and runs FUZZ_SECONDS seconds (default 12)
# on its seed corpus and what earlier runs of this build directory added.
# Fails on any crash, leak, timeout, out-of-memory or sanitizer report, and
# when an input that once broke a target (tests/fuzz/crashes/) breaks it
# again.  Skipped when clang or its fuzzer runtime is missing.
. "$(dirname "$0")/lib.sh"

: "${FUZZ_SECONDS:=12}"
run=$TRESTLE_SRCDIR/tests/fuzz/run.sh
export FUZZ_DIR=${FUZZ_DIR:-$TRESTLE_BUILDDIR/fuzz}
out=$T/fuzz.out

# The targets carry ASan and UBSan whatever the build, so a sanitizer build
# would only run the same thing twice.
[ "${TRESTLE_SANITIZERS:-no}" = yes ] && skip_all "run in the normal build: the targets are sanitized already"

bash "$run" -b >"$out" 2>&1
status=$?
[ "$status" -eq 77 ] && skip_all "$(tail -n 1 "$out")"
is "$status" 0 "every target builds"
[ "$status" -eq 0 ] || bail "the build failed: $(tail -n 30 "$out")"

# The inputs that once made a target fail, each named <target>-<what>.
for input in "$TRESTLE_SRCDIR"/tests/fuzz/crashes/*; do
	[ -f "$input" ] || continue
	name=${input##*/}
	target=${name%%-*}
	"$FUZZ_DIR/fuzz_$target" "$input" >"$T/replay.out" 2>&1
	status=$?
	is "$status" 0 "regression input $name passes fuzz_$target"
	[ "$status" -eq 0 ] || diag "$(tail -n 30 "$T/replay.out")"
done

bash "$run" -s "$FUZZ_SECONDS" >"$out" 2>&1
status=$?
is "$status" 0 "every target ran ${FUZZ_SECONDS} s without a failure"
for src in "$TRESTLE_SRCDIR"/tests/fuzz/fuzz_*.c; do
	target=${src##*/fuzz_}
	target=${target%.c}
	like "$(grep "^FUZZ target=$target " "$out")" \
		"^FUZZ target=$target status=ok runs=[1-9][0-9]* " "$target: ran clean"
done
[ "$status" -eq 0 ] && diag "$(grep '^FUZZ ' "$out")"
[ "$status" -eq 0 ] || diag "--- end of the run" "$(tail -n 80 "$out")"

done_testing
