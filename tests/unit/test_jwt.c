/* HS JWTs: minted tokens verify; tampering, expiry and other algorithms do not. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "jwt.h"
#include "tap.h"

static const char *reason = "";

/* The call is made before the reason is read: an argument beside it would be read first. */
static void
expect_refused(int rc, const char *desc)
{
	ok(rc == -1, "%s (%s)", desc, reason);
}

#define SECRET "a-test-secret-of-some-length"

/* A token with the given header and claims, and sig as its signature part. */
static void
forge(const char *header, const char *claims, const char *sig, char *out, size_t cap)
{
	size_t n = b64url_encode((const unsigned char *)header, strlen(header), out, cap);

	out[n++] = '.';
	n += b64url_encode((const unsigned char *)claims, strlen(claims), out + n, cap - n);
	out[n++] = '.';
	strcpy(out + n, sig);
}

/* A token signed with HMAC over md and SECRET. */
static void
sign_hs(const EVP_MD *md, const char *alg, const char *claims, char *out, size_t cap)
{
	char header[64];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = sizeof(mac);
	size_t n;

	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	forge(header, claims, "", out, cap);
	n = strlen(out);
	HMAC(md, SECRET, (int)strlen(SECRET), (unsigned char *)out, n - 1, mac, &maclen);
	b64url_encode(mac, maclen, out + n, cap - n);
}

static int
verify(const char *token, const char *secret, long long now, char *sub, const char **why)
{
	*why = "";
	return jwt_hs_verify(token, secret, now, sub, why);
}

int
main(void)
{
	char token[2048], sub[JWT_SUB_MAX], bad[2048];
	struct jwt_expect at1000 = { .now = 1000 };
	struct jwt_expect scoped = { "https://issuer.example", "trestle", 1000 };
	struct jwt_keys keys = { .secret = SECRET };
	int n;

	n = jwt_hs256_mint(SECRET, "user-a", &at1000, 60, token, sizeof(token));
	ok(n > 0 && (size_t)n == strlen(token), "mint an HS256 token");
	ok(verify(token, SECRET, 1010, sub, &reason) == 0, "it verifies");
	is_str(sub, "user-a", "its subject is the one minted");
	expect_refused(verify(token, "another-secret", 1010, sub, &reason), "another secret fails");
	expect_refused(verify(token, SECRET, 1060, sub, &reason), "expired at exp");

	strcpy(bad, token);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	expect_refused(verify(bad, SECRET, 1010, sub, &reason), "tampered signature");

	forge("{\"alg\":\"none\"}", "{\"sub\":\"x\"}", "", bad, sizeof(bad));
	expect_refused(verify(bad, SECRET, 1010, sub, &reason), "alg none");
	forge("{\"alg\":\"RS256\"}", "{\"sub\":\"x\"}", "abc", bad, sizeof(bad));
	expect_refused(verify(bad, SECRET, 1010, sub, &reason), "alg RS256 without an RSA key");
	expect_refused(verify("not-a-token", SECRET, 1010, sub, &reason), "garbage");
	expect_refused(verify("a.b.c.d", SECRET, 1010, sub, &reason), "four parts");

	sign_hs(EVP_sha384(), "HS384", "{\"sub\":\"u384\",\"exp\":2000}", token, sizeof(token));
	ok(verify(token, SECRET, 1010, sub, &reason) == 0 && strcmp(sub, "u384") == 0,
	    "HS384 verifies");
	sign_hs(EVP_sha512(), "HS512", "{\"sub\":\"u512\"}", token, sizeof(token));
	ok(verify(token, SECRET, 1010, sub, &reason) == 0 && strcmp(sub, "u512") == 0,
	    "HS512 verifies");
	sign_hs(EVP_sha256(), "HS384", "{\"sub\":\"x\"}", token, sizeof(token));
	expect_refused(verify(token, SECRET, 1010, sub, &reason),
	    "an HS256 MAC under an HS384 header fails");
	sign_hs(EVP_sha256(), "HS256", "{\"sub\":\"\"}", token, sizeof(token));
	expect_refused(verify(token, SECRET, 1010, sub, &reason), "an empty sub is refused");
	sign_hs(EVP_sha256(), "HS256", "{\"sub\":42}", token, sizeof(token));
	expect_refused(verify(token, SECRET, 1010, sub, &reason), "a numeric sub is refused");
	sign_hs(EVP_sha256(), "HS256", "{\"sub\":\"x\",\"exp\":\"9999999999\"}", token,
	    sizeof(token));
	expect_refused(verify(token, SECRET, 1010, sub, &reason), "a string exp is refused");

	n = jwt_hs256_mint(SECRET, "user-b", &scoped, 60, token, sizeof(token));
	ok(n > 0 && jwt_verify(token, &keys, &scoped, sub, &reason) == 0,
	    "a token minted with iss and aud passes their checks");
	n = jwt_hs256_mint(SECRET, "user-b", &at1000, 60, token, sizeof(token));
	ok(n > 0 && jwt_verify(token, &keys, &scoped, sub, &reason) == -1,
	    "one minted without them fails once they are configured");
	keys.secret = "";
	n = jwt_hs256_mint("", "user-b", &at1000, 60, token, sizeof(token));
	expect_refused(jwt_verify(token, &keys, &at1000, sub, &reason),
	    "an empty secret verifies nothing");
	ok(jwt_hs256_mint(SECRET, "user-a", &at1000, 60, token, 40) == -1,
	    "minting into a buffer too small fails");
	return done_testing();
}
