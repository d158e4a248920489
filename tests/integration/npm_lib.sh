# Sourced by the tests that drive trestle with real MCP clients from npm,
# after lib.sh.
#
# need_npm NAME PACKAGE@VERSION...: install the packages (exact versions,
# without install scripts) into $TRESTLE_BUILDDIR/tests/.npm-NAME once, and
# set NPM_DIR to it.  Skips the test when npm or its registry cannot be
# reached, except in CI, where that is a failure.

# shellcheck shell=bash disable=SC2034 # the globals are for the tests
NPM_DIR=

# Every PACKAGE@VERSION is installed at that version.
_npm_installed() {
	local spec name version

	for spec in "$@"; do
		name=${spec%@*}
		version=${spec##*@}
		jq -e --arg v "$version" '.version == $v' \
			"$NPM_DIR/node_modules/$name/package.json" >/dev/null 2>&1 || return 1
	done
}

need_npm() {
	local name=$1

	shift
	NPM_DIR=$TRESTLE_BUILDDIR/tests/.npm-$name
	_npm_installed "$@" && return 0
	if command -v npm >/dev/null && mkdir -p "$NPM_DIR" && (
		flock 9
		_npm_installed "$@" && exit 0
		npm install --prefix "$NPM_DIR" --ignore-scripts --no-audit --no-fund \
			--loglevel=error "$@" >"$T/npm.log" 2>&1 ||
			{ diag "$(tail -n 20 "$T/npm.log")"; exit 1; }
	) 9>"$NPM_DIR.lock" && _npm_installed "$@"; then
		return 0
	fi
	[ -n "${CI:-}" ] && bail "npm installs $*"
	skip_all "cannot install $* (no npm, or no registry)"
}
