/*
 * The control socket trestlectl talks to: a Unix stream socket, mode 0600,
 * whose peers must run as the master's user or as root (SO_PEERCRED).  A
 * client sends one command line and reads one JSON object a line back:
 *
 *	status		{"ok":true,"status":{"master":{...},"children":[...]}}
 *	reload		{"ok":true|false,"message":"..."} once the reload is over
 *	reopen		{"ok":true,"message":"rotated ...; reopened ..."}
 *	stop [fast]	{"ok":true,"message":"stopping"}, then end-of-file when the
 *			master exits
 *
 * Anything else gets {"ok":false,"message":"unknown command ..."}.
 */
#ifndef TRESTLE_CONTROL_H
#define TRESTLE_CONTROL_H

#include <stddef.h>

struct event_base;

/*
 * Listen on path; -1 with the reason in err (another trestled answers there,
 * or the path cannot be bound).  A stale socket file is replaced.
 */
int	control_open(struct event_base *, const char *path, char *err, size_t errlen);
/* Close the listener and every connection, and remove the socket file. */
void	control_close(void);

#endif
