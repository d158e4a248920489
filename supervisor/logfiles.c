/*
 * Log rotation by the master.  Lines are never lost or torn: every process
 * writes whole lines with O_APPEND, a rename does not disturb a writer (its
 * lines land in file.1 until it has reopened), and the oldest file is only
 * overwritten log_keep rotations later.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "logfiles.h"

#define LOGFILES_MAX	3

static struct logfile {
	char	path[PATH_MAX];
	int	fd;		/* the master's own descriptor of the file in use */
} logfiles[LOGFILES_MAX];
static size_t nlogfiles;

static void	logfiles_add(const char *);
static int	logfiles_in_place(const struct logfile *);
static int	logfiles_rotate_one(struct logfile *, int);
static void	logfiles_reopen(struct logfile *);

static void
logfiles_add(const char *path)
{
	struct logfile *f;

	if (path == NULL || path[0] == '\0' || nlogfiles == LOGFILES_MAX)
		return;
	for (size_t i = 0; i < nlogfiles; i++)
		if (strcmp(logfiles[i].path, path) == 0)
			return;
	f = &logfiles[nlogfiles++];
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->fd = -1;
	logfiles_reopen(f);
}

void
logfiles_setup(const struct conf *cf)
{
	logfiles_close();
	logfiles_add(cf->log_file);
	logfiles_add(cf->access_log_file);
	logfiles_add(cf->audit_log_file);
}

void
logfiles_close(void)
{
	for (size_t i = 0; i < nlogfiles; i++)
		if (logfiles[i].fd != -1)
			close(logfiles[i].fd);
	nlogfiles = 0;
}

static void
logfiles_reopen(struct logfile *f)
{
	int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd == -1) {
		log_warn("log rotation: cannot open %s", f->path);
		return;
	}
	if (f->fd != -1)
		close(f->fd);
	f->fd = fd;
}

/* 1 when the path still names the file in use (no outside tool moved it). */
static int
logfiles_in_place(const struct logfile *f)
{
	struct stat at_path, in_use;

	return f->fd != -1 && stat(f->path, &at_path) == 0 && fstat(f->fd, &in_use) == 0 &&
	    at_path.st_dev == in_use.st_dev && at_path.st_ino == in_use.st_ino;
}

/* path.keep-1 → path.keep ... path → path.1; 0 when path was renamed. */
static int
logfiles_rotate_one(struct logfile *f, int keep)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];

	for (int n = keep; n > 1; n--) {
		snprintf(from, sizeof(from), "%s.%d", f->path, n - 1);
		snprintf(to, sizeof(to), "%s.%d", f->path, n);
		if (rename(from, to) == -1 && errno != ENOENT)
			log_warn("log rotation: rename %s", from);
	}
	snprintf(to, sizeof(to), "%s.1", f->path);
	if (rename(f->path, to) == -1) {
		log_warn("log rotation: rename %s", f->path);
		return -1;
	}
	return 0;
}

int
logfiles_tick(const struct conf *cf)
{
	struct stat st;
	int rotated = 0;

	if (cf->log_max_bytes <= 0)
		return 0;
	for (size_t i = 0; i < nlogfiles; i++) {
		struct logfile *f = &logfiles[i];

		if (!logfiles_in_place(f) || fstat(f->fd, &st) == -1 ||
		    st.st_size < (off_t)cf->log_max_bytes)
			continue;
		if (logfiles_rotate_one(f, cf->log_keep) == 0) {
			logfiles_reopen(f);
			rotated = 1;
		}
	}
	if (rotated && log_reopen() == -1)
		log_warn("log rotation: cannot reopen the log");
	if (rotated)
		log_info("log rotation: a log file reached %d bytes; rotated", cf->log_max_bytes);
	return rotated;
}

void
logfiles_rotate_all(const struct conf *cf, char *msg, size_t len)
{
	size_t used = 0;

	msg[0] = '\0';
	for (size_t i = 0; i < nlogfiles && used < len; i++) {
		struct logfile *f = &logfiles[i];
		const char *done = "reopened";

		if (logfiles_in_place(f) && logfiles_rotate_one(f, cf->log_keep) == 0)
			done = "rotated";
		logfiles_reopen(f);
		used += (size_t)snprintf(msg + used, len - used, "%s%s %s", used ? "; " : "",
		    done, f->path);
	}
	if (nlogfiles == 0)
		snprintf(msg, len, "nothing to rotate: the logs go to standard error");
	if (log_reopen() == -1)
		log_warn("log rotation: cannot reopen the log");
	log_info("log rotation: %s", msg);
}
