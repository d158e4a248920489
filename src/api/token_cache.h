/*
 * The API child's memory of bearer tokens it verified: the exact token ->
 * its subject, so that a token seen again (the workers reuse theirs for half
 * their life) skips decoding and the signature check.  An entry serves until
 * the token's exp and for TOKEN_CACHE_TTL_SEC at most, so a key dropped from
 * the JWKS stops a token soon even when it would live longer.  What is
 * checked besides the signature (iss, aud) is fixed for the process.  Memory
 * is a fixed table; longer tokens are not kept.
 */
#ifndef TRESTLE_TOKEN_CACHE_H
#define TRESTLE_TOKEN_CACHE_H

#include "jwt.h"

#define TOKEN_CACHE_TTL_SEC	60

/* 0 and the subject when token was verified and is still good at now (Unix s); else -1. */
int	token_cache_get(const char *token, long long now, char sub[JWT_SUB_MAX]);
/* token verified at now, naming sub, expiring at exp (LLONG_MAX: no exp claim). */
void	token_cache_put(const char *token, const char *sub, long long now, long long exp);

#endif
