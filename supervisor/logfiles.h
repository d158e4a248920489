/*
 * The log files the master is in charge of rotating: log_file,
 * access_log_file and audit_log_file (those that are set; standard error is
 * never rotated).  Rotating renames file.N-1 to file.N ... file to file.1,
 * keeping log_keep old files, then every process reopens file by name.  The
 * master holds a descriptor of each file (it writes nothing to the access and
 * audit files) so that it can tell whether the file at the path is still the
 * one in use, or was moved away by an outside tool such as logrotate.
 */
#ifndef TRESTLE_LOGFILES_H
#define TRESTLE_LOGFILES_H

#include <stddef.h>

struct conf;

/* (Re)open the files of cf; call again when a reload changed them. */
void	logfiles_setup(const struct conf *);
/*
 * Every second: rotate any file past log_max_bytes.  1 when something was
 * rotated: the caller then tells the children to reopen their logs.
 */
int	logfiles_tick(const struct conf *);
/*
 * On demand (SIGUSR1, trestlectl reopen): rotate each file that is still in
 * place; one that was moved away is only reopened.  Writes what was done to
 * msg.  The caller then tells the children to reopen.
 */
void	logfiles_rotate_all(const struct conf *, char *msg, size_t len);
void	logfiles_close(void);

#endif
