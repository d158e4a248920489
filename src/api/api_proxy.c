/*
 * Proxy mode (api_upstream_url): the API child keeps no data of its own and
 * forwards every request, once its tenant headers pass, to an upstream
 * ToolBridge Go API.  The upstream gets fresh version 1 tenant headers signed
 * with its own secret and everything else the client sent (Authorization
 * included: the upstream verifies the user); the client gets the upstream's
 * status, headers and body.  Hop-by-hop headers stay on their hop.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "api_client.h"
#include "http_headers.h"
#include "log.h"
#include "tenant.h"

#define PROXY_MAX_HEADERS	64
#define PROXY_HEADER_MAX	8192

struct api_proxy {
	struct api_ctx		*ctx;
	struct api_client	*client;
};

/* Never forwarded, either way: they describe one connection, or we set them anew. */
static const char *const proxy_dropped[] = {
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
	"Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Expect",
	"X-Correlation-ID", NULL
};

static int
proxy_dropped_header(const char *name, size_t len)
{
	for (const char *const *d = proxy_dropped; *d != NULL; d++)
		if (strlen(*d) == len && strncasecmp(*d, name, len) == 0)
			return 1;
	/* The client's tenant headers were ours to verify; the upstream gets its own. */
	return len >= 5 && strncasecmp(name, "X-TB-", 5) == 0;
}

struct api_proxy *
api_proxy_new(struct api_ctx *ctx)
{
	struct api_proxy *px = calloc(1, sizeof(*px));

	if (px == NULL)
		return NULL;
	px->ctx = ctx;
	px->client = api_client_new_url(ctx->base, ctx->cf->api_upstream_url, "upstream API",
	    ctx->cf->api_timeout_ms);
	if (px->client == NULL) {
		free(px);
		return NULL;
	}
	return px;
}

void
api_proxy_free(struct api_proxy *px)
{
	if (px == NULL)
		return;
	api_client_free(px->client);
	free(px);
}

/* The request's own headers, less the dropped ones, as "Name: value" lines. */
static size_t
proxy_copy_headers(struct api_req *r, char **lines, size_t cap)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	struct evkeyval *kv;
	size_t n = 0;

	TAILQ_FOREACH(kv, in, next) {
		if (n == cap || proxy_dropped_header(kv->key, strlen(kv->key)))
			continue;
		if (asprintf(&lines[n], "%s: %s", kv->key, kv->value) == -1)
			fatal("proxy_copy_headers");
		n++;
	}
	return n;
}

/* Version 1 tenant headers for the upstream, and our correlation id. */
static size_t
proxy_sign(struct api_req *r, char **lines)
{
	const struct conf *cf = r->ctx->cf;
	char now_ms[24], signature[TENANT_SIGNATURE_LEN + 1];

	snprintf(now_ms, sizeof(now_ms), "%lld", api_now_ms());
	tenant_v1_sign(cf->api_upstream_tenant_secret, cf->tenant_id, now_ms, signature);
	if (asprintf(&lines[0], "X-TB-Tenant-ID: %s", cf->tenant_id) == -1 ||
	    asprintf(&lines[1], "X-TB-Timestamp: %s", now_ms) == -1 ||
	    asprintf(&lines[2], "X-TB-Signature: %s", signature) == -1 ||
	    asprintf(&lines[3], "X-Correlation-ID: %s", r->cid) == -1)
		fatal("proxy_sign");
	return 4;
}

static void
proxy_reply_headers(struct api_req *r, const struct api_response *resp)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	const char *line = NULL, *colon, *value;
	char name[256];
	size_t len;

	while ((line = api_response_header_next(resp, line)) != NULL) {
		if ((colon = strchr(line, ':')) == NULL || (len = (size_t)(colon - line)) == 0 ||
		    len >= sizeof(name) || proxy_dropped_header(line, len))
			continue;
		memcpy(name, line, len);
		name[len] = '\0';
		for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
			;
		evhttp_add_header(out, name, value);
	}
	if (http_header_get(out, "X-Correlation-ID") == NULL)
		evhttp_add_header(out, "X-Correlation-ID", r->cid);
}

static void
proxy_on_response(const struct api_response *resp, void *arg)
{
	struct api_req *r = arg;
	struct evbuffer *body;

	r->waiting = NULL;
	r->waiting_cancel = NULL;
	if (resp->status == 0) {
		log_cid(LOG_LEVEL_WARN, r->cid, "api: proxy: %s", resp->error);
		api_reply_error(r, strstr(resp->error, "timed out") != NULL ? 504 : 502,
		    "upstream API unavailable");
		return;
	}
	if ((body = evbuffer_new()) == NULL)
		fatal("proxy_on_response");
	evbuffer_add(body, resp->body, resp->body_len);
	proxy_reply_headers(r, resp);
	api_reply_raw(r, (int)resp->status, body);
	evbuffer_free(body);
}

static void
proxy_cancel(void *call)
{
	api_call_cancel(call);
}

void
api_proxy_forward(struct api_req *r)
{
	char *lines[PROXY_MAX_HEADERS + 5] = { NULL };
	struct api_request req = {
		.method = api_request_method(r),
		.path = evhttp_request_get_uri(r->req),
		.body = r->body_len > 0 ? r->body : NULL,
		.body_len = r->body_len,
		.headers = (const char *const *)lines,
	};
	struct api_call *call;
	size_t n;

	if ((r->route == NULL || (r->route->guards & API_NEED_TENANT)) &&
	    api_auth_tenant(r) == -1) {
		api_reply_text(r, 401, "Unauthorized: invalid tenant headers");
		return;
	}
	n = proxy_sign(r, lines);
	proxy_copy_headers(r, lines + n, PROXY_MAX_HEADERS);
	call = api_client_send(r->ctx->proxy->client, &req, proxy_on_response, r);
	for (n = 0; lines[n] != NULL; n++)
		free(lines[n]);
	if (call == NULL) {
		api_reply_error(r, 503, "out of memory");
		return;
	}
	r->waiting = call;
	r->waiting_cancel = proxy_cancel;
}
