/*
 * A request whose token names a key the JWKS cache does not hold yet waits
 * for the fetch (jwks.h) on a list of its own, and is tried again when the
 * fetch ends.  libevent keeps an unanswered request alive when its client
 * leaves (it only loses its connection), so a waiting request is always
 * answered, if only to be freed.
 */
#include "config.h"

#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "dispatch.h"
#include "http_headers.h"
#include "jwks.h"
#include "jwt.h"
#include "keys.h"
#include "log.h"
#include "mcp_auth.h"
#include "oauth_metadata.h"

#define CHALLENGE_MAX	2048

/* A request waiting for the JWKS. */
struct auth_wait {
	TAILQ_ENTRY(auth_wait)	 entry;
	struct mcp_auth		*auth;
	struct evhttp_request	*req;
	struct jwks_wait	*wait;
	char			*token;
	char			 kid[JWT_KID_MAX];
	mcp_auth_done_fn	 done;
	void			*arg;
};

TAILQ_HEAD(auth_wait_list, auth_wait);

struct mcp_auth {
	const struct conf	*cf;
	struct keys		*keys;
	struct jwks		*jwks;		/* NULL: RS256 and ES256 refused */
	struct auth_wait_list	 waiting;
};

struct mcp_auth *
mcp_auth_new(struct event_base *base, const struct conf *cf, char *err, size_t cap)
{
	struct mcp_auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		fatal("mcp_auth_new");
	a->cf = cf;
	TAILQ_INIT(&a->waiting);
	if ((a->keys = keys_load(cf->api_keys_file, err, cap)) == NULL) {
		free(a);
		return NULL;
	}
	if (cf->mcp_jwks_url[0] != '\0' &&
	    (a->jwks = jwks_new(base, cf->mcp_jwks_url, cf->api_timeout_ms)) == NULL) {
		snprintf(err, cap, "mcp_jwks_url %s: cannot set up its fetch", cf->mcp_jwks_url);
		mcp_auth_free(a);
		return NULL;
	}
	return a;
}

static void
auth_wait_free(struct auth_wait *w)
{
	free(w->token);
	free(w);
}

void
mcp_auth_free(struct mcp_auth *a)
{
	struct auth_wait *w;

	if (a == NULL)
		return;
	while ((w = TAILQ_FIRST(&a->waiting)) != NULL) {
		TAILQ_REMOVE(&a->waiting, w, entry);
		jwks_wait_cancel(w->wait);
		auth_wait_free(w);
	}
	jwks_free(a->jwks);
	keys_free(a->keys);
	free(a);
}

/* ---- answers ---- */

static void
auth_send(struct evhttp_request *req, int status, const char *challenge, const char *message)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	json_object *msg = json_object_new_string(message);

	evhttp_add_header(headers, "WWW-Authenticate", challenge);
	evhttp_add_header(headers, "Content-Type", "application/json");
	evbuffer_add_printf(evhttp_request_get_output_buffer(req),
	    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":%s},\"id\":null}",
	    json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
	json_object_put(msg);
	evhttp_send_reply(req, status, NULL, NULL);
}

/* 401: no usable credentials; token_sent adds error="invalid_token" (RFC 6750 3.1). */
static void
auth_refuse(struct mcp_auth *a, struct evhttp_request *req, int token_sent, const char *why)
{
	char url[1024], challenge[CHALLENGE_MAX];

	if (token_sent)
		log_info("worker: client token refused: %s", why);
	oauth_metadata_url(a->cf, req, url, sizeof(url));
	snprintf(challenge, sizeof(challenge), "Bearer resource_metadata=\"%s\"%s", url,
	    token_sent ? ", error=\"invalid_token\"" : "");
	auth_send(req, 401, challenge, token_sent ? "Unauthorized: invalid token" :
	    "Unauthorized: a bearer token is required");
}

/* 403: a valid token that does not grant what this server requires. */
static void
auth_forbid(struct mcp_auth *a, struct evhttp_request *req, const char *sub, int scope)
{
	char url[1024], challenge[CHALLENGE_MAX];

	log_info("worker: subject %s refused: %s", sub, scope ? "insufficient scope" :
	    "email domain not allowed");
	oauth_metadata_url(a->cf, req, url, sizeof(url));
	if (scope)
		snprintf(challenge, sizeof(challenge), "Bearer error=\"insufficient_scope\", "
		    "scope=\"%s\", resource_metadata=\"%s\"", a->cf->mcp_required_scopes, url);
	else
		snprintf(challenge, sizeof(challenge), "Bearer resource_metadata=\"%s\"", url);
	auth_send(req, 403, challenge, scope ? "Forbidden: insufficient scope" :
	    "Forbidden: this account's email domain is not allowed here");
}

/* ---- the claims beyond jwt.h's ---- */

/* Whether word is one of the space-separated words of list (or of a JSON array). */
static int
auth_has_word(json_object *list, const char *word, size_t len)
{
	const char *s;
	size_t n;

	if (json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(list); i++)
			if (auth_has_word(json_object_array_get_idx(list, i), word, len))
				return 1;
		return 0;
	}
	if (!json_object_is_type(list, json_type_string))
		return 0;
	for (s = json_object_get_string(list); *s != '\0'; s += n) {
		s += strspn(s, " ");
		n = strcspn(s, " ");
		if (n == len && strncmp(s, word, len) == 0)
			return 1;
	}
	return 0;
}

/* Every required scope is in the token's "scope" (space-separated) or "scp" claim. */
static int
auth_scopes_ok(const struct conf *cf, json_object *claims)
{
	json_object *scope = NULL, *scp = NULL;
	const char *want = cf->mcp_required_scopes;
	size_t n;

	json_object_object_get_ex(claims, "scope", &scope);
	json_object_object_get_ex(claims, "scp", &scp);
	for (; *want != '\0'; want += n) {
		want += strspn(want, " ,");
		if ((n = strcspn(want, " ,")) > 0 && !auth_has_word(scope, want, n) &&
		    !auth_has_word(scp, want, n))
			return 0;
	}
	return 1;
}

static int
auth_domain_listed(const struct conf *cf, const char *domain)
{
	const char *list = cf->mcp_allowed_email_domains;
	size_t n, len = strlen(domain);

	for (; *list != '\0'; list += n) {
		list += strspn(list, " ,");
		n = strcspn(list, " ,");
		if (n > 0 && n == len && strncasecmp(list, domain, n) == 0)
			return 1;
	}
	return 0;
}

/* No list, or a verified email in a listed domain, or a listed hosted domain (hd). */
static int
auth_domain_ok(const struct conf *cf, json_object *claims)
{
	json_object *v;
	const char *at;

	if (cf->mcp_allowed_email_domains[strspn(cf->mcp_allowed_email_domains, " ,")] == '\0')
		return 1;
	if (json_object_object_get_ex(claims, "hd", &v) && json_object_is_type(v, json_type_string) &&
	    auth_domain_listed(cf, json_object_get_string(v)))
		return 1;
	if (json_object_object_get_ex(claims, "email_verified", &v) &&
	    json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v))
		return 0;
	return json_object_object_get_ex(claims, "email", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (at = strrchr(json_object_get_string(v), '@')) != NULL &&
	    auth_domain_listed(cf, at + 1);
}

/*
 * The subject goes into headers and tokens of the calls to the API child:
 * no spaces (the anonymous subject has one) and no control characters.
 */
static int
auth_subject_ok(const char *sub)
{
	for (const unsigned char *p = (const unsigned char *)sub; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* ---- JWTs ---- */

static void
auth_verify(struct mcp_auth *a, struct evhttp_request *req, const char *token,
    const struct jwt_keys *keys, mcp_auth_done_fn done, void *arg)
{
	const struct conf *cf = a->cf;
	struct jwt_expect expect = { cf->mcp_jwt_issuer, cf->mcp_resource_url,
	    (long long)time(NULL) };
	char sub[JWT_SUB_MAX];
	json_object *claims;
	const char *reason;

	if (jwt_verify_ex(token, keys, &expect, cf->mcp_jwt_leeway_sec, sub, &claims,
	    &reason) == -1) {
		auth_refuse(a, req, 1, reason);
		return;
	}
	if (!auth_subject_ok(sub))
		auth_refuse(a, req, 1, "token subject has spaces or control characters");
	else if (!auth_scopes_ok(cf, claims))
		auth_forbid(a, req, sub, 1);
	else if (!auth_domain_ok(cf, claims))
		auth_forbid(a, req, sub, 0);
	else
		done(req, sub, arg);
	json_object_put(claims);
}

static void auth_on_jwks(void *);

/* Look the token's key up; w is freed unless it waits for a fetch. */
static void
auth_try_jwks(struct auth_wait *w)
{
	struct mcp_auth *a = w->auth;
	struct jwt_keys keys = { .secret = NULL };
	EVP_PKEY *key;

	switch (jwks_lookup(a->jwks, w->kid, &key, auth_on_jwks, w, &w->wait)) {
	case JWKS_WAIT:
		TAILQ_INSERT_TAIL(&a->waiting, w, entry);
		return;
	case JWKS_FOUND:
		/* jwt.h verifies with the key of the token's algorithm's kind only */
		keys.rsa = keys.ec = key;
		auth_verify(a, w->req, w->token, &keys, w->done, w->arg);
		break;
	case JWKS_UNKNOWN:
		auth_refuse(a, w->req, 1, "the token's key id is not in the JWKS");
		break;
	}
	auth_wait_free(w);
}

static void
auth_on_jwks(void *arg)
{
	struct auth_wait *w = arg;

	TAILQ_REMOVE(&w->auth->waiting, w, entry);
	w->wait = NULL;
	if (evhttp_request_get_connection(w->req) == NULL) {
		/* the client left while the keys were fetched: this frees the request */
		evhttp_send_reply(w->req, 401, NULL, NULL);
		auth_wait_free(w);
		return;
	}
	auth_try_jwks(w);
}

static void
auth_jwt(struct mcp_auth *a, struct evhttp_request *req, const char *token,
    mcp_auth_done_fn done, void *arg)
{
	struct jwt_keys keys = { .secret = a->cf->mcp_jwt_secret };
	struct auth_wait *w;
	char kid[JWT_KID_MAX];
	enum jwt_alg alg;
	const char *reason;

	if (jwt_peek(token, &alg, kid, &reason) == -1) {
		auth_refuse(a, req, 1, reason);
		return;
	}
	if (alg != JWT_ALG_RS256 && alg != JWT_ALG_ES256) {
		auth_verify(a, req, token, &keys, done, arg);	/* HS*: the secret, or refused */
		return;
	}
	if (a->jwks == NULL) {
		auth_refuse(a, req, 1, "RS256/ES256 token, but no mcp_jwks_url is configured");
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL || (w->token = strdup(token)) == NULL)
		fatal("auth_jwt");
	w->auth = a;
	w->req = req;
	w->done = done;
	w->arg = arg;
	memcpy(w->kid, kid, sizeof(w->kid));
	auth_try_jwks(w);
}

/* Authorization headers of req: a second one would leave it unclear who the client is. */
static int
auth_header_count(struct evhttp_request *req)
{
	struct evkeyval *h;
	int n = 0;

	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
		n += strcasecmp(h->key, "Authorization") == 0;
	return n;
}

/* 400 invalid_request (RFC 6750 3.1): the request repeats the credentials. */
static void
auth_bad_request(struct mcp_auth *a, struct evhttp_request *req)
{
	char url[1024], challenge[CHALLENGE_MAX];

	oauth_metadata_url(a->cf, req, url, sizeof(url));
	snprintf(challenge, sizeof(challenge), "Bearer resource_metadata=\"%s\", "
	    "error=\"invalid_request\"", url);
	auth_send(req, 400, challenge, "Bad Request: send one Authorization header");
}

void
mcp_auth_request(struct mcp_auth *a, struct evhttp_request *req, mcp_auth_done_fn done,
    void *arg)
{
	const char *auth = http_header_get(evhttp_request_get_input_headers(req),
	    "Authorization");
	const char *token, *subject;

	if (auth_header_count(req) > 1) {
		auth_bad_request(a, req);
		return;
	}
	if (auth == NULL && a->cf->mcp_conformance_fixtures) {
		done(req, MCP_ANONYMOUS, arg);	/* the conformance suite sends no token */
		return;
	}
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		auth_refuse(a, req, 0, NULL);
		return;
	}
	token = auth + 7 + strspn(auth + 7, " ");
	if ((subject = keys_lookup(a->keys, token)) != NULL)
		done(req, subject, arg);
	else if (strchr(token, '.') != NULL)
		auth_jwt(a, req, token, done, arg);
	else
		auth_refuse(a, req, 1, "not a known static key");
}
