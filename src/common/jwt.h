/*
 * JSON Web Tokens: HS256/384/512 with a shared secret, RS256 with an RSA key
 * and ES256 with a P-256 key (both from a JWKS).  The kind of key decides how
 * a token is verified: an HS token is only ever checked against the secret,
 * an RS256 token only against an RSA key and an ES256 token only against an
 * EC key, so none can be passed off as another.
 */
#ifndef TRESTLE_JWT_H
#define TRESTLE_JWT_H

#include <stddef.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#define JWT_SUB_MAX	256
#define JWT_KID_MAX	128

enum jwt_alg {
	JWT_ALG_REFUSED,	/* "none" and every name not below */
	JWT_ALG_HS256,
	JWT_ALG_HS384,
	JWT_ALG_HS512,
	JWT_ALG_RS256,
	JWT_ALG_ES256,
};

/* The keys a token may be verified with; NULL (or "") refuses that family. */
struct jwt_keys {
	const char	*secret;	/* HS256/384/512 */
	EVP_PKEY	*rsa;		/* RS256: the key named by the token's kid */
	EVP_PKEY	*ec;		/* ES256: the same, a P-256 key */
};

/* The claims checked beside exp, nbf and sub; NULL or "": not checked. */
struct jwt_expect {
	const char	*issuer;	/* iss must equal it */
	const char	*audience;	/* aud (string or array) must contain it */
	long long	 now;		/* Unix seconds */
};

/* An HS256 token naming sub (with iss and aud when not NULL or ""), valid for ttl s. */
int	jwt_hs256_mint(const char *secret, const char *sub, const struct jwt_expect *claims,
	    int ttl, char *out, size_t cap);

/*
 * The token's algorithm and key id (kid, "" when absent), read before any key
 * is chosen; -1 and *reason for a malformed token or a refused algorithm.
 */
int	jwt_peek(const char *token, enum jwt_alg *alg, char kid[JWT_KID_MAX],
	    const char **reason);

/* 0 and the subject when the token verifies and its claims hold; otherwise -1 and *reason. */
int	jwt_verify(const char *token, const struct jwt_keys *keys, const struct jwt_expect *expect,
	    char sub[JWT_SUB_MAX], const char **reason);

/*
 * jwt_verify allowing skew_sec seconds of clock difference on exp and nbf;
 * when claims is not NULL, *claims is the verified claims object (the caller
 * puts it), NULL on failure.
 */
int	jwt_verify_ex(const char *token, const struct jwt_keys *keys,
	    const struct jwt_expect *expect, int skew_sec, char sub[JWT_SUB_MAX],
	    json_object **claims, const char **reason);

/* jwt_verify with only a secret and no iss/aud checks. */
int	jwt_hs_verify(const char *token, const char *secret, long long now,
	    char sub[JWT_SUB_MAX], const char **reason);

#endif
