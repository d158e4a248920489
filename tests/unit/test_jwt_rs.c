/*
 * RS256 tokens against a JWKS built from keys made here: what verifies, what
 * is refused (wrong key, algorithm confusion, claims), which keys a JWKS
 * yields, and the fetch cache on an event loop (file:// URLs, no server).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "codec.h"
#include "jwks.h"
#include "jwt.h"
#include "tap.h"

static const char *reason = "";

/* The call is made before the reason is read: an argument beside it would be read first. */
static void
expect_refused(int rc, const char *desc)
{
	ok(rc == -1, "%s (%s)", desc, reason);
}

static void
expect_ok(int rc, const char *desc)
{
	ok(rc == 0, "%s", desc);
	if (rc != 0)
		printf("#   refused: %s\n", reason);
}

#define NOW	1700000000LL

static char *
b64url_of_bn(EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char raw[1024];
	char *out = malloc(2048);
	int n;

	EVP_PKEY_get_bn_param(pkey, param, &bn);
	n = BN_bn2bin(bn, raw);
	b64url_encode(raw, (size_t)n, out, 2048);
	BN_free(bn);
	return out;
}

/* {"kty":"RSA","use":"sig","kid":kid,"n":…,"e":…} plus extra members. */
static void
jwk_of(EVP_PKEY *pkey, const char *kid, const char *extra, char *out, size_t cap)
{
	char *n = b64url_of_bn(pkey, OSSL_PKEY_PARAM_RSA_N);
	char *e = b64url_of_bn(pkey, OSSL_PKEY_PARAM_RSA_E);

	snprintf(out, cap, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}",
	    kid, n, e, extra);
	free(n);
	free(e);
}

/* header.claims, then signed with RS256 by pkey. */
static void
sign_rs256(EVP_PKEY *pkey, const char *header, const char *claims, char *out, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t siglen = sizeof(sig), n;

	n = b64url_encode((const unsigned char *)header, strlen(header), out, cap);
	out[n++] = '.';
	n += b64url_encode((const unsigned char *)claims, strlen(claims), out + n, cap - n);
	EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey);
	EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)out, n);
	EVP_MD_CTX_free(ctx);
	out[n++] = '.';
	b64url_encode(sig, siglen, out + n, cap - n);
}

static void
sign_hs256_with(const char *secret, size_t secret_len, const char *header, const char *claims,
    char *out, size_t cap)
{
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	size_t n;

	n = b64url_encode((const unsigned char *)header, strlen(header), out, cap);
	out[n++] = '.';
	n += b64url_encode((const unsigned char *)claims, strlen(claims), out + n, cap - n);
	HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)out, n, mac, &maclen);
	out[n++] = '.';
	b64url_encode(mac, maclen, out + n, cap - n);
}

static struct jwks_set *
parse(const char *doc)
{

	return jwks_set_parse(doc, strlen(doc), &reason);
}

static int
verify_rs(const char *token, EVP_PKEY *key, const struct jwt_expect *expect, char *sub,
    const char **why)
{
	struct jwt_keys keys = { .secret = "the-hs-secret", .rsa = key };

	*why = "";
	return jwt_verify(token, &keys, expect, sub, why);
}

static void
test_tokens(EVP_PKEY *k1, EVP_PKEY *k2)
{
	static const char hdr[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
	struct jwt_expect plain = { .now = NOW };
	struct jwt_expect scoped = { "https://issuer.example", "trestle-api", NOW };
	char doc[16384], jwk1[4096], jwk2[4096], token[4096], kid[JWT_KID_MAX], sub[JWT_SUB_MAX];
	char claims[512], *pem;
	struct jwks_set *set;
	EVP_PKEY *key;
	enum jwt_alg alg;
	BIO *bio;
	long pemlen;

	jwk_of(k1, "k1", ",\"use\":\"sig\",\"alg\":\"RS256\"", jwk1, sizeof(jwk1));
	jwk_of(k2, "k2", ",\"use\":\"sig\"", jwk2, sizeof(jwk2));
	snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", jwk1, jwk2);
	set = parse(doc);
	ok(jwks_set_count(set) == 2, "a JWKS of two RSA signing keys yields both");
	key = jwks_set_find(set, "k1");
	ok(key != NULL && jwks_set_find(set, "k3") == NULL, "keys are found by kid, only by kid");

	sign_rs256(k1, hdr, "{\"sub\":\"rs-user\",\"exp\":1700000100}", token, sizeof(token));
	ok(jwt_peek(token, &alg, kid, &reason) == 0 && alg == JWT_ALG_RS256 &&
	    strcmp(kid, "k1") == 0, "jwt_peek reads RS256 and kid k1");
	ok(verify_rs(token, key, &plain, sub, &reason) == 0 && strcmp(sub, "rs-user") == 0,
	    "a valid RS256 token verifies");
	token[strlen(token) - 5] = token[strlen(token) - 5] == 'A' ? 'B' : 'A';
	expect_refused(verify_rs(token, key, &plain, sub, &reason), "bad signature");

	sign_rs256(k2, hdr, "{\"sub\":\"rs-user\"}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &plain, sub, &reason),
	    "signed by another key than its kid's");
	sign_rs256(k1, "{\"alg\":\"RS256\",\"kid\":\"k9\"}", "{\"sub\":\"x\"}", token,
	    sizeof(token));
	ok(jwt_peek(token, &alg, kid, &reason) == 0 && jwks_set_find(set, kid) == NULL &&
	    verify_rs(token, NULL, &plain, sub, &reason) == -1,
	    "a kid the set lacks: no key, refused");

	sign_rs256(k1, "{\"alg\":\"none\",\"kid\":\"k1\"}", "{\"sub\":\"x\"}", token,
	    sizeof(token));
	expect_refused(jwt_peek(token, &alg, kid, &reason), "alg none: jwt_peek refuses");
	strcpy(strrchr(token, '.') + 1, "");
	expect_refused(verify_rs(token, key, &plain, sub, &reason), "alg none, empty signature");
	sign_rs256(k1, "{\"alg\":\"RS384\",\"kid\":\"k1\"}", "{\"sub\":\"x\"}", token,
	    sizeof(token));
	expect_refused(verify_rs(token, key, &plain, sub, &reason), "alg RS384");

	/* The classic confusion: HS256 keyed with the RSA public key's PEM. */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, k1);
	pemlen = BIO_get_mem_data(bio, &pem);
	sign_hs256_with(pem, (size_t)pemlen, "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
	    "{\"sub\":\"mallory\"}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &plain, sub, &reason),
	    "HS256 signed with the RSA public key PEM is refused");
	{
		struct jwt_keys rsa_only = { .rsa = key };

		expect_refused(jwt_verify(token, &rsa_only, &plain, sub, &reason),
	    "and with only the RSA key at hand, HS is not even tried");
	}
	BIO_free(bio);
	sign_rs256(k1, hdr, "{\"sub\":\"x\"}", token, sizeof(token));
	{
		struct jwt_keys secret_only = { .secret = "the-hs-secret" };

		expect_refused(jwt_verify(token, &secret_only, &plain, sub, &reason),
	    "an RS256 token is never checked against the secret");
	}

	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"exp\":1700000000}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &plain, sub, &reason), "expired");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"nbf\":1700000060}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &plain, sub, &reason), "nbf in the future");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"nbf\":1700000000}", token, sizeof(token));
	expect_ok(verify_rs(token, key, &plain, sub, &reason), "nbf now is fine");

	snprintf(claims, sizeof(claims), "{\"sub\":\"x\",\"iss\":\"https://issuer.example\","
	    "\"aud\":\"trestle-api\"}");
	sign_rs256(k1, hdr, claims, token, sizeof(token));
	expect_ok(verify_rs(token, key, &scoped, sub, &reason), "right iss, aud string");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"iss\":\"https://issuer.example\","
	    "\"aud\":[\"other\",\"trestle-api\"]}", token, sizeof(token));
	expect_ok(verify_rs(token, key, &scoped, sub, &reason), "right iss, aud array");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"iss\":\"https://evil.example\","
	    "\"aud\":\"trestle-api\"}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &scoped, sub, &reason), "wrong iss");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"aud\":\"trestle-api\"}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &scoped, sub, &reason), "no iss");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"iss\":\"https://issuer.example\","
	    "\"aud\":\"other-api\"}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &scoped, sub, &reason), "wrong aud string");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"iss\":\"https://issuer.example\","
	    "\"aud\":[\"other-api\",\"third\"]}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &scoped, sub, &reason), "wrong aud array");
	sign_rs256(k1, hdr, "{\"sub\":\"x\",\"iss\":\"https://issuer.example\"}", token,
	    sizeof(token));
	expect_refused(verify_rs(token, key, &scoped, sub, &reason), "no aud");
	sign_rs256(k1, hdr, "{\"sub\":\"\",\"iss\":\"https://issuer.example\","
	    "\"aud\":\"trestle-api\"}", token, sizeof(token));
	expect_refused(verify_rs(token, key, &scoped, sub, &reason), "empty sub");
	jwks_set_free(set);
}

static void
test_jwks_parse(EVP_PKEY *k1, EVP_PKEY *small)
{
	char doc[16384], jwk[4096], jwk_small[2048];
	struct jwks_set *set;

	jwk_of(k1, "enc", ",\"use\":\"enc\"", jwk, sizeof(jwk));
	snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
	ok((set = parse(doc)) == NULL, "a key with use enc is not a signing key");
	jwk_of(k1, "nouse", "", jwk, sizeof(jwk));
	snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
	ok((set = parse(doc)) == NULL, "a key without use sig is not taken");
	jwk_of(k1, "rs384", ",\"use\":\"sig\",\"alg\":\"RS384\"", jwk, sizeof(jwk));
	snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
	ok((set = parse(doc)) == NULL, "a key for RS384 is not taken");
	jwk_of(small, "small", ",\"use\":\"sig\"", jwk_small, sizeof(jwk_small));
	jwk_of(k1, "good", ",\"use\":\"sig\"", jwk, sizeof(jwk));
	snprintf(doc, sizeof(doc), "{\"keys\":[%s,{\"kty\":\"EC\",\"use\":\"sig\",\"kid\":\"ec\","
	    "\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"},%s,\"junk\"]}", jwk_small, jwk);
	set = parse(doc);
	ok(jwks_set_count(set) == 1 && jwks_set_find(set, "good") != NULL,
	    "of an RSA key under 2048 bits, an EC key, junk and a good key, only the good one");
	jwks_set_free(set);
	ok(jwks_set_parse("{\"keys\":{}}", 11, &reason) == NULL, "keys must be an array");
	ok(jwks_set_parse("not json", 8, &reason) == NULL, "not JSON");
}

/* The fetch cache, on an event loop. */
struct waiter {
	int	 called;
};

static void
on_ready(void *arg)
{
	((struct waiter *)arg)->called++;
}

static int
run_until(struct event_base *base, struct waiter *w)
{
	for (int i = 0; i < 2000 && w->called == 0; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	return w->called;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

static void
test_fetch(EVP_PKEY *k1, EVP_PKEY *k2)
{
	char dir[] = "/tmp/test_jwt_rs.XXXXXX", path[256], url[300], doc[16384], jwk1[4096],
	    jwk2[4096];
	struct event_base *base = event_base_new();
	struct waiter w1 = { 0 }, w2 = { 0 }, w3 = { 0 }, cancelled = { 0 };
	struct jwks_wait *wait, *wait2;
	struct jwks *jw;
	EVP_PKEY *key;

	mkdtemp(dir);
	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	snprintf(url, sizeof(url), "file://%s", path);
	jwk_of(k1, "k1", ",\"use\":\"sig\"", jwk1, sizeof(jwk1));
	jwk_of(k2, "k2", ",\"use\":\"sig\"", jwk2, sizeof(jwk2));
	snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk1);
	write_file(path, doc);

	jw = jwks_new(base, url, 2000);
	ok(jw != NULL, "jwks_new on a file:// URL");
	ok(jwks_lookup(jw, "k1", &key, on_ready, &w1, &wait) == JWKS_WAIT && key == NULL,
	    "a lookup during the first fetch waits");
	ok(jwks_lookup(jw, "k1", &key, on_ready, &cancelled, &wait2) == JWKS_WAIT,
	    "so does a second one");
	jwks_wait_cancel(wait2);
	ok(run_until(base, &w1) == 1 && cancelled.called == 0,
	    "the waiter is called once the fetch ends; the cancelled one is not");
	ok(jwks_lookup(jw, "k1", &key, on_ready, &w2, &wait) == JWKS_FOUND && key != NULL,
	    "then the key is found at once");

	snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", jwk1, jwk2);
	write_file(path, doc);
	ok(jwks_lookup(jw, "k2", &key, on_ready, &w2, &wait) == JWKS_WAIT,
	    "an unknown kid forces a refresh, and waits for it");
	ok(run_until(base, &w2) == 1 &&
	    jwks_lookup(jw, "k2", &key, on_ready, &w3, &wait) == JWKS_FOUND,
	    "after the refresh the new key is found");
	ok(jwks_lookup(jw, "k3", &key, on_ready, &w3, &wait) == JWKS_UNKNOWN && w3.called == 0,
	    "another unknown kid within a minute: no refresh, refused at once");
	ok(jwks_lookup(jw, "k1", &key, on_ready, &w3, &wait) == JWKS_FOUND,
	    "the old key is still there");
	jwks_free(jw);

	memset(&w1, 0, sizeof(w1));
	snprintf(url, sizeof(url), "file://%s/missing.json", dir);
	jw = jwks_new(base, url, 2000);
	ok(jwks_lookup(jw, "k1", &key, on_ready, &w1, &wait) == JWKS_WAIT,
	    "a set that cannot be fetched: the lookup waits for the attempt");
	ok(run_until(base, &w1) == 1, "and is called back when it fails");
	memset(&w1, 0, sizeof(w1));
	if (jwks_lookup(jw, "k1", &key, on_ready, &w1, &wait) == JWKS_WAIT)
		run_until(base, &w1);	/* the one refresh an unknown kid may force */
	ok(jwks_lookup(jw, "k1", &key, on_ready, &w1, &wait) == JWKS_UNKNOWN,
	    "then no key, and no fetch storm: refused at once");
	ok(jwks_lookup(jw, "k1", &key, on_ready, &cancelled, &wait) == JWKS_UNKNOWN,
	    "still refused at once");
	jwks_free(jw);

	jw = jwks_new(base, url, 2000);
	ok(jwks_lookup(jw, "k1", &key, on_ready, &cancelled, &wait) == JWKS_WAIT,
	    "a waiter pending when the set is freed");
	jwks_free(jw);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ok(cancelled.called == 0, "is dropped without a call");
	unlink(path);
	rmdir(dir);
	event_base_free(base);
}

int
main(void)
{
	EVP_PKEY *k1 = EVP_RSA_gen(2048), *k2 = EVP_RSA_gen(2048), *small = EVP_RSA_gen(1024);

	ok(k1 != NULL && k2 != NULL && small != NULL, "RSA keys generated");
	test_tokens(k1, k2);
	test_jwks_parse(k1, small);
	test_fetch(k1, k2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(small);
	return done_testing();
}
