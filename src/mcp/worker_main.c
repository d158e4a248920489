/*
 * trestle-mcp: an MCP worker.  Started by trestled with its channel on fd 3 and
 * the shared MCP listener on fd 4; every worker accepts on the same socket.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http_link.h"
#include "audit.h"
#include "backend.h"
#include "breaker.h"
#include "channel.h"
#include "child_link.h"
#include "conf.h"
#include "drain.h"
#include "log.h"
#include "mcp_auth.h"
#include "mcp_http.h"
#include "observe.h"
#include "readiness.h"
#include "shm_metrics.h"
#include "tools.h"
#include "worker.h"

static void
worker_drained(struct worker *w)
{
	event_base_loopexit(w->base, NULL);
}

/* Graceful: stop accepting and finish what is in flight (drain.h); fast: now. */
static void
worker_on_shutdown(int fast, void *arg)
{
	struct worker *w = arg;

	log_info("worker: %s shutdown", fast ? "fast" : "graceful");
	if (fast)
		event_base_loopexit(w->base, NULL);
	else
		drain_start(w, w->cf->shutdown_timeout_sec, worker_drained);
}

static void
worker_on_reopen_logs(void *arg)
{
	(void)arg;
	log_reopen();
	audit_reopen();
}

/*
 * Answers of tens of kilobytes (tools/list, pages of notes) are allocated and
 * freed for every request; with glibc's default trim threshold (128 kB) the
 * heap is given back to the kernel after each and faulted in again for the
 * next.  Keeping up to 4 MB of free heap (64 answers of 64 kB in flight) makes
 * that memory stay.
 */
static void
worker_tune_malloc(void)
{
#ifdef M_TRIM_THRESHOLD
	mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
#endif
}

static void
worker_setup(struct worker *w, const struct conf *cf)
{
	char api_socket[4096], err[512] = "";

	w->cf = cf;
	if ((w->auth = mcp_auth_new(w->base, cf, err, sizeof(err))) == NULL ||
	    audit_open(cf->audit_log_file, err, sizeof(err)) == -1) {
		log_errorx("worker: %s", err);
		exit(CONF_EXIT_INVALID);
	}
	mcp_session_key_derive(cf->tenant_secret, &w->session_key);
	if ((w->tools_list = tools_list_build()) == NULL)
		fatalx("worker: cannot build the tool list");
	snprintf(api_socket, sizeof(api_socket), "%s/api.sock", cf->runtime_dir);
	if ((w->api = http_link_new(w->base, api_socket, cf->api_timeout_ms)) == NULL)
		fatalx("worker: cannot create the API client");
	w->backend = backend_new(cf, w->api);
	w->breaker = breaker_new(cf->mcp_breaker_failures, cf->mcp_breaker_cooldown_sec);
	w->readiness = readiness_start(w->base, w->api, w->breaker);
}

static void
worker_teardown(struct worker *w)
{
	readiness_free(w->readiness);	/* answers the /readyz requests still waiting */
	mcp_http_stop(w);
	backend_free(w->backend);
	http_link_free(w->api);
	breaker_free(w->breaker);
	mcp_auth_free(w->auth);	/* after the HTTP side: no request refers to it any more */
	audit_close();
	free(w->tools_list);
}

int
main(int argc, char **argv)
{
	struct child_link_handlers handlers = { worker_on_shutdown, worker_on_reopen_logs, NULL };
	struct child_args args;
	struct worker w = { 0 };
	struct conf cf;
	struct child_link *link;

	child_args_parse(argc, argv, &args);
	child_test_crash_at_start(args.slot);
	child_load_conf(&args, &cf, "worker", "trestle-mcp");
	if (log_access_init(cf.access_log_file) == -1) {
		fprintf(stderr, "trestle-mcp: cannot open access_log_file %s\n", cf.access_log_file);
		exit(CONF_EXIT_INVALID);
	}
	metrics_attach(args.metrics_slot);
	signal(SIGPIPE, SIG_IGN);
	worker_tune_malloc();
	if ((w.base = child_event_base()) == NULL)
		fatalx("worker: event_base_new");
	handlers.arg = &w;
	link = child_link_start(w.base, &handlers);
	w.slot = args.slot;
	w.generation = args.generation;
	worker_setup(&w, &cf);
	mcp_http_start(&w, LISTEN_CHILD_FD);
	observe_start(&w);
	child_link_ready(link);
	log_info("worker: serving (slot %d, generation %d)", args.slot, args.generation);
	event_base_dispatch(w.base);

	drain_free();
	observe_stop();
	worker_teardown(&w);
	child_link_free(link);
	event_base_free(w.base);
	conf_free(&cf);
	curl_global_cleanup();
	log_info("worker: stopped");
	return 0;
}
