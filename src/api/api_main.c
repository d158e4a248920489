/*
 * trestle-api: the API child.  Started by trestled with its channel on fd 3;
 * serves the ToolBridge REST contract on <runtime_dir>/api.sock.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "api.h"
#include "api_supervised.h"
#include "api_store.h"
#include "child_link.h"
#include "conf.h"
#include "db_pool.h"
#include "log.h"
#include "jwks.h"
#include "migrations.h"
#include "replay.h"
#include "shm_metrics.h"
#include "tenant.h"

/* Nonces of v2 tenant headers: 30 s of 35,000 requests a second. */
#define API_REPLAY_CAPACITY	(1 << 20)

/* Until now the routes that need the database answered 503. */
static void
api_schema_ready(void *arg)
{
	struct api_ctx *ctx = arg;

	ctx->schema_ready = 1;
}

static void
api_drained(struct api_ctx *ctx)
{
	event_base_loopexit(ctx->base, NULL);
}

/* Graceful: stop accepting and finish what is in flight (api_supervised.h); fast: now. */
static void
api_on_shutdown(int fast, void *arg)
{
	struct api_ctx *ctx = arg;

	log_info("api: %s shutdown", fast ? "fast" : "graceful");
	if (fast)
		event_base_loopexit(ctx->base, NULL);
	else
		api_drain_start(ctx, ctx->cf->shutdown_timeout_sec, api_drained);
}

static void
api_on_reopen_logs(void *arg)
{
	(void)arg;
	log_reopen();
}

static struct db_pool *
api_pool_new(struct api_ctx *ctx)
{
	struct db_pool_options opts = {
		.conninfo = ctx->cf->database_url,
		.size = ctx->cf->db_pool_size,
		.queue_max = 4096,
		.statement_timeout_ms = ctx->cf->db_statement_timeout_ms,
		.connect_timeout_ms = 3000,
		.queue_timeout_ms = ctx->cf->api_timeout_ms,
	};

	opts.prepared = api_sql_prepared(&opts.nprepared);
	return db_pool_new(ctx->base, &opts);
}

/* What the guards need: the v2 tenant key and the replay cache, the JWKS. */
static void
api_auth_start(struct api_ctx *ctx)
{
	const struct conf *cf = ctx->cf;

	if ((ctx->tenant_key = tenant_key_new(cf->tenant_secret)) == NULL ||
	    (ctx->replay = replay_new(API_REPLAY_CAPACITY)) == NULL)
		fatalx("api: cannot set up the tenant key and the replay cache");
	if (cf->jwks_url[0] == '\0')
		return;
	if ((ctx->jwks = jwks_new(ctx->base, cf->jwks_url, cf->api_timeout_ms)) == NULL)
		fatalx("api: jwks_url %s: cannot set up its fetch", cf->jwks_url);
	log_info("api: RS256 tokens verified with the keys of %s", cf->jwks_url);
}

/* PostgreSQL, or in proxy mode the upstream API and no database at all. */
static void
api_store_start(struct api_ctx *ctx)
{
	if (ctx->cf->api_upstream_url[0] != '\0') {
		if ((ctx->proxy = api_proxy_new(ctx)) == NULL)
			fatalx("api: api_upstream_url %s: cannot set up the client",
			    ctx->cf->api_upstream_url);
		log_info("api: proxy mode: forwarding to %s, no database",
		    ctx->cf->api_upstream_url);
		return;
	}
	/* Neither connects yet: a database that is down at start is waited for. */
	ctx->migrations = migrations_start(ctx->base, ctx->cf->database_url, api_schema_ready, ctx);
	if (ctx->migrations == NULL || (ctx->pool = api_pool_new(ctx)) == NULL)
		fatalx("api: database_url: cannot set up the PostgreSQL pool");
	log_info("api: PostgreSQL pool of %d connections (db_pool_size), statement timeout %d ms",
	    ctx->cf->db_pool_size, ctx->cf->db_statement_timeout_ms);
}

int
main(int argc, char **argv)
{
	struct child_link_handlers handlers = { api_on_shutdown, api_on_reopen_logs, NULL };
	struct child_args args;
	struct api_ctx ctx = { 0 };
	struct conf cf;
	struct child_link *link;

	child_args_parse(argc, argv, &args);
	child_load_conf(&args, &cf, "api", "trestle-api");
	metrics_attach(args.metrics_slot);
	signal(SIGPIPE, SIG_IGN);
	ctx.cf = &cf;
	if ((ctx.base = child_event_base()) == NULL)
		fatalx("api: event_base_new");
	handlers.arg = &ctx;
	link = child_link_start(ctx.base, &handlers);
	api_auth_start(&ctx);
	api_store_start(&ctx);
	api_metrics_start(&ctx);
	api_serve_start(&ctx, link);	/* api_http_start, then READY */
	log_info("api: serving (slot %d, generation %d)", args.slot, args.generation);
	event_base_dispatch(ctx.base);
	api_supervised_free();

	if (ctx.http != NULL)	/* NULL when stopped before it served (api_serve_start) */
		evhttp_free(ctx.http);
	if (ctx.http_tcp != NULL)
		evhttp_free(ctx.http_tcp);
	api_http_stop(&ctx);
	migrations_free(ctx.migrations);
	if (ctx.pool != NULL)
		db_pool_free(ctx.pool);
	api_proxy_free(ctx.proxy);
	jwks_free(ctx.jwks);
	replay_free(ctx.replay);
	tenant_key_free(ctx.tenant_key);
	child_link_free(link);
	event_base_free(ctx.base);
	conf_free(&cf);
	log_info("api: stopped");
	return 0;
}
