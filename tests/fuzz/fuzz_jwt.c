/*
 * JWT parsing and verification (src/common/jwt.c) with a fixed HS secret, an
 * RSA key and a P-256 key, as the API child and the workers verify their
 * callers' tokens.  Input: a mode byte, then NUL-separated fields.
 *
 *	mode 0: the token as sent (jwt_peek, then jwt_verify_ex)
 *	mode 1: header JSON, claims JSON: encoded and HMAC-signed here (the
 *		digest the header's alg names, HS256 for any other), so that the
 *		claim checks behind the signature are reached
 *	mode 2: the same, ES256-signed here with the P-256 key
 *	mode 3: header JSON, claims JSON and the signature part as given
 *
 * A token signed here with one family of key must fail with only the others.
 */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "codec.h"
#include "fuzz.h"
#include "jwt.h"

#define SECRET		"fuzz-jwt-secret-0123456789abcdef0123"
#define ISSUER		"https://issuer.fuzz"
#define AUDIENCE	"fuzz-aud"
#define NOW		1700000000LL
#define TOKEN_MAX	16384

static EVP_PKEY *rsa, *ec;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	if ((rsa = EVP_RSA_gen(2048)) == NULL || (ec = EVP_EC_gen("P-256")) == NULL)
		abort();
	return 0;
}

static const EVP_MD *
hs_digest(const char *header)
{
	if (strstr(header, "\"HS384\"") != NULL)
		return EVP_sha384();
	if (strstr(header, "\"HS512\"") != NULL)
		return EVP_sha512();
	return EVP_sha256();
}

/* The raw r||s of an ES256 signature of the len bytes at msg; 0 on success. */
static int
es256_sign(const char *msg, size_t len, unsigned char raw[64])
{
	unsigned char der[128];
	const unsigned char *p = der;
	size_t derlen = sizeof(der);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *sig = NULL;
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec) == 1 &&
	    EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)msg, len) == 1 &&
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) != NULL &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* "<b64 header>.<b64 claims>.<signature>" into token (TOKEN_MAX); -1 when too long. */
static int
token_build(const struct fuzz_fields *ff, int mode, char *token)
{
	unsigned char sig[EVP_MAX_MD_SIZE];
	unsigned int siglen = sizeof(sig);
	size_t n;

	if (ff->len[0] + ff->len[1] + ff->len[2] > TOKEN_MAX / 2)
		return -1;
	n = b64url_encode((const unsigned char *)ff->f[0], ff->len[0], token, TOKEN_MAX);
	token[n++] = '.';
	n += b64url_encode((const unsigned char *)ff->f[1], ff->len[1], token + n, TOKEN_MAX - n);
	if (mode == 1)
		HMAC(hs_digest(ff->f[0]), SECRET, (int)strlen(SECRET), (unsigned char *)token, n,
		    sig, &siglen);
	else if (mode == 2) {
		if (es256_sign(token, n, sig) == -1)
			abort();
		siglen = 64;
	}
	token[n++] = '.';
	if (mode == 3)
		snprintf(token + n, TOKEN_MAX - n, "%s", ff->f[2]);
	else
		b64url_encode(sig, siglen, token + n, TOKEN_MAX - n);
	return 0;
}

static int
verify(const char *token, const struct jwt_keys *keys)
{
	struct jwt_expect expect = { ISSUER, AUDIENCE, NOW };
	char sub[JWT_SUB_MAX];
	const char *reason = NULL;
	json_object *claims = NULL;
	int rc;

	rc = jwt_verify_ex(token, keys, &expect, 60, sub, &claims, &reason);
	if (rc == 0 && (claims == NULL || sub[0] == '\0' || strlen(sub) >= JWT_SUB_MAX))
		abort();
	if (rc != 0 && (claims != NULL || reason == NULL))
		abort();
	json_object_put(claims);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_keys all = { SECRET, rsa, ec }, no_hs = { NULL, rsa, ec };
	struct jwt_keys no_ec = { SECRET, rsa, NULL };
	struct fuzz_fields ff;
	enum jwt_alg alg;
	char kid[JWT_KID_MAX], *token;
	const char *reason;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	if (mode == 0) {
		token = fuzz_strndup(data + 1, size - 1);
		if (jwt_peek(token, &alg, kid, &reason) == 0 && strlen(kid) >= JWT_KID_MAX)
			abort();
		verify(token, &all);
		free(token);
		return 0;
	}
	fuzz_fields_split(&ff, data + 1, size - 1);
	if ((token = malloc(TOKEN_MAX)) == NULL)
		abort();
	if (token_build(&ff, mode, token) == 0 && verify(token, &all) == 0) {
		if (mode == 1 && verify(token, &no_hs) == 0)
			abort();	/* an HS token verified without the secret */
		if (mode == 2 && verify(token, &no_ec) == 0)
			abort();	/* an ES256 token verified without the EC key */
	}
	free(token);
	fuzz_fields_free(&ff);
	return 0;
}
