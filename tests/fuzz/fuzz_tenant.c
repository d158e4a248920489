/*
 * Tenant header verification, both versions (src/common/tenant.c), as the
 * API child checks them.  Input: a mode byte, then NUL-separated fields.
 *
 *	mode & 1: version 2, else version 1
 *	mode & 2: the signature is computed here over the fields (as a genuine
 *		  client would), so the checks behind it are reached
 *	mode & 4: (v2) X-TB-Body-SHA256 is the body's real digest
 *
 * v1 fields: tenant id, timestamp, signature.
 * v2 fields: tenant id, timestamp, nonce, method, path, body digest, user,
 * signature, body.  The clock stands at NOW_MS.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "fuzz.h"
#include "tenant.h"

#define SECRET		"fuzz-tenant-secret-0123456789"
#define TENANT		"tenant-fuzz"
#define NOW_MS		1700000000000LL

static struct tenant_key *key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	if ((key = tenant_key_new(SECRET)) == NULL)
		abort();
	return 0;
}

/* The signature is hex(HMAC-SHA256(secret, "<tenant>:<timestamp>")), computed independently. */
static int
v1_mac_is(const char *tenant, const char *timestamp, const char *signature)
{
	size_t tlen = strlen(tenant), slen = strlen(timestamp);
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	char hex[2 * sizeof(mac) + 1], *msg = malloc(tlen + 1 + slen);

	if (msg == NULL)
		abort();
	memcpy(msg, tenant, tlen);
	msg[tlen] = ':';
	memcpy(msg + tlen + 1, timestamp, slen);
	if (HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)msg, tlen + 1 + slen,
	    mac, &maclen) == NULL)
		abort();
	free(msg);
	hex_encode(mac, sizeof(mac), hex);
	return strcmp(hex, signature) == 0;
}

static void
fuzz_v1(const struct fuzz_fields *ff, int sign)
{
	char sig[TENANT_SIGNATURE_LEN + 1];
	const char *signature = ff->f[2], *reason = NULL;
	int rc;

	if (sign) {
		tenant_v1_sign(SECRET, ff->f[0], ff->f[1], sig);
		signature = sig;
	}
	rc = tenant_v1_verify(SECRET, TENANT, ff->f[0], ff->f[1], signature, NOW_MS, &reason);
	if ((rc == 0) != (reason == NULL))
		abort();
	/* Accepted: only for this tenant, and only a MAC of the whole "<tenant>:<timestamp>". */
	if (rc == 0 && (strcmp(ff->f[0], TENANT) != 0 || !v1_mac_is(ff->f[0], ff->f[1], signature)))
		abort();
	/* Absent headers are refused, not dereferenced. */
	if (tenant_v1_verify(SECRET, TENANT, NULL, ff->f[1], signature, NOW_MS, &reason) != -1)
		abort();
}

static void
fuzz_v2(const struct fuzz_fields *ff, int sign, int digest)
{
	char sig[TENANT_SIGNATURE_LEN + 1], sha[TENANT_SHA256_LEN + 1];
	struct tenant_v2 v2 = { ff->f[0], ff->f[1], ff->f[2], ff->f[3], ff->f[4], ff->f[5],
	    ff->f[6] };
	const char *signature = ff->f[7], *reason = NULL;
	const char *body = ff->f[8];
	size_t body_len = ff->len[8];
	int rc;

	if (digest) {
		tenant_sha256_hex(body, body_len, sha);
		v2.body_sha256 = sha;
	}
	if (sign) {
		tenant_v2_sign(key, &v2, sig);
		signature = sig;
	}
	rc = tenant_v2_verify(key, TENANT, &v2, signature, body, body_len, NOW_MS, &reason);
	if ((rc == 0) != (reason == NULL))
		abort();
	if (rc == 0) {
		tenant_sha256_hex(body, body_len, sha);
		if (strcmp(v2.tenant_id, TENANT) != 0 || strcmp(v2.body_sha256, sha) != 0)
			abort();	/* another tenant, or a body that is not the one digested */
	}
	v2.user = NULL;
	if (tenant_v2_verify(key, TENANT, &v2, signature, body, body_len, NOW_MS, &reason) != -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields ff;

	if (size < 1)
		return 0;
	fuzz_fields_split(&ff, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_v2(&ff, data[0] & 2, data[0] & 4);
	else
		fuzz_v1(&ff, data[0] & 2);
	fuzz_fields_free(&ff);
	return 0;
}
