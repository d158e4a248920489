/*
 * The child table: spawning children, reading their channels, reaping them and
 * deciding, per the restart policy in backoff.c, whether and when each slot
 * comes back.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "backoff.h"
#include "channel.h"
#include "child.h"
#include "conf.h"
#include "jsonstr.h"
#include "log.h"
#include "shm_metrics.h"

/* What each role is: the process table as data, read by spawn and by the logs. */
static const struct child_kind {
	const char	*name;		/* role name in logs */
	const char	*program;	/* executable and argv[0] */
	int		 listener;	/* inherits LISTEN_CHILD_FD */
} child_kinds[] = {
	[CHILD_ROLE_API] =	{ "api",	"trestle-api",	0 },
	[CHILD_ROLE_WORKER] =	{ "worker",	"trestle-mcp",	1 },
};

#define CHILD_NROLES	(sizeof(child_kinds) / sizeof(child_kinds[0]))
#define CHILD_WRAPPER_MAX	16	/* words of TRESTLE_TEST_CHILD_WRAPPER */

struct child_list child_table = TAILQ_HEAD_INITIALIZER(child_table);

static struct {
	struct event_base	*base;
	const char		*config_path;
	int			 listen_fd;
	int			 shm_fd;
	char *const		*pins;
	struct child_hooks	 hooks;
	char			 program[CHILD_NROLES][PATH_MAX];
} spawn_env = { .listen_fd = -1, .shm_fd = -1 };

static int	child_find_program(const char *, char *, size_t);
static int	child_spawn(struct child *);
static void	child_exec(const struct child *, int, pid_t) __attribute__((noreturn));
static int	child_exec_fds(const struct child_kind *, int);
static int	child_channel_open(struct child *, int);
static void	child_channel_msg(struct child *, const struct channel_msg *);
static void	child_channel_cb(evutil_socket_t, short, void *);
static void	child_channel_close(struct child *);
static void	child_respawn_cb(evutil_socket_t, short, void *);
static struct child *child_by_pid(pid_t);
static void	child_exited(struct child *, int);
static enum child_exit child_classify(int, int);
static void	child_describe(int, char *, size_t);
static void	child_decide(struct child *, int64_t, const char *);
static int	child_killed_from_outside(const struct child *, int);
static void	child_spawn_failed(struct child *);
static void	child_status_one(struct jsonstr *, const struct child *, int64_t, time_t);

int64_t
child_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
child_role_name(enum child_role role)
{
	return child_kinds[role].name;
}

const char *
child_state_name(enum child_state state)
{
	static const char *const names[] = {
		"starting", "running", "stopping", "waiting", "stopped", "failed",
	};

	return names[state];
}

/* Where a program lives: the environment for tests, next to us in a build tree, else installed. */
static int
child_find_program(const char *program, char *path, size_t len)
{
	const char *dir = getenv("TRESTLE_LIBEXECDIR");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (dir == NULL || dir[0] == '\0') {
		dir = PKGLIBEXECDIR;
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0 && (self[n] = '\0', slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(path, len, "%s/%s", self, program) < len &&
			    access(path, X_OK) == 0)
				return 0;
		}
	}
	if ((size_t)snprintf(path, len, "%s/%s", dir, program) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return access(path, X_OK);
}

int
child_setup(struct event_base *base, const char *config_path, int listen_fd, int shm_fd,
    char *const *pins, const struct child_hooks *hooks, char *err, size_t errlen)
{
	spawn_env.base = base;
	spawn_env.config_path = config_path;
	spawn_env.listen_fd = listen_fd;
	spawn_env.shm_fd = shm_fd;
	spawn_env.pins = pins;
	spawn_env.hooks = *hooks;
	for (size_t i = 0; i < CHILD_NROLES; i++) {
		if (child_find_program(child_kinds[i].program, spawn_env.program[i],
		    sizeof(spawn_env.program[i])) == -1) {
			snprintf(err, errlen, "cannot run %s: %s (install it, or set TRESTLE_LIBEXECDIR "
			    "to its directory)", spawn_env.program[i], strerror(errno));
			return -1;
		}
		log_debug("child: %s is %s", child_kinds[i].name, spawn_env.program[i]);
	}
	return 0;
}

struct child *
child_start(enum child_role role, int slot, unsigned generation)
{
	struct child *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("child_start");
	c->role = role;
	c->slot = slot;
	c->generation = generation;
	c->channel = -1;
	c->metrics_slot = metrics_slot_take(role == CHILD_ROLE_API ? METRICS_ROLE_API :
	    METRICS_ROLE_WORKER);
	c->ev_respawn = evtimer_new(spawn_env.base, child_respawn_cb, c);
	if (c->ev_respawn == NULL)
		fatalx("child_start: evtimer_new failed");
	TAILQ_INSERT_TAIL(&child_table, c, entry);
	if (child_spawn(c) == -1)
		child_spawn_failed(c);
	return c;
}

/* The master's end of a new channel, watched for READY and HEARTBEAT. */
static int
child_channel_open(struct child *c, int fd)
{
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		return -1;
	c->ev_channel = event_new(spawn_env.base, fd, EV_READ | EV_PERSIST, child_channel_cb, c);
	if (c->ev_channel == NULL || event_add(c->ev_channel, NULL) == -1)
		return -1;
	c->channel = fd;
	return 0;
}

static int
child_spawn(struct child *c)
{
	pid_t master = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s %d: socketpair", child_role_name(c->role), c->slot);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("%s %d: fork", child_role_name(c->role), c->slot);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(c, sv[1], master);
	close(sv[1]);
	if (child_channel_open(c, sv[0]) == -1)
		log_warnx("%s %d: cannot watch the channel", child_role_name(c->role), c->slot);
	c->pid = pid;
	c->state = CHILD_STARTING;
	c->last_exit = CHILD_EXIT_NONE;
	c->started_ms = child_now_ms();
	c->started_at = time(NULL);
	c->heartbeat_ms = 0;
	c->been_ready = 0;
	c->hung = 0;
	metrics_slot_owner(c->metrics_slot, pid);
	log_info("spawned %s %d, pid %ld, generation %u", child_role_name(c->role), c->slot,
	    (long)pid, c->generation);
	return 0;
}

/* A close-on-exec copy of fd above every fixed child descriptor. */
static int
child_copy_high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, SHM_CHILD_FD + 1);
}

/*
 * In the forked child: the channel becomes fd 3, a worker's listener fd 4 and
 * the metrics region fd 5.  Each is first copied above fd 5 (close-on-exec,
 * so the copies vanish at exec), so that placing one cannot overwrite another.
 */
static int
child_exec_fds(const struct child_kind *kind, int chan)
{
	int lfd = -1, sfd = -1;

	if ((chan = child_copy_high(chan)) == -1 ||
	    (kind->listener && (lfd = child_copy_high(spawn_env.listen_fd)) == -1) ||
	    (spawn_env.shm_fd != -1 && (sfd = child_copy_high(spawn_env.shm_fd)) == -1))
		return -1;
	if (dup2(chan, CHANNEL_CHILD_FD) == -1 ||
	    (lfd != -1 && dup2(lfd, LISTEN_CHILD_FD) == -1) ||
	    (sfd != -1 && dup2(sfd, SHM_CHILD_FD) == -1))
		return -1;
	/*
	 * Whatever else the master inherited without close-on-exec stays out of
	 * the child; marked rather than closed, so an exec failure can still be
	 * logged.  Best effort: an old kernel without it leaves them open.
	 */
	if (lfd == -1)
		close_range(LISTEN_CHILD_FD, LISTEN_CHILD_FD, CLOSE_RANGE_CLOEXEC);
	if (sfd == -1)
		close_range(SHM_CHILD_FD, SHM_CHILD_FD, CLOSE_RANGE_CLOEXEC);
	close_range(SHM_CHILD_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
	return 0;
}

/*
 * Tests only: TRESTLE_TEST_CHILD_WRAPPER, words separated by spaces (no
 * quoting), is run in front of each child, e.g. "valgrind --leak-check=full
 * --log-file=DIR/vg.%p", so that a test can watch the children under a tool.
 * Adds the words to argv and returns how many; never set in production.
 */
static int
child_wrapper(const char **argv, int max)
{
	const char *env = getenv("TRESTLE_TEST_CHILD_WRAPPER");
	char *words, *word, *last;
	int n = 0;

	if (env == NULL || env[0] == '\0' || (words = strdup(env)) == NULL)
		return 0;
	for (word = strtok_r(words, " ", &last); word != NULL && n < max;
	    word = strtok_r(NULL, " ", &last))
		argv[n++] = word;	/* words is never freed: exec replaces us */
	return n;
}

/* In the forked child: die with the master, take fds 3 and 4, and become the program. */
static void
child_exec(const struct child *c, int chan, pid_t master)
{
	const struct child_kind *kind = &child_kinds[c->role];
	const char *argv[11 + CHILD_WRAPPER_MAX];
	char slot[16], generation[16], mslot[16];
	sigset_t none;
	int i = 0, wrapped;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The master may have died before prctl(); then nobody would ever send the signal. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != master)
		_exit(1);
	if (child_exec_fds(kind, chan) == -1) {
		log_reopen();
		log_warn("%s %d: descriptors", kind->name, c->slot);
		_exit(127);
	}
	snprintf(slot, sizeof(slot), "%d", c->slot);
	snprintf(generation, sizeof(generation), "%u", c->generation);
	snprintf(mslot, sizeof(mslot), "%d", c->metrics_slot);
	for (char *const *pin = spawn_env.pins; pin != NULL && *pin != NULL; pin++)
		putenv(*pin);
	wrapped = i = child_wrapper(argv, CHILD_WRAPPER_MAX);
	argv[i++] = wrapped ? spawn_env.program[c->role] : kind->program;
	argv[i++] = "--slot";
	argv[i++] = slot;
	argv[i++] = "--generation";
	argv[i++] = generation;
	if (c->metrics_slot != METRICS_NO_SLOT) {
		argv[i++] = "--metrics-slot";
		argv[i++] = mslot;
	}
	if (spawn_env.config_path != NULL) {
		argv[i++] = "-c";
		argv[i++] = spawn_env.config_path;
	}
	argv[i] = NULL;
	if (wrapped)
		execvp(argv[0], (char *const *)argv);
	else
		execv(spawn_env.program[c->role], (char *const *)argv);
	/* The log's descriptor may have been 3 or 4, taken above: open it afresh to report. */
	log_reopen();
	log_warn("%s %d: cannot execute %s", kind->name, c->slot, spawn_env.program[c->role]);
	_exit(127);
}

static void
child_channel_close(struct child *c)
{
	if (c->ev_channel != NULL) {
		event_free(c->ev_channel);
		c->ev_channel = NULL;
	}
	if (c->channel != -1) {
		close(c->channel);
		c->channel = -1;
	}
}

static void
child_channel_msg(struct child *c, const struct channel_msg *msg)
{
	switch (msg->type) {
	case CHANNEL_CHILD_READY:
		c->heartbeat_ms = child_now_ms();
		if (c->state == CHILD_STARTING) {
			c->state = CHILD_RUNNING;
			c->been_ready = 1;
			log_info("%s %d: ready, pid %ld, generation %u", child_role_name(c->role),
			    c->slot, (long)c->pid, c->generation);
			if (spawn_env.hooks.on_ready != NULL)
				spawn_env.hooks.on_ready(c);
		}
		break;
	case CHANNEL_CHILD_HEARTBEAT:
		c->heartbeat_ms = child_now_ms();
		break;
	default:
		log_warnx("%s %d: unknown channel message %u", child_role_name(c->role), c->slot,
		    msg->type);
		break;
	}
}

/* Read every queued message; end-of-file means the child is going, and SIGCHLD will follow. */
static void
child_channel_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	struct channel_msg msg;
	int rc;

	(void)what;
	for (;;) {
		errno = 0;
		if ((rc = channel_recv(fd, &msg)) == 1) {
			child_channel_msg(c, &msg);
			continue;
		}
		if (rc == -1 && errno == 0) {
			log_warnx("%s %d: channel message of the wrong size",
			    child_role_name(c->role), c->slot);
			continue;
		}
		if (rc == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			child_channel_close(c);
		return;
	}
}

static void
child_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	c->restarts++;
	metrics_count_restart(c->role == CHILD_ROLE_API ? METRICS_ROLE_API : METRICS_ROLE_WORKER);
	if (child_spawn(c) == -1)
		child_spawn_failed(c);
}

/* A spawn that failed (no memory, no descriptors) is an early death like any other. */
static void
child_spawn_failed(struct child *c)
{
	int64_t now = child_now_ms();

	c->started_ms = now;
	c->last_exit = CHILD_EXIT_NONE;
	c->exited_at = time(NULL);
	snprintf(c->cause, sizeof(c->cause), "could not be spawned");
	child_decide(c, now, c->cause);
}

static struct child *
child_by_pid(pid_t pid)
{
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry)
		if (c->pid == pid)
			return c;
	return NULL;
}

void
child_reap(void)
{
	struct child *c;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = child_by_pid(pid)) != NULL)
			child_exited(c, status);
		else
			log_debug("child_reap: pid %ld is not in the table", (long)pid);
	}
	if (pid == -1 && errno != ECHILD)
		log_warn("child_reap: waitpid");
}

static enum child_exit
child_classify(int status, int asked)
{
	if (asked)
		return CHILD_EXIT_ASKED;
	if (WIFSIGNALED(status))
		return CHILD_EXIT_SIGNAL;
	if (WEXITSTATUS(status) == 0)
		return CHILD_EXIT_CLEAN;
	if (WEXITSTATUS(status) == CONF_EXIT_INVALID)
		return CHILD_EXIT_CONFIG;
	return CHILD_EXIT_CODE;
}

static void
child_describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
		    strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else if (WEXITSTATUS(status) == CONF_EXIT_INVALID)
		snprintf(buf, len, "exited with status %d (bad configuration)", CONF_EXIT_INVALID);
	else if (WEXITSTATUS(status) == 127)
		snprintf(buf, len, "exited with status 127 (could not be executed?)");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

static void
child_exited(struct child *c, int status)
{
	struct timeval now_tv = { 0, 0 };
	int64_t now = child_now_ms();
	char how[128];

	child_channel_close(c);
	metrics_slot_owner(c->metrics_slot, 0);
	c->last_status = status;
	c->last_exit = child_classify(status, c->state == CHILD_STOPPING);
	c->exited_at = time(NULL);
	child_describe(status, how, sizeof(how));
	snprintf(c->cause, sizeof(c->cause), "%s%s", how,
	    c->hung ? " (no heartbeat: killed by the master)" : "");
	if (c->last_exit == CHILD_EXIT_ASKED) {
		log_info("%s %d: pid %ld %s", child_role_name(c->role), c->slot, (long)c->pid, how);
		c->pid = 0;
		c->state = CHILD_STOPPED;
		if (spawn_env.hooks.on_exit != NULL)
			spawn_env.hooks.on_exit(c);
		return;
	}
	log_warnx("%s %d: pid %ld %s after %.1f s", child_role_name(c->role), c->slot,
	    (long)c->pid, c->cause, (double)(now - c->started_ms) / 1000);
	c->pid = 0;
	if (spawn_env.hooks.on_exit != NULL && spawn_env.hooks.on_exit(c)) {
		c->state = CHILD_STOPPED;
		return;
	}
	if (child_killed_from_outside(c, status)) {
		c->state = CHILD_WAITING;
		evtimer_add(c->ev_respawn, &now_tv);
		log_info("%s %d: restarting now", child_role_name(c->role), c->slot);
		return;
	}
	child_decide(c, now, c->cause);
}

/*
 * SIGKILL from someone else (an operator, the OOM killer) to a child that had
 * served: not a child that cannot start, nor its own bug (that would be
 * SIGSEGV, SIGABRT, an exit status), so it comes back at once and the death
 * does not count towards giving the slot up.  The master's own kill of a hung
 * child does count.
 */
static int
child_killed_from_outside(const struct child *c, int status)
{
	return c->been_ready && !c->hung && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/* After an unasked death (or a failed spawn): respawn now, later, or never. */
static void
child_decide(struct child *c, int64_t now, const char *how)
{
	const char *role = child_role_name(c->role);
	struct timeval tv;
	int64_t delay;

	if (c->last_exit == CHILD_EXIT_CONFIG) {
		c->state = CHILD_FAILED;
		log_errorx("%s %d: refused its configuration; not restarting it (fix the "
		    "configuration: trestled -t)", role, c->slot);
		return;
	}
	if (backoff_record_death(&c->backoff, c->started_ms, now, &delay) == BACKOFF_FAILED) {
		c->state = CHILD_FAILED;
		log_errorx("%s %d: FAILED: died %d times within %d s (last: %s); not restarting "
		    "it", role, c->slot, BACKOFF_MAX_DEATHS, BACKOFF_WINDOW_MS / 1000, how);
		return;
	}
	c->state = CHILD_WAITING;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(c->ev_respawn, &tv);
	if (delay > 0)
		log_info("%s %d: restarting in %.0f s", role, c->slot, (double)delay / 1000);
	else
		log_info("%s %d: restarting now", role, c->slot);
}

void
child_stop(struct child *c, int fast)
{
	switch (c->state) {
	case CHILD_WAITING:
		evtimer_del(c->ev_respawn);
		c->state = CHILD_STOPPED;
		break;
	case CHILD_STARTING:
	case CHILD_RUNNING:
	case CHILD_STOPPING:
		if (c->pid <= 0) {	/* just reaped: kill(0) would hit the master's group */
			c->state = CHILD_STOPPED;
			break;
		}
		c->state = CHILD_STOPPING;
		/* The channel first; a signal only when it is gone or when fast means now. */
		if (c->channel == -1 || channel_send(c->channel, CHANNEL_MASTER_SHUTDOWN, fast) == -1 ||
		    fast)
			kill(c->pid, SIGTERM);
		break;
	case CHILD_STOPPED:
	case CHILD_FAILED:
		break;
	}
}

void
child_stop_all(int fast)
{
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry)
		child_stop(c, fast);
}

void
child_kill_all(int sig)
{
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry)
		if (c->pid > 0)
			kill(c->pid, sig);
}

int
child_alive_count(void)
{
	struct child *c;
	int n = 0;

	TAILQ_FOREACH(c, &child_table, entry)
		if (c->pid > 0)
			n++;
	return n;
}

int
child_give_up_status(void)
{
	struct child *c;
	int workers = 0, failed = 0, refused = 0;

	TAILQ_FOREACH(c, &child_table, entry) {
		if (c->role == CHILD_ROLE_API && c->state == CHILD_FAILED)
			return c->last_exit == CHILD_EXIT_CONFIG ? CONF_EXIT_INVALID : 1;
		if (c->role != CHILD_ROLE_WORKER)
			continue;
		workers++;
		if (c->state == CHILD_FAILED) {
			failed++;
			refused += c->last_exit == CHILD_EXIT_CONFIG;
		}
	}
	if (workers == 0 || failed < workers)
		return 0;
	return refused == workers ? CONF_EXIT_INVALID : 1;
}

void
child_remove(struct child *c)
{
	TAILQ_REMOVE(&child_table, c, entry);
	child_channel_close(c);
	event_free(c->ev_respawn);
	free(c);
}

void
child_broadcast(enum channel_msg_type type, int arg)
{
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry)
		if (c->pid > 0 && c->channel != -1 && channel_send(c->channel, type, arg) == -1)
			log_warn("%s %d: channel", child_role_name(c->role), c->slot);
}

int
child_alive_role(enum child_role role, unsigned below_generation)
{
	struct child *c;
	int n = 0;

	TAILQ_FOREACH(c, &child_table, entry)
		if (c->pid > 0 && c->role == role && c->generation < below_generation)
			n++;
	return n;
}

/* The last sign of life: a heartbeat, else the spawn. */
static int64_t
child_last_seen(const struct child *c)
{
	return c->heartbeat_ms > c->started_ms ? c->heartbeat_ms : c->started_ms;
}

void
child_check_heartbeats(int64_t timeout_ms)
{
	int64_t now = child_now_ms();
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry) {
		if (c->pid <= 0 || c->hung || now - child_last_seen(c) <= timeout_ms)
			continue;
		log_errorx("%s %d: pid %ld sent no heartbeat for %.1f s; killing it",
		    child_role_name(c->role), c->slot, (long)c->pid,
		    (double)(now - child_last_seen(c)) / 1000);
		c->hung = 1;
		kill(c->pid, SIGKILL);
	}
}

int
child_heartbeats_fresh(int64_t max_age_ms)
{
	int64_t now = child_now_ms();
	struct child *c;

	TAILQ_FOREACH(c, &child_table, entry)
		if (c->pid > 0 && now - child_last_seen(c) > max_age_ms)
			return 0;
	return 1;
}

static void
child_status_one(struct jsonstr *js, const struct child *c, int64_t now, time_t wall)
{
	jsonstr_raw(js, "{\"role\":");
	jsonstr_quote(js, child_role_name(c->role));
	jsonstr_printf(js, ",\"slot\":%d,\"generation\":%u,\"pid\":%ld,\"state\":",
	    c->slot, c->generation, (long)c->pid);
	jsonstr_quote(js, child_state_name(c->state));
	jsonstr_printf(js, ",\"uptime_sec\":%.1f,\"restarts\":%u,\"heartbeat_age_sec\":%.1f",
	    c->pid > 0 ? (double)(now - c->started_ms) / 1000 : 0.0, c->restarts,
	    c->pid > 0 ? (double)(now - child_last_seen(c)) / 1000 : 0.0);
	jsonstr_raw(js, ",\"last_exit\":");
	if (c->exited_at == 0)
		jsonstr_raw(js, "null");
	else {
		jsonstr_raw(js, "{\"cause\":");
		jsonstr_quote(js, c->cause);
		jsonstr_printf(js, ",\"ago_sec\":%lld}", (long long)(wall - c->exited_at));
	}
	jsonstr_raw(js, "}");
}

void
child_status_json(struct jsonstr *js)
{
	int64_t now = child_now_ms();
	time_t wall = time(NULL);
	struct child *c;
	const char *sep = "";

	jsonstr_raw(js, "[");
	TAILQ_FOREACH(c, &child_table, entry) {
		jsonstr_raw(js, sep);
		child_status_one(js, c, now, wall);
		sep = ",";
	}
	jsonstr_raw(js, "]");
}

void
child_table_free(void)
{
	struct child *c;

	while ((c = TAILQ_FIRST(&child_table)) != NULL)
		child_remove(c);
}
