/* Structured logging: one JSON object per line, written with a single write(2). */
#ifndef TRESTLE_LOG_H
#define TRESTLE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, LOG_LEVEL_FATAL };

/* role names the process ("master", "worker", "api", "ctl"); path NULL or "" logs to stderr. */
int	log_init(const char *role, const char *path, enum log_level min_level);
/* Open the log files again by name (after a rotation); -1 when one could not be (it stays). */
int	log_reopen(void);
int	log_level_parse(const char *name, enum log_level *out);
void	log_set_level(enum log_level min_level);
/* Access lines to path (NULL or "": to the main log); -1 when it cannot be opened. */
int	log_access_init(const char *path);

void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends strerror(errno). */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_cid(enum log_level level, const char *correlation_id, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Write an already formed JSON object (without newline) as one line, e.g. an audit record. */
void	log_json_line(const char *json);
/*
 * One access line: the usual time, level, role and pid, "type":"access", then
 * fields (JSON members without braces, e.g. "\"method\":\"GET\",\"status\":200")
 * and the correlation id when there is one.
 */
void	log_access(const char *correlation_id, const char *fields);
/*
 * From now on, access lines are held (at most 32 kB, written when full)
 * until log_access_flush(); wake(arg) is called when a first line is held,
 * so that the caller flushes soon (a worker: at the end of its event loop's
 * turn).  Lines held when the process exits are written (atexit); those of
 * a crash are lost.  wake NULL: lines are written at once again.
 */
void	log_access_hold(void (*wake)(void *), void *arg);
void	log_access_flush(void);
/*
 * Lines this process could not write (a full disk): each is dropped, the
 * condition reported on standard error and, once writing works again, in the
 * file itself.
 */
unsigned long long log_lines_lost(void);
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
