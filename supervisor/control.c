/*
 * The control socket: one command a connection, answered with one JSON line.
 * The master parses nothing else from it; the words are fixed.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "child.h"
#include "control.h"
#include "jsonstr.h"
#include "log.h"
#include "master.h"
#include "reload.h"

#define CONTROL_LINE_MAX	256
#define CONTROL_STATUS_MAX	(256 * 1024)

struct control_conn {
	TAILQ_ENTRY(control_conn)	 entry;
	struct bufferevent		*bev;
	int				 waiting;	/* for a reload's outcome */
	int				 held;		/* stop: open until the master exits */
};

static struct {
	int				 fd;
	struct event			*ev_accept;
	struct event_base		*base;
	char				 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t				 inode;
	TAILQ_HEAD(, control_conn)	 conns;
} control = { .fd = -1, .conns = TAILQ_HEAD_INITIALIZER(control.conns) };

static int	control_in_use(const struct sockaddr_un *);
static int	control_bind(const struct sockaddr_un *, char *, size_t);
static void	control_accept_cb(evutil_socket_t, short, void *);
static int	control_peer_allowed(int, char *, size_t);
static void	control_read_cb(struct bufferevent *, void *);
static void	control_write_cb(struct bufferevent *, void *);
static void	control_event_cb(struct bufferevent *, short, void *);
static void	control_command(struct control_conn *, const char *);
static void	control_reply(struct control_conn *, int, const char *);
static void	control_reload_done(int, const char *, void *);
static void	control_status(struct control_conn *);
static void	control_conn_free(struct control_conn *);

/* 1 when a live process answers on the socket (another trestled). */
static int
control_in_use(const struct sockaddr_un *sun)
{
	int fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return rc == 0;
}

static int
control_bind(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	mode_t old;
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);	/* born 0600: no window where others could connect */
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1 ||
	    chmod(sun->sun_path, 0600) == -1 || listen(fd, 16) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

int
control_open(struct event_base *base, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || control_in_use(&sun)) {
			snprintf(err, errlen, "control socket %s: %s", path, S_ISSOCK(st.st_mode) ?
			    "another trestled answers there" : "exists and is not a socket");
			return -1;
		}
		unlink(path);	/* left by a master that died */
	}
	if ((control.fd = control_bind(&sun, err, errlen)) == -1)
		return -1;
	if (stat(path, &st) == 0)
		control.inode = st.st_ino;
	snprintf(control.path, sizeof(control.path), "%s", path);
	control.base = base;
	control.ev_accept = event_new(base, control.fd, EV_READ | EV_PERSIST, control_accept_cb,
	    NULL);
	if (control.ev_accept == NULL || event_add(control.ev_accept, NULL) == -1)
		fatalx("control_open: cannot watch the socket");
	return 0;
}

/* Only the master's own user and root may steer it. */
static int
control_peer_allowed(int fd, char *why, size_t len)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1) {
		snprintf(why, len, "cannot read the peer's credentials");
		return 0;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return 1;
	snprintf(why, len, "permission denied: uid %ld may not control trestled (run as uid %ld "
	    "or root)", (long)cred.uid, (long)geteuid());
	log_warnx("control: refused a client with uid %ld, pid %ld", (long)cred.uid,
	    (long)cred.pid);
	return 0;
}

static void
control_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct control_conn *conn;
	char why[160];
	int fd;

	(void)what;
	(void)arg;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	if ((conn = calloc(1, sizeof(*conn))) == NULL ||
	    (conn->bev = bufferevent_socket_new(control.base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatal("control_accept_cb");
	TAILQ_INSERT_TAIL(&control.conns, conn, entry);
	bufferevent_setcb(conn->bev, control_read_cb, NULL, control_event_cb, conn);
	if (!control_peer_allowed(fd, why, sizeof(why))) {
		control_reply(conn, 0, why);
		return;
	}
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	if ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) == NULL) {
		if (evbuffer_get_length(in) > CONTROL_LINE_MAX)
			control_reply(conn, 0, "command line too long");
		return;
	}
	bufferevent_disable(bev, EV_READ);	/* one command a connection */
	control_command(conn, line);
	free(line);
}

static void
control_command(struct control_conn *conn, const char *line)
{
	char msg[2048];

	log_debug("control: %s", line);
	if (strcmp(line, "status") == 0)
		control_status(conn);
	else if (strcmp(line, "reload") == 0) {
		conn->waiting = 1;
		log_info("control: reload requested");
		reload_request(control_reload_done, conn);
	} else if (strcmp(line, "reopen") == 0) {
		master_reopen_logs(msg, sizeof(msg));
		control_reply(conn, 1, msg);
	} else if (strcmp(line, "stop") == 0 || strcmp(line, "stop fast") == 0) {
		log_info("control: %s shutdown requested", line[4] != '\0' ? "fast" : "graceful");
		conn->held = 1;
		control_reply(conn, 1, "stopping");
		master_shutdown(line[4] != '\0' || master.shutdown != MASTER_SERVING);
	} else {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (status, reload, reopen, stop, "
		    "stop fast)", line);
		control_reply(conn, 0, msg);
	}
}

static void
control_reload_done(int ok, const char *message, void *arg)
{
	struct control_conn *conn = arg;

	conn->waiting = 0;
	control_reply(conn, ok, message);
}

static void
control_reply(struct control_conn *conn, int ok, const char *message)
{
	size_t cap = strlen(message) * 6 + 64;
	struct jsonstr js;
	char *buf;

	if ((buf = malloc(cap)) == NULL)
		fatal("control_reply");
	jsonstr_init(&js, buf, cap);
	jsonstr_printf(&js, "{\"ok\":%s,\"message\":", ok ? "true" : "false");
	jsonstr_quote(&js, message);
	jsonstr_raw(&js, "}\n");
	bufferevent_write(conn->bev, buf, js.len);
	free(buf);
	bufferevent_setcb(conn->bev, NULL, control_write_cb, control_event_cb, conn);
	bufferevent_enable(conn->bev, EV_WRITE);
}

static void
control_status(struct control_conn *conn)
{
	struct jsonstr js;
	char *buf;

	if ((buf = malloc(CONTROL_STATUS_MAX)) == NULL)
		fatal("control_status");
	jsonstr_init(&js, buf, CONTROL_STATUS_MAX);
	jsonstr_raw(&js, "{\"ok\":true,\"status\":{\"master\":");
	master_status_json(&js);
	jsonstr_raw(&js, ",\"children\":");
	child_status_json(&js);
	jsonstr_raw(&js, "}}\n");
	bufferevent_write(conn->bev, buf, js.len);
	free(buf);
	bufferevent_setcb(conn->bev, NULL, control_write_cb, control_event_cb, conn);
	bufferevent_enable(conn->bev, EV_WRITE);
}

/* The answer is out: close, unless the client waits for the master's exit. */
static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *conn = arg;

	(void)bev;
	if (!conn->held)
		control_conn_free(conn);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	control_conn_free(arg);
}

static void
control_conn_free(struct control_conn *conn)
{
	if (conn->waiting)
		reload_forget(conn);
	TAILQ_REMOVE(&control.conns, conn, entry);
	bufferevent_free(conn->bev);
	free(conn);
}

void
control_close(void)
{
	struct control_conn *conn;
	struct stat st;

	while ((conn = TAILQ_FIRST(&control.conns)) != NULL)
		control_conn_free(conn);
	if (control.ev_accept != NULL)
		event_free(control.ev_accept);
	control.ev_accept = NULL;
	if (control.fd == -1)
		return;
	close(control.fd);
	control.fd = -1;
	/* Only our own file: a newer master may already have bound the path. */
	if (stat(control.path, &st) == 0 && st.st_ino == control.inode)
		unlink(control.path);
}
