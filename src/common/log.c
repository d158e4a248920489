/*
 * Every line is a JSON object: time, level, role, pid, msg and, where a request
 * is being served, its correlation id.  A line is formatted completely and then
 * written with one write(2) on a descriptor opened with O_APPEND, so lines of
 * several processes sharing one file never interleave, and a rotation (the
 * master renames the file, then every process reopens it by name) cannot tear
 * or lose one: a line lands whole in the old file or whole in the new one.
 * Access lines may go to a file of their own (log_access_init), and may be
 * held for a moment (log_access_hold): a worker answering many requests in
 * one turn of its event loop writes their lines with one write(2) at the end
 * of the turn instead of one each.
 *
 * A write that fails (ENOSPC on a full disk, EIO) drops the line and the
 * service goes on.  Each file remembers that it is failing, so the condition
 * is reported once when it starts, on standard error (unless that is the
 * failing file), at most every LOG_REPORT_EVERY_SEC, and once when writing
 * works again, in the file itself, with the number of lines lost; the
 * reports are written directly, never through the logging functions, so
 * they cannot recurse.  A short write (of this process or of another one
 * sharing the file) may leave part of a line at the end of the file: the
 * first line written after a failure therefore starts with a newline, so
 * that only the fragment is spoiled, not the next line too.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "jsonstr.h"
#include "shm_metrics.h"

#define LOG_LINE_MAX 8192
#define LOG_REPORT_EVERY_SEC	10
#define LOG_HELD_MAX		(4 * LOG_LINE_MAX)	/* held access lines, in bytes */

/* One file lines are written to, and how writing to it goes. */
struct log_sink {
	int			 fd;
	const char		*path;		/* "": standard error */
	int			 failing;	/* the last write failed */
	int			 error;		/* its errno */
	unsigned long long	 dropped;	/* lines lost since the last report */
	time_t			 reported;	/* the last report on standard error */
};

static const char *log_role = "trestle";
static char log_path[4096];
static char access_path[4096];		/* "": access lines go to the main log */
static struct log_sink main_sink = { .fd = STDERR_FILENO, .path = log_path };
static struct log_sink access_sink = { .fd = -1, .path = access_path };
static unsigned long long log_lost;	/* lines lost by this process, in all */

/* Access lines held until log_access_flush (log_access_hold). */
static struct {
	void		(*wake)(void *);	/* NULL: lines are written at once */
	void		*arg;
	char		 buf[LOG_HELD_MAX];
	size_t		 len;
	unsigned	 lines;
} held;
static enum log_level log_min = LOG_LEVEL_INFO;
static long log_pid;			/* 0: not known yet (or since a fork) */

static int	log_open_path(const char *);
static void	log_write_line(struct log_sink *, const char *, size_t);
static void	log_write_lines(struct log_sink *, const char *, size_t, unsigned);
static void	log_start_line(struct jsonstr *, char *, size_t, enum log_level);

static const char *const level_names[] = { "debug", "info", "warn", "error", "fatal" };

static int
log_open_path(const char *path)
{
	if (path[0] == '\0')
		return STDERR_FILENO;
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
log_init(const char *role, const char *path, enum log_level min_level)
{
	log_role = role;
	log_min = min_level;
	snprintf(log_path, sizeof(log_path), "%s", path ? path : "");
	return log_reopen();
}

void
log_set_level(enum log_level min_level)
{
	log_min = min_level;
}

int
log_access_init(const char *path)
{
	snprintf(access_path, sizeof(access_path), "%s", path != NULL ? path : "");
	if (access_sink.fd != -1 && access_sink.fd != STDERR_FILENO)
		close(access_sink.fd);
	access_sink.fd = -1;
	return log_reopen();
}

/* Swap *fdp for a new descriptor of path; the old one stays on failure. */
static int
log_reopen_one(int *fdp, const char *path)
{
	int fd = log_open_path(path);

	if (fd == -1)
		return -1;
	if (*fdp != STDERR_FILENO && *fdp != -1 && *fdp != fd)
		close(*fdp);
	*fdp = fd;
	return 0;
}

/* Reopen the log files by name (after a rotation); each keeps its old descriptor on failure. */
int
log_reopen(void)
{
	int rc;

	log_access_flush();	/* held lines belong to the file they were made for */
	rc = log_reopen_one(&main_sink.fd, log_path);

	if (access_path[0] != '\0' && log_reopen_one(&access_sink.fd, access_path) == -1)
		rc = -1;
	return rc;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
log_forked(void)
{
	log_pid = 0;
	held.len = 0;		/* the parent's lines are the parent's to write */
	held.lines = 0;
	held.wake = NULL;
}

/* getpid() is a system call: asked once, and again in the child after a fork. */
static long
log_getpid(void)
{
	static int registered;

	if (log_pid == 0) {
		log_pid = (long)getpid();
		if (!registered && pthread_atfork(NULL, NULL, log_forked) == 0)
			registered = 1;
	}
	return log_pid;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ"; the part up to the second is formatted once a second. */
static size_t
log_format_time(char *buf, size_t size)
{
	static time_t last_sec = -1;
	static char last[32];
	static size_t last_len;
	struct timeval tv;
	struct tm tm;
	long ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != last_sec) {
		gmtime_r(&tv.tv_sec, &tm);
		last_len = strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = tv.tv_sec;
	}
	if (size < last_len + 6) {
		buf[0] = '\0';
		return 0;
	}
	ms = (long)(tv.tv_usec / 1000);
	memcpy(buf, last, last_len);
	buf[last_len] = '.';
	buf[last_len + 1] = (char)('0' + ms / 100);
	buf[last_len + 2] = (char)('0' + ms / 10 % 10);
	buf[last_len + 3] = (char)('0' + ms % 10);
	buf[last_len + 4] = 'Z';
	buf[last_len + 5] = '\0';
	return last_len + 5;
}

static ssize_t
log_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	do {
		n = write(fd, buf, len);
	} while (n == -1 && errno == EINTR);
	return n;
}

/* A line of our own about the sink, straight to fd: never through log_emit. */
static void
log_sink_notice(int fd, const char *level, const char *msg)
{
	struct jsonstr js;
	char line[1024], when[40];

	log_format_time(when, sizeof(when));
	jsonstr_init(&js, line, sizeof(line) - 1);
	jsonstr_printf(&js, "{\"time\":\"%s\",\"level\":\"%s\",\"role\":", when, level);
	jsonstr_quote(&js, log_role);
	jsonstr_printf(&js, ",\"pid\":%ld,\"msg\":", log_getpid());
	jsonstr_quote(&js, msg);
	jsonstr_raw(&js, "}");
	line[js.len++] = '\n';
	log_write_all(fd, line, js.len);
}

/* A write failed: count its lines, and say so on standard error now and then. */
static void
log_sink_failed(struct log_sink *sink, int error, unsigned lines)
{
	time_t now = time(NULL);
	char msg[4200];

	sink->dropped += lines;
	log_lost += lines;
	for (unsigned i = 0; i < lines; i++)
		metrics_count_log_lost();
	sink->failing = 1;
	sink->error = error;
	if (sink->fd == STDERR_FILENO || now - sink->reported < LOG_REPORT_EVERY_SEC)
		return;
	sink->reported = now;
	snprintf(msg, sizeof(msg), "log: cannot write to %s: %s; its lines are lost until it "
	    "can be written again", sink->path, strerror(error));
	log_sink_notice(STDERR_FILENO, "error", msg);
}

/* Writing works again: tell the file itself what it is missing. */
static void
log_sink_recovered(struct log_sink *sink)
{
	char msg[256];

	sink->failing = 0;
	snprintf(msg, sizeof(msg), "log: %llu lines could not be written here (%s) and were "
	    "lost", sink->dropped, strerror(sink->error));
	sink->dropped = 0;
	log_sink_notice(sink->fd, "warn", msg);
}

/* lines whole lines, in one system call. */
static void
log_write_lines(struct log_sink *sink, const char *text, size_t len, unsigned lines)
{
	/* After a failure, the newline that ends a fragment goes with the lines. */
	struct iovec iov[2] = { { (void *)"\n", 1 }, { (void *)text, len } };
	int first = sink->failing ? 0 : 1;
	ssize_t n;

	do {
		n = writev(sink->fd, iov + first, 2 - first);
	} while (n == -1 && errno == EINTR);
	if (n == (ssize_t)(len + (first == 0))) {
		if (sink->failing)
			log_sink_recovered(sink);
		return;
	}
	/* A full disk must not stop the service: the lines are dropped. */
	log_sink_failed(sink, n == -1 ? errno : ENOSPC, lines);
}

static void
log_write_line(struct log_sink *sink, const char *line, size_t len)
{
	log_write_lines(sink, line, len, 1);
}

static struct log_sink *
log_access_sink(void)
{
	return access_sink.fd != -1 ? &access_sink : &main_sink;
}

void
log_access_hold(void (*wake)(void *), void *arg)
{
	static int registered;

	log_access_flush();
	held.wake = wake;
	held.arg = arg;
	if (!registered && atexit(log_access_flush) == 0)
		registered = 1;
}

void
log_access_flush(void)
{
	if (held.len == 0)
		return;
	log_write_lines(log_access_sink(), held.buf, held.len, held.lines);
	held.len = 0;
	held.lines = 0;
}

/* Hold line, or write it when lines are not held. */
static void
log_access_put(const char *line, size_t len)
{
	if (held.wake == NULL) {
		log_write_line(log_access_sink(), line, len);
		return;
	}
	if (held.len + len > sizeof(held.buf))
		log_access_flush();
	memcpy(held.buf + held.len, line, len);
	held.len += len;
	if (held.lines++ == 0)
		held.wake(held.arg);
}

unsigned long long
log_lines_lost(void)
{
	return log_lost;
}

/* The fields every line starts with: time, level, role, pid. */
static void
log_start_line(struct jsonstr *js, char *line, size_t cap, enum log_level level)
{
	char when[40];

	log_format_time(when, sizeof(when));
	jsonstr_init(js, line, cap);
	jsonstr_raw(js, "{\"time\":\"");
	jsonstr_raw(js, when);
	jsonstr_raw(js, "\",\"level\":\"");
	jsonstr_raw(js, level_names[level]);
	jsonstr_raw(js, "\",\"role\":");
	jsonstr_quote(js, log_role);
	jsonstr_printf(js, ",\"pid\":%ld", log_getpid());
}

static void
log_emit(enum log_level level, const char *cid, const char *suffix, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX / 2];
	struct jsonstr js;
	char line[LOG_LINE_MAX];

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_start_line(&js, line, sizeof(line) - 1, level);
	jsonstr_raw(&js, ",\"msg\":");
	if (suffix != NULL) {
		char full[LOG_LINE_MAX / 2 + 256];

		snprintf(full, sizeof(full), "%s: %s", msg, suffix);
		jsonstr_quote(&js, full);
	} else
		jsonstr_quote(&js, msg);
	if (cid != NULL && cid[0] != '\0') {
		jsonstr_raw(&js, ",\"correlation_id\":");
		jsonstr_quote(&js, cid);
	}
	jsonstr_raw(&js, "}");
	line[js.len++] = '\n';
	log_write_line(&main_sink, line, js.len);
}

void
log_access(const char *correlation_id, const char *fields)
{
	struct jsonstr js;
	char line[LOG_LINE_MAX];

	log_start_line(&js, line, sizeof(line) - 1, LOG_LEVEL_INFO);
	jsonstr_raw(&js, ",\"type\":\"access\",");
	jsonstr_raw(&js, fields);
	if (correlation_id != NULL && correlation_id[0] != '\0') {
		jsonstr_raw(&js, ",\"correlation_id\":");
		jsonstr_quote(&js, correlation_id);
	}
	jsonstr_raw(&js, "}");
	line[js.len++] = '\n';
	log_access_put(line, js.len);
}

#define LOG_VARIANT(name, level, with_errno)			\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	log_emit(level, NULL, with_errno ? strerror(saved) : NULL, fmt, ap); \
	va_end(ap);						\
	errno = saved;						\
}

LOG_VARIANT(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_VARIANT(log_info, LOG_LEVEL_INFO, 0)
LOG_VARIANT(log_warnx, LOG_LEVEL_WARN, 0)
LOG_VARIANT(log_warn, LOG_LEVEL_WARN, 1)
LOG_VARIANT(log_errorx, LOG_LEVEL_ERROR, 0)

void
log_cid(enum log_level level, const char *correlation_id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, correlation_id, NULL, fmt, ap);
	va_end(ap);
}

void
log_json_line(const char *json)
{
	size_t len = strlen(json);
	char line[LOG_LINE_MAX];

	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	memcpy(line, json, len);
	line[len++] = '\n';
	log_write_line(&main_sink, line, len);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_FATAL, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_FATAL, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
