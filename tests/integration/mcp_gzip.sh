#!/usr/bin/env bash
# The gzip coding of tools/list: sent to a client whose Accept-Encoding allows
# it (checked by gzip itself: CRC and length), the same bytes as the plain
# answer once decompressed, and never to a client that did not ask for it.
. "$(dirname "$0")/lib.sh"

pg_start
write_conf "workers = 2" "state_dir = $T/state"
trestled_start
mcp_init || bail "MCP session"

# list ID [CURL-ARG...]: tools/list with that (JSON) id; the body is in $T/.http_body.
list() {
	local id=$1

	shift
	mcp_post "$SESSION" "{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"tools/list\"}" "$@"
}

# The plain answer: curl sends no Accept-Encoding unless told.
list 2
is "$HTTP_STATUS|$(http_header content-encoding)" "200|" "without Accept-Encoding: 200, not encoded"
is "$(http_header vary)" Accept-Encoding "the plain answer says it varies with Accept-Encoding"
is "$(jq -c '[.id, (.result.tools | length)]' "$T/.http_body")" '[2,41]' "the plain answer lists the 41 tools"
cp "$T/.http_body" "$T/plain.json"

list 2 -H "Accept-Encoding: gzip"
is "$HTTP_STATUS|$(http_header content-encoding)|$(http_header vary)" "200|gzip|Accept-Encoding" \
	"Accept-Encoding gzip: 200, Content-Encoding gzip, Vary"
cp "$T/.http_body" "$T/answer.gz"
ok "the body is a valid gzip member (gzip -t checks its CRC-32 and length)" gzip -t "$T/answer.gz"
gzip -dc <"$T/answer.gz" >"$T/answer.json"
ok "decompressed, it is the plain answer byte for byte" cmp -s "$T/plain.json" "$T/answer.json"
is "$(http_header content-length)" "$(stat -c %s "$T/answer.gz")" "Content-Length is the compressed size"
plain_size=$(stat -c %s "$T/plain.json")
gz_size=$(stat -c %s "$T/answer.gz")
diag "tools/list: $plain_size bytes plain, $gz_size bytes gzip'd"
ok "the gzip'd answer is under a quarter of the plain one" test $((gz_size * 4)) -lt "$plain_size"

# The id is the part of the answer that changes: every kind must survive.
# gzip_same ID WHAT: the gzip'd answer for ID decompresses to the plain one.
gzip_same() {
	list "$1"
	cp "$T/.http_body" "$T/plain-id.json"
	list "$1" -H "Accept-Encoding: gzip"
	cp "$T/.http_body" "$T/answer-id.gz"
	is "$(http_header content-encoding)" gzip "$2: gzip'd"
	ok "$2: a valid gzip member" gzip -t "$T/answer-id.gz"
	gzip -dc <"$T/answer-id.gz" >"$T/answer-id.json"
	ok "$2: the plain answer once decompressed" cmp -s "$T/plain-id.json" "$T/answer-id.json"
	is "$(jq -c '.result.tools | length' "$T/plain-id.json")" 41 "$2: the plain answer is whole"
}
gzip_same '"tl-\"quoted\" \\ üñí 💡"' "a string id with escapes and UTF-8"
gzip_same -9007199254740991 "a large negative integer id"
# Longer than one stored deflate block (65,535 bytes) in front of the constant end.
gzip_same "\"$(head -c 70000 /dev/zero | tr '\0' x)\"" "a 70,000-character id (two stored blocks)"

# Which Accept-Encoding values get gzip (RFC 9110, section 12.5.3).
while IFS='|' read -r value want; do
	list 3 -H "Accept-Encoding: $value"
	is "$HTTP_STATUS|$(http_header content-encoding)" "200|$want" "Accept-Encoding '$value': ${want:-plain}"
done <<'EOF'
gzip|gzip
GZip|gzip
x-gzip|gzip
deflate, gzip;q=0.5|gzip
br;q=1.0, gzip ; q=0.001|gzip
*|gzip
gzip;q=1|gzip
gzip;q=0|
gzip;q=0.000|
gzip;Q=0|
*;q=0|
*, gzip;q=0|
gzip;q=abc|
gzip;q=1.5|
br, deflate|
identity|
gzipx|
,,|
EOF

# Only constant answers are coded: ping's is not, and says nothing of it.
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":4,"method":"ping"}' -H "Accept-Encoding: gzip"
is "$HTTP_STATUS|$(http_header content-encoding)|$(http_header vary)|$HTTP_BODY" \
	'200|||{"jsonrpc":"2.0","id":4,"result":{}}' "ping with Accept-Encoding gzip: plain, no Vary"

# A real client's negotiation: curl --compressed offers every coding it has and decodes.
mcp_post "$SESSION" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' --compressed
is "$(http_header content-encoding)" gzip "curl --compressed is answered with gzip"
ok "and curl's decoding gives the plain answer" cmp -s "$T/plain.json" "$T/.http_body"

# What the MCP SDKs' transport uses: Node's fetch, which offers gzip on its own.
if command -v node >/dev/null; then
	got=$(MCP_URL=$MCP_URL TOKEN=$TOKEN SESSION=$SESSION node -e '
		fetch(process.env.MCP_URL, { method: "POST", headers: {
			"Authorization": "Bearer " + process.env.TOKEN, "Content-Type": "application/json",
			"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25",
			"Mcp-Session-Id": process.env.SESSION },
			body: JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/list" }) })
		.then(async (r) => console.log(r.status, r.headers.get("content-encoding"),
			(await r.json()).result.tools.length))
		.catch((e) => console.log("error", e.message))' 2>&1)
	is "$got" "200 gzip 41" "Node's fetch gets tools/list gzip'd and decodes the 41 tools"
else
	skip "node is not installed: Node's fetch not tried"
fi

check_logs_clean
done_testing
