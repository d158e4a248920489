/*
 * trestlectl: the administration command of trestled.  It speaks to the
 * master over its control socket (see supervisor/control.h): one command,
 * one JSON answer.  Exit status: 0 success, 1 failure, 3 trestled is not
 * running (the LSB convention of status commands), 64 bad usage.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"

#define CTL_EXIT_FAILURE	1
#define CTL_EXIT_NOT_RUNNING	3
#define CTL_EXIT_USAGE		64
#define CTL_ANSWER_MAX		(1024 * 1024)
#define CTL_TIMEOUT_MS		(120 * 1000)	/* a reload waits for a whole generation */

struct ctl {
	const char	*config;	/* -c */
	const char	*socket;	/* -s */
	int		 json;		/* --json */
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void	ctl_usage(FILE *);
static const char *ctl_default_config(void);
static int	ctl_socket_path(struct ctl *);
static int	ctl_connect(const struct ctl *, int *);
static int	ctl_read_answer(int, char *, size_t);
static int	ctl_call(struct ctl *, const char *, json_object **, int *);
static int	ctl_check(const struct ctl *);
static int	ctl_status(struct ctl *);
static void	ctl_print_status(json_object *);
static int	ctl_simple(struct ctl *, const char *);
static int	ctl_wait_eof(int);
static int	ctl_stop(struct ctl *, int);
static int	ctl_run(struct ctl *, int, char **);

static void
ctl_usage(FILE *fp)
{
	fprintf(fp, "usage: trestlectl [-c FILE | -s SOCKET] [--json] command\n"
	    "commands:\n"
	    "  status [--json]  the master, its generation and every child\n"
	    "  reload           reload the configuration; waits for the outcome\n"
	    "  reopen           rotate the log files (reopen them if moved away)\n"
	    "  stop [--fast]    stop trestled (graceful: in-flight requests finish)\n"
	    "  check            check the configuration (trestled -t)\n"
	    "options:\n"
	    "  -c FILE    the configuration, which names the control socket\n"
	    "             (default %s/trestle/trestle.conf if it exists, else TRESTLE_*)\n"
	    "  -s SOCKET  the control socket itself\n"
	    "  -h         this help\n"
	    "  -V         the version\n"
	    "exit status: 0 success, 1 failure, 3 trestled is not running\n", SYSCONFDIR);
}

static const char *
ctl_default_config(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/trestle/trestle.conf", SYSCONFDIR);
	return access(path, F_OK) == 0 ? path : NULL;
}

/* -s, else control_socket or runtime_dir of the configuration, read even if it is invalid. */
static int
ctl_socket_path(struct ctl *ctl)
{
	struct conf cf;
	struct conf_errors errs;
	size_t n;

	if (ctl->socket != NULL)
		n = (size_t)snprintf(ctl->path, sizeof(ctl->path), "%s", ctl->socket);
	else {
		conf_load_partial(&cf, ctl->config, &errs);
		if (cf.control_socket != NULL && cf.control_socket[0] != '\0')
			n = (size_t)snprintf(ctl->path, sizeof(ctl->path), "%s", cf.control_socket);
		else
			n = (size_t)snprintf(ctl->path, sizeof(ctl->path), "%s/control.sock",
			    cf.runtime_dir != NULL ? cf.runtime_dir : "/run/trestle");
		conf_free(&cf);
	}
	if (n >= sizeof(ctl->path)) {
		fprintf(stderr, "trestlectl: control socket path too long\n");
		return -1;
	}
	return 0;
}

/* 0 connected; else the exit status, after saying why. */
static int
ctl_connect(const struct ctl *ctl, int *fdp)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	memcpy(sun.sun_path, ctl->path, strlen(ctl->path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "trestlectl: socket: %s\n", strerror(errno));
		return CTL_EXIT_FAILURE;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		*fdp = fd;
		return 0;
	}
	close(fd);
	if (errno == ENOENT || errno == ECONNREFUSED) {
		fprintf(stderr, "trestlectl: trestled is not running (nothing answers on %s)\n",
		    ctl->path);
		return CTL_EXIT_NOT_RUNNING;
	}
	fprintf(stderr, "trestlectl: %s: %s%s\n", ctl->path, strerror(errno),
	    errno == EACCES ? " (run as the user of trestled, or as root)" : "");
	return CTL_EXIT_FAILURE;
}

/* Read the answer's line; -1 on timeout, error or end-of-file before it. */
static int
ctl_read_answer(int fd, char *buf, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, CTL_TIMEOUT_MS) <= 0)
			return -1;
		if ((n = read(fd, buf + len, cap - 1 - len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (len == cap - 1 || memchr(buf, '\n', len) != NULL)
			break;
	}
	buf[len] = '\0';
	return len > 0 ? 0 : -1;
}

/*
 * Send command and parse the answer into *answer.  0, or the exit status
 * after saying why.  keep_fd: the connection stays open in *keep_fd.
 */
static int
ctl_call(struct ctl *ctl, const char *command, json_object **answer, int *keep_fd)
{
	char line[64], *buf;
	int fd, rc;

	if (ctl_socket_path(ctl) == -1)
		return CTL_EXIT_FAILURE;
	if ((rc = ctl_connect(ctl, &fd)) != 0)
		return rc;
	snprintf(line, sizeof(line), "%s\n", command);
	/* A write error is not the end: a refused client is answered before it writes. */
	(void)!write(fd, line, strlen(line));
	if ((buf = malloc(CTL_ANSWER_MAX)) == NULL || ctl_read_answer(fd, buf, CTL_ANSWER_MAX) == -1 ||
	    (*answer = json_tokener_parse(buf)) == NULL) {
		fprintf(stderr, "trestlectl: no answer from trestled on %s\n", ctl->path);
		free(buf);
		close(fd);
		return CTL_EXIT_FAILURE;
	}
	free(buf);
	if (keep_fd != NULL)
		*keep_fd = fd;
	else
		close(fd);
	return 0;
}

static const char *
ctl_string(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) ? json_object_get_string(v) : NULL;
}

static int
ctl_ok(json_object *answer)
{
	json_object *v;

	return json_object_object_get_ex(answer, "ok", &v) && json_object_get_boolean(v);
}

static int
ctl_check(const struct ctl *ctl)
{
	struct conf cf;
	struct conf_errors errs;

	if (conf_load(&cf, ctl->config, &errs) == -1) {
		fputs(errs.text, stderr);
		conf_free(&cf);
		return CTL_EXIT_FAILURE;
	}
	conf_free(&cf);
	printf("configuration OK\n");
	return 0;
}

/* "3d4h", "4h12m", "12m5s", "7s": an uptime at a glance. */
static void
ctl_duration(double sec, char *buf, size_t len)
{
	long s = (long)sec;

	if (s >= 86400)
		snprintf(buf, len, "%ldd%ldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%ldh%ldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%ldm%lds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lds", s);
}

static double
ctl_number(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) ? json_object_get_double(v) : 0;
}

static void
ctl_print_master(json_object *m)
{
	json_object *last;
	char up[32];

	ctl_duration(ctl_number(m, "uptime_sec"), up, sizeof(up));
	printf("trestled %s, pid %.0f, %s, generation %.0f, up %s, listening on %s\n",
	    ctl_string(m, "version"), ctl_number(m, "pid"), ctl_string(m, "state"),
	    ctl_number(m, "generation"), up, ctl_string(m, "listen"));
	if (json_object_object_get_ex(m, "last_reload", &last) && last != NULL)
		printf("last reload %.0f s ago: %s\n", ctl_number(last, "ago_sec"),
		    ctl_string(last, "message"));
}

static void
ctl_print_child(json_object *c)
{
	json_object *last;
	char up[32], exit_text[256] = "-";

	if (json_object_object_get_ex(c, "last_exit", &last) && last != NULL)
		snprintf(exit_text, sizeof(exit_text), "%s, %.0f s ago", ctl_string(last, "cause"),
		    ctl_number(last, "ago_sec"));
	if (ctl_number(c, "pid") > 0)
		ctl_duration(ctl_number(c, "uptime_sec"), up, sizeof(up));
	else
		snprintf(up, sizeof(up), "-");
	printf("%-7s %4.0f %4.0f %8.0f  %-9s %8s %8.0f  %s\n", ctl_string(c, "role"),
	    ctl_number(c, "slot"), ctl_number(c, "generation"), ctl_number(c, "pid"),
	    ctl_string(c, "state"), up, ctl_number(c, "restarts"), exit_text);
}

static void
ctl_print_status(json_object *status)
{
	json_object *m, *children;

	if (json_object_object_get_ex(status, "master", &m))
		ctl_print_master(m);
	printf("%-7s %4s %4s %8s  %-9s %8s %8s  %s\n", "ROLE", "SLOT", "GEN", "PID", "STATE",
	    "UPTIME", "RESTARTS", "LAST EXIT");
	if (!json_object_object_get_ex(status, "children", &children))
		return;
	for (size_t i = 0; i < json_object_array_length(children); i++)
		ctl_print_child(json_object_array_get_idx(children, i));
}

static int
ctl_status(struct ctl *ctl)
{
	json_object *answer, *status;
	int rc;

	if ((rc = ctl_call(ctl, "status", &answer, NULL)) != 0)
		return rc;
	if (!ctl_ok(answer) || !json_object_object_get_ex(answer, "status", &status)) {
		fprintf(stderr, "trestlectl: status: %s\n", ctl_string(answer, "message"));
		json_object_put(answer);
		return CTL_EXIT_FAILURE;
	}
	if (ctl->json)
		printf("%s\n", json_object_to_json_string_ext(status, JSON_C_TO_STRING_PLAIN));
	else
		ctl_print_status(status);
	json_object_put(answer);
	return 0;
}

/* reload, reopen: print the message; ok decides the exit status. */
static int
ctl_simple(struct ctl *ctl, const char *command)
{
	json_object *answer;
	int rc, ok;

	if ((rc = ctl_call(ctl, command, &answer, NULL)) != 0)
		return rc;
	ok = ctl_ok(answer);
	fprintf(ok ? stdout : stderr, "%s%s\n", ok ? "" : "trestlectl: ",
	    ctl_string(answer, "message"));
	json_object_put(answer);
	return ok ? 0 : CTL_EXIT_FAILURE;
}

/* 0 at end-of-file (the master has exited), -1 when it takes longer than the timeout. */
static int
ctl_wait_eof(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[256];
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, CTL_TIMEOUT_MS) <= 0)
			return -1;
		if ((n = read(fd, buf, sizeof(buf))) == 0 || (n == -1 && errno == ECONNRESET))
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* The master keeps the connection until it exits: its end-of-file says it is gone. */
static int
ctl_stop(struct ctl *ctl, int fast)
{
	json_object *answer;
	int rc, fd, ok;

	if ((rc = ctl_call(ctl, fast ? "stop fast" : "stop", &answer, &fd)) != 0)
		return rc;
	if (!(ok = ctl_ok(answer)))
		fprintf(stderr, "trestlectl: %s\n", ctl_string(answer, "message"));
	json_object_put(answer);
	if (ok && ctl_wait_eof(fd) == -1) {
		fprintf(stderr, "trestlectl: trestled is still stopping after %d s\n",
		    CTL_TIMEOUT_MS / 1000);
		ok = 0;
	}
	close(fd);
	if (ok)
		printf("trestled stopped\n");
	return ok ? 0 : CTL_EXIT_FAILURE;
}

static int
ctl_run(struct ctl *ctl, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "status") == 0 && argc <= 2) {
		if (argc == 2 && strcmp(argv[1], "--json") != 0)
			return -1;
		ctl->json |= argc == 2;
		return ctl_status(ctl);
	}
	if (strcmp(cmd, "stop") == 0 && argc <= 2) {
		if (argc == 2 && strcmp(argv[1], "--fast") != 0)
			return -1;
		return ctl_stop(ctl, argc == 2);
	}
	if (argc != 1)
		return -1;
	if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "reopen") == 0)
		return ctl_simple(ctl, cmd);
	if (strcmp(cmd, "check") == 0)
		return ctl_check(ctl);
	fprintf(stderr, "trestlectl: unknown command '%s'\n", cmd);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ "json",	no_argument,	NULL, 'j' },
		{ NULL,		0,		NULL, 0 },
	};
	struct ctl ctl = { .config = NULL };
	int ch, rc;

	signal(SIGPIPE, SIG_IGN);	/* a closed control socket is an answer, not a death */
	while ((ch = getopt_long(argc, argv, "+c:s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.config = optarg;
			break;
		case 's':
			ctl.socket = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		case 'V':
			printf("trestlectl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (ctl.config == NULL)
		ctl.config = ctl_default_config();
	if (optind >= argc || (rc = ctl_run(&ctl, argc - optind, argv + optind)) == -1) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return rc;
}
