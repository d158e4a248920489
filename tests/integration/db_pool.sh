#!/bin/sh
# The API child's PostgreSQL pool against a private PostgreSQL cluster: lazy connect with the
# database down, concurrency, query errors, dead connections, a restart under load, timeouts.
# TAP comes from tests/db_pool_driver; this script only provides the cluster.
set -u

builddir=${TRESTLE_BUILDDIR:-.}
driver=$builddir/tests/db_pool_driver

pgbin=
for d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		pgbin=$d
		break
	fi
done
if [ -z "$pgbin" ]; then
	echo "1..0 # SKIP PostgreSQL server binaries (initdb, pg_ctl) not found"
	exit 0
fi
if [ ! -x "$driver" ]; then
	echo "Bail out! $driver is not built"
	exit 1
fi

# A short path: the server's Unix socket lives here too.
tmp=$(mktemp -d /tmp/trestle-dbpool.XXXXXX) || exit 1
as_pg=
if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root.
	chown nobody "$tmp"
	as_pg="runuser -u nobody --"
fi
pg_ctl="$as_pg $pgbin/pg_ctl -D $tmp/data"

cleanup() {
	$pg_ctl -m immediate stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

cd "$tmp" || exit 1
if ! $as_pg "$pgbin/initdb" -D "$tmp/data" -A trust -U postgres >"$tmp/initdb.log" 2>&1; then
	echo "Bail out! initdb failed"
	sed 's/^/# /' "$tmp/initdb.log"
	exit 1
fi
start="$pg_ctl -o \"-c listen_addresses='' -k $tmp -c max_connections=30 -c fsync=off\" \
-l $tmp/postgres.log -w start >/dev/null"
stop="$pg_ctl -m fast -w stop >/dev/null"
if ! sh -c "$start"; then
	echo "Bail out! PostgreSQL did not start"
	sed 's/^/# /' "$tmp/postgres.log"
	exit 1
fi

DB_POOL_LOG=$tmp/pool.log ${VALGRIND:-} "$driver" "host=$tmp user=postgres dbname=postgres" \
    "$stop" "$start"
rc=$?
if grep -q '"level":"fatal"' "$tmp/pool.log" 2>/dev/null; then
	echo "Bail out! the pool logged a fatal error"
	rc=1
fi
if [ $rc -ne 0 ]; then
	sed 's/^/# /' "$tmp/pool.log"
fi
exit $rc
