#!/usr/bin/env bash
# make install (with DESTDIR) puts the binaries, the systemd units, the
# sysusers.d file, the example configuration and the man pages where the
# configured directories say; the installed units have every path filled in,
# carry the settings the deployment relies on, and pass systemd-analyze verify
# (which needs no running systemd).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

B=$TRESTLE_BUILDDIR
D=$T/root

# The build's installation directories, as make expands them: the
# directory variables of the build's Makefile, evaluated on their own (make
# with the Makefile itself could first regenerate it and print about that).
make_var() {
	{
		grep -E '^(prefix|exec_prefix|datarootdir|[a-z]*dir) = ' "$B/Makefile"
		printf 'print-var:\n\t@echo $(%s)\n' "$1"
	} | env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -f - print-var
}

for v in sbindir pkglibexecdir sysconfdir mandir systemdsystemunitdir sysusersdir; do
	declare "$v=$(make_var "$v")"
	[ -n "${!v}" ] || bail "the build's $v"
done

if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$B" install DESTDIR="$D" \
	>"$T/install.log" 2>&1; then
	diag "$(tail -n 30 "$T/install.log")"
	bail "make install DESTDIR=..."
fi
pass "make install DESTDIR=... succeeds"

for f in "$sbindir/trestled" "$sbindir/trestlectl" \
	"$pkglibexecdir/trestle-mcp" "$pkglibexecdir/trestle-api"; do
	ok "installed executable: $f" [ -x "$D$f" ]
done
for f in "$systemdsystemunitdir/trestle.service" "$systemdsystemunitdir/trestle@.service" \
	"$sysusersdir/trestle.conf" "$sysconfdir/trestle/trestle.conf.example" \
	"$mandir/man8/trestled.8" "$mandir/man8/trestlectl.8" "$mandir/man5/trestle.conf.5"; do
	ok "installed file: $f" [ -f "$D$f" ]
done
ok "make install writes nothing outside DESTDIR's prefix" \
	[ -z "$(find "$D" -type f | grep -v "^$D$(make_var prefix)/" | grep -v "^$D$sysconfdir/")" ]
ok "make install does not install a live configuration" [ ! -e "$D$sysconfdir/trestle.conf" ]

unit=$D$systemdsystemunitdir/trestle.service
template=$D$systemdsystemunitdir/trestle@.service
for u in "$unit" "$template"; do
	is "$(grep -c '@[a-z]*@' "$u")" 0 "${u##*/}: every @path@ is filled in"
done

# unit_value FILE KEY: the values of KEY in FILE, one a line.
unit_value() {
	sed -nE "s/^$2=(.*)$/\1/p" "$1"
}

conf=$sysconfdir/trestle/trestle.conf
is "$(unit_value "$unit" Type)" notify "Type=notify"
is "$(unit_value "$unit" ExecStartPre)" "$sbindir/trestled -t -c $conf" \
	"ExecStartPre checks the configuration with trestled -t"
is "$(unit_value "$unit" ExecStart)" "$sbindir/trestled -c $conf" "ExecStart runs trestled"
is "$(unit_value "$unit" ExecReload)" "$sbindir/trestlectl -c $conf reload" \
	"ExecReload is trestlectl reload"
is "$(unit_value "$unit" KillMode)" mixed "KillMode=mixed"
is "$(unit_value "$unit" Restart)" on-failure "Restart=on-failure"
is "$(unit_value "$unit" RestartPreventExitStatus)" 78 "no restart on exit 78 (EX_CONFIG)"
like "$(unit_value "$unit" WatchdogSec)" '^[0-9]+s$' "WatchdogSec is set"
is "$(unit_value "$unit" User)" trestle "a dedicated user"
like "$(cat "$D$sysusersdir/trestle.conf")" $'(^|\n)u trestle ' "sysusers.d creates the user trestle"
for k in RuntimeDirectory StateDirectory LogsDirectory ConfigurationDirectory; do
	is "$(unit_value "$unit" "$k")" trestle "$k=trestle"
done
for kv in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	PrivateDevices=yes "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
	SystemCallFilter=@system-service CapabilityBoundingSet= MemoryDenyWriteExecute=yes; do
	ok "hardening: $kv" grep -qxF "$kv" "$unit"
done

# The template: the same service, one configuration and one set of directories an instance.
is "$(unit_value "$template" ExecStart)" "$sbindir/trestled -c $sysconfdir/trestle/%i.conf" \
	"trestle@.service: ExecStart reads the instance's configuration"
for k in RuntimeDirectory StateDirectory LogsDirectory; do
	is "$(unit_value "$template" "$k")" "trestle/%i" "trestle@.service: $k=trestle/%i"
done
per_instance='^(#|$|Description=|Exec|RuntimeDirectory=|StateDirectory=|LogsDirectory=)'
is "$(diff <(grep -vE "$per_instance" "$unit") <(grep -vE "$per_instance" "$template"))" "" \
	"trestle@.service differs from trestle.service only in what is per instance"

# systemd-analyze verify checks that the executables exist and that the
# Documentation= man pages open, so point both at the DESTDIR copy.
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify (no systemd-analyze: package systemd)"
	skip "systemd-analyze verify of an instance of trestle@.service"
else
	mkdir "$T/units"
	for u in "$unit" "$template"; do
		sed "s|$sbindir/|$D$sbindir/|g" "$u" >"$T/units/${u##*/}"
	done
	out=$(MANPATH=$D$mandir SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$T/units/trestle.service" 2>&1)
	is "$?:$out" "0:" "systemd-analyze verify trestle.service: no complaint"
	out=$(MANPATH=$D$mandir SYSTEMD_LOG_COLOR=0 systemd-analyze verify \
		"$T/units/trestle@acme.service" 2>&1)
	is "$?:$out" "0:" "systemd-analyze verify trestle@acme.service: no complaint"
	# The check can fail: a unit with a missing executable is refused.
	sed "s|/trestled -c|/trestled-missing -c|" "$T/units/trestle.service" >"$T/units/broken.service"
	out=$(MANPATH=$D$mandir systemd-analyze verify "$T/units/broken.service" 2>&1)
	like "$out" "trestled-missing is not executable" "systemd-analyze verify catches a broken unit"
fi

done_testing
