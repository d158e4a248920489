#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "codec.h"
#include "tenant.h"

struct tenant_key {
	EVP_MAC_CTX	*ctx;
};

/* Fetched once per process: a fetch costs more than the HMAC itself. */
static EVP_MAC	*tenant_hmac;
static EVP_MD	*tenant_sha256;

void
tenant_v1_sign(const char *secret, const char *tenant_id, const char *timestamp,
    char signature[TENANT_SIGNATURE_LEN + 1])
{
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	char *msg;
	int n;

	/* The whole message, however long: a cut one would be the MAC of another message. */
	if ((n = asprintf(&msg, "%s:%s", tenant_id, timestamp)) == -1)
		abort();	/* no memory: no signature may go out */
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n,
	    mac, &maclen);
	free(msg);
	hex_encode(mac, sizeof(mac), signature);
}

static int
tenant_parse_ms(const char *text, long long *out)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	*out = strtoll(text, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

int
tenant_v1_verify(const char *secret, const char *expected_tenant, const char *tenant_id,
    const char *timestamp, const char *signature, long long now_ms, const char **reason)
{
	char expected[TENANT_SIGNATURE_LEN + 1];
	long long ts;

	if (tenant_id == NULL || timestamp == NULL || signature == NULL)
		return *reason = "missing tenant header", -1;
	if (tenant_parse_ms(timestamp, &ts) == -1)
		return *reason = "timestamp is not a number", -1;
	if (ts > now_ms + TENANT_MAX_SKEW_MS || ts < now_ms - TENANT_MAX_SKEW_MS)
		return *reason = "timestamp outside the 300 s window", -1;
	if (strlen(signature) != TENANT_SIGNATURE_LEN || strlen(tenant_id) > 256)
		return *reason = "malformed signature", -1;
	tenant_v1_sign(secret, tenant_id, timestamp, expected);
	if (!timingsafe_equal(expected, signature, TENANT_SIGNATURE_LEN))
		return *reason = "bad signature", -1;
	if (expected_tenant != NULL && strcmp(expected_tenant, tenant_id) != 0)
		return *reason = "tenant id is not this deployment's", -1;
	return 0;
}

struct tenant_key *
tenant_key_new(const char *secret)
{
	struct tenant_key *key;
	OSSL_PARAM params[2];

	if (tenant_hmac == NULL && (tenant_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	if ((key = calloc(1, sizeof(*key))) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((key->ctx = EVP_MAC_CTX_new(tenant_hmac)) == NULL ||
	    EVP_MAC_init(key->ctx, (const unsigned char *)secret, strlen(secret), params) != 1) {
		tenant_key_free(key);
		return NULL;
	}
	return key;
}

void
tenant_key_free(struct tenant_key *key)
{
	if (key == NULL)
		return;
	EVP_MAC_CTX_free(key->ctx);
	free(key);
}

static void
tenant_mac_field(EVP_MAC_CTX *ctx, const char *field)
{
	EVP_MAC_update(ctx, (const unsigned char *)field, strlen(field));
	EVP_MAC_update(ctx, (const unsigned char *)"\n", 1);
}

void
tenant_v2_sign(struct tenant_key *key, const struct tenant_v2 *v2,
    char signature[TENANT_SIGNATURE_LEN + 1])
{
	unsigned char mac[32];
	size_t maclen = 0;

	/* A NULL key restarts the MAC with the key it already holds. */
	EVP_MAC_init(key->ctx, NULL, 0, NULL);
	tenant_mac_field(key->ctx, "v2");
	tenant_mac_field(key->ctx, v2->tenant_id);
	tenant_mac_field(key->ctx, v2->timestamp);
	tenant_mac_field(key->ctx, v2->nonce);
	tenant_mac_field(key->ctx, v2->method);
	tenant_mac_field(key->ctx, v2->path);
	tenant_mac_field(key->ctx, v2->body_sha256);
	EVP_MAC_update(key->ctx, (const unsigned char *)v2->user, strlen(v2->user));
	if (EVP_MAC_final(key->ctx, mac, &maclen, sizeof(mac)) != 1 || maclen != sizeof(mac)) {
		signature[0] = '\0';	/* matches no signature */
		return;
	}
	hex_encode(mac, sizeof(mac), signature);
}

void
tenant_sha256_hex(const void *data, size_t len, char hex[TENANT_SHA256_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	if (tenant_sha256 == NULL)
		tenant_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (tenant_sha256 == NULL || EVP_Digest(data, len, md, &mdlen, tenant_sha256, NULL) != 1) {
		hex[0] = '\0';
		return;
	}
	hex_encode(md, sizeof(md), hex);
}

/*
 * A nonce need not be secret (the signature covers it), only never repeat
 * while a verifier remembers it: 8 random bytes drawn once per process (and
 * again in the child after a fork), then a counter from a random start,
 * rather than 16 bytes from OpenSSL's generator for every request.
 */
static unsigned char	nonce_prefix[8];
static uint64_t		nonce_counter;
static int		nonce_ready;

static void
tenant_nonce_forked(void)
{
	nonce_ready = 0;
}

static void
tenant_nonce_seed(void)
{
	static int registered;
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();	/* no randomness: no signature may go out */
	memcpy(nonce_prefix, raw, sizeof(nonce_prefix));
	memcpy(&nonce_counter, raw + sizeof(nonce_prefix), sizeof(nonce_counter));
	if (!registered && pthread_atfork(NULL, NULL, tenant_nonce_forked) == 0)
		registered = 1;
	nonce_ready = 1;
}

void
tenant_nonce_new(char nonce[TENANT_NONCE_LEN + 1])
{
	unsigned char raw[TENANT_NONCE_LEN / 2];
	uint64_t n;

	if (!nonce_ready)
		tenant_nonce_seed();
	n = nonce_counter++;
	memcpy(raw, nonce_prefix, sizeof(nonce_prefix));
	for (size_t i = 0; i < 8; i++)
		raw[sizeof(nonce_prefix) + i] = (unsigned char)(n >> (56 - 8 * i));
	hex_encode(raw, sizeof(raw), nonce);
}

static int
tenant_is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Every field present, short and free of the separator. */
static int
tenant_v2_complete(const struct tenant_v2 *v2, const char *signature)
{
	const char *fields[] = { v2->tenant_id, v2->timestamp, v2->nonce, v2->method, v2->path,
	    v2->body_sha256, v2->user, signature };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] == NULL || fields[i][0] == '\0' || strlen(fields[i]) > 8192 ||
		    strchr(fields[i], '\n') != NULL)
			return 0;
	return 1;
}

int
tenant_v2_verify(struct tenant_key *key, const char *expected_tenant, const struct tenant_v2 *v2,
    const char *signature, const void *body, size_t body_len, long long now_ms,
    const char **reason)
{
	char expected[TENANT_SIGNATURE_LEN + 1], digest[TENANT_SHA256_LEN + 1];
	long long ts;

	if (!tenant_v2_complete(v2, signature))
		return *reason = "missing or malformed v2 tenant header", -1;
	if (tenant_parse_ms(v2->timestamp, &ts) == -1)
		return *reason = "timestamp is not a number", -1;
	if (ts > now_ms + TENANT_V2_WINDOW_MS || ts < now_ms - TENANT_V2_WINDOW_MS)
		return *reason = "timestamp outside the 30 s window", -1;
	if (!tenant_is_hex(v2->nonce, TENANT_NONCE_LEN) ||
	    !tenant_is_hex(v2->body_sha256, TENANT_SHA256_LEN) ||
	    strlen(signature) != TENANT_SIGNATURE_LEN)
		return *reason = "malformed nonce, digest or signature", -1;
	tenant_v2_sign(key, v2, expected);
	if (expected[0] == '\0' || !timingsafe_equal(expected, signature, TENANT_SIGNATURE_LEN))
		return *reason = "bad v2 signature", -1;
	tenant_sha256_hex(body, body_len, digest);
	if (strcmp(digest, v2->body_sha256) != 0)
		return *reason = "body does not match its signed digest", -1;
	if (expected_tenant != NULL && strcmp(expected_tenant, v2->tenant_id) != 0)
		return *reason = "tenant id is not this deployment's", -1;
	return 0;
}
