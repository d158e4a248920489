#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "http_link.h"
#include "backend.h"
#include "jwt.h"
#include "log.h"
#include "tenant.h"

#define BACKEND_TOKEN_TTL_SEC	60
#define BACKEND_TOKEN_REUSE_SEC	(BACKEND_TOKEN_TTL_SEC / 2)	/* then a fresh one */
#define SESSION_REUSE_SEC	(25 * 60)	/* the API's sessions live 30 minutes */
#define SESSION_BUCKETS		256
#define SESSION_CACHE_MAX	10000

struct user_session {
	struct user_session	*next;
	char			*subject;
	char			 id[64];	/* "": no session open */
	int			 epoch;
	time_t			 expires;
	char			*token;		/* the user's backend token; NULL: none yet */
	time_t			 token_renew;	/* when to mint the next one */
};

struct backend {
	const struct conf	*cf;
	struct http_link	*api;
	struct tenant_key	*tenant_key;	/* version 2 tenant headers */
	struct user_session	*buckets[SESSION_BUCKETS];
	size_t			 cached;
};

enum call_phase { PHASE_SESSION, PHASE_REQUEST };

struct backend_call {
	struct backend		*be;
	struct http_link_call		*inflight;
	enum call_phase		 phase;
	int			 session_retries;
	int			 epoch_retries;
	char			*subject, *cid, *method, *path, *body, *if_match;
	api_done_fn		 done;
	void			*arg;
};

static unsigned int
backend_hash(const char *s)
{
	unsigned int h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h % SESSION_BUCKETS;
}

static struct user_session *
backend_session_find(struct backend *be, const char *subject)
{
	struct user_session *s = be->buckets[backend_hash(subject)];

	while (s != NULL && strcmp(s->subject, subject) != 0)
		s = s->next;
	return s;
}

static void
backend_sessions_clear(struct backend *be)
{
	for (int i = 0; i < SESSION_BUCKETS; i++) {
		while (be->buckets[i] != NULL) {
			struct user_session *s = be->buckets[i];

			be->buckets[i] = s->next;
			free(s->subject);
			free(s->token);
			free(s);
		}
	}
	be->cached = 0;
}

static struct user_session *
backend_session_store(struct backend *be, const char *subject)
{
	struct user_session *s = backend_session_find(be, subject);
	unsigned int h;

	if (s != NULL)
		return s;
	if (be->cached >= SESSION_CACHE_MAX)
		backend_sessions_clear(be);	/* rare; sessions are reopened on demand */
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->subject = strdup(subject)) == NULL)
		fatal("backend_session_store");
	h = backend_hash(subject);
	s->next = be->buckets[h];
	be->buckets[h] = s;
	be->cached++;
	return s;
}

struct backend *
backend_new(const struct conf *cf, struct http_link *api)
{
	struct backend *be = calloc(1, sizeof(*be));

	if (be == NULL)
		fatal("backend_new");
	be->cf = cf;
	be->api = api;
	if ((be->tenant_key = tenant_key_new(cf->tenant_secret)) == NULL)
		fatalx("backend_new: cannot key HMAC-SHA256");
	return be;
}

void
backend_free(struct backend *be)
{
	if (be == NULL)
		return;
	backend_sessions_clear(be);
	tenant_key_free(be->tenant_key);
	free(be);
}

static void backend_on_response(const struct api_response *, void *);

/*
 * The user's backend token, minted anew only when half its life is gone: the
 * API child then verifies each token once (it remembers those it verified),
 * and a token sent near the end of its reuse still has 30 s to live.
 */
static const char *
backend_token(const struct conf *cf, struct user_session *s, const char *subject,
    time_t now)
{
	struct jwt_expect claims = { cf->jwt_issuer, cf->jwt_audience, (long long)now };
	char token[1024];

	if (s->token != NULL && now < s->token_renew && now >= s->token_renew -
	    BACKEND_TOKEN_REUSE_SEC)
		return s->token;
	free(s->token);
	s->token = NULL;
	if (jwt_hs256_mint(cf->jwt_secret, subject, &claims, BACKEND_TOKEN_TTL_SEC, token,
	    sizeof(token)) == -1)
		return "";	/* a subject too long for a token: the API child says 401 */
	if ((s->token = strdup(token)) == NULL)
		fatal("backend_token");
	s->token_renew = now + BACKEND_TOKEN_REUSE_SEC;
	return s->token;
}

/*
 * Headers of every call: backend token, version 2 tenant headers (bound to
 * this method, path, body and user, with a fresh nonce: a retry is signed
 * anew), correlation, session.
 */
static void
backend_dispatch(struct backend_call *c, const char *method, const char *path, const char *body)
{
	char auth[1200], tenant[300], ts[64], sig[300], cid[200], session[120], epoch[40];
	char if_match[64];
	char user[JWT_SUB_MAX + 16], nonce_h[64], digest_h[128];
	char signature[TENANT_SIGNATURE_LEN + 1], now_ms[24];
	char nonce[TENANT_NONCE_LEN + 1], digest[TENANT_SHA256_LEN + 1];
	const char *headers[12] = { auth, tenant, ts, sig, cid, user, nonce_h, digest_h, NULL };
	const struct conf *cf = c->be->cf;
	struct user_session *s = backend_session_store(c->be, c->subject);
	struct api_request req = { .method = method, .path = path, .body = body,
	    .body_len = body != NULL ? strlen(body) : 0, .headers = headers };
	struct tenant_v2 v2 = { cf->tenant_id, now_ms, nonce, method, path, digest, c->subject };
	struct timespec now;
	const char *token;

	clock_gettime(CLOCK_REALTIME, &now);
	token = backend_token(cf, s, c->subject, now.tv_sec);
	snprintf(now_ms, sizeof(now_ms), "%lld", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	tenant_nonce_new(nonce);
	tenant_sha256_hex(body != NULL ? body : "", req.body_len, digest);
	tenant_v2_sign(c->be->tenant_key, &v2, signature);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	snprintf(tenant, sizeof(tenant), "X-TB-Tenant-ID: %s", cf->tenant_id);
	snprintf(ts, sizeof(ts), "X-TB-Timestamp: %s", now_ms);
	snprintf(sig, sizeof(sig), "X-TB-Signature-V2: %s", signature);
	snprintf(cid, sizeof(cid), "X-Correlation-ID: %s", c->cid);
	snprintf(user, sizeof(user), "X-TB-User: %s", c->subject);
	snprintf(nonce_h, sizeof(nonce_h), "X-TB-Nonce: %s", nonce);
	snprintf(digest_h, sizeof(digest_h), "X-TB-Body-SHA256: %s", digest);
	if (c->phase == PHASE_REQUEST && s->id[0] != '\0') {
		snprintf(session, sizeof(session), "X-Sync-Session: %s", s->id);
		snprintf(epoch, sizeof(epoch), "X-Sync-Epoch: %d", s->epoch);
		headers[8] = session;
		headers[9] = epoch;
		if (c->if_match != NULL && c->if_match[0] != '\0') {
			snprintf(if_match, sizeof(if_match), "If-Match: %s", c->if_match);
			headers[10] = if_match;
		}
	}
	c->inflight = http_link_send(c->be->api, &req, backend_on_response, c);
	if (c->inflight == NULL)
		fatalx("backend: http_link_send");
}

static void
backend_start_phase(struct backend_call *c)
{
	struct user_session *s = backend_session_find(c->be, c->subject);

	if (s != NULL && s->id[0] != '\0' && s->expires > time(NULL)) {
		c->phase = PHASE_REQUEST;
		backend_dispatch(c, c->method, c->path, c->body);
	} else {
		c->phase = PHASE_SESSION;
		backend_dispatch(c, "POST", "/v1/sync/sessions", NULL);
	}
}

static void
backend_call_free(struct backend_call *c)
{
	free(c->subject);
	free(c->cid);
	free(c->method);
	free(c->path);
	free(c->body);
	free(c->if_match);
	free(c);
}

static void
backend_finish(struct backend_call *c, const struct api_response *resp)
{
	c->done(resp, c->arg);
	backend_call_free(c);
}

/* 201 from POST /v1/sync/sessions: remember {id, epoch} for this user. */
static int
backend_take_session(struct backend_call *c, const struct api_response *resp)
{
	json_object *obj = json_tokener_parse(resp->body), *id, *epoch;
	struct user_session *s;
	int rc = -1;

	if (obj != NULL && json_object_object_get_ex(obj, "id", &id) &&
	    json_object_object_get_ex(obj, "epoch", &epoch)) {
		s = backend_session_store(c->be, c->subject);
		snprintf(s->id, sizeof(s->id), "%s", json_object_get_string(id));
		s->epoch = json_object_get_int(epoch);
		s->expires = time(NULL) + SESSION_REUSE_SEC;
		rc = 0;
	}
	json_object_put(obj);
	return rc;
}

static void
backend_on_session(struct backend_call *c, const struct api_response *resp)
{
	if (resp->status != 201 || backend_take_session(c, resp) == -1) {
		backend_finish(c, resp);
		return;
	}
	c->phase = PHASE_REQUEST;
	backend_dispatch(c, c->method, c->path, c->body);
}

static void
backend_on_request(struct backend_call *c, const struct api_response *resp)
{
	struct user_session *s = backend_session_find(c->be, c->subject);
	const char *epoch;

	if (resp->status == 428 && c->session_retries++ == 0 && s != NULL) {
		s->id[0] = '\0';	/* expired or gone: open a new one and send again */
		backend_start_phase(c);
		return;
	}
	if (resp->status == 409 && c->epoch_retries++ == 0 && s != NULL &&
	    (epoch = api_response_header(resp, "X-Sync-Epoch")) != NULL) {
		s->epoch = atoi(epoch);
		backend_dispatch(c, c->method, c->path, c->body);
		return;
	}
	backend_finish(c, resp);
}

static void
backend_on_response(const struct api_response *resp, void *arg)
{
	struct backend_call *c = arg;

	c->inflight = NULL;
	if (c->phase == PHASE_SESSION)
		backend_on_session(c, resp);
	else
		backend_on_request(c, resp);
}

static char *
backend_strdup(const char *s)
{
	char *copy = s != NULL ? strdup(s) : NULL;

	if (s != NULL && copy == NULL)
		fatal("backend_strdup");
	return copy;
}

struct backend_call *
backend_send(struct backend *be, const struct backend_request *req, api_done_fn done, void *arg)
{
	struct backend_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		fatal("backend_send");
	c->be = be;
	c->subject = backend_strdup(req->subject);
	c->cid = backend_strdup(req->correlation_id);
	c->method = backend_strdup(req->method);
	c->path = backend_strdup(req->path);
	c->body = backend_strdup(req->body);
	c->if_match = backend_strdup(req->if_match);
	c->done = done;
	c->arg = arg;
	backend_start_phase(c);
	return c;
}

void
backend_call_cancel(struct backend_call *c)
{
	if (c->inflight != NULL)
		http_link_cancel(c->inflight);
	backend_call_free(c);
}
