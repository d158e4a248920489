/*
 * A JWKS: parsing (RSA signing keys to EVP_PKEYs) and the cache around one
 * fetch at a time through the event loop's HTTP client.  Waiters are called
 * when the fetch ends, successful or not, and simply ask again: the new set
 * answers them, or the refresh limits make the answer final.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "api_client.h"
#include "codec.h"
#include "jwks.h"
#include "jwt.h"
#include "log.h"

#define JWKS_MAX_KEYS		64
#define JWKS_MIN_RSA_BITS	2048
#define JWKS_B64_MAX		2048	/* a modulus of up to 8192 bits */
#define JWKS_EC_COORD		32	/* P-256 */

struct jwks_key {
	char		 kid[JWT_KID_MAX];
	EVP_PKEY	*pkey;
};

struct jwks_set {
	struct jwks_key	 keys[JWKS_MAX_KEYS];
	size_t		 count;
};

TAILQ_HEAD(jwks_wait_list, jwks_wait);

struct jwks_wait {
	TAILQ_ENTRY(jwks_wait)	 entry;
	struct jwks_wait_list	*list;		/* the one it is on */
	jwks_ready_fn		 ready;
	void			*arg;
};

struct jwks {
	struct api_client	*client;
	char			*path;		/* of the URL, after the client's base */
	struct api_call		*fetching;
	struct jwks_set		*set;
	struct jwks_wait_list	 waiters;	/* for the fetch under way */
	struct jwks_wait_list	 calling;	/* being called back: its fetch ended */
	/* Monotonic seconds of the last good fetch, the last fetch started, the last forced one. */
	long long		 fetched_at;
	long long		 attempted_at;
	long long		 forced_at;
};

static long long
jwks_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

static BIGNUM *
jwks_bignum(json_object *jwk, const char *name)
{
	unsigned char raw[JWKS_B64_MAX];
	json_object *v;
	const char *text;
	long n;

	if (!json_object_object_get_ex(jwk, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	text = json_object_get_string(v);
	if ((n = b64url_decode(text, strlen(text), raw, sizeof(raw))) <= 0)
		return NULL;
	return BN_bin2bn(raw, (int)n, NULL);
}

/* A coordinate of exactly JWKS_EC_COORD bytes, base64url. */
static int
jwks_coordinate(json_object *jwk, const char *name, unsigned char out[JWKS_EC_COORD])
{
	unsigned char raw[JWKS_EC_COORD + 1];
	json_object *v;
	const char *text;

	if (!json_object_object_get_ex(jwk, name, &v) || !json_object_is_type(v, json_type_string))
		return -1;
	text = json_object_get_string(v);
	if (b64url_decode(text, strlen(text), raw, sizeof(raw)) != JWKS_EC_COORD)
		return -1;
	memcpy(out, raw, JWKS_EC_COORD);
	return 0;
}

static EVP_PKEY *
jwks_rsa_key(json_object *jwk)
{
	BIGNUM *n = jwks_bignum(jwk, "n"), *e = jwks_bignum(jwk, "e");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (n == NULL || e == NULL || bld == NULL || BN_num_bits(n) < JWKS_MIN_RSA_BITS ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/* A P-256 public key from its x and y coordinates (RFC 7518 6.2.1). */
static EVP_PKEY *
jwks_ec_key(json_object *jwk)
{
	unsigned char pub[1 + 2 * JWKS_EC_COORD];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	char group[] = "prime256v1";

	pub[0] = 0x04;		/* uncompressed point */
	if (jwks_coordinate(jwk, "x", pub + 1) == -1 ||
	    jwks_coordinate(jwk, "y", pub + 1 + JWKS_EC_COORD) == -1)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* A string member equal to want; absent passes only when optional. */
static int
jwks_member_is(json_object *jwk, const char *name, const char *want, int optional)
{
	json_object *v;

	if (!json_object_object_get_ex(jwk, name, &v))
		return optional;
	return json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), want) == 0;
}

/* The key of an RSA or P-256 signing JWK; NULL for any other. */
static EVP_PKEY *
jwks_key_of(json_object *jwk)
{
	if (jwks_member_is(jwk, "kty", "RSA", 0) && jwks_member_is(jwk, "alg", "RS256", 1))
		return jwks_rsa_key(jwk);
	if (jwks_member_is(jwk, "kty", "EC", 0) && jwks_member_is(jwk, "crv", "P-256", 0) &&
	    jwks_member_is(jwk, "alg", "ES256", 1))
		return jwks_ec_key(jwk);
	return NULL;
}

static int
jwks_set_add(struct jwks_set *set, json_object *jwk)
{
	json_object *kid;
	struct jwks_key *key = &set->keys[set->count];

	if (!json_object_is_type(jwk, json_type_object) ||
	    !jwks_member_is(jwk, "use", "sig", 0) ||
	    !json_object_object_get_ex(jwk, "kid", &kid) ||
	    !json_object_is_type(kid, json_type_string) ||
	    json_object_get_string_len(kid) == 0 ||
	    json_object_get_string_len(kid) >= JWT_KID_MAX)
		return 0;
	if ((key->pkey = jwks_key_of(jwk)) == NULL)
		return 0;
	strcpy(key->kid, json_object_get_string(kid));
	set->count++;
	return 1;
}

struct jwks_set *
jwks_set_parse(const char *json, size_t len, const char **reason)
{
	json_tokener *tok = json_tokener_new();
	json_object *doc = NULL, *keys;
	struct jwks_set *set = NULL;
	size_t n;

	*reason = "not a JSON object with a \"keys\" array";
	if (tok != NULL)
		doc = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	if (doc == NULL || !json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array))
		goto out;
	if ((set = calloc(1, sizeof(*set))) == NULL)
		goto out;
	n = json_object_array_length(keys);
	for (size_t i = 0; i < n && set->count < JWKS_MAX_KEYS; i++)
		jwks_set_add(set, json_object_array_get_idx(keys, i));
	if (set->count == 0) {
		*reason = "no signing key (kid, and kty RSA of 2048 bits or more, or kty EC on "
		    "P-256)";
		jwks_set_free(set);
		set = NULL;
	}
out:
	json_object_put(doc);
	return set;
}

EVP_PKEY *
jwks_set_find(const struct jwks_set *set, const char *kid)
{
	if (set == NULL || kid[0] == '\0')
		return NULL;
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->keys[i].kid, kid) == 0)
			return set->keys[i].pkey;
	return NULL;
}

size_t
jwks_set_count(const struct jwks_set *set)
{
	return set != NULL ? set->count : 0;
}

void
jwks_set_free(struct jwks_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->count; i++)
		EVP_PKEY_free(set->keys[i].pkey);
	free(set);
}

static void
jwks_take(struct jwks *jw, const struct api_response *resp)
{
	struct jwks_set *set;
	const char *reason;

	if (resp->status == 0) {
		log_warnx("jwks: fetch failed: %s", resp->error);
		return;
	}
	if (resp->status != 200) {
		log_warnx("jwks: fetch failed: HTTP status %ld", resp->status);
		return;
	}
	if ((set = jwks_set_parse(resp->body, resp->body_len, &reason)) == NULL) {
		log_warnx("jwks: the fetched set is unusable: %s", reason);
		return;
	}
	jwks_set_free(jw->set);
	jw->set = set;
	jw->fetched_at = jwks_now();
	log_info("jwks: %zu signing key(s) loaded", set->count);
}

static void
jwks_on_fetched(const struct api_response *resp, void *arg)
{
	struct jwks *jw = arg;
	struct jwks_wait *w;

	jw->fetching = NULL;
	jwks_take(jw, resp);
	/*
	 * Waiters may ask again (and wait again) from their callbacks, and
	 * cancel others: call them from a list of their own, each taken off
	 * it before its call.
	 */
	TAILQ_CONCAT(&jw->calling, &jw->waiters, entry);
	TAILQ_FOREACH(w, &jw->calling, entry)
		w->list = &jw->calling;
	while ((w = TAILQ_FIRST(&jw->calling)) != NULL) {
		TAILQ_REMOVE(&jw->calling, w, entry);
		w->ready(w->arg);
		free(w);
	}
}

static void
jwks_fetch(struct jwks *jw)
{
	struct api_request req = { .method = "GET", .path = jw->path };

	jw->attempted_at = jwks_now();
	if ((jw->fetching = api_client_send(jw->client, &req, jwks_on_fetched, jw)) == NULL)
		log_warnx("jwks: cannot start a fetch: out of memory");
}

/* "https://host/a/b" to the client's base "https://host" and the path "/a/b". */
static int
jwks_split_url(const char *url, char **base, char **path)
{
	const char *scheme_end = strstr(url, "://"), *slash;

	if (scheme_end == NULL)
		return -1;
	slash = strchr(scheme_end + 3, '/');
	*base = slash != NULL ? strndup(url, (size_t)(slash - url)) : strdup(url);
	*path = strdup(slash != NULL ? slash : "/");
	return *base != NULL && *path != NULL ? 0 : -1;
}

struct jwks *
jwks_new(struct event_base *base, const char *url, int timeout_ms)
{
	struct jwks *jw = calloc(1, sizeof(*jw));
	char *prefix = NULL;

	if (jw == NULL)
		return NULL;
	TAILQ_INIT(&jw->waiters);
	TAILQ_INIT(&jw->calling);
	if (jwks_split_url(url, &prefix, &jw->path) == -1 ||
	    (jw->client = api_client_new_url(base, prefix, "JWKS", timeout_ms)) == NULL) {
		free(prefix);
		jwks_free(jw);
		return NULL;
	}
	free(prefix);
	/* The first unknown kid may force a refresh at once. */
	jw->forced_at = jwks_now() - JWKS_FORCED_MIN_SEC;
	jwks_fetch(jw);
	return jw;
}

void
jwks_free(struct jwks *jw)
{
	struct jwks_wait *w;

	if (jw == NULL)
		return;
	while ((w = TAILQ_FIRST(&jw->waiters)) != NULL) {
		TAILQ_REMOVE(&jw->waiters, w, entry);
		free(w);
	}
	while ((w = TAILQ_FIRST(&jw->calling)) != NULL) {
		TAILQ_REMOVE(&jw->calling, w, entry);
		free(w);
	}
	api_client_free(jw->client);	/* cancels the fetch */
	jwks_set_free(jw->set);
	free(jw->path);
	free(jw);
}

static enum jwks_answer
jwks_wait_for_fetch(struct jwks *jw, jwks_ready_fn ready, void *arg, struct jwks_wait **wait)
{
	struct jwks_wait *w;

	if (jw->fetching == NULL)
		jwks_fetch(jw);
	if (jw->fetching == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return JWKS_UNKNOWN;
	w->list = &jw->waiters;
	w->ready = ready;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&jw->waiters, w, entry);
	*wait = w;
	return JWKS_WAIT;
}

enum jwks_answer
jwks_lookup(struct jwks *jw, const char *kid, EVP_PKEY **key, jwks_ready_fn ready, void *arg,
    struct jwks_wait **wait)
{
	long long now = jwks_now();
	int stale = jw->set == NULL || now - jw->fetched_at >= JWKS_TTL_SEC;

	*key = NULL;
	*wait = NULL;
	if (jw->fetching != NULL)
		return jwks_wait_for_fetch(jw, ready, arg, wait);
	if (stale && now - jw->attempted_at >= JWKS_RETRY_SEC)
		return jwks_wait_for_fetch(jw, ready, arg, wait);
	/* A stale set whose refresh just failed still serves: better than refusing everyone. */
	if ((*key = jwks_set_find(jw->set, kid)) != NULL)
		return JWKS_FOUND;
	if (kid[0] == '\0' || now - jw->forced_at < JWKS_FORCED_MIN_SEC)
		return JWKS_UNKNOWN;
	jw->forced_at = now;
	return jwks_wait_for_fetch(jw, ready, arg, wait);
}

void
jwks_wait_cancel(struct jwks_wait *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(w->list, w, entry);
	free(w);
}
