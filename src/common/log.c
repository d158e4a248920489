/*
 * Every line is a JSON object: time, level, role, pid, msg and, where a request
 * is being served, its correlation id.  A line is formatted completely and then
 * written with one write(2) on a descriptor opened with O_APPEND, so lines of
 * several processes sharing one file never interleave, and a rotation (the
 * master renames the file, then every process reopens it by name) cannot tear
 * or lose one: a line lands whole in the old file or whole in the new one.
 * Access lines may go to a file of their own (log_access_init).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "jsonstr.h"

#define LOG_LINE_MAX 8192

static const char *log_role = "trestle";
static char log_path[4096];
static int log_fd = STDERR_FILENO;
static char access_path[4096];		/* "": access lines go to the main log */
static int access_fd = -1;
static enum log_level log_min = LOG_LEVEL_INFO;

static int	log_open_path(const char *);
static void	log_write_line(int, const char *, size_t);
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
	if (access_fd != -1 && access_fd != STDERR_FILENO)
		close(access_fd);
	access_fd = -1;
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
	int rc = log_reopen_one(&log_fd, log_path);

	if (access_path[0] != '\0' && log_reopen_one(&access_fd, access_path) == -1)
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

static size_t
log_format_time(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, size - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
	return n;
}

static void
log_write_line(int fd, const char *line, size_t len)
{
	ssize_t n;

	do {
		n = write(fd, line, len);
	} while (n == -1 && errno == EINTR);
	/* A full disk must not stop the service: the line is dropped. */
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
	jsonstr_printf(js, ",\"pid\":%ld", (long)getpid());
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
	log_write_line(log_fd, line, js.len);
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
	log_write_line(access_fd != -1 ? access_fd : log_fd, line, js.len);
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
	log_write_line(log_fd, line, len);
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
