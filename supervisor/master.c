/*
 * trestled, the master process: it reads the configuration, binds the MCP
 * listener once, starts the API child and the MCP workers and keeps them
 * running, and shuts them down on SIGTERM.  It never parses anything from the
 * network, so that it has little reason to die.
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
#include "listener.h"
#include "log.h"

#define MASTER_DEFAULT_CONFIG		SYSCONFDIR "/trestle.conf"
#define MASTER_SHUTDOWN_TIMEOUT_SEC	10
#define MASTER_EXIT_USAGE		64	/* EX_USAGE */

enum master_shutdown { MASTER_SERVING, MASTER_GRACEFUL, MASTER_FAST };

static struct {
	struct event_base	*base;
	struct conf		 cf;
	const char		*config_path;	/* NULL: environment only */
	unsigned		 generation;
	int			 listen_fd;
	enum master_shutdown	 shutdown;
	int			 exit_status;
	struct event		*ev_signals[5];
	struct event		*ev_deadline;
} master = { .listen_fd = -1 };

static void	master_usage(FILE *, int) __attribute__((noreturn));
static void	master_options(int, char **, int *);
static void	master_configure(int);
static void	master_open_stdio(void);
static void	master_runtime_dir(const char *);
static void	master_listen(void);
static void	master_signals(void);
static void	master_signal_cb(evutil_socket_t, short, void *);
static void	master_sigchld(void);
static void	master_shutdown(int);
static void	master_deadline_cb(evutil_socket_t, short, void *);
static void	master_start_children(void);
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
	char bound[128], err[256];

	master.listen_fd = listener_open(master.cf.listen, bound, sizeof(bound), err, sizeof(err));
	if (master.listen_fd == -1)
		fatalx("cannot listen on %s: %s", master.cf.listen, err);
	log_info("listening on %s", bound);
}

/* Signals arrive through the event loop, so their work runs outside any handler. */
static void
master_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGUSR1 };

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		master.ev_signals[i] = evsignal_new(master.base, sigs[i], master_signal_cb, NULL);
		if (master.ev_signals[i] == NULL || evsignal_add(master.ev_signals[i], NULL) == -1)
			fatalx("master_signals: cannot watch signal %d", sigs[i]);
	}
}

static void
master_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		/* A second one while draining means: stop now. */
		log_info("%s: %s shutdown", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		    master.shutdown == MASTER_SERVING ? "graceful" : "fast");
		master_shutdown(master.shutdown != MASTER_SERVING);
		break;
	case SIGCHLD:
		master_sigchld();
		break;
	default:
		/* Reload (SIGHUP) and log reopening (SIGUSR1) belong to a later milestone. */
		log_warnx("%s: not supported yet; ignored", sig == SIGHUP ? "SIGHUP" : "SIGUSR1");
		break;
	}
}

static void
master_sigchld(void)
{
	int status;

	child_reap();
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

/* Ask every child to exit; the loop ends when the last one is reaped or the deadline kills it. */
static void
master_shutdown(int fast)
{
	struct timeval tv = { MASTER_SHUTDOWN_TIMEOUT_SEC, 0 };

	if (master.shutdown == MASTER_FAST)
		return;
	if (master.shutdown == MASTER_SERVING) {
		master.ev_deadline = evtimer_new(master.base, master_deadline_cb, NULL);
		if (master.ev_deadline == NULL || evtimer_add(master.ev_deadline, &tv) == -1)
			fatalx("master_shutdown: cannot arm the deadline");
	}
	master.shutdown = fast ? MASTER_FAST : MASTER_GRACEFUL;
	child_stop_all(fast);
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
	    child_alive_count(), MASTER_SHUTDOWN_TIMEOUT_SEC);
	child_kill_all(SIGKILL);
}

static void
master_start_children(void)
{
	char err[PATH_MAX + 256];

	if (child_setup(master.base, master.config_path, master.listen_fd, err, sizeof(err)) == -1)
		fatalx("%s", err);
	master.generation = 1;
	child_start(CHILD_ROLE_API, 0, master.generation);
	for (int slot = 1; slot <= master.cf.workers; slot++)
		child_start(CHILD_ROLE_WORKER, slot, master.generation);
}

static void
master_cleanup(void)
{
	child_table_free();
	for (size_t i = 0; i < sizeof(master.ev_signals) / sizeof(master.ev_signals[0]); i++)
		if (master.ev_signals[i] != NULL)
			event_free(master.ev_signals[i]);
	if (master.ev_deadline != NULL)
		event_free(master.ev_deadline);
	event_base_free(master.base);
	close(master.listen_fd);
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
	log_info("trestled %s starting, configuration from %s", PACKAGE_VERSION,
	    master.config_path != NULL ? master.config_path : "the environment");
	master_runtime_dir(master.cf.runtime_dir);
	master_listen();
	if ((master.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	master_signals();
	master_start_children();
	if (event_base_dispatch(master.base) == -1)
		fatalx("event_base_dispatch failed");
	log_info("exiting with status %d", master.exit_status);
	master_cleanup();
	return master.exit_status;
}
