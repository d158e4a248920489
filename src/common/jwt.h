/* JSON Web Tokens signed with a shared secret (HS256/384/512). */
#ifndef TRESTLE_JWT_H
#define TRESTLE_JWT_H

#include <stddef.h>

#define JWT_SUB_MAX	256

/* An HS256 token naming sub, valid for ttl seconds from now; returns the length or -1. */
int	jwt_hs256_mint(const char *secret, const char *sub, long long now, int ttl,
	    char *out, size_t cap);
/* 0 and the subject when the token verifies; otherwise -1 and *reason. */
int	jwt_hs_verify(const char *token, const char *secret, long long now,
	    char sub[JWT_SUB_MAX], const char **reason);

#endif
