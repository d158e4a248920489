/* Tenant headers version 1: the contract's test vector and every rejection. */
#include "config.h"

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
	return done_testing();
}
