/*
 * Tenant headers, version 1 (the reference scheme): X-TB-Tenant-ID,
 * X-TB-Timestamp (Unix ms) and X-TB-Signature = hex(HMAC-SHA256(secret,
 * "<tenant>:<timestamp>")), accepted within 300 s either way.
 */
#ifndef TRESTLE_TENANT_H
#define TRESTLE_TENANT_H

#define TENANT_MAX_SKEW_MS	300000LL
#define TENANT_SIGNATURE_LEN	64

void	tenant_v1_sign(const char *secret, const char *tenant_id, const char *timestamp,
	    char signature[TENANT_SIGNATURE_LEN + 1]);
/* 0 when valid; otherwise -1 and *reason says why (for the log only). */
int	tenant_v1_verify(const char *secret, const char *expected_tenant, const char *tenant_id,
	    const char *timestamp, const char *signature, long long now_ms, const char **reason);

#endif
