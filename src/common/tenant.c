#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "tenant.h"

void
tenant_v1_sign(const char *secret, const char *tenant_id, const char *timestamp,
    char signature[TENANT_SIGNATURE_LEN + 1])
{
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	char msg[512];
	int n;

	n = snprintf(msg, sizeof(msg), "%s:%s", tenant_id, timestamp);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n,
	    mac, &maclen);
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
