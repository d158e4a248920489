/*
 * Regressions found by the fuzz targets (tests/fuzz/): each input that made
 * a target fail, replayed against the function it broke.  The inputs
 * themselves are in tests/fuzz/crashes/ and in the targets' seed corpora.
 *
 * tenant-v1-long-timestamp (fuzz_tenant): a version 1 signature was the
 * HMAC of "<tenant>:<timestamp>" cut to nothing when that did not fit 512
 * bytes, so a zero-padded timestamp made every such header's expected
 * signature the MAC of the empty string.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "tenant.h"

#define SECRET		"test-secret-key"
#define TENANT		"tenant-123"
#define NOW		1700000000000LL
/* HMAC-SHA256("test-secret-key", "tenant-123:" 600 zeros "1700000000000"), by Python's hmac */
#define LONG_VECTOR	"f8090487b5c399317d223fa2eec7e7b91c5fd07dfc08a3aa6a9e8c5156bbd218"
/* HMAC-SHA256("test-secret-key", "") */
#define EMPTY_MAC	"d1011b593027040df27a8cdd7a95af3021523909894a214033c69b508fcb9b05"

static void
test_tenant_v1_long_timestamp(void)
{
	char ts[700], sig[TENANT_SIGNATURE_LEN + 1];
	const char *reason = NULL;

	memset(ts, '0', 600);
	snprintf(ts + 600, sizeof(ts) - 600, "%lld", NOW);
	tenant_v1_sign(SECRET, TENANT, ts, sig);
	is_str(sig, LONG_VECTOR, "v1: a long message is signed whole");
	ok(tenant_v1_verify(SECRET, TENANT, TENANT, ts, EMPTY_MAC, NOW, &reason) == -1,
	    "v1: the MAC of the empty message is refused for a long timestamp");
	ok(tenant_v1_verify(SECRET, TENANT, TENANT, ts, LONG_VECTOR, NOW, &reason) == 0,
	    "v1: the MAC of the whole message verifies");
}

int
main(void)
{
	test_tenant_v1_long_timestamp();
	return done_testing();
}
