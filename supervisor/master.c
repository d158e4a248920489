/*
 * trestled, the master process: it reads the configuration, binds the MCP
 * listener once, creates the shared metrics region, starts the API child and
 * the MCP workers and keeps them running (restarts with backoff, heartbeats),
 * reloads them a generation at a time, rotates the logs, answers the control
 * socket and talks to systemd.  It never parses anything from the network, so
 * that it has little reason to die.
 *
 * Signals arrive through the event loop: SIGTERM graceful shutdown (a second
 * one, or SIGINT, fast), SIGHUP reload, SIGUSR1 log rotation, SIGCHLD reaping.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "child.h"
#include "conf.h"
#include "control.h"
#include "jsonstr.h"
#include "listener.h"
#include "log.h"
#include "logfiles.h"
#include "master.h"
#include "notify.h"
#include "reload.h"
#include "shm_metrics.h"

#define MASTER_DEFAULT_CONFIG		SYSCONFDIR "/trestle/trestle.conf"
#define MASTER_EXIT_USAGE		64	/* EX_USAGE */
#define MASTER_TICK_MS			1000

struct master master = { .listen_fd = -1, .shm_fd = -1 };

static struct event	*ev_signals[5];
static struct event	*ev_deadline;
static struct event	*ev_tick;
static char		*pins[4];	/* TRESTLE_<KEY>=value of the restart-only keys */

static void	master_usage(FILE *, int) __attribute__((noreturn));
static void	master_options(int, char **, int *);
static void	master_configure(int);
static void	master_open_stdio(void);
static void	master_runtime_dir(const char *);
static void	master_listen(void);
static void	master_control(void);
static void	master_signals(void);
static void	master_signal_cb(evutil_socket_t, short, void *);
static void	master_sigchld(void);
static void	master_deadline_cb(evutil_socket_t, short, void *);
static void	master_tick_cb(evutil_socket_t, short, void *);
static void	master_start_tick(void);
static void	master_pin(size_t, const char *, const char *);
static void	master_start_children(void);
static void	master_child_ready(struct child *);
static int	master_child_exited(struct child *);
static void	master_stop_api_when_idle(void);
static void	master_cleanup(void);

static void
master_usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: trestled [-thV] [-c file]\n"
	    "  -c file      configuration file (default: %s if it exists,\n"
	    "               else the TRESTLE_* environment variables only)\n"
	    "  -t           check the configuration and exit\n"
	    "  -h, --help   show this help\n"
	    "  -V, --version\n"
	    "               show the version\n", MASTER_DEFAULT_CONFIG);
	exit(status);
}

static void
master_options(int argc, char **argv, int *check_only)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			master.config_path = optarg;
			break;
		case 't':
			*check_only = 1;
			break;
		case 'h':
			master_usage(stdout, 0);
		case 'V':
			printf("trestled %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			master_usage(stderr, MASTER_EXIT_USAGE);
		}
	}
	if (optind != argc)
		master_usage(stderr, MASTER_EXIT_USAGE);
	if (master.config_path == NULL && access(MASTER_DEFAULT_CONFIG, F_OK) == 0)
		master.config_path = MASTER_DEFAULT_CONFIG;
}

/* Load and validate; a bad configuration is reported on stderr and ends the process with 78. */
static void
master_configure(int check_only)
{
	struct conf_errors errs;

	if (conf_load(&master.cf, master.config_path, &errs) == -1) {
		fputs(errs.text, stderr);
		conf_free(&master.cf);
		exit(CONF_EXIT_INVALID);
	}
	if (check_only) {
		printf("configuration OK\n");
		conf_free(&master.cf);
		exit(0);
	}
}

/* Descriptors 0-2 must be taken, or the listener could land on 2 and receive the logs. */
static void
master_open_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= STDERR_FILENO)
		;
	if (fd == -1)
		fatal("/dev/null");
	close(fd);
}

static void
master_runtime_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("runtime_dir %s: cannot create it", dir);
	if (stat(dir, &st) == -1)
		fatal("runtime_dir %s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("runtime_dir %s: not a directory", dir);
}

static void
master_listen(void)
{
	char err[256];

	master.listen_fd = listener_open(master.cf.listen, master.listen_bound,
	    sizeof(master.listen_bound), err, sizeof(err));
	if (master.listen_fd == -1)
		fatalx("cannot listen on %s: %s", master.cf.listen, err);
	log_info("listening on %s", master.listen_bound);
}

static void
master_control(void)
{
	char err[PATH_MAX + 128];

	if (master.cf.control_socket[0] != '\0')
		snprintf(master.control_path, sizeof(master.control_path), "%s",
		    master.cf.control_socket);
	else
		snprintf(master.control_path, sizeof(master.control_path), "%s/control.sock",
		    master.cf.runtime_dir);
	if (control_open(master.base, master.control_path, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("control socket %s", master.control_path);
}

/* Signals arrive through the event loop, so their work runs outside any handler. */
static void
master_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGUSR1 };

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev_signals[i] = evsignal_new(master.base, sigs[i], master_signal_cb, NULL);
		if (ev_signals[i] == NULL || evsignal_add(ev_signals[i], NULL) == -1)
			fatalx("master_signals: cannot watch signal %d", sigs[i]);
	}
}

static void
master_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char msg[2048];

	(void)what;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		/* A second one while draining means: stop now. */
		log_info("%s: %s shutdown", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		    master.shutdown == MASTER_SERVING && sig == SIGTERM ? "graceful" : "fast");
		master_shutdown(master.shutdown != MASTER_SERVING || sig == SIGINT);
		break;
	case SIGCHLD:
		master_sigchld();
		break;
	case SIGHUP:
		log_info("SIGHUP: reload");
		reload_request(NULL, NULL);
		break;
	case SIGUSR1:
		master_reopen_logs(msg, sizeof(msg));
		break;
	}
}

static void
master_sigchld(void)
{
	int status;

	child_reap();
	master_sweep();
	if (master.shutdown != MASTER_SERVING) {
		if (child_alive_count() == 0)
			event_base_loopexit(master.base, NULL);
		return;
	}
	if ((status = child_give_up_status()) != 0) {
		log_errorx("the api child or every worker has %s; shutting down with status %d",
		    status == CONF_EXIT_INVALID ? "refused the configuration" : "failed", status);
		master.exit_status = status;
		master_shutdown(0);
	}
}

/*
 * Retired entries leave the table once their process is gone, and a retired
 * (or, while shutting down, any) API child is asked to stop once no worker
 * that might still call it is left.
 */
void
master_sweep(void)
{
	struct child *c, *next;

	for (c = TAILQ_FIRST(&child_table); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->retiring)
			continue;
		if (c->pid <= 0) {
			child_stop(c, 1);	/* cancels a pending respawn */
			child_remove(c);
		}
	}
	master_stop_api_when_idle();
}

static void
master_stop_api_when_idle(void)
{
	struct child *c;
	int shutting = master.shutdown != MASTER_SERVING;

	if (child_alive_role(CHILD_ROLE_WORKER, shutting ? UINT_MAX : master.generation) > 0)
		return;
	TAILQ_FOREACH(c, &child_table, entry)
		if (c->role == CHILD_ROLE_API && (shutting || c->retiring) &&
		    c->state != CHILD_STOPPING && c->state != CHILD_STOPPED)
			child_stop(c, master.shutdown == MASTER_FAST);
}

/*
 * Graceful: the workers stop accepting and finish what they serve, then the
 * API child they were calling does the same; fast: everything at once.
 * Whatever still runs after shutdown_timeout_sec is killed.
 */
void
master_shutdown(int fast)
{
	struct timeval tv = { master.cf.shutdown_timeout_sec, 0 };
	struct child *c;

	if (master.shutdown == MASTER_FAST)
		return;
	if (master.shutdown == MASTER_SERVING) {
		notify_stopping();
		ev_deadline = evtimer_new(master.base, master_deadline_cb, NULL);
		if (ev_deadline == NULL || evtimer_add(ev_deadline, &tv) == -1)
			fatalx("master_shutdown: cannot arm the deadline");
	}
	master.shutdown = fast ? MASTER_FAST : MASTER_GRACEFUL;
	/* Once the workers closed theirs too, new connections are refused, not left waiting. */
	if (master.listen_fd != -1) {
		close(master.listen_fd);
		master.listen_fd = -1;
	}
	reload_abort("trestled is shutting down; reload abandoned");
	TAILQ_FOREACH(c, &child_table, entry)
		if (fast || c->role == CHILD_ROLE_WORKER || c->pid <= 0)
			child_stop(c, fast);
	master_stop_api_when_idle();
	if (child_alive_count() == 0)
		event_base_loopexit(master.base, NULL);
}

static void
master_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_warnx("shutdown: %d children still running after %d s; killing them",
	    child_alive_count(), master.cf.shutdown_timeout_sec);
	child_kill_all(SIGKILL);
}

void
master_reopen_logs(char *msg, size_t len)
{
	logfiles_rotate_all(&master.cf, msg, len);
	child_broadcast(CHANNEL_MASTER_REOPEN_LOGS, 0);
}

/* Every second: hung children, log sizes, the systemd watchdog. */
static void
master_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t timeout_ms = (int64_t)master.cf.heartbeat_timeout_sec * 1000;

	(void)fd;
	(void)what;
	(void)arg;
	child_check_heartbeats(timeout_ms);
	if (logfiles_tick(&master.cf))
		child_broadcast(CHANNEL_MASTER_REOPEN_LOGS, 0);
	if (notify_watchdog_usec() > 0 && child_heartbeats_fresh(timeout_ms))
		notify_watchdog();
}

/* Once a second, or twice per watchdog interval when systemd asks for more. */
static void
master_start_tick(void)
{
	uint64_t usec = notify_watchdog_usec() / 2;
	struct timeval tv = { 1, 0 };

	if (usec > 0 && usec < (uint64_t)MASTER_TICK_MS * 1000) {
		tv.tv_sec = 0;
		tv.tv_usec = (suseconds_t)usec;
	}
	ev_tick = event_new(master.base, -1, EV_PERSIST, master_tick_cb, NULL);
	if (ev_tick == NULL || event_add(ev_tick, &tv) == -1)
		fatalx("master: cannot arm the supervision timer");
}

/* The children see key as the master does until a restart, whatever a reload reads. */
static void
master_pin(size_t i, const char *key, const char *value)
{
	size_t len = strlen(key) + strlen(value) + 2;

	if ((pins[i] = malloc(len)) == NULL)
		fatal("master_pin");
	snprintf(pins[i], len, "%s=%s", key, value);
}

static void
master_start_children(void)
{
	static const struct child_hooks hooks = { master_child_ready, master_child_exited };
	char err[PATH_MAX + 256];

	master_pin(0, "TRESTLE_LISTEN", master.cf.listen);
	master_pin(1, "TRESTLE_RUNTIME_DIR", master.cf.runtime_dir);
	master_pin(2, "TRESTLE_CONTROL_SOCKET", master.cf.control_socket);
	if (child_setup(master.base, master.config_path, master.listen_fd, master.shm_fd, pins,
	    &hooks, err, sizeof(err)) == -1)
		fatalx("%s", err);
	master.generation = master.last_generation = 1;
	metrics_set_generation(1);
	child_start(CHILD_ROLE_API, 0, master.generation);
	for (int slot = 1; slot <= master.cf.workers; slot++)
		child_start(CHILD_ROLE_WORKER, slot, master.generation);
}

/* READY=1 once the API child and a worker serve: from then on requests are answered. */
static void
master_child_ready(struct child *c)
{
	struct child *o;
	int api = 0, workers = 0;
	char status[160];

	reload_child_ready(c);
	if (master.ready_sent)
		return;
	TAILQ_FOREACH(o, &child_table, entry) {
		if (o->state != CHILD_RUNNING)
			continue;
		api += o->role == CHILD_ROLE_API;
		workers += o->role == CHILD_ROLE_WORKER;
	}
	if (api == 0 || workers == 0)
		return;
	master.ready_sent = 1;
	snprintf(status, sizeof(status), "serving on %s", master.listen_bound);
	notify_ready(status);
	log_info("ready: %s", status);
}

/* 1: do not restart it (a failed reload's child, a retired one, or shutting down). */
static int
master_child_exited(struct child *c)
{
	if (reload_child_exited(c))
		return 1;
	return c->retiring || master.shutdown != MASTER_SERVING;
}

void
master_status_json(struct jsonstr *js)
{
	static const char *const states[] = { "serving", "stopping", "stopping fast" };

	jsonstr_printf(js, "{\"pid\":%ld,\"version\":", (long)getpid());
	jsonstr_quote(js, PACKAGE_VERSION);
	jsonstr_raw(js, ",\"state\":");
	jsonstr_quote(js, reload_active() && master.shutdown == MASTER_SERVING ? "reloading" :
	    states[master.shutdown]);
	jsonstr_printf(js, ",\"ready\":%s,\"generation\":%u,\"uptime_sec\":%lld,\"config\":",
	    master.ready_sent ? "true" : "false", master.generation,
	    (long long)(time(NULL) - master.started_at));
	jsonstr_quote(js, master.config_path != NULL ? master.config_path : "(environment)");
	jsonstr_raw(js, ",\"listen\":");
	jsonstr_quote(js, master.listen_bound);
	jsonstr_printf(js, ",\"workers\":%d,\"last_reload\":", master.cf.workers);
	reload_status_json(js);
	jsonstr_raw(js, "}");
}

static void
master_cleanup(void)
{
	child_table_free();
	reload_free();
	control_close();
	logfiles_close();
	for (size_t i = 0; i < sizeof(ev_signals) / sizeof(ev_signals[0]); i++)
		if (ev_signals[i] != NULL)
			event_free(ev_signals[i]);
	if (ev_deadline != NULL)
		event_free(ev_deadline);
	if (ev_tick != NULL)
		event_free(ev_tick);
	event_base_free(master.base);
	if (master.listen_fd != -1)
		close(master.listen_fd);
	if (master.shm_fd != -1)
		close(master.shm_fd);
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		free(pins[i]);
	conf_free(&master.cf);
}

int
main(int argc, char **argv)
{
	enum log_level level = LOG_LEVEL_INFO;
	int check_only = 0;

	master_options(argc, argv, &check_only);
	master_configure(check_only);
	master_open_stdio();
	log_level_parse(master.cf.log_level, &level);
	if (log_init("master", master.cf.log_file, level) == -1) {
		fprintf(stderr, "trestled: log_file %s: %s\n", master.cf.log_file, strerror(errno));
		exit(1);
	}
	master.started_at = time(NULL);
	notify_init();
	log_info("trestled %s starting, configuration from %s", PACKAGE_VERSION,
	    master.config_path != NULL ? master.config_path : "the environment");
	master_runtime_dir(master.cf.runtime_dir);
	master_listen();
	if ((master.shm_fd = metrics_create()) == -1)
		log_warn("metrics: no shared memory; /metrics will answer 503");
	if ((master.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	master_signals();
	master_control();
	logfiles_setup(&master.cf);
	master_start_children();
	master_start_tick();
	if (event_base_dispatch(master.base) == -1)
		fatalx("event_base_dispatch failed");
	log_info("exiting with status %d", master.exit_status);
	master_cleanup();
	return master.exit_status;
}
