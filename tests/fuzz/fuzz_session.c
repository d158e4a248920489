/*
 * MCP session ids (src/mcp/mcp_session.c), as a worker reads them from the
 * Mcp-Session-Id header.  Input: a mode byte, then the subject and a second
 * string, NUL-separated.
 *
 *	mode & 1 == 0	the second string is the header, verified as sent
 *	mode & 1 == 1	it is a payload, MACed here under the same key, so that
 *			the parser behind the MAC check is reached too
 *
 * Every input also checks the round trip: an id issued for the subject
 * verifies for it (with what was issued) and for no other subject.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "fuzz.h"
#include "mcp_session.h"

static struct mcp_session_key key;
static const char *const versions[] = { "2025-11-25", "2025-06-18", "2025-03-26" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	mcp_session_key_derive("fuzz-tenant-secret-0123456789", &key);
	return 0;
}

/* "<b64url payload>.<b64url of the first 16 bytes of its MAC>", as mcp_session_issue makes them. */
static void
session_sign(const char *payload, size_t len, char *out, size_t cap)
{
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	size_t n;

	HMAC(EVP_sha256(), key.bytes, sizeof(key.bytes), (const unsigned char *)payload, len, mac,
	    &maclen);
	n = b64url_encode((const unsigned char *)payload, len, out, cap);
	if (n + 1 < cap) {
		out[n++] = '.';
		b64url_encode(mac, MCP_SESSION_TAG_LEN, out + n, cap - n);
	}
}

static void
session_round_trip(const char *subject, unsigned flags)
{
	const char *version = versions[flags % 3];
	struct mcp_session issued, got;
	char id[MCP_SESSION_ID_MAX];

	mcp_session_issue(&key, subject, version, flags, 1700000000, id, &issued);
	if (mcp_session_verify(&key, id, subject, &got) != 0 || strcmp(got.version, version) != 0 ||
	    got.flags != flags || memcmp(got.tag, issued.tag, MCP_SESSION_TAG_LEN) != 0)
		abort();	/* a genuine id is refused, or says something else */
	if (mcp_session_verify(&key, id, "fuzz-other-subject", &got) == 0 &&
	    strcmp(subject, "fuzz-other-subject") != 0)
		abort();	/* another subject's id is accepted */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields ff;
	struct mcp_session s;
	char id[1024];
	const char *subject, *text;

	if (size < 1)
		return 0;
	fuzz_fields_split(&ff, data + 1, size - 1);
	subject = ff.f[0];
	text = ff.f[1];
	if (data[0] & 1) {
		session_sign(text, ff.len[1], id, sizeof(id));
		text = id;
	}
	memset(&s, 0, sizeof(s));
	if (mcp_session_verify(&key, text, subject, &s) == 0 &&
	    memchr(s.version, '\0', sizeof(s.version)) == NULL)
		abort();
	session_round_trip(subject, (unsigned)data[0] >> 1 & 3);
	fuzz_fields_free(&ff);
	return 0;
}
