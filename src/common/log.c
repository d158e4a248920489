/*
 * Every line is a JSON object: time, level, role, pid, msg and, where a request
 * is being served, its correlation id.  A line is formatted completely and then
 * written with one write(2) on a descriptor opened with O_APPEND, so lines of
 * several processes sharing one file never interleave.
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
static enum log_level log_min = LOG_LEVEL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error", "fatal" };

static int
log_open_path(void)
{
	int fd;

	if (log_path[0] == '\0')
		return STDERR_FILENO;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd;
}

int
log_init(const char *role, const char *path, enum log_level min_level)
{
	log_role = role;
	log_min = min_level;
	snprintf(log_path, sizeof(log_path), "%s", path ? path : "");
	return log_reopen();
}

/* Reopen the log file by name (after a rotation); keeps the old one on failure. */
int
log_reopen(void)
{
	int fd = log_open_path();

	if (fd == -1)
		return -1;
	if (log_fd != STDERR_FILENO && log_fd != fd)
		close(log_fd);
	log_fd = fd;
	return 0;
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
log_write_line(const char *line, size_t len)
{
	ssize_t n;

	do {
		n = write(log_fd, line, len);
	} while (n == -1 && errno == EINTR);
	/* A full disk must not stop the service: the line is dropped. */
}

static void
log_emit(enum log_level level, const char *cid, const char *suffix, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX / 2], when[40];
	struct jsonstr js;
	char line[LOG_LINE_MAX];

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_format_time(when, sizeof(when));
	jsonstr_init(&js, line, sizeof(line) - 1);
	jsonstr_raw(&js, "{\"time\":\"");
	jsonstr_raw(&js, when);
	jsonstr_raw(&js, "\",\"level\":\"");
	jsonstr_raw(&js, level_names[level]);
	jsonstr_raw(&js, "\",\"role\":");
	jsonstr_quote(&js, log_role);
	jsonstr_printf(&js, ",\"pid\":%ld,\"msg\":", (long)getpid());
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
	log_write_line(line, js.len);
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
	log_write_line(line, len);
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
