#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "codec.h"
#include "mcp_session.h"

#define SESSION_FORMAT	"s2"
#define MAC_BYTES	MCP_SESSION_TAG_LEN	/* 128 bits of tag: forging one is out of reach */

void
mcp_session_key_derive(const char *tenant_secret, struct mcp_session_key *key)
{
	static const char label[] = "trestle mcp session key v1";
	unsigned int len = sizeof(key->bytes);

	HMAC(EVP_sha256(), tenant_secret, (int)strlen(tenant_secret),
	    (const unsigned char *)label, sizeof(label) - 1, key->bytes, &len);
}

/*
 * Every request verifies its session id: the algorithms are fetched once and
 * the MAC's context keyed once (a process has one key), instead of an
 * implicit fetch and a new key in every one-shot EVP_Digest() and HMAC().
 */
static EVP_MD	*session_sha256;

static void
mcp_subject_digest(const char *subject, char out[17])
{
	unsigned char digest[32];
	unsigned int len = sizeof(digest);

	if (session_sha256 == NULL && (session_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		abort();
	if (EVP_Digest(subject, strlen(subject), digest, &len, session_sha256, NULL) != 1)
		abort();
	hex_encode(digest, 8, out);
}

/* The MAC context keyed with key, ready for a message; NULL when OpenSSL fails. */
static EVP_MAC_CTX *
mcp_session_mac_ctx(const struct mcp_session_key *key)
{
	static EVP_MAC *hmac;
	static EVP_MAC_CTX *ctx;
	static unsigned char keyed[sizeof(key->bytes)];
	OSSL_PARAM params[2];

	if (ctx != NULL && memcmp(keyed, key->bytes, sizeof(keyed)) == 0)
		return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 ? ctx : NULL;
	EVP_MAC_CTX_free(ctx);
	ctx = NULL;
	if (hmac == NULL && (hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(hmac)) == NULL ||
	    EVP_MAC_init(ctx, key->bytes, sizeof(key->bytes), params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
		return NULL;
	}
	memcpy(keyed, key->bytes, sizeof(keyed));
	return ctx;
}

static void
mcp_session_mac(const struct mcp_session_key *key, const char *payload, size_t len,
    unsigned char mac[32])
{
	EVP_MAC_CTX *ctx = mcp_session_mac_ctx(key);
	size_t maclen = 0;

	if (ctx == NULL || EVP_MAC_update(ctx, (const unsigned char *)payload, len) != 1 ||
	    EVP_MAC_final(ctx, mac, &maclen, 32) != 1 || maclen != 32)
		abort();	/* no MAC: neither issue nor accept a session id */
}

void
mcp_session_issue(const struct mcp_session_key *key, const char *subject,
    const char *protocol_version, unsigned flags, long long now,
    char out[MCP_SESSION_ID_MAX], struct mcp_session *s)
{
	unsigned char nonce[12], mac[32];
	char payload[128], digest[17], noncehex[25];
	size_t n;
	int plen;

	RAND_bytes(nonce, sizeof(nonce));
	hex_encode(nonce, sizeof(nonce), noncehex);
	mcp_subject_digest(subject, digest);
	plen = snprintf(payload, sizeof(payload), SESSION_FORMAT "|%lld|%s|%s|%s|%u", now, digest,
	    noncehex, protocol_version, flags);
	mcp_session_mac(key, payload, (size_t)plen, mac);
	n = b64url_encode((const unsigned char *)payload, (size_t)plen, out, MCP_SESSION_ID_MAX);
	out[n++] = '.';
	b64url_encode(mac, MAC_BYTES, out + n, MCP_SESSION_ID_MAX - n);
	if (s != NULL) {
		snprintf(s->version, sizeof(s->version), "%s", protocol_version);
		s->flags = flags;
		memcpy(s->tag, mac, MAC_BYTES);
	}
}

/* Split the verified payload "s2|time|digest|nonce|version|flags" into s. */
static int
mcp_session_parse(const char *payload, const char *subject, struct mcp_session *s)
{
	char fields[5][64], digest[17];
	unsigned flags;

	if (sscanf(payload, "%63[^|]|%63[^|]|%63[^|]|%63[^|]|%63[^|]|%u", fields[0], fields[1],
	    fields[2], fields[3], fields[4], &flags) != 6 || strcmp(fields[0], SESSION_FORMAT) != 0)
		return -1;
	mcp_subject_digest(subject, digest);
	if (strcmp(digest, fields[2]) != 0 || strlen(fields[4]) >= MCP_VERSION_MAX)
		return -1;
	strcpy(s->version, fields[4]);
	s->flags = flags;
	return 0;
}

/*
 * Ids verified lately, each with the subject and the key it was verified
 * for: a client sends the same id with every request, and verifying it again
 * (MAC, subject digest, parse) cost a tenth of a worker's time for a get.
 * Direct-mapped: an id takes the slot its hash names, forgetting the one
 * there.  Only what verified is kept, so a hit answers what verifying would;
 * the id is compared in constant time (the subject, the caller's own, first).
 */
#define VERIFIED_SLOTS		64
#define VERIFIED_SUBJECT_MAX	128

struct verified_id {
	size_t			id_len;		/* 0: the slot is empty */
	char			id[MCP_SESSION_ID_MAX];
	char			subject[VERIFIED_SUBJECT_MAX];
	struct mcp_session_key	key;
	struct mcp_session	session;
};

static struct verified_id verified[VERIFIED_SLOTS];

static struct verified_id *
verified_slot(const char *id, size_t len)
{
	return &verified[fnv1a(id, len) % VERIFIED_SLOTS];
}

static int
verified_lookup(const struct mcp_session_key *key, const char *id, size_t len,
    const char *subject, struct mcp_session *s)
{
	const struct verified_id *v = verified_slot(id, len);

	if (v->id_len != len || strcmp(v->subject, subject) != 0 ||
	    memcmp(&v->key, key, sizeof(*key)) != 0 || !timingsafe_equal(v->id, id, len))
		return 0;
	*s = v->session;
	return 1;
}

static void
verified_remember(const struct mcp_session_key *key, const char *id, size_t len,
    const char *subject, const struct mcp_session *s)
{
	struct verified_id *v = verified_slot(id, len);

	if (strlen(subject) >= sizeof(v->subject))
		return;
	memcpy(v->id, id, len);
	v->id_len = len;
	strcpy(v->subject, subject);
	v->key = *key;
	v->session = *s;
}

/* What mcp_session_verify does for an id it has not seen verified lately. */
static int
mcp_session_verify_id(const struct mcp_session_key *key, const char *id, const char *subject,
    struct mcp_session *s)
{
	unsigned char mac[32], given[32];
	char payload[160];
	const char *dot = strchr(id, '.');
	long n;

	if (dot == NULL)
		return -1;
	n = b64url_decode(id, (size_t)(dot - id), (unsigned char *)payload, sizeof(payload) - 1);
	if (n <= 0 || b64url_decode(dot + 1, strlen(dot + 1), given, sizeof(given)) != MAC_BYTES)
		return -1;
	payload[n] = '\0';
	mcp_session_mac(key, payload, (size_t)n, mac);
	if (!timingsafe_equal(mac, given, MAC_BYTES))
		return -1;
	if (mcp_session_parse(payload, subject, s) == -1)
		return -1;
	memcpy(s->tag, mac, MAC_BYTES);
	return 0;
}

int
mcp_session_verify(const struct mcp_session_key *key, const char *id, const char *subject,
    struct mcp_session *s)
{
	size_t len = strlen(id);

	if (len >= MCP_SESSION_ID_MAX)
		return -1;
	if (verified_lookup(key, id, len, subject, s))
		return 0;
	if (mcp_session_verify_id(key, id, subject, s) == -1)
		return -1;
	verified_remember(key, id, len, subject, s);
	return 0;
}
