/*
 * The token's header names its algorithm, but never its key: the family of
 * the algorithm picks the key the verifier was given for that family (the
 * shared secret for HS*, an RSA key for RS256, a P-256 key for ES256), so an
 * HS token signed with an RSA public key as its "secret" fails like any other
 * forgery.  "none" and every other name are refused before any key is touched.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "codec.h"
#include "jwt.h"

#define JWT_MAX_LEN	8192
#define JWT_SIG_MAX	1024	/* an RSA signature of up to 8192 bits */

/* A token cut at its two dots; header decoded. */
struct jwt_parts {
	const char	*token;
	size_t		 signed_len;	/* "<header>.<claims>" */
	const char	*claims;
	size_t		 claims_len;
	const char	*sig;
	json_object	*header;
};

static const struct {
	const char	*name;
	enum jwt_alg	 alg;
} jwt_algs[] = {
	{ "HS256", JWT_ALG_HS256 },
	{ "HS384", JWT_ALG_HS384 },
	{ "HS512", JWT_ALG_HS512 },
	{ "RS256", JWT_ALG_RS256 },
	{ "ES256", JWT_ALG_ES256 },
};

#define JWT_ES256_SIG_LEN	64	/* r and s, 32 bytes each (RFC 7518 3.4) */
#define JWT_HMAC_KEYS		4	/* (secret, digest) pairs keyed at once */

/*
 * HMAC contexts, each keyed once and reused: a one-shot HMAC() fetches the
 * algorithm and sets the key on every call, several times the cost of the
 * MAC of a token.  A process uses one secret or two (its own tokens, its
 * clients'), so a few slots suffice; past that the oldest is rekeyed.
 */
static struct jwt_hmac_key {
	char		*secret;
	const char	*digest;	/* EVP_MD_get0_name() */
	EVP_MAC_CTX	*ctx;
} jwt_hmac_keys[JWT_HMAC_KEYS];
static EVP_MAC	*jwt_hmac;
static size_t	 jwt_hmac_next;	/* the slot to rekey next */

static const EVP_MD *
jwt_digest(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_ALG_HS256:
	case JWT_ALG_RS256:
	case JWT_ALG_ES256:
		return EVP_sha256();
	case JWT_ALG_HS384:
		return EVP_sha384();
	case JWT_ALG_HS512:
		return EVP_sha512();
	case JWT_ALG_REFUSED:
		break;
	}
	return NULL;
}

static json_object *
jwt_decode_json(const char *part, size_t len)
{
	unsigned char buf[JWT_MAX_LEN];
	long n = b64url_decode(part, len, buf, sizeof(buf) - 1);
	json_object *obj;

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	obj = json_tokener_parse((const char *)buf);
	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static int
jwt_split(const char *token, struct jwt_parts *p, const char **reason)
{
	const char *dot1, *dot2;

	memset(p, 0, sizeof(*p));
	*reason = "malformed token";
	if (strlen(token) > JWT_MAX_LEN || (dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || strchr(dot2 + 1, '.') != NULL)
		return -1;
	if ((p->header = jwt_decode_json(token, (size_t)(dot1 - token))) == NULL)
		return -1;
	p->token = token;
	p->signed_len = (size_t)(dot2 - token);
	p->claims = dot1 + 1;
	p->claims_len = (size_t)(dot2 - dot1 - 1);
	p->sig = dot2 + 1;
	return 0;
}

static enum jwt_alg
jwt_alg_of(json_object *header)
{
	json_object *v;
	const char *name;

	if (!json_object_object_get_ex(header, "alg", &v) ||
	    !json_object_is_type(v, json_type_string))
		return JWT_ALG_REFUSED;
	name = json_object_get_string(v);
	for (size_t i = 0; i < sizeof(jwt_algs) / sizeof(jwt_algs[0]); i++)
		if (strcmp(jwt_algs[i].name, name) == 0)
			return jwt_algs[i].alg;
	return JWT_ALG_REFUSED;
}

static void
jwt_hmac_key_clear(struct jwt_hmac_key *k)
{
	EVP_MAC_CTX_free(k->ctx);
	free(k->secret);
	memset(k, 0, sizeof(*k));
}

static EVP_MAC_CTX *
jwt_hmac_key_new(struct jwt_hmac_key *k, const EVP_MD *md, const char *secret)
{
	OSSL_PARAM params[2];

	jwt_hmac_key_clear(k);
	if (jwt_hmac == NULL && (jwt_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	k->digest = EVP_MD_get0_name(md);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)k->digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((k->secret = strdup(secret)) == NULL || (k->ctx = EVP_MAC_CTX_new(jwt_hmac)) == NULL ||
	    EVP_MAC_init(k->ctx, (const unsigned char *)secret, strlen(secret), params) != 1) {
		jwt_hmac_key_clear(k);
		return NULL;
	}
	return k->ctx;
}

/* A context keyed with secret for md, ready for a new message; NULL on failure. */
static EVP_MAC_CTX *
jwt_hmac_ctx(const EVP_MD *md, const char *secret)
{
	const char *digest = EVP_MD_get0_name(md);
	struct jwt_hmac_key *k;

	for (size_t i = 0; i < JWT_HMAC_KEYS; i++) {
		k = &jwt_hmac_keys[i];
		if (k->ctx != NULL && strcmp(k->digest, digest) == 0 &&
		    strcmp(k->secret, secret) == 0)
			return EVP_MAC_init(k->ctx, NULL, 0, NULL) == 1 ? k->ctx : NULL;
	}
	k = &jwt_hmac_keys[jwt_hmac_next];
	jwt_hmac_next = (jwt_hmac_next + 1) % JWT_HMAC_KEYS;
	return jwt_hmac_key_new(k, md, secret);
}

/* The HMAC of data with secret: its length, or 0 on failure. */
static size_t
jwt_hmac_of(const EVP_MD *md, const char *secret, const unsigned char *data, size_t len,
    unsigned char mac[EVP_MAX_MD_SIZE])
{
	EVP_MAC_CTX *ctx = jwt_hmac_ctx(md, secret);
	size_t maclen = 0;

	if (ctx == NULL || EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, mac, &maclen, EVP_MAX_MD_SIZE) != 1)
		return 0;
	return maclen;
}

int
jwt_hs256_mint(const char *secret, const char *sub, const struct jwt_expect *claims, int ttl,
    char *out, size_t cap)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	json_object *obj = json_object_new_object();
	const char *text;
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen;
	char part[64];
	size_t n, len;

	json_object_object_add(obj, "sub", json_object_new_string(sub));
	if (claims->issuer != NULL && claims->issuer[0] != '\0')
		json_object_object_add(obj, "iss", json_object_new_string(claims->issuer));
	if (claims->audience != NULL && claims->audience[0] != '\0')
		json_object_object_add(obj, "aud", json_object_new_string(claims->audience));
	json_object_object_add(obj, "iat", json_object_new_int64(claims->now));
	json_object_object_add(obj, "exp", json_object_new_int64(claims->now + ttl));
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	n = b64url_encode((const unsigned char *)header, strlen(header), out, cap);
	if (cap < n + 2 + (len + 2) / 3 * 4 + 1 + sizeof(part)) {
		json_object_put(obj);
		return -1;
	}
	out[n++] = '.';
	n += b64url_encode((const unsigned char *)text, len, out + n, cap - n);
	json_object_put(obj);
	if ((maclen = jwt_hmac_of(EVP_sha256(), secret, (const unsigned char *)out, n, mac)) == 0)
		return -1;
	out[n++] = '.';
	n += b64url_encode(mac, maclen, out + n, cap - n);
	return (int)n;
}

int
jwt_peek(const char *token, enum jwt_alg *alg, char kid[JWT_KID_MAX], const char **reason)
{
	struct jwt_parts p;
	json_object *v;
	int rc = -1;

	kid[0] = '\0';
	if (jwt_split(token, &p, reason) == -1)
		return -1;
	if ((*alg = jwt_alg_of(p.header)) == JWT_ALG_REFUSED) {
		*reason = "token algorithm not accepted";
		goto out;
	}
	if (json_object_object_get_ex(p.header, "kid", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) >= JWT_KID_MAX) {
			*reason = "token key id is not a short string";
			goto out;
		}
		strcpy(kid, json_object_get_string(v));
	}
	rc = 0;
out:
	json_object_put(p.header);
	return rc;
}

static int
jwt_check_hmac(const struct jwt_parts *p, const EVP_MD *md, const char *secret)
{
	unsigned char mac[EVP_MAX_MD_SIZE], given[EVP_MAX_MD_SIZE];
	size_t maclen;
	long n;

	if ((maclen = jwt_hmac_of(md, secret, (const unsigned char *)p->token, p->signed_len,
	    mac)) == 0)
		return -1;
	n = b64url_decode(p->sig, strlen(p->sig), given, sizeof(given));
	return n == (long)maclen && timingsafe_equal(mac, given, maclen) ? 0 : -1;
}

static int
jwt_check_rsa(const struct jwt_parts *p, const EVP_MD *md, EVP_PKEY *key)
{
	unsigned char sig[JWT_SIG_MAX];
	EVP_MD_CTX *ctx;
	long n;
	int ok;

	n = b64url_decode(p->sig, strlen(p->sig), sig, sizeof(sig));
	if (n <= 0 || n != EVP_PKEY_get_size(key) || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)p->token,
	    p->signed_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* JOSE's fixed-size r||s to the DER ECDSA-Sig-Value OpenSSL verifies; its length, or -1. */
static int
jwt_es256_der(const unsigned char raw[JWT_ES256_SIG_LEN], unsigned char **der)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, JWT_ES256_SIG_LEN / 2, NULL);
	BIGNUM *s = BN_bin2bn(raw + JWT_ES256_SIG_LEN / 2, JWT_ES256_SIG_LEN / 2, NULL);
	int n = -1;

	*der = NULL;
	if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
		r = s = NULL;	/* owned by sig now */
		n = i2d_ECDSA_SIG(sig, der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return n;
}

static int
jwt_check_ec(const struct jwt_parts *p, EVP_PKEY *key)
{
	unsigned char raw[JWT_ES256_SIG_LEN + 1], *der = NULL;
	EVP_MD_CTX *ctx = NULL;
	long n;
	int len, ok = 0;

	n = b64url_decode(p->sig, strlen(p->sig), raw, sizeof(raw));
	if (n != JWT_ES256_SIG_LEN || (len = jwt_es256_der(raw, &der)) <= 0)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) != NULL)
		ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
		    EVP_DigestVerify(ctx, der, (size_t)len, (const unsigned char *)p->token,
		    p->signed_len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

/* The key of the algorithm's family, never another one. */
static int
jwt_check_signature(const struct jwt_parts *p, enum jwt_alg alg, const struct jwt_keys *keys,
    const char **reason)
{
	const EVP_MD *md = jwt_digest(alg);

	if (alg == JWT_ALG_ES256) {
		if (keys->ec == NULL || !EVP_PKEY_is_a(keys->ec, "EC") ||
		    EVP_PKEY_get_bits(keys->ec) != 256)
			return *reason = "no P-256 key for this token", -1;
		if (jwt_check_ec(p, keys->ec) == -1)
			return *reason = "bad token signature", -1;
		return 0;
	}
	if (alg == JWT_ALG_RS256) {
		if (keys->rsa == NULL || !EVP_PKEY_is_a(keys->rsa, "RSA"))
			return *reason = "no RSA key for this token", -1;
		if (jwt_check_rsa(p, md, keys->rsa) == -1)
			return *reason = "bad token signature", -1;
		return 0;
	}
	if (keys->secret == NULL || keys->secret[0] == '\0')
		return *reason = "HS tokens are not accepted here", -1;
	if (jwt_check_hmac(p, md, keys->secret) == -1)
		return *reason = "bad token signature", -1;
	return 0;
}

static int
jwt_is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int
jwt_check_times(json_object *claims, long long now, int skew, const char **reason)
{
	json_object *v;

	if (json_object_object_get_ex(claims, "exp", &v) &&
	    (!jwt_is_number(v) || json_object_get_int64(v) <= now - skew))
		return *reason = "token expired", -1;
	if (json_object_object_get_ex(claims, "nbf", &v) &&
	    (!jwt_is_number(v) || json_object_get_int64(v) > now + skew))
		return *reason = "token not yet valid", -1;
	return 0;
}

static int
jwt_aud_contains(json_object *aud, const char *audience)
{
	size_t n;

	if (json_object_is_type(aud, json_type_string))
		return strcmp(json_object_get_string(aud), audience) == 0;
	if (!json_object_is_type(aud, json_type_array))
		return 0;
	n = json_object_array_length(aud);
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(aud, i);

		if (json_object_is_type(item, json_type_string) &&
		    strcmp(json_object_get_string(item), audience) == 0)
			return 1;
	}
	return 0;
}

static int
jwt_check_iss_aud(json_object *claims, const struct jwt_expect *expect, const char **reason)
{
	json_object *v;

	if (expect->issuer != NULL && expect->issuer[0] != '\0' &&
	    (!json_object_object_get_ex(claims, "iss", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), expect->issuer) != 0))
		return *reason = "token issuer is not the configured one", -1;
	if (expect->audience != NULL && expect->audience[0] != '\0' &&
	    (!json_object_object_get_ex(claims, "aud", &v) ||
	    !jwt_aud_contains(v, expect->audience)))
		return *reason = "token audience does not include the configured one", -1;
	return 0;
}

static int
jwt_check_claims(json_object *claims, const struct jwt_expect *expect, int skew,
    char sub[JWT_SUB_MAX], const char **reason)
{
	json_object *v;
	const char *s;

	if (jwt_check_times(claims, expect->now, skew, reason) == -1 ||
	    jwt_check_iss_aud(claims, expect, reason) == -1)
		return -1;
	if (!json_object_object_get_ex(claims, "sub", &v) ||
	    !json_object_is_type(v, json_type_string))
		return *reason = "token has no subject", -1;
	s = json_object_get_string(v);
	if (s[0] == '\0' || strlen(s) >= JWT_SUB_MAX)
		return *reason = "token subject is empty or too long", -1;
	strcpy(sub, s);
	return 0;
}

int
jwt_verify(const char *token, const struct jwt_keys *keys, const struct jwt_expect *expect,
    char sub[JWT_SUB_MAX], const char **reason)
{
	return jwt_verify_ex(token, keys, expect, 0, sub, NULL, reason);
}

int
jwt_verify_ex(const char *token, const struct jwt_keys *keys, const struct jwt_expect *expect,
    int skew, char sub[JWT_SUB_MAX], json_object **claims_out, const char **reason)
{
	struct jwt_parts p;
	json_object *claims = NULL;
	enum jwt_alg alg;
	int rc = -1;

	if (claims_out != NULL)
		*claims_out = NULL;

	if (jwt_split(token, &p, reason) == -1)
		return -1;
	if ((alg = jwt_alg_of(p.header)) == JWT_ALG_REFUSED) {
		*reason = "token algorithm not accepted";
		goto out;
	}
	if (jwt_check_signature(&p, alg, keys, reason) == -1)
		goto out;
	if ((claims = jwt_decode_json(p.claims, p.claims_len)) == NULL) {
		*reason = "malformed token claims";
		goto out;
	}
	rc = jwt_check_claims(claims, expect, skew, sub, reason);
	if (rc == 0 && claims_out != NULL) {
		*claims_out = claims;
		claims = NULL;
	}
out:
	json_object_put(p.header);
	json_object_put(claims);
	return rc;
}

int
jwt_hs_verify(const char *token, const char *secret, long long now, char sub[JWT_SUB_MAX],
    const char **reason)
{
	struct jwt_keys keys = { .secret = secret };
	struct jwt_expect expect = { .now = now };

	return jwt_verify(token, &keys, &expect, sub, reason);
}
