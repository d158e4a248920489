/*
 * Telling systemd (Type=notify) what the master is doing: READY=1 once the
 * workers serve, RELOADING=1 and READY=1 around a reload, STOPPING=1, and
 * WATCHDOG=1 while the children's heartbeats are fresh.  Outside systemd
 * (no NOTIFY_SOCKET) every call does nothing.  Built with libsystemd, the
 * messages go through sd_notify(); without it, through the same datagram
 * protocol implemented here, so no call site needs an #ifdef.
 */
#ifndef TRESTLE_NOTIFY_H
#define TRESTLE_NOTIFY_H

#include <stdint.h>

/* Read NOTIFY_SOCKET and WATCHDOG_USEC once, and keep them from the children. */
void	notify_init(void);
void	notify_ready(const char *status);
void	notify_reloading(void);
/* After a reload, good or bad: READY=1 with a STATUS= line saying how it went. */
void	notify_reloaded(const char *status);
void	notify_stopping(void);
void	notify_watchdog(void);
/* The watchdog interval systemd asked for, in microseconds; 0: none. */
uint64_t notify_watchdog_usec(void);

#endif
