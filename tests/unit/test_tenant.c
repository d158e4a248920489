/*
 * Tenant headers version 1: the contract's test vector and every rejection.
 * Version 2: a vector (computed independently with openssl dgst), the round
 * trip, and each signed field changed, the body changed, the time window.
 */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "tenant.h"

#define SECRET	"test-secret-key"
#define TENANT	"tenant-123"
#define TS	"1700000000000"
#define VECTOR	"05b7b0da7a0b4764ddea0bfd3b552343117e1785ba05d89e123df5b5b3f609ae"
#define NOW	1700000000000LL

static int
verify(const char *tenant, const char *ts, const char *sig, long long now)
{
	const char *reason = NULL;

	return tenant_v1_verify(SECRET, TENANT, tenant, ts, sig, now, &reason);
}

#define V2_NONCE	"00112233445566778899aabbccddeeff"
#define V2_BODY		"{\"title\":\"x\"}"
#define V2_DIGEST	"27503c8b55d6cdd9256053d7f84ead30d502467a1ed11f64071aa34c3a1d0e25"
#define V2_VECTOR	"e911b2decc8134b8019aa22ce57892a4be0e5cf188aa4ec3750a6e602752fd0d"

static struct tenant_key *key;
static const char *reason = "";

static int
verify_v2(const struct tenant_v2 *v2, const char *sig, const char *body, long long now)
{
	reason = "";
	return tenant_v2_verify(key, TENANT, v2, sig, body, strlen(body), now, &reason);
}

/* A copy of good with field n replaced by value, refused with the good signature. */
static void
refused_with(const struct tenant_v2 *good, int n, const char *value, const char *desc)
{
	struct tenant_v2 v2 = *good;
	const char **fields[] = { &v2.tenant_id, &v2.timestamp, &v2.nonce, &v2.method, &v2.path,
	    &v2.body_sha256, &v2.user };
	int rc;

	*fields[n] = value;
	rc = verify_v2(&v2, V2_VECTOR, V2_BODY, NOW);
	ok(rc == -1, "v2: %s is refused (%s)", desc, reason);
}

static void
test_v2(void)
{
	struct tenant_v2 v2 = { TENANT, TS, V2_NONCE, "POST", "/v1/notes?limit=5", V2_DIGEST,
	    "user-a" };
	char sig[TENANT_SIGNATURE_LEN + 1], digest[TENANT_SHA256_LEN + 1];
	char nonce[TENANT_NONCE_LEN + 1], other_nonce[TENANT_NONCE_LEN + 1];
	int rc;

	key = tenant_key_new(SECRET);
	ok(key != NULL, "v2: a key for the secret");
	tenant_sha256_hex(V2_BODY, strlen(V2_BODY), digest);
	is_str(digest, V2_DIGEST, "v2: the body's SHA-256 in lowercase hex");
	tenant_sha256_hex("", 0, digest);
	is_str(digest, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "v2: the empty body's digest");
	tenant_v2_sign(key, &v2, sig);
	is_str(sig, V2_VECTOR, "v2: the signature matches the vector");
	tenant_v2_sign(key, &v2, sig);
	is_str(sig, V2_VECTOR, "v2: the reused key signs the same again");
	rc = verify_v2(&v2, V2_VECTOR, V2_BODY, NOW);
	ok(rc == 0, "v2: the vector verifies");

	refused_with(&v2, 0, "tenant-999", "another tenant id");
	refused_with(&v2, 1, "1700000000001", "another timestamp");
	refused_with(&v2, 2, "00112233445566778899aabbccddeefe", "another nonce");
	refused_with(&v2, 3, "PUT", "another method");
	refused_with(&v2, 4, "/v1/notes?limit=6", "another query");
	refused_with(&v2, 4, "/v1/tasks?limit=5", "another path");
	refused_with(&v2, 5, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "another body digest");
	refused_with(&v2, 6, "user-b", "another user");
	refused_with(&v2, 2, "00112233445566778899AABBCCDDEEFF", "an upper-case nonce");
	refused_with(&v2, 2, NULL, "a missing nonce");
	refused_with(&v2, 6, "", "an empty user");
	refused_with(&v2, 6, "user-a\nX", "a user with a newline");
	rc = verify_v2(&v2, V2_VECTOR, "{\"title\":\"y\"}", NOW);
	ok(rc == -1, "v2: another body under the signed digest is refused (%s)", reason);
	strcpy(sig, V2_VECTOR);
	sig[0] = 'f';
	rc = verify_v2(&v2, sig, V2_BODY, NOW);
	ok(rc == -1, "v2: a signature one digit off is refused (%s)", reason);
	rc = verify_v2(&v2, V2_VECTOR, V2_BODY, NOW + 30001);
	ok(rc == -1, "v2: 30.001 s old is stale (%s)", reason);
	rc = verify_v2(&v2, V2_VECTOR, V2_BODY, NOW - 30001);
	ok(rc == -1, "v2: 30.001 s ahead is refused (%s)", reason);
	ok(verify_v2(&v2, V2_VECTOR, V2_BODY, NOW + 30000) == 0 &&
	    verify_v2(&v2, V2_VECTOR, V2_BODY, NOW - 30000) == 0,
	    "v2: exactly 30 s either way is accepted");
	rc = verify_v2(&v2, V2_VECTOR, V2_BODY, NOW + 60000);
	ok(rc == -1, "v2: a minute old is refused though v1 would take it (%s)", reason);

	v2.tenant_id = "tenant-999";
	tenant_v2_sign(key, &v2, sig);
	rc = verify_v2(&v2, sig, V2_BODY, NOW);
	ok(rc == -1, "v2: well signed for another tenant is refused (%s)", reason);

	tenant_nonce_new(nonce);
	tenant_nonce_new(other_nonce);
	ok(strlen(nonce) == TENANT_NONCE_LEN && strspn(nonce, "0123456789abcdef") ==
	    TENANT_NONCE_LEN && strcmp(nonce, other_nonce) != 0,
	    "v2: nonces are 32 lowercase hex digits, and differ");
	tenant_key_free(key);
}

int
main(void)
{
	char sig[TENANT_SIGNATURE_LEN + 1], off[TENANT_SIGNATURE_LEN + 1];

	tenant_v1_sign(SECRET, TENANT, TS, sig);
	is_str(sig, VECTOR, "signature matches the contract's test vector");
	ok(verify(TENANT, TS, VECTOR, NOW) == 0, "the vector verifies");

	strcpy(off, VECTOR);
	off[10] = off[10] == 'a' ? 'b' : 'a';
	ok(verify(TENANT, TS, off, NOW) == -1, "a signature one character off is rejected");
	ok(verify(TENANT, TS, VECTOR, NOW + 301000) == -1, "a timestamp 301 s old is rejected");
	ok(verify(TENANT, TS, VECTOR, NOW - 301000) == -1, "a timestamp 301 s ahead is rejected");
	ok(verify(TENANT, TS, VECTOR, NOW + 300000) == 0, "exactly 300 s old is accepted");
	ok(verify(TENANT, TS, VECTOR, NOW - 300000) == 0, "exactly 300 s ahead is accepted");
	ok(verify(NULL, TS, VECTOR, NOW) == -1, "a missing tenant id is rejected");
	ok(verify(TENANT, NULL, VECTOR, NOW) == -1, "a missing timestamp is rejected");
	ok(verify(TENANT, TS, NULL, NOW) == -1, "a missing signature is rejected");
	ok(verify(TENANT, "17e11", VECTOR, NOW) == -1, "a non-numeric timestamp is rejected");
	ok(verify(TENANT, TS, "05b7", NOW) == -1, "a short signature is rejected");

	tenant_v1_sign(SECRET, "tenant-999", TS, sig);
	ok(verify("tenant-999", TS, sig, NOW) == -1,
	    "a valid signature for another tenant is refused");
	test_v2();
	return done_testing();
}
