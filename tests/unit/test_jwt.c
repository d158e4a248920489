/* HS JWTs: minted tokens verify; tampering, expiry and other algorithms do not. */
#include "config.h"

#include <string.h>

#include "codec.h"
#include "jwt.h"
#include "tap.h"

#define SECRET "a-test-secret-of-some-length"

/* A token with the given header and claims, signed with HS256 over SECRET. */
static void
forge(const char *header, const char *claims, const char *sig, char *out, size_t cap)
{
	size_t n = b64url_encode((const unsigned char *)header, strlen(header), out, cap);

	out[n++] = '.';
	n += b64url_encode((const unsigned char *)claims, strlen(claims), out + n, cap - n);
	out[n++] = '.';
	strcpy(out + n, sig);
}

int
main(void)
{
	char token[2048], sub[JWT_SUB_MAX], bad[2048];
	const char *reason = "";
	int n;

	n = jwt_hs256_mint(SECRET, "user-a", 1000, 60, token, sizeof(token));
	ok(n > 0, "mint an HS256 token");
	ok(jwt_hs_verify(token, SECRET, 1010, sub, &reason) == 0, "it verifies");
	is_str(sub, "user-a", "its subject is the one minted");
	ok(jwt_hs_verify(token, "another-secret", 1010, sub, &reason) == -1,
	    "another secret fails: %s", reason);
	ok(jwt_hs_verify(token, SECRET, 1060, sub, &reason) == -1, "expired at exp: %s", reason);

	strcpy(bad, token);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	ok(jwt_hs_verify(bad, SECRET, 1010, sub, &reason) == -1, "tampered signature: %s", reason);

	forge("{\"alg\":\"none\"}", "{\"sub\":\"x\"}", "", bad, sizeof(bad));
	ok(jwt_hs_verify(bad, SECRET, 1010, sub, &reason) == -1, "alg none: %s", reason);
	forge("{\"alg\":\"RS256\"}", "{\"sub\":\"x\"}", "abc", bad, sizeof(bad));
	ok(jwt_hs_verify(bad, SECRET, 1010, sub, &reason) == -1, "alg RS256: %s", reason);
	ok(jwt_hs_verify("not-a-token", SECRET, 1010, sub, &reason) == -1, "garbage: %s", reason);
	ok(jwt_hs_verify("a.b.c.d", SECRET, 1010, sub, &reason) == -1, "four parts: %s", reason);
	return done_testing();
}
