/*
 * The user and tenant guards of the API child.
 *
 * User: a bearer JWT (HS256/384/512 with jwt_secret, RS256 with a key of the
 * JWKS named by the token's kid, iss/aud when configured), or in dev mode
 * only an X-Debug-Sub header.  An RS256 token whose key is being fetched
 * makes the request wait, not fail: the guards run again once the fetch ends.
 *
 * Tenant: version 1 headers (outside clients) or version 2 (the workers),
 * whose nonce is good once and whose user must be the token's subject.  On
 * the TCP listener, with api_tcp_require_tenant off, a request without
 * tenant headers passes; headers that are sent are always verified.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "api.h"
#include "http_headers.h"
#include "jwks.h"
#include "jwt.h"
#include "log.h"
#include "replay.h"
#include "tenant.h"
#include "token_cache.h"

static const char *
api_auth_header(struct api_req *r, const char *name)
{
	return http_header_get(evhttp_request_get_input_headers(r->req), name);
}

static void
api_auth_cancel_wait(void *wait)
{
	jwks_wait_cancel(wait);
}

static void
api_auth_on_keys(void *arg)
{
	struct api_req *r = arg;

	r->waiting = NULL;
	r->waiting_cancel = NULL;
	api_guard_run(r);
}

/* The RSA key for the token's kid: 0 found, 1 waiting for a fetch, -1 none. */
static int
api_auth_rsa_key(struct api_req *r, const char *kid, EVP_PKEY **key, const char **reason)
{
	struct jwks_wait *wait;

	if (r->ctx->jwks == NULL)
		return *reason = "RS256 token, but no jwks_url is configured", -1;
	if (kid[0] == '\0')
		return *reason = "RS256 token without a kid", -1;
	switch (jwks_lookup(r->ctx->jwks, kid, key, api_auth_on_keys, r, &wait)) {
	case JWKS_FOUND:
		return 0;
	case JWKS_WAIT:
		r->waiting = wait;
		r->waiting_cancel = api_auth_cancel_wait;
		return 1;
	case JWKS_UNKNOWN:
		break;
	}
	return *reason = "no key in the JWKS for the token's kid", -1;
}

/* A token that verified: remembered until its exp (token_cache.h). */
static void
api_auth_remember(const char *token, const char *sub, long long now, json_object *claims)
{
	json_object *exp;
	long long until = LLONG_MAX;

	if (json_object_object_get_ex(claims, "exp", &exp))
		until = json_object_get_int64(exp);
	token_cache_put(token, sub, now, until);
}

static int
api_auth_bearer(struct api_req *r, const char *token, const char **reason)
{
	const struct conf *cf = r->ctx->cf;
	struct jwt_keys keys = { .secret = cf->jwt_secret };
	struct jwt_expect expect = { cf->jwt_issuer, cf->jwt_audience, (long long)time(NULL) };
	char kid[JWT_KID_MAX];
	enum jwt_alg alg;
	json_object *claims;
	int rc;

	if (token_cache_get(token, expect.now, r->sub) == 0)
		return 0;
	if (jwt_peek(token, &alg, kid, reason) == -1)
		return -1;
	if (alg == JWT_ALG_RS256) {
		keys.secret = NULL;	/* the key type decides: never the secret for RS256 */
		if ((rc = api_auth_rsa_key(r, kid, &keys.rsa, reason)) != 0)
			return rc;
	}
	if (jwt_verify_ex(token, &keys, &expect, 0, r->sub, &claims, reason) == -1)
		return -1;
	api_auth_remember(token, r->sub, expect.now, claims);
	json_object_put(claims);
	return 0;
}

int
api_auth_user(struct api_req *r)
{
	const char *auth = api_auth_header(r, "Authorization"), *debug_sub;
	const char *reason = "no credentials";
	int rc;

	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		if ((rc = api_auth_bearer(r, auth + 7, &reason)) >= 0)
			return rc;
	} else if (r->ctx->cf->dev_mode &&
	    (debug_sub = api_auth_header(r, "X-Debug-Sub")) != NULL &&
	    debug_sub[0] != '\0' && strlen(debug_sub) < sizeof(r->sub)) {
		strcpy(r->sub, debug_sub);
		return 0;
	}
	log_cid(LOG_LEVEL_INFO, r->cid, "api: user refused: %s", reason);
	return -1;
}

const char *
api_request_method(struct api_req *r)
{
	switch (evhttp_request_get_command(r->req)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "OTHER";
	}
}

static int
api_auth_tenant_v2(struct api_req *r, const char *signature, const char **reason)
{
	struct tenant_v2 v2 = {
		.tenant_id = api_auth_header(r, "X-TB-Tenant-ID"),
		.timestamp = api_auth_header(r, "X-TB-Timestamp"),
		.nonce = api_auth_header(r, "X-TB-Nonce"),
		.method = api_request_method(r),
		.path = evhttp_request_get_uri(r->req),
		.body_sha256 = api_auth_header(r, "X-TB-Body-SHA256"),
		.user = api_auth_header(r, "X-TB-User"),
	};
	long long now = api_now_ms();

	if (tenant_v2_verify(r->ctx->tenant_key, r->ctx->cf->tenant_id, &v2, signature, r->body,
	    r->body_len, now, reason) == -1)
		return -1;
	switch (replay_check(r->ctx->replay, v2.nonce, atoll(v2.timestamp) +
	    TENANT_V2_WINDOW_MS + 1, now)) {
	case REPLAY_FRESH:
		break;
	case REPLAY_SEEN:
		return *reason = "v2 nonce already used: a replay", -1;
	case REPLAY_FULL:
		log_warnx("api: the replay cache is full: v2 requests refused until nonces expire");
		return *reason = "replay cache full", -1;
	case REPLAY_MALFORMED:
		return *reason = "malformed nonce", -1;
	}
	/* The worker's signed user and its backend token must name the same subject. */
	if (r->sub[0] != '\0' && strcmp(r->sub, v2.user) != 0)
		return *reason = "X-TB-User is not the token's subject", -1;
	return 0;
}

int
api_auth_tenant(struct api_req *r)
{
	const char *v2 = api_auth_header(r, "X-TB-Signature-V2"), *reason = NULL;
	int rc;

	if (r->via_tcp && !r->ctx->cf->api_tcp_require_tenant && v2 == NULL &&
	    api_auth_header(r, "X-TB-Tenant-ID") == NULL &&
	    api_auth_header(r, "X-TB-Signature") == NULL)
		return 0;
	if (v2 != NULL)
		rc = api_auth_tenant_v2(r, v2, &reason);
	else
		rc = tenant_v1_verify(r->ctx->cf->tenant_secret, r->ctx->cf->tenant_id,
		    api_auth_header(r, "X-TB-Tenant-ID"), api_auth_header(r, "X-TB-Timestamp"),
		    api_auth_header(r, "X-TB-Signature"), api_now_ms(), &reason);
	if (rc == 0)
		return 0;
	log_cid(LOG_LEVEL_INFO, r->cid, "api: tenant headers refused: %s", reason);
	return -1;
}
