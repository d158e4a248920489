#!/usr/bin/env bash
# trestled -t: a valid configuration is reported OK; every kind of invalid one
# exits 78 (EX_CONFIG) with a message that names the key and where it came
# from.  Also: etc/trestle.conf documents every key with its true default.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# check_conf FILE [VAR=VALUE...]: run trestled -t; sets RC and OUT.
check_conf() {
	local file=$1

	shift
	OUT=$(env "$@" "$TRESTLED" -t -c "$file" 2>&1)
	RC=$?
}

write_conf
good=$T/trestle.conf

check_conf "$good"
is "$RC" 0 "a valid configuration: exit 0"
like "$OUT" "configuration OK" "a valid configuration: 'configuration OK'"
ok "-t starts no API child" [ ! -e "$API_SOCK" ]

bad=$T/unknown.conf
{ cat "$good"; echo "frobnicate = 1"; } >"$bad"
check_conf "$bad"
is "$RC" 78 "an unknown key: exit 78"
like "$OUT" "frobnicate" "an unknown key: the message names the key"
like "$OUT" "$bad:$(wc -l <"$bad")" "an unknown key: the message names file:line"

bad=$T/range.conf
{ cat "$good"; echo "workers = 65"; } >"$bad"
check_conf "$bad"
is "$RC" 78 "workers out of range: exit 78"
like "$OUT" "workers" "workers out of range: the message names the key"
like "$OUT" "1 to 64" "workers out of range: the message gives the range"

bad=$T/nosecret.conf
grep -v '^tenant_secret' "$good" >"$bad"
check_conf "$bad"
is "$RC" 78 "no tenant_secret: exit 78"
like "$OUT" "tenant_secret" "no tenant_secret: the message names it"

check_conf "$good" TRESTLE_WORKERS=abc
is "$RC" 78 "TRESTLE_WORKERS=abc: exit 78"
like "$OUT" "TRESTLE_WORKERS" "TRESTLE_WORKERS=abc: the message names the variable"

check_conf "$bad" TRESTLE_TENANT_SECRET="$(_random_hex 32)"
is "$RC" 0 "TRESTLE_TENANT_SECRET supplies a missing secret"
like "$OUT" "configuration OK" "TRESTLE_TENANT_SECRET supplies a missing secret: OK"

# The keys and defaults of the table in conf.c, as "key default" lines.
table_defaults() {
	sed -nE 's/^[[:space:]]*\{ "([a-z_]+)",[[:space:]]*[SIB]\([a-z_]+\),[[:space:]]*"([^"]*)".*/\1 \2/p' \
		"$TRESTLE_SRCDIR/src/common/conf.c"
}

# The "# key = default" lines of the documented example, as "key default".
documented_defaults() {
	sed -nE 's/^# ([a-z_]+) = "?([^"]*)"?$/\1 \2/p' "$TRESTLE_SRCDIR/etc/trestle.conf"
}

ok "conf.c's key table is readable" [ "$(table_defaults | wc -l)" -ge 10 ]
missing=$(comm -23 <(table_defaults | sort) <(documented_defaults | sort))
is "$missing" "" "etc/trestle.conf documents every key with its default"

# Uncommented, every documented setting is accepted by the parser.
example=$T/example.conf
sed -nE 's/^# ([a-z_]+ = .*)$/\1/p' "$TRESTLE_SRCDIR/etc/trestle.conf" >"$example"
check_conf "$example" TRESTLE_TENANT_ID=t TRESTLE_TENANT_SECRET="$TENANT_SECRET" \
	TRESTLE_JWT_SECRET="$JWT_SECRET" TRESTLE_DATABASE_URL="$DATABASE_URL"
is "$RC" 0 "etc/trestle.conf's documented settings parse"
[ "$RC" -eq 0 ] || diag "$OUT"

# The keys the parser knows (tests/conf_keys prints them from conf.c's table)
# against the keys etc/trestle.conf and trestle.conf(5) document, both ways.
parser_keys() {
	"$TRESTLE_BUILDDIR/tests/conf_keys" | sort
}

example_keys() {
	sed -nE 's/^# ([a-z_]+) = .*/\1/p' "$TRESTLE_SRCDIR/etc/trestle.conf" | sort
}

MAN5=$TRESTLE_SRCDIR/man/trestle.conf.5
man_keys() {
	sed -nE 's/^\.It Ic ([a-z_]+)( .*)?$/\1/p' "$MAN5" | sort
}

ok "tests/conf_keys lists the parser's keys" [ "$(parser_keys | wc -l)" -ge 10 ]
is "$(comm -23 <(parser_keys) <(example_keys | uniq))" "" \
	"every key the parser knows is in etc/trestle.conf"
is "$(comm -13 <(parser_keys) <(example_keys | uniq))" "" \
	"etc/trestle.conf shows no key the parser does not know"
is "$(comm -23 <(parser_keys) <(man_keys | uniq))" "" \
	"every key the parser knows is in trestle.conf(5)"
is "$(comm -13 <(parser_keys) <(man_keys | uniq))" "" \
	"trestle.conf(5) documents no key the parser does not know"
is "$(man_keys | uniq -d)" "" "trestle.conf(5) documents each key once"

# Each key's entry in trestle.conf(5) states the default of conf.c's table
# ("Default: empty" or "Required" for an empty one), as "key" lines of the
# entries that do not.
man_wrong_defaults() {
	awk 'FNR == NR { key = $1; sub(/^[^ ]+ ?/, ""); want[key] = $0; next }
	function check() {
		if (cur == "")
			return
		d = want[cur]
		if (d == "") {
			if (text !~ /Default: empty/ && text !~ /Required/)
				print cur
		} else {
			i = index(text, "Default: " d)
			after = substr(text, i + length("Default: " d), 1)
			if (i == 0 || (after != " " && after != "." && after != ""))
				print cur
		}
	}
	/^\.It Ic / { check(); cur = $3; text = ""; next }
	/^\.(It|El)/ { check(); cur = ""; next }
	{ line = $0; if (line ~ /^\./) sub(/^\.[A-Za-z]+ ?/, "", line); text = text " " line }
	END { check() }' <(table_defaults) "$MAN5"
}
is "$(man_wrong_defaults | tr '\n' ' ')" "" "trestle.conf(5) states each key's default"

check_logs_clean
done_testing
