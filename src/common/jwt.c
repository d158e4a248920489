/*
 * Only HMAC algorithms are accepted here, chosen from the token's header but
 * always keyed with the configured secret: "none" and every asymmetric name are
 * refused before any key is touched, which rules out algorithm confusion.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "jwt.h"

#define JWT_MAX_LEN 8192

static const EVP_MD *
jwt_hs_digest(const char *alg)
{
	if (strcmp(alg, "HS256") == 0)
		return EVP_sha256();
	if (strcmp(alg, "HS384") == 0)
		return EVP_sha384();
	if (strcmp(alg, "HS512") == 0)
		return EVP_sha512();
	return NULL;
}

int
jwt_hs256_mint(const char *secret, const char *sub, long long now, int ttl, char *out, size_t cap)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char claims[512], part[1024];
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	size_t n;
	json_object *jsub = json_object_new_string(sub);

	snprintf(claims, sizeof(claims), "{\"sub\":%s,\"iat\":%lld,\"exp\":%lld}",
	    json_object_to_json_string_ext(jsub, JSON_C_TO_STRING_PLAIN), now, now + ttl);
	json_object_put(jsub);
	n = b64url_encode((const unsigned char *)header, strlen(header), out, cap);
	if (n + 2 >= cap)
		return -1;
	out[n++] = '.';
	n += b64url_encode((const unsigned char *)claims, strlen(claims), out + n, cap - n);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out, n, mac, &maclen);
	b64url_encode(mac, maclen, part, sizeof(part));
	if (n + strlen(part) + 2 > cap)
		return -1;
	out[n++] = '.';
	strcpy(out + n, part);
	return (int)(n + strlen(part));
}

static json_object *
jwt_decode_json(const char *part, size_t len)
{
	unsigned char buf[JWT_MAX_LEN];
	long n = b64url_decode(part, len, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return json_tokener_parse((const char *)buf);
}

static int
jwt_check_signature(const char *token, size_t signed_len, const char *sig, const EVP_MD *md,
    const char *secret)
{
	unsigned char mac[EVP_MAX_MD_SIZE], given[EVP_MAX_MD_SIZE];
	unsigned int maclen = sizeof(mac);
	long n;

	HMAC(md, secret, (int)strlen(secret), (const unsigned char *)token, signed_len, mac, &maclen);
	n = b64url_decode(sig, strlen(sig), given, sizeof(given));
	return n == (long)maclen && timingsafe_equal(mac, given, maclen) ? 0 : -1;
}

static int
jwt_check_claims(json_object *claims, long long now, char sub[JWT_SUB_MAX], const char **reason)
{
	json_object *v;
	const char *s;

	if (json_object_object_get_ex(claims, "exp", &v) && json_object_get_int64(v) <= now)
		return *reason = "token expired", -1;
	if (json_object_object_get_ex(claims, "nbf", &v) && json_object_get_int64(v) > now)
		return *reason = "token not yet valid", -1;
	if (!json_object_object_get_ex(claims, "sub", &v) || !json_object_is_type(v, json_type_string))
		return *reason = "token has no subject", -1;
	s = json_object_get_string(v);
	if (s[0] == '\0' || strlen(s) >= JWT_SUB_MAX)
		return *reason = "token subject is empty or too long", -1;
	strcpy(sub, s);
	return 0;
}

int
jwt_hs_verify(const char *token, const char *secret, long long now, char sub[JWT_SUB_MAX],
    const char **reason)
{
	const char *dot1, *dot2;
	json_object *header = NULL, *claims = NULL, *alg;
	const EVP_MD *md;
	int rc = -1;

	*reason = "malformed token";
	if (strlen(token) > JWT_MAX_LEN || (dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || strchr(dot2 + 1, '.') != NULL)
		return -1;
	if ((header = jwt_decode_json(token, (size_t)(dot1 - token))) == NULL ||
	    !json_object_is_type(header, json_type_object))
		goto out;
	if (!json_object_object_get_ex(header, "alg", &alg) ||
	    (md = jwt_hs_digest(json_object_get_string(alg))) == NULL) {
		*reason = "token algorithm not accepted";
		goto out;
	}
	if (jwt_check_signature(token, (size_t)(dot2 - token), dot2 + 1, md, secret) == -1) {
		*reason = "bad token signature";
		goto out;
	}
	claims = jwt_decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (claims == NULL || !json_object_is_type(claims, json_type_object))
		goto out;
	rc = jwt_check_claims(claims, now, sub, reason);
out:
	json_object_put(header);
	json_object_put(claims);
	return rc;
}
