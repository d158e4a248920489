/*
 * Audit lines are formatted whole and written with one write(2) on an
 * O_APPEND descriptor, like the main log, so the lines of several workers
 * sharing the file never interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "jsonstr.h"
#include "log.h"

#define AUDIT_LINE_MAX	2048
#define AUDIT_FIELD_MAX	256	/* longer subjects and uids are cut */

static char	audit_path[4096];
static int	audit_fd = -1;		/* -1: the main log */

static int
audit_open_path(void)
{
	return open(audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
audit_open(const char *path, char *err, size_t cap)
{
	audit_close();
	snprintf(audit_path, sizeof(audit_path), "%s", path != NULL ? path : "");
	if (audit_path[0] == '\0')
		return 0;
	if ((audit_fd = audit_open_path()) == -1) {
		snprintf(err, cap, "audit_log_file: cannot open %s: %s", audit_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
audit_reopen(void)
{
	int fd;

	if (audit_path[0] == '\0')
		return;
	if ((fd = audit_open_path()) == -1) {
		log_warn("audit: cannot reopen %s", audit_path);
		return;
	}
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = fd;
}

void
audit_close(void)
{
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = -1;
}

const char *
audit_outcome(long status)
{
	if (status == 0 || status >= 500)
		return "unavailable";
	if (status >= 200 && status <= 299)
		return "ok";
	return "refused";
}

static void
audit_field(struct jsonstr *js, const char *name, const char *value)
{
	char cut[AUDIT_FIELD_MAX];

	jsonstr_printf(js, ",\"%s\":", name);
	if (value == NULL) {
		jsonstr_raw(js, "null");
		return;
	}
	snprintf(cut, sizeof(cut), "%s", value);
	jsonstr_quote(js, cut);
}

static void
audit_time(char *buf, size_t cap)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

void
audit_write(const struct audit_record *a)
{
	char line[AUDIT_LINE_MAX], when[40];
	struct jsonstr js;
	ssize_t n;

	audit_time(when, sizeof(when));
	jsonstr_init(&js, line, sizeof(line) - 1);
	jsonstr_printf(&js, "{\"time\":\"%s\",\"type\":\"audit\",\"pid\":%ld", when,
	    (long)getpid());
	audit_field(&js, "subject", a->subject);
	audit_field(&js, "tool", a->tool);
	audit_field(&js, "uid", a->uid);
	audit_field(&js, "outcome", a->outcome);
	jsonstr_printf(&js, ",\"status\":%ld", a->status);
	audit_field(&js, "correlation_id", a->correlation_id);
	jsonstr_raw(&js, "}");
	if (audit_fd == -1) {
		log_json_line(line);
		return;
	}
	line[js.len++] = '\n';
	do {
		n = write(audit_fd, line, js.len);
	} while (n == -1 && errno == EINTR);
}
