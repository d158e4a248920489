/*
 * Tenant headers.
 *
 * Version 1 (the reference scheme, for outside clients): X-TB-Tenant-ID,
 * X-TB-Timestamp (Unix ms) and X-TB-Signature = hex(HMAC-SHA256(secret,
 * "<tenant>:<timestamp>")), accepted within 300 s either way.
 *
 * Version 2 (trestle's own, for its workers' calls to the API child) binds
 * the signature to the request and to the user, and is good once:
 * X-TB-Tenant-ID, X-TB-Timestamp, X-TB-Nonce (32 hex digits), X-TB-User,
 * X-TB-Body-SHA256 and X-TB-Signature-V2 = hex(HMAC-SHA256(secret,
 * "v2\n<tenant>\n<timestamp>\n<nonce>\n<METHOD>\n<path?query>\n<body sha256>\n<user>")),
 * accepted within 30 s either way; the verifier remembers nonces for as long
 * (see src/api/replay.h).
 */
#ifndef TRESTLE_TENANT_H
#define TRESTLE_TENANT_H

#include <stddef.h>

#define TENANT_MAX_SKEW_MS	300000LL
#define TENANT_V2_WINDOW_MS	30000LL
#define TENANT_SIGNATURE_LEN	64
#define TENANT_SHA256_LEN	64
#define TENANT_NONCE_LEN	32

void	tenant_v1_sign(const char *secret, const char *tenant_id, const char *timestamp,
	    char signature[TENANT_SIGNATURE_LEN + 1]);
/* 0 when valid; otherwise -1 and *reason says why (for the log only). */
int	tenant_v1_verify(const char *secret, const char *expected_tenant, const char *tenant_id,
	    const char *timestamp, const char *signature, long long now_ms, const char **reason);

/* An HMAC-SHA256 keyed once with the secret and reused for every signature. */
struct tenant_key;

struct tenant_v2 {
	const char	*tenant_id;
	const char	*timestamp;	/* Unix ms, decimal */
	const char	*nonce;		/* TENANT_NONCE_LEN lowercase hex digits */
	const char	*method;	/* "POST" */
	const char	*path;		/* as sent, with its query: "/v1/notes?limit=5" */
	const char	*body_sha256;	/* lowercase hex of the body's SHA-256 ("" body too) */
	const char	*user;		/* the subject the call is made for */
};

struct tenant_key *tenant_key_new(const char *secret);	/* NULL on allocation failure */
void	tenant_key_free(struct tenant_key *);

void	tenant_v2_sign(struct tenant_key *, const struct tenant_v2 *,
	    char signature[TENANT_SIGNATURE_LEN + 1]);
/*
 * 0 when the signature is good, the time within the window, the tenant the
 * expected one and body the one digested; otherwise -1 and *reason.  Replays
 * are the caller's to catch (the nonce is well-formed once this passes).
 */
int	tenant_v2_verify(struct tenant_key *, const char *expected_tenant,
	    const struct tenant_v2 *, const char *signature, const void *body, size_t body_len,
	    long long now_ms, const char **reason);

void	tenant_sha256_hex(const void *data, size_t len, char hex[TENANT_SHA256_LEN + 1]);
void	tenant_nonce_new(char nonce[TENANT_NONCE_LEN + 1]);

#endif
