/*
 * Reload as nginx does it, never mutating a running child: parse and check
 * the new configuration, start a new generation beside the old one (the
 * listener is shared, so no connection is refused), wait until every new
 * child is READY, then ask the old generation to drain.  Settings that only a
 * restart can change are kept at their old values (the children get them
 * pinned in their environment) and reported.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "child.h"
#include "conf.h"
#include "jsonstr.h"
#include "log.h"
#include "logfiles.h"
#include "master.h"
#include "notify.h"
#include "reload.h"
#include "shm_metrics.h"

#define RELOAD_READY_TIMEOUT_SEC	30
#define RELOAD_MESSAGE_MAX		4600

struct reload_waiter {
	TAILQ_ENTRY(reload_waiter)	 entry;
	master_reply_fn			 fn;
	void				*arg;
};
TAILQ_HEAD(reload_waiters, reload_waiter);

/* Keys whose change needs a restart: the master bound or created what they name. */
static const char *const restart_keys[] = { "listen", "runtime_dir", "control_socket" };

/* Keys the API child does not read: changing only these leaves it running. */
static const char *const not_api_keys[] = {
	"workers", "mcp_path", "mcp_allowed_hosts", "mcp_allowed_origins",
	"mcp_http_timeout_sec", "mcp_max_streams", "mcp_conformance_fixtures", "api_keys_file",
	"mcp_resource_url", "mcp_jwt_secret", "mcp_jwks_url", "mcp_jwt_issuer",
	"mcp_jwt_leeway_sec", "mcp_authorization_servers", "mcp_required_scopes",
	"mcp_allowed_email_domains", "audit_log_file", "access_log_file", "log_max_bytes",
	"log_keep", "shutdown_timeout_sec", "heartbeat_timeout_sec",
};

static struct {
	int			 active;
	unsigned		 generation;	/* being started */
	int			 api_replaced;
	struct conf		 next;
	char			 notes[1024];	/* settings kept until a restart */
	struct event		*ev_timeout;
	struct reload_waiters	 waiting;	/* for the reload in progress */
	struct reload_waiters	 queued;	/* for the one after it */
	int			 again;		/* another reload was asked for */
	/* the last outcome, for status */
	time_t			 last_at;
	int			 last_ok;
	char			 last_message[RELOAD_MESSAGE_MAX];
} reload = {
	.waiting = TAILQ_HEAD_INITIALIZER(reload.waiting),
	.queued = TAILQ_HEAD_INITIALIZER(reload.queued),
};

static void	reload_begin(void);
static int	reload_key_listed(const char *, const char *const *, size_t);
static void	reload_keep_restart_keys(void);
static int	reload_api_changed(void);
static void	reload_start_children(void);
static void	reload_succeed(void);
static void	reload_fail(const char *);
static void	reload_finish(int, const char *);
static void	reload_timeout_cb(evutil_socket_t, short, void *);
static void	reload_wait(struct reload_waiters *, master_reply_fn, void *);

static void
reload_wait(struct reload_waiters *list, master_reply_fn fn, void *arg)
{
	struct reload_waiter *w;

	if (fn == NULL)
		return;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("reload_wait");
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(list, w, entry);
}

void
reload_request(master_reply_fn fn, void *arg)
{
	if (master.shutdown != MASTER_SERVING) {
		if (fn != NULL)
			fn(0, "trestled is shutting down; not reloading", arg);
		return;
	}
	if (reload.active) {
		log_info("reload: one is in progress; the next one starts after it");
		reload.again = 1;
		reload_wait(&reload.queued, fn, arg);
		return;
	}
	reload_wait(&reload.waiting, fn, arg);
	reload_begin();
}

void
reload_forget(void *arg)
{
	struct reload_waiters *lists[] = { &reload.waiting, &reload.queued };
	struct reload_waiter *w, *next;

	for (size_t i = 0; i < 2; i++)
		for (w = TAILQ_FIRST(lists[i]); w != NULL; w = next) {
			next = TAILQ_NEXT(w, entry);
			if (w->arg == arg) {
				TAILQ_REMOVE(lists[i], w, entry);
				free(w);
			}
		}
}

int
reload_active(void)
{
	return reload.active;
}

static int
reload_key_listed(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static char **
reload_field(struct conf *cf, const char *name)
{
	if (strcmp(name, "listen") == 0)
		return &cf->listen;
	if (strcmp(name, "runtime_dir") == 0)
		return &cf->runtime_dir;
	return &cf->control_socket;
}

/* A restart-only key that changed keeps its old value, and the change is reported. */
static void
reload_keep_restart_keys(void)
{
	size_t used = 0;

	reload.notes[0] = '\0';
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		char **now = reload_field(&master.cf, restart_keys[i]);
		char **next = reload_field(&reload.next, restart_keys[i]);

		if (strcmp(*now, *next) == 0)
			continue;
		log_warnx("reload: %s changed from '%s' to '%s'; it takes effect only after a "
		    "restart of trestled", restart_keys[i], *now, *next);
		if (used < sizeof(reload.notes))
			used += (size_t)snprintf(reload.notes + used, sizeof(reload.notes) - used,
			    "\n%s: changed from '%s' to '%s'; not applied: it takes effect only "
			    "after a restart", restart_keys[i], *now, *next);
		free(*next);
		if ((*next = strdup(*now)) == NULL)
			fatal("reload");
	}
}

static int
reload_api_changed(void)
{
	const char *name;

	for (size_t n = 0; (name = conf_key_name(n)) != NULL; n++)
		if (!conf_key_equal(&master.cf, &reload.next, n) &&
		    !reload_key_listed(name, not_api_keys, sizeof(not_api_keys) /
		    sizeof(not_api_keys[0])))
			return 1;
	return 0;
}

static void
reload_start_children(void)
{
	reload.generation = ++master.last_generation;
	log_info("reload: starting generation %u: %d workers%s", reload.generation,
	    reload.next.workers, reload.api_replaced ? " and the API child (its settings "
	    "changed)" : "");
	if (reload.api_replaced)
		child_start(CHILD_ROLE_API, 0, reload.generation);
	for (int slot = 1; slot <= reload.next.workers; slot++)
		child_start(CHILD_ROLE_WORKER, slot, reload.generation);
}

static void
reload_begin(void)
{
	struct timeval tv = { RELOAD_READY_TIMEOUT_SEC, 0 };
	struct conf_errors errs;
	char msg[RELOAD_MESSAGE_MAX];
	size_t n;

	reload.active = 1;
	notify_reloading();
	log_info("reload: reading %s", master.config_path != NULL ? master.config_path :
	    "the environment");
	if (conf_load(&reload.next, master.config_path, &errs) == -1) {
		snprintf(msg, sizeof(msg), "reload failed: the configuration is invalid; the old "
		    "one keeps serving:\n%s", errs.text);
		if ((n = strlen(msg)) > 0 && msg[n - 1] == '\n')
			msg[n - 1] = '\0';	/* the parser ends each error with one */
		reload_finish(0, msg);
		return;
	}
	reload_keep_restart_keys();
	reload.api_replaced = reload_api_changed();
	if (reload.ev_timeout == NULL &&
	    (reload.ev_timeout = evtimer_new(master.base, reload_timeout_cb, NULL)) == NULL)
		fatalx("reload: evtimer_new failed");
	evtimer_add(reload.ev_timeout, &tv);
	reload_start_children();
}

void
reload_child_ready(struct child *c)
{
	struct child *o;

	if (!reload.active || c->generation != reload.generation)
		return;
	TAILQ_FOREACH(o, &child_table, entry)
		if (o->generation == reload.generation && o->state != CHILD_RUNNING)
			return;
	reload_succeed();
}

/* A child of the new generation that dies before READY fails the reload. */
int
reload_child_exited(struct child *c)
{
	char why[400];

	if (!reload.active || c->generation != reload.generation || c->been_ready)
		return 0;
	snprintf(why, sizeof(why), "reload failed: %s %d of the new generation %s before it "
	    "was ready; the old generation keeps serving", child_role_name(c->role), c->slot,
	    c->cause);
	reload_fail(why);
	return 1;
}

static void
reload_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	char why[200];

	(void)fd;
	(void)what;
	(void)arg;
	snprintf(why, sizeof(why), "reload failed: the new generation was not ready within "
	    "%d s; the old generation keeps serving", RELOAD_READY_TIMEOUT_SEC);
	reload_fail(why);
}

/* The new generation goes (fast: it served nothing), the old one stays as it was. */
static void
reload_fail(const char *why)
{
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry)
		if (c->generation == reload.generation) {
			c->retiring = 1;
			child_stop(c, 1);
		}
	conf_free(&reload.next);
	reload_finish(0, why);
}

/* The old generation drains; the API child goes once no old worker can call it. */
static void
reload_retire_old(void)
{
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry) {
		if (c->generation >= reload.generation)
			continue;
		if (c->role == CHILD_ROLE_WORKER) {
			c->retiring = 1;
			child_stop(c, 0);
		} else if (reload.api_replaced)
			c->retiring = 1;	/* master_sweep stops it after the workers */
	}
}

static void
reload_succeed(void)
{
	char msg[RELOAD_MESSAGE_MAX];
	enum log_level level = LOG_LEVEL_INFO;

	reload_retire_old();
	conf_free(&master.cf);
	master.cf = reload.next;
	memset(&reload.next, 0, sizeof(reload.next));
	master.generation = reload.generation;
	metrics_set_generation(master.generation);
	log_level_parse(master.cf.log_level, &level);
	if (log_init("master", master.cf.log_file, level) == -1)
		log_warn("reload: log_file %s", master.cf.log_file);
	logfiles_setup(&master.cf);
	snprintf(msg, sizeof(msg), "reloaded: generation %u serves with %d workers%s%s",
	    master.generation, master.cf.workers, reload.api_replaced ?
	    " and a new API child" : "", reload.notes);
	reload_finish(1, msg);
	master_sweep();
}

static void
reload_finish(int ok, const char *msg)
{
	struct reload_waiter *w;

	if (reload.ev_timeout != NULL)
		evtimer_del(reload.ev_timeout);
	reload.active = 0;
	reload.last_at = time(NULL);
	reload.last_ok = ok;
	snprintf(reload.last_message, sizeof(reload.last_message), "%s", msg);
	metrics_count_reload(ok);
	if (ok)
		log_info("%s", msg);
	else
		log_errorx("%s", msg);
	notify_reloaded(msg);
	while ((w = TAILQ_FIRST(&reload.waiting)) != NULL) {
		TAILQ_REMOVE(&reload.waiting, w, entry);
		w->fn(ok, msg, w->arg);
		free(w);
	}
	if (!reload.again || master.shutdown != MASTER_SERVING)
		return;
	reload.again = 0;
	TAILQ_CONCAT(&reload.waiting, &reload.queued, entry);
	reload_begin();
}

void
reload_abort(const char *why)
{
	struct reload_waiter *w;

	reload.again = 0;
	if (reload.active)
		reload_fail(why);
	while ((w = TAILQ_FIRST(&reload.queued)) != NULL) {
		TAILQ_REMOVE(&reload.queued, w, entry);
		w->fn(0, why, w->arg);
		free(w);
	}
}

void
reload_status_json(struct jsonstr *js)
{
	if (reload.last_at == 0) {
		jsonstr_raw(js, "null");
		return;
	}
	jsonstr_printf(js, "{\"ok\":%s,\"ago_sec\":%lld,\"message\":", reload.last_ok ? "true" :
	    "false", (long long)(time(NULL) - reload.last_at));
	jsonstr_quote(js, reload.last_message);
	jsonstr_raw(js, "}");
}

void
reload_free(void)
{
	struct reload_waiter *w;

	while ((w = TAILQ_FIRST(&reload.waiting)) != NULL) {
		TAILQ_REMOVE(&reload.waiting, w, entry);
		free(w);
	}
	while ((w = TAILQ_FIRST(&reload.queued)) != NULL) {
		TAILQ_REMOVE(&reload.queued, w, entry);
		free(w);
	}
	if (reload.ev_timeout != NULL)
		event_free(reload.ev_timeout);
	reload.ev_timeout = NULL;
	conf_free(&reload.next);
}
