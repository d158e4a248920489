/*
 * api_client against real sockets: a small evhttp server on a Unix socket in
 * the same event loop (and, for the latency figure, in a forked process).
 * Checks concurrency, bodies and headers both ways, size limits, transport
 * failures and their timing, cancellation, calls made from callbacks, and
 * that keep-alive connections are reused.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "api_client.h"
#include "unit/tap.h"

/*
 * Built twice: as tests/api_client_driver against libcurl's client, and with
 * DRIVE_HTTP_LINK as tests/http_link_driver against the workers' own client
 * of the API child, which keeps the same contract.
 */
#ifdef DRIVE_HTTP_LINK
#include "http_link.h"
#define api_client		http_link
#define api_call		http_link_call
#define api_client_new		http_link_new
#define api_client_send		http_link_send
#define api_call_cancel		http_link_cancel
#define api_client_free		http_link_free
#endif

#define CONCURRENT	200
#define SEQUENTIAL	1000
#define BIG_LEN		(1024 * 1024)
#define TIMEOUT_MS	300

struct server {
	struct evhttp	*http;
	unsigned int	 accepted;
};

struct slow_reply {
	struct evhttp_request	*req;
	struct event		*ev;
};

/* What one call saw. */
struct result {
	int		 called;
	int		 from_send;
	long		 status;
	char		*body;
	size_t		 body_len;
	char		*error;
	char		*echo;		/* X-Echo */
	char		*ctype;		/* X-Content-Type */
	char		*expect;	/* X-Expect: whether the server saw Expect: */
	int		 header_case_ok;
	double		 at_ms;
};

static struct event_base *base;
static int in_send;
static int completed;		/* record_cb calls */
static char dir[] = "/tmp/api_client_test.XXXXXX";

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *
path_in_dir(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void
timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	*(int *)arg = 1;
}

/* Runs the loop until *flag is set or ms pass; returns whether the flag was set. */
static int
run_until(const int *flag, int ms)
{
	int expired = 0;
	struct event *t = evtimer_new(base, timeout_cb, &expired);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(t, &tv);
	while (!*flag && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return *flag;
}

/* Runs the loop until the callbacks have been called n times in all. */
static void
run_until_count(int n, int ms)
{
	int expired = 0;
	struct event *t = evtimer_new(base, timeout_cb, &expired);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(t, &tv);
	while (completed < n && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

static void
run_for(int ms)
{
	int never = 0;

	run_until(&never, ms);
}

/* Server side. */

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:	return "GET";
	case EVHTTP_REQ_POST:	return "POST";
	case EVHTTP_REQ_PUT:	return "PUT";
	case EVHTTP_REQ_PATCH:	return "PATCH";
	case EVHTTP_REQ_DELETE:	return "DELETE";
	case EVHTTP_REQ_HEAD:	return "HEAD";
	default:		return "OTHER";
	}
}

static void
slow_reply_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct slow_reply *s = arg;

	(void)fd;
	(void)ev;
	evbuffer_add_printf(evhttp_request_get_output_buffer(s->req), "slow");
	evhttp_send_reply(s->req, 200, "OK", NULL);
	event_free(s->ev);
	free(s);
}

static void
serve_slow(struct evhttp_request *req, int ms)
{
	struct slow_reply *s = calloc(1, sizeof(*s));
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	s->req = req;
	s->ev = evtimer_new(base, slow_reply_cb, s);
	evtimer_add(s->ev, &tv);
}

static void
serve_big(struct evhttp_request *req, size_t n)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char chunk[4096];
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < sizeof(chunk) ? n - i : sizeof(chunk);
		for (size_t j = 0; j < k; j++)
			chunk[j] = 'a' + (i + j) % 26;
		evbuffer_add(out, chunk, k);
	}
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* "/echo...": method, URI and body back; X-Req comes back as X-Echo. */
static void
serve_echo(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	const char *v;

	if ((v = evhttp_find_header(in, "X-Req")) != NULL)
		evhttp_add_header(out, "X-Echo", v);
	if ((v = evhttp_find_header(in, "Content-Type")) != NULL)
		evhttp_add_header(out, "X-Content-Type", v);
	evhttp_add_header(out, "X-Expect", evhttp_find_header(in, "Expect") ? "yes" : "no");
	evbuffer_add_printf(body, "%s %s\n", method_name(evhttp_request_get_command(req)),
	    evhttp_request_get_uri(req));
	evbuffer_add_buffer(body, evhttp_request_get_input_buffer(req));
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
server_cb(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);

	(void)arg;
	if (strncmp(uri, "/echo", 5) == 0)
		serve_echo(req);
	else if (strncmp(uri, "/big/", 5) == 0)
		serve_big(req, strtoul(uri + 5, NULL, 10));
	else if (strncmp(uri, "/slow/", 6) == 0)
		serve_slow(req, atoi(uri + 6));
	else if (strcmp(uri, "/rpc") == 0) {
		evbuffer_add_printf(evhttp_request_get_output_buffer(req),
		    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
		evhttp_send_reply(req, 200, "OK", NULL);
	} else
		evhttp_send_reply(req, 404, "Not Found", NULL);
}

static struct bufferevent *
server_bev_cb(struct event_base *b, void *arg)
{
	struct server *srv = arg;

	srv->accepted++;
	return bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE);
}

static struct evconnlistener *
listen_unix(struct event_base *b, const char *path, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	return evconnlistener_new_bind(b, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, backlog,
	    (struct sockaddr *)&sun, sizeof(sun));
}

static int
server_start(struct server *srv, struct event_base *b, const char *path)
{
	struct evconnlistener *lev;

	if ((lev = listen_unix(b, path, 1024)) == NULL)
		return -1;
	srv->http = evhttp_new(b);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	evhttp_set_max_body_size(srv->http, 64 * 1024 * 1024);
	evhttp_set_gencb(srv->http, server_cb, srv);
	evhttp_set_bevcb(srv->http, server_bev_cb, srv);
	if (evhttp_bind_listener(srv->http, lev) == NULL)
		return -1;
	return 0;
}

/* A socket that is listened on but never accepted from: a hung API child. */
static int
listen_silent(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, 16) == -1)
		return -1;
	return fd;
}

/* Client side. */

static char *
dupmem(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
record_cb(const struct api_response *resp, void *arg)
{
	struct result *r = arg;
	const char *v;

	r->called++;
	completed++;
	r->from_send = in_send;
	r->at_ms = now_ms();
	r->status = resp->status;
	r->body = dupmem(resp->body, resp->body_len);
	r->body_len = resp->body_len;
	r->error = resp->error ? strdup(resp->error) : NULL;
	if ((v = api_response_header(resp, "X-Echo")) != NULL)
		r->echo = strdup(v);
	if ((v = api_response_header(resp, "x-content-TYPE")) != NULL)
		r->ctype = strdup(v);
	if ((v = api_response_header(resp, "X-Expect")) != NULL)
		r->expect = strdup(v);
	r->header_case_ok = api_response_header(resp, "x-echo") == api_response_header(resp,
	    "X-ECHO") && api_response_header(resp, "X-Not-There") == NULL &&
	    api_response_header(resp, "X-Ech") == NULL;
}

static void
result_clear(struct result *r)
{
	free(r->body);
	free(r->error);
	free(r->echo);
	free(r->ctype);
	free(r->expect);
	memset(r, 0, sizeof(*r));
}

static struct api_call *
send_req(struct api_client *c, const char *method, const char *path, const char *body,
    size_t len, const char *const *headers, struct result *r)
{
	struct api_request req = { .method = method, .path = path, .body = body,
	    .body_len = len, .headers = headers };
	struct api_call *call;

	in_send = 1;
	call = api_client_send(c, &req, record_cb, r);
	in_send = 0;
	return call;
}

static void
test_concurrent(struct api_client *c, struct server *srv)
{
	static struct result r[CONCURRENT];
	char path[64], hdr[64], want[128];
	const char *headers[2] = { hdr, NULL };
	int i, done = 0, st = 0, bodies = 0, echoes = 0, early = 0, cases = 0;
	unsigned int before = srv->accepted;

	for (i = 0; i < CONCURRENT; i++) {
		snprintf(path, sizeof(path), "/echo/%d?x=%d", i, i * 7);
		snprintf(hdr, sizeof(hdr), "X-Req: value-%d", i);
		send_req(c, "GET", path, NULL, 0, headers, &r[i]);
	}
	for (i = 0; i < CONCURRENT; i++)
		early += r[i].called;
	ok(early == 0, "no callback runs inside api_client_send");
	completed = 0;
	run_until_count(CONCURRENT, 10000);
	for (i = 0; i < CONCURRENT; i++) {
		snprintf(want, sizeof(want), "GET /echo/%d?x=%d\n", i, i * 7);
		snprintf(hdr, sizeof(hdr), "value-%d", i);
		done += r[i].called == 1 && !r[i].from_send;
		st += r[i].status == 200;
		bodies += r[i].body && strcmp(r[i].body, want) == 0;
		echoes += r[i].echo && strcmp(r[i].echo, hdr) == 0;
		cases += r[i].header_case_ok;
		result_clear(&r[i]);
	}
	ok(done == CONCURRENT, "%d concurrent calls each called back once (%d)", CONCURRENT, done);
	ok(st == CONCURRENT, "all answered 200 (%d)", st);
	ok(bodies == CONCURRENT, "all bodies match their request (%d)", bodies);
	ok(echoes == CONCURRENT, "all request headers echoed back (%d)", echoes);
	ok(cases == CONCURRENT, "header lookup is case-insensitive, exact and NULL when absent");
	ok(srv->accepted - before <= 64, "they shared at most 64 connections (%u)",
	    srv->accepted - before);
}

static void
test_post(struct api_client *c)
{
	struct result r = { 0 };
	size_t n = 100000, i;
	char *body = malloc(n), *want = malloc(n + 32);
	const char *headers[] = { "X-Req: post", NULL };
	int len;

	for (i = 0; i < n; i++)
		body[i] = (char)(i * 131 % 256);	/* NUL bytes included */
	send_req(c, "POST", "/echo/post", body, n, headers, &r);
	memset(body, 'X', n);	/* api_client_send copied it */
	for (i = 0; i < n; i++)
		body[i] = (char)(i * 131 % 256);
	len = snprintf(want, n + 32, "POST /echo/post\n");
	memcpy(want + len, body, n);
	run_until(&r.called, 10000);
	ok(r.status == 200 && r.body_len == len + n && memcmp(r.body, want, len + n) == 0,
	    "POST body of %zu bytes (with NULs) round trips", n);
	is_str(r.ctype, "application/json", "a body gets Content-Type: application/json by default");
	is_str(r.body + r.body_len, "", "the response body is NUL-terminated");
	result_clear(&r);
	free(body);
	free(want);
}

static void
test_methods(struct api_client *c)
{
	static const char *const methods[] = { "PUT", "PATCH", "DELETE" };
	const char *headers[] = { "Content-Type: text/plain", NULL };
	struct result r = { 0 };
	char want[64];
	size_t i;

	for (i = 0; i < 3; i++) {
		send_req(c, methods[i], "/echo/m", "{}", 2, headers, &r);
		run_until(&r.called, 10000);
		snprintf(want, sizeof(want), "%s /echo/m\n{}", methods[i]);
		ok(r.status == 200 && strcmp(r.body, want) == 0 && r.ctype &&
		    strcmp(r.ctype, "text/plain") == 0, "%s with a body and a caller's "
		    "Content-Type", methods[i]);
		result_clear(&r);
	}
	send_req(c, "DELETE", "/echo/d", NULL, 0, NULL, &r);
	run_until(&r.called, 10000);
	ok(r.status == 200 && strcmp(r.body, "DELETE /echo/d\n") == 0 && r.ctype == NULL,
	    "DELETE without a body");
	result_clear(&r);
	send_req(c, "PUT", "/echo/p", NULL, 0, NULL, &r);
	run_until(&r.called, 10000);
	ok(r.status == 200 && strcmp(r.body, "PUT /echo/p\n") == 0, "PUT without a body");
	result_clear(&r);
	send_req(c, "GET", "/nowhere", NULL, 0, NULL, &r);
	run_until(&r.called, 10000);
	ok(r.status == 404 && r.error == NULL, "an HTTP error status is a status, not an error");
	result_clear(&r);
}

static void
test_expect(struct api_client *c)
{
	struct result r = { 0 };
	size_t n = 2 * 1024 * 1024;
	char *body = calloc(1, n);
	const char *v;

	/* Twice: the second goes on the kept-alive connection the first was written to in parts. */
	for (int i = 0; i < 2; i++) {
		send_req(c, "POST", "/echo/expect", body, n, NULL, &r);
		run_until(&r.called, 10000);
		v = r.status == 200 ? strchr(r.body, '\n') : NULL;
		ok(v != NULL && r.body_len == (size_t)(v - r.body) + 1 + n,
		    "a 2 MiB POST arrives whole (%s)", i == 0 ? "first" : "second");
		is_str(r.expect, "no", "no Expect: 100-continue round trip");
		result_clear(&r);
	}
	free(body);
}

static void
test_big(struct api_client *c)
{
	struct result r = { 0 };
	char path[64];
	size_t i, bad = 0;

	snprintf(path, sizeof(path), "/big/%d", BIG_LEN);
	send_req(c, "GET", path, NULL, 0, NULL, &r);
	run_until(&r.called, 10000);
	for (i = 0; r.body && i < r.body_len; i++)
		bad += r.body[i] != 'a' + (char)(i % 26);
	ok(r.status == 200 && r.body_len == BIG_LEN && bad == 0, "a 1 MiB response arrives "
	    "intact (%zu bytes)", r.body_len);
	result_clear(&r);

	snprintf(path, sizeof(path), "/big/%d", API_CLIENT_MAX_BODY + 1);
	send_req(c, "GET", path, NULL, 0, NULL, &r);
	run_until(&r.called, 20000);
	ok(r.status == 0 && r.error && strstr(r.error, "too large"),
	    "a response over 16 MiB fails: %s", r.error ? r.error : "(none)");
	result_clear(&r);
	snprintf(path, sizeof(path), "/big/%d", API_CLIENT_MAX_BODY);
	send_req(c, "GET", path, NULL, 0, NULL, &r);
	run_until(&r.called, 20000);
	ok(r.status == 200 && r.body_len == API_CLIENT_MAX_BODY, "exactly 16 MiB is accepted");
	result_clear(&r);
}

static void
test_unreachable(void)
{
	struct api_client *c;
	struct result r = { 0 };
	double t0;
	int fd;

	c = api_client_new(base, path_in_dir("missing.sock"), 5000);
	t0 = now_ms();
	send_req(c, "GET", "/echo", NULL, 0, NULL, &r);
	run_until(&r.called, 6000);
	ok(r.called && r.status == 0 && r.error && strstr(r.error, "unreachable") &&
	    r.at_ms - t0 < 1000, "missing socket fails fast (%.1f ms): %s", r.at_ms - t0,
	    r.error ? r.error : "(none)");
	result_clear(&r);
	api_client_free(c);

	/* A socket file left behind by a dead API child: connection refused. */
	fd = listen_silent(path_in_dir("stale.sock"));
	close(fd);
	c = api_client_new(base, path_in_dir("stale.sock"), 5000);
	t0 = now_ms();
	send_req(c, "POST", "/echo", "{}", 2, NULL, &r);
	run_until(&r.called, 6000);
	ok(r.called && r.status == 0 && r.error && strstr(r.error, "unreachable") &&
	    r.at_ms - t0 < 1000, "stale socket (refused) fails fast (%.1f ms): %s",
	    r.at_ms - t0, r.error ? r.error : "(none)");
	result_clear(&r);
	api_client_free(c);
}

static void
rude_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	(void)lev;
	(void)sa;
	(void)salen;
	(void)arg;
	close(fd);
}

/* An API child that dies with the request in hand: the connection just closes. */
static void
test_reset(void)
{
	struct evconnlistener *lev = listen_unix(base, path_in_dir("rude.sock"), 16);
	struct api_client *c = api_client_new(base, path_in_dir("rude.sock"), 5000);
	struct result r = { 0 };
	double t0 = now_ms();

	evconnlistener_set_cb(lev, rude_accept_cb, NULL);
	send_req(c, "POST", "/echo", "{}", 2, NULL, &r);
	run_until(&r.called, 6000);
	ok(r.called && r.status == 0 && r.error && strstr(r.error, "closed the connection") &&
	    r.at_ms - t0 < 1000, "a connection closed without an answer fails at once "
	    "(%.1f ms): %s", r.at_ms - t0, r.error ? r.error : "(none)");
	result_clear(&r);
	api_client_free(c);
	evconnlistener_free(lev);
	unlink(path_in_dir("rude.sock"));
}

static void
test_timeout(void)
{
	struct api_client *c;
	struct result r = { 0 }, r2 = { 0 };
	struct api_request req = { .method = "GET", .path = "/echo", .timeout_ms = 100 };
	double t0, dt;
	int fd = listen_silent(path_in_dir("silent.sock"));

	c = api_client_new(base, path_in_dir("silent.sock"), TIMEOUT_MS);
	t0 = now_ms();
	send_req(c, "GET", "/echo", NULL, 0, NULL, &r);
	run_until(&r.called, 5000);
	dt = r.at_ms - t0;
	ok(r.called && r.status == 0 && r.error && strstr(r.error, "timed out after 300 ms") &&
	    dt >= TIMEOUT_MS - 50 && dt < TIMEOUT_MS + 1500,
	    "a server that never answers fails after the timeout (%.1f ms): %s", dt,
	    r.error ? r.error : "(none)");
	result_clear(&r);

	t0 = now_ms();
	api_client_send(c, &req, record_cb, &r2);
	run_until(&r2.called, 5000);
	dt = r2.at_ms - t0;
	ok(r2.status == 0 && dt >= 50 && dt < 290, "a request's own timeout_ms wins (%.1f ms)",
	    dt);
	result_clear(&r2);
	api_client_free(c);
	close(fd);
}

/*
 * Calls beyond the connection limit wait in curl's queue, where curl does not
 * time them out: the client's own deadline must.
 */
static void
test_queue_timeout(void)
{
	static struct result slow[64];
	struct api_client *c = api_client_new(base, path_in_dir("api.sock"), 3000);
	struct api_request req = { .method = "GET", .path = "/echo/q", .timeout_ms = 200 };
	struct result r = { 0 };
	double t0;
	int i;

	for (i = 0; i < 64; i++)
		send_req(c, "GET", "/slow/1000", NULL, 0, NULL, &slow[i]);
	run_for(50);
	t0 = now_ms();
	api_client_send(c, &req, record_cb, &r);
	run_until(&r.called, 3000);
	ok(r.called && r.status == 0 && r.at_ms - t0 < 400 && r.error &&
	    strstr(r.error, "timed out after 200 ms"), "a call queued for a connection still "
	    "times out on time (%.1f ms): %s", r.at_ms - t0, r.error ? r.error : "(none)");
	result_clear(&r);
	completed = 0;
	run_until_count(64, 3000);
	for (i = 0; i < 64; i++)
		result_clear(&slow[i]);
	api_client_free(c);
}

static void
test_cancel(struct api_client *c)
{
	struct result a = { 0 }, b = { 0 }, d = { 0 };
	struct api_call *call;

	call = send_req(c, "GET", "/echo/cancelled", NULL, 0, NULL, &a);
	api_call_cancel(call);
	send_req(c, "GET", "/echo/after", NULL, 0, NULL, &d);
	run_until(&d.called, 5000);
	run_for(50);
	ok(a.called == 0 && d.status == 200, "a call cancelled at once is never called back");
	result_clear(&d);

	call = send_req(c, "GET", "/slow/100", NULL, 0, NULL, &b);
	run_for(30);
	api_call_cancel(call);
	run_for(200);
	send_req(c, "GET", "/echo/after2", NULL, 0, NULL, &d);
	run_until(&d.called, 5000);
	ok(b.called == 0 && d.status == 200, "a call cancelled in flight is never called back; "
	    "the next call works");
	result_clear(&d);
}

/* Chained calls: each is sent from the previous one's callback. */
struct chain {
	struct api_client	*client;
	int			 left;
	int			 ok;
	int			 done;
	int			 from_send;
	int			 cancel_self;
	struct api_call		*current;
};

static void
chain_cb(const struct api_response *resp, void *arg)
{
	struct chain *ch = arg;
	struct api_request req = { .method = "POST", .path = "/echo/chain", .body = "{}",
	    .body_len = 2 };

	ch->ok += resp->status == 200;
	ch->from_send += in_send;
	if (ch->cancel_self)
		api_call_cancel(ch->current);	/* must be a harmless no-op */
	if (--ch->left <= 0) {
		ch->done = 1;
		return;
	}
	in_send = 1;
	ch->current = api_client_send(ch->client, &req, chain_cb, ch);
	in_send = 0;
}

static void
test_chain(struct api_client *c, struct server *srv)
{
	struct chain ch = { .client = c, .left = 20, .cancel_self = 1 };
	struct api_request req = { .method = "GET", .path = "/echo/chain" };
	unsigned int before;
	double t0;

	ch.current = api_client_send(c, &req, chain_cb, &ch);
	run_until(&ch.done, 10000);
	ok(ch.ok == 20 && ch.from_send == 0, "20 calls each sent from the previous callback "
	    "(and cancelling itself there is a no-op)");

	/* A fresh client starts with no connection. */
	run_for(10);
	before = srv->accepted;
	memset(&ch, 0, sizeof(ch));
	ch.client = api_client_new(base, path_in_dir("api.sock"), 5000);
	ch.left = SEQUENTIAL;
	t0 = now_ms();
	api_client_send(ch.client, &req, chain_cb, &ch);
	run_until(&ch.done, 30000);
	ok(ch.ok == SEQUENTIAL && srv->accepted - before == 1, "%d sequential calls from a "
	    "fresh client used %u connection(s) (%.1f us each)", SEQUENTIAL,
	    srv->accepted - before, (now_ms() - t0) * 1000 / SEQUENTIAL);
	api_client_free(ch.client);
}

struct cancel_other {
	struct api_call	*victim;
	struct result	 r;
};

static void
cancel_other_cb(const struct api_response *resp, void *arg)
{
	struct cancel_other *co = arg;

	record_cb(resp, &co->r);
	api_call_cancel(co->victim);
}

static void
test_cancel_from_callback(struct api_client *c)
{
	struct cancel_other co = { 0 };
	struct result victim = { 0 };
	struct api_request req = { .method = "GET", .path = "/echo/first" };

	co.victim = send_req(c, "GET", "/slow/100", NULL, 0, NULL, &victim);
	api_client_send(c, &req, cancel_other_cb, &co);
	run_until(&co.r.called, 5000);
	run_for(200);
	ok(co.r.status == 200 && victim.called == 0, "a callback can cancel another call");
	result_clear(&co.r);
}

struct free_in_cb {
	struct api_client	*client;
	int			 called;
};

static void
free_in_cb(const struct api_response *resp, void *arg)
{
	struct free_in_cb *f = arg;

	(void)resp;
	f->called++;
	api_client_free(f->client);
}

static void
test_free(void)
{
	struct api_client *c = api_client_new(base, path_in_dir("api.sock"), 5000);
	struct result a = { 0 }, b = { 0 }, d = { 0 };
	struct api_request req = { .method = "GET", .path = "/echo/x" };
	struct free_in_cb f;
	int fd = listen_silent(path_in_dir("silent2.sock"));
	struct api_client *silent = api_client_new(base, path_in_dir("silent2.sock"), 5000);

	send_req(c, "GET", "/slow/50", NULL, 0, NULL, &a);
	send_req(c, "POST", "/slow/60", "{}", 2, NULL, &b);
	send_req(silent, "GET", "/echo/z", NULL, 0, NULL, &d);
	run_for(20);
	api_client_free(c);
	api_client_free(silent);
	run_for(150);
	ok(a.called + b.called + d.called == 0, "api_client_free cancels pending calls "
	    "without callback");
	close(fd);
	result_clear(&a);
	result_clear(&b);
	result_clear(&d);

	c = api_client_new(base, path_in_dir("api.sock"), 5000);
	f.client = c;
	f.called = 0;
	send_req(c, "GET", "/slow/100", NULL, 0, NULL, &a);
	api_client_send(c, &req, free_in_cb, &f);
	send_req(c, "POST", "/slow/30", "x", 1, NULL, &b);
	run_for(250);
	ok(f.called == 1 && a.called + b.called == 0, "api_client_free from inside a callback "
	    "cancels the rest");
}

static void
test_invalid(struct api_client *c)
{
	struct result r = { 0 };

	send_req(c, "GET", "echo-without-slash", NULL, 0, NULL, &r);
	ok(r.called == 0, "an invalid request is not answered inside api_client_send");
	run_until(&r.called, 1000);
	ok(r.called && !r.from_send && r.status == 0 && r.error, "it fails later: %s",
	    r.error ? r.error : "(none)");
	result_clear(&r);
}

/* The API child restarts: kept-alive connections die; the next call must still work. */
static void
test_restart(struct api_client *c, struct server *srv)
{
	struct result r = { 0 };

	send_req(c, "GET", "/echo/before", NULL, 0, NULL, &r);
	run_until(&r.called, 5000);
	result_clear(&r);
	evhttp_free(srv->http);
	run_for(20);
	server_start(srv, base, path_in_dir("api.sock"));
	send_req(c, "GET", "/echo/after-restart", NULL, 0, NULL, &r);
	run_until(&r.called, 5000);
	ok(r.status == 200, "a call after the API child restarted succeeds (status %ld%s%s)",
	    r.status, r.error ? ": " : "", r.error ? r.error : "");
	result_clear(&r);
}

#ifdef DRIVE_HTTP_LINK
/*
 * What only this client has to get right: it reads a small HTTP/1.x subset
 * by hand, and decides itself when a call is sent again.  A scripted server
 * answers each connection's first request with one canned text.
 */
struct script {
	const char	*answer;	/* written once the request's head is read */
	int		 close_after;	/* then closes the connection */
	int		 go_quiet;	/* or stops reading, and closes 50 ms later */
	int		 answer_none;	/* reads nothing, and closes 50 ms after the accept */
	int		 drop_after;	/* reads the request after this many answers, closes */
	int		 dropped;	/* (once) */
	int		 answered;
	int		 accepted;
};

static void
script_close_when_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
script_close_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bufferevent_free(arg);	/* what was sent since is unread in the socket: a reset */
}

static void
script_quiet_close(struct bufferevent *bev)
{
	struct timeval tv = { 0, 50 * 1000 };

	bufferevent_disable(bev, EV_READ);
	event_base_once(base, -1, EV_TIMEOUT, script_close_cb, bev, &tv);
}

static void
script_read_cb(struct bufferevent *bev, void *arg)
{
	struct script *sc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);

	if (end.pos < 0)
		return;
	evbuffer_drain(in, evbuffer_get_length(in));
	if (sc->drop_after > 0 && sc->answered >= sc->drop_after && !sc->dropped) {
		sc->dropped = 1;
		bufferevent_free(bev);	/* read, then closed: as if it crashed serving it */
		return;
	}
	sc->answered++;
	bufferevent_write(bev, sc->answer, strlen(sc->answer));
	if (sc->close_after)
		bufferevent_setcb(bev, NULL, script_close_when_written, NULL, sc);
	else if (sc->go_quiet)
		script_quiet_close(bev);
}

static void
script_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void
script_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct script *sc = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);

	(void)lev;
	(void)sa;
	(void)salen;
	sc->accepted++;
	bufferevent_setcb(bev, script_read_cb, NULL, script_event_cb, sc);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (sc->answer_none)
		script_quiet_close(bev);
}

/* One call to a scripted server; r holds what it saw. */
static void
script_call(struct script *sc, const char *method, struct result *r)
{
	struct evconnlistener *lev = listen_unix(base, path_in_dir("script.sock"), 16);
	struct api_client *c = api_client_new(base, path_in_dir("script.sock"), 2000);

	evconnlistener_set_cb(lev, script_accept_cb, sc);
	send_req(c, method, "/x", NULL, 0, NULL, r);
	run_until(&r->called, 3000);
	api_client_free(c);
	evconnlistener_free(lev);
	unlink(path_in_dir("script.sock"));
}

static void
test_link_reading(void)
{
	struct script close_body = { .answer = "HTTP/1.0 200 OK\r\nX-Echo: e\r\n\r\nto the end",
	    .close_after = 1 };
	struct script chunked = { .answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\nok\r\n0\r\n\r\n" };
	struct script garbage = { .answer = "HTTP/2 200\r\n\r\n" };
	struct script two_lengths = { .answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Content-Length: 3\r\n\r\nabc" };
	struct script continued = { .answer = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
	    "Content-Length: 2\r\n\r\nok" };
	struct result r = { 0 };

	script_call(&close_body, "GET", &r);
	ok(r.status == 200 && r.body_len == 10 && strcmp(r.body, "to the end") == 0 &&
	    r.echo != NULL && strcmp(r.echo, "e") == 0,
	    "no Content-Length: the body is read to the end of the connection");
	result_clear(&r);
	script_call(&chunked, "GET", &r);
	ok(r.status == 0 && r.error != NULL && strstr(r.error, "Transfer-Encoding chunked"),
	    "a chunked answer fails the call and says why: %s", r.error ? r.error : "(none)");
	result_clear(&r);
	script_call(&garbage, "GET", &r);
	ok(r.status == 0 && r.error != NULL && strstr(r.error, "no HTTP/1.x status line"),
	    "an answer that is not HTTP/1.x fails the call: %s", r.error ? r.error : "(none)");
	result_clear(&r);
	script_call(&two_lengths, "GET", &r);
	ok(r.status == 0 && r.error != NULL && strstr(r.error, "bad Content-Length"),
	    "two different Content-Lengths fail the call: %s", r.error ? r.error : "(none)");
	result_clear(&r);
	script_call(&continued, "POST", &r);
	ok(r.status == 201 && strcmp(r.body, "ok") == 0, "a 1xx head is skipped (status %ld)",
	    r.status);
	result_clear(&r);
}

/* Two calls to sc's server on one client: what the second one saw. */
static void
script_second_call(struct script *sc, const char *method, struct result *r)
{
	struct evconnlistener *lev = listen_unix(base, path_in_dir("script.sock"), 16);
	struct api_client *c = api_client_new(base, path_in_dir("script.sock"), 2000);
	struct result first = { 0 };

	evconnlistener_set_cb(lev, script_accept_cb, sc);
	send_req(c, method, "/x", "{}", 2, NULL, &first);
	run_until(&first.called, 3000);
	result_clear(&first);
	send_req(c, method, "/x", "{}", 2, NULL, r);
	run_until(&r->called, 3000);
	api_client_free(c);
	evconnlistener_free(lev);
	unlink(path_in_dir("script.sock"));
}

/*
 * A kept-alive connection dies under a POST.  Closed with the request unread
 * in it (the API child's idle timeout, a reload), the request was never read:
 * it is sent again, once, on a new connection.  Closed after reading it (a
 * crash while serving it), it may have been applied: it is not sent again.
 */
static void
test_link_resend(void)
{
	const char *ok200 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct script unread = { .answer = ok200, .go_quiet = 1 };
	struct script post_read = { .answer = ok200, .drop_after = 1 };
	struct script put_read = { .answer = ok200, .drop_after = 1 };
	struct script never = { .answer = ok200, .answer_none = 1 };
	struct result r = { 0 };

	script_second_call(&unread, "POST", &r);
	ok(r.status == 200 && unread.accepted == 2 && unread.answered == 2,
	    "a POST left unread in a closed connection is sent again on a new one "
	    "(status %ld, %d connections)", r.status, unread.accepted);
	result_clear(&r);
	script_call(&never, "POST", &r);
	ok(r.status == 0 && r.error != NULL && never.accepted == 2,
	    "it is sent again only once (%d connections): %s", never.accepted,
	    r.error ? r.error : "(none)");
	result_clear(&r);
	script_second_call(&post_read, "POST", &r);
	ok(r.status == 0 && r.error != NULL && strstr(r.error, "no answer") &&
	    post_read.accepted == 1, "a POST read before the connection closed is not sent again "
	    "(%d connections): %s", post_read.accepted, r.error ? r.error : "(none)");
	result_clear(&r);
	script_second_call(&put_read, "PUT", &r);
	ok(r.status == 200 && put_read.accepted == 2, "a PUT (idempotent) is sent again "
	    "(status %ld, %d connections)", r.status, put_read.accepted);
	result_clear(&r);
}
#endif

/* Latency: a small POST on a kept-alive connection, sequential. */
struct bench {
	struct api_client	*client;
	int			 left;
	int			 errors;
	int			 done;
	double			 t0;
	double			*samples;
	int			 n;
};

static void bench_send(struct bench *);

static void
bench_cb(const struct api_response *resp, void *arg)
{
	struct bench *b = arg;

	b->errors += resp->status != 200;
	b->samples[b->n++] = (now_ms() - b->t0) * 1000;
	if (--b->left == 0)
		b->done = 1;
	else
		bench_send(b);
}

static void
bench_send(struct bench *b)
{
	static const char *const headers[] = { "Accept: application/json", NULL };
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
	struct api_request req = { .method = "POST", .path = "/rpc", .body = body,
	    .body_len = sizeof(body) - 1, .headers = headers };

	b->t0 = now_ms();
	api_client_send(b->client, &req, bench_cb, b);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
bench(const char *what, const char *path, int n)
{
	struct bench b = { .left = n };
	double sum = 0;
	int i;

	b.client = api_client_new(base, path, 5000);
	b.samples = calloc(n, sizeof(double));
	b.left = 100;	/* warm up: open the connection */
	b.samples = realloc(b.samples, (n + 100) * sizeof(double));
	bench_send(&b);
	run_until(&b.done, 10000);
	b.done = 0;
	b.n = 0;
	b.left = n;
	bench_send(&b);
	run_until(&b.done, 60000);
	for (i = 0; i < b.n; i++)
		sum += b.samples[i];
	qsort(b.samples, b.n, sizeof(double), cmp_double);
	ok(b.n == n && b.errors == 0, "%s: %d small POSTs on a kept-alive connection: "
	    "mean %.1f us, p50 %.1f us, p99 %.1f us", what, n, b.n ? sum / b.n : 0,
	    b.n ? b.samples[b.n / 2] : 0, b.n ? b.samples[b.n * 99 / 100] : 0);
	free(b.samples);
	api_client_free(b.client);
}

/* The forked server for the latency figure: a process of its own, like the API child. */
static pid_t
fork_server(const char *path)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		struct event_base *b = event_base_new();
		struct server srv = { 0 };

		/* If a sanitizer stops the driver, the server must not hold the test's output open. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);

		close(ready[0]);
		if (server_start(&srv, b, path) == -1)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		close(ready[1]);
		event_base_dispatch(b);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

int
main(void)
{
	struct api_client *c;
	struct server srv = { 0 };
	const char *n_env = getenv("API_CLIENT_BENCH_N");
	int bench_n = n_env ? atoi(n_env) : 20000;
	pid_t child;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(dir) == NULL)
		return 99;
	child = fork_server(path_in_dir("forked.sock"));
	base = event_base_new();
	ok(child > 0, "forked API server started");
	ok(server_start(&srv, base, path_in_dir("api.sock")) == 0, "evhttp on a Unix socket");
	c = api_client_new(base, path_in_dir("api.sock"), 5000);
	ok(c != NULL, "api_client_new");

	test_concurrent(c, &srv);
	test_post(c);
	test_methods(c);
	test_expect(c);
	test_big(c);
	test_unreachable();
	test_timeout();
	test_reset();
	test_queue_timeout();
	test_cancel(c);
	test_chain(c, &srv);
	test_cancel_from_callback(c);
	test_invalid(c);
	test_restart(c, &srv);
	test_free();
#ifdef DRIVE_HTTP_LINK
	test_link_reading();
	test_link_resend();
#endif
	if (bench_n > 0) {
		bench("same loop", path_in_dir("api.sock"), bench_n);
		bench("forked server", path_in_dir("forked.sock"), bench_n);
	}

	api_client_free(c);
	evhttp_free(srv.http);
	event_base_free(base);
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	unlink(path_in_dir("api.sock"));
	unlink(path_in_dir("forked.sock"));
	unlink(path_in_dir("stale.sock"));
	unlink(path_in_dir("silent.sock"));
	unlink(path_in_dir("silent2.sock"));
	unlink(path_in_dir("script.sock"));
	rmdir(dir);
	return done_testing();
}
