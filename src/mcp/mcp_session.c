#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "codec.h"
#include "mcp_session.h"

#define SESSION_FORMAT	"s1"
#define MAC_BYTES	16	/* 128 bits of tag: forging one is out of reach */

void
mcp_session_key_derive(const char *tenant_secret, struct mcp_session_key *key)
{
	static const char label[] = "trestle mcp session key v1";
	unsigned int len = sizeof(key->bytes);

	HMAC(EVP_sha256(), tenant_secret, (int)strlen(tenant_secret),
	    (const unsigned char *)label, sizeof(label) - 1, key->bytes, &len);
}

static void
mcp_subject_digest(const char *subject, char out[17])
{
	unsigned char digest[32];
	unsigned int len = sizeof(digest);

	EVP_Digest(subject, strlen(subject), digest, &len, EVP_sha256(), NULL);
	hex_encode(digest, 8, out);
}

static void
mcp_session_mac(const struct mcp_session_key *key, const char *payload, size_t len,
    unsigned char mac[32])
{
	unsigned int maclen = 32;

	HMAC(EVP_sha256(), key->bytes, sizeof(key->bytes), (const unsigned char *)payload, len,
	    mac, &maclen);
}

void
mcp_session_issue(const struct mcp_session_key *key, const char *subject,
    const char *protocol_version, long long now, char out[MCP_SESSION_ID_MAX])
{
	unsigned char nonce[12], mac[32];
	char payload[128], digest[17], noncehex[25];
	size_t n;
	int plen;

	RAND_bytes(nonce, sizeof(nonce));
	hex_encode(nonce, sizeof(nonce), noncehex);
	mcp_subject_digest(subject, digest);
	plen = snprintf(payload, sizeof(payload), SESSION_FORMAT "|%lld|%s|%s|%s", now, digest,
	    noncehex, protocol_version);
	mcp_session_mac(key, payload, (size_t)plen, mac);
	n = b64url_encode((const unsigned char *)payload, (size_t)plen, out, MCP_SESSION_ID_MAX);
	out[n++] = '.';
	b64url_encode(mac, MAC_BYTES, out + n, MCP_SESSION_ID_MAX - n);
}

int
mcp_session_verify(const struct mcp_session_key *key, const char *id, const char *subject,
    char protocol_version[MCP_VERSION_MAX])
{
	unsigned char mac[32], given[32];
	char payload[160], digest[17], fields[5][64];
	const char *dot = strchr(id, '.');
	long n;

	if (dot == NULL || strlen(id) >= MCP_SESSION_ID_MAX)
		return -1;
	n = b64url_decode(id, (size_t)(dot - id), (unsigned char *)payload, sizeof(payload) - 1);
	if (n <= 0 || b64url_decode(dot + 1, strlen(dot + 1), given, sizeof(given)) != MAC_BYTES)
		return -1;
	payload[n] = '\0';
	mcp_session_mac(key, payload, (size_t)n, mac);
	if (!timingsafe_equal(mac, given, MAC_BYTES))
		return -1;
	if (sscanf(payload, "%63[^|]|%63[^|]|%63[^|]|%63[^|]|%63s", fields[0], fields[1], fields[2],
	    fields[3], fields[4]) != 5 || strcmp(fields[0], SESSION_FORMAT) != 0)
		return -1;
	mcp_subject_digest(subject, digest);
	if (strcmp(digest, fields[2]) != 0 || strlen(fields[4]) >= MCP_VERSION_MAX)
		return -1;
	strcpy(protocol_version, fields[4]);
	return 0;
}
