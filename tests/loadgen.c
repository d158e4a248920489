/*
 * A small, bounded load generator for the supervision and fault tests:
 * THREADS threads, each with one libcurl handle (so a kept-alive connection,
 * as real clients have), POST MCP requests to URL until COUNT requests were
 * sent or SECONDS have passed, and every failure is counted and described.
 * A failure is a transport error, a status other than 200, or a JSON-RPC
 * error or isError result in the answer.
 *
 *	loadgen -u URL -t TOKEN -s SESSION [-c THREADS] [-n COUNT] [-d SECONDS]
 *	    [-r RATE] [-m ping|health|note|mix] [-p ID-PREFIX] [-w ACKED-FILE]
 *	    [-l REQUEST-LOG] [-T TIMEOUT-SEC]
 *	loadgen -u URL -a USERS-FILE ...
 *
 * -r paces the threads to RATE requests a second in all (default: as fast
 * as the answers come).
 *
 * -a gives each thread a user of its own: thread i takes line i (modulo the
 * number of lines) of USERS-FILE, "TOKEN SESSION" (an MCP session of that
 * token's user), instead of -t and -s; so the per-user rate limits apply to
 * each thread's pace, not to the sum.
 *
 * -m note calls create_note with the title "PREFIX-THREAD-N" (unique: a
 * marker the test finds in PostgreSQL); mix cycles through ping,
 * health_check, create_note and list_notes.  -w appends "MARKER UID" for
 * every create_note the server acknowledged (a result that is not isError),
 * so that a test can check that each is stored exactly once.
 *
 * -l appends a line per request: "CID KIND ok|fail START_MS END_MS [resent]", the
 * times in milliseconds since the epoch (CLOCK_REALTIME, as date +%s%3N),
 * so that a test can match failures against the moments it caused faults.
 *
 * Each request carries "X-Correlation-ID: PREFIX-THREAD-N", unique, so that
 * a test can find it in the access logs.  Prints "sent N ok N failed N" and
 * exits 0 when nothing failed, 1 otherwise.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define LOADGEN_MAX_THREADS	64
#define LOADGEN_BODY_MAX	65536

enum loadgen_kind { LG_PING, LG_HEALTH, LG_NOTE, LG_LIST, LG_NKINDS };

static const char *const kind_names[LG_NKINDS] = { "ping", "health", "note", "list" };

struct loadgen_user {
	char	token[256], session[512];
};

struct loadgen {
	const char	*url, *token, *session, *prefix, *method;
	struct loadgen_user *users;	/* -a */
	int		 nusers;
	int		 threads;
	long		 count;		/* 0: until the deadline */
	double		 rate;		/* requests a second, all threads; 0: no pacing */
	double		 seconds;
	double		 deadline;
	long		 timeout;	/* seconds, per request */
	FILE		*acked;		/* -w: "MARKER UID" of acknowledged writes */
	FILE		*reqlog;	/* -l: a line per request */
	pthread_mutex_t	 lock;
	long		 sent, ok, failed;
};

struct loadgen_body {
	char	buf[LOADGEN_BODY_MAX];
	size_t	len;
};

static struct loadgen lg = {
	.threads = 4, .seconds = 10, .method = "ping", .prefix = "lg", .timeout = 30,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static double
loadgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long
loadgen_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * libcurl sends a request again, silently, when the kept-alive connection it
 * reused died before any answer came ("Connection died, retrying a fresh
 * connect"): a client's resend, which may apply a write twice whatever the
 * server does.  Such requests are reported ("resent: CID" on standard error
 * and "resent" in the request log) so that a test can tell them apart.
 */
static int
loadgen_debug(CURL *curl, curl_infotype type, char *data, size_t len, void *arg)
{
	int *resent = arg;

	(void)curl;
	if (type == CURLINFO_TEXT && len >= 8 && memmem(data, len, "retrying", 8) != NULL)
		*resent = 1;
	return 0;
}

static size_t
loadgen_write(char *data, size_t size, size_t n, void *arg)
{
	struct loadgen_body *b = arg;
	size_t len = size * n, room = sizeof(b->buf) - 1 - b->len;

	memcpy(b->buf + b->len, data, len < room ? len : room);
	b->len += len < room ? len : room;
	b->buf[b->len] = '\0';
	return len;
}

/* The next request number, or -1 when the run is over. */
static long
loadgen_take(void)
{
	long n = -1;

	pthread_mutex_lock(&lg.lock);
	if ((lg.count == 0 || lg.sent < lg.count) && loadgen_now() < lg.deadline)
		n = lg.sent++;
	pthread_mutex_unlock(&lg.lock);
	return n;
}

static enum loadgen_kind
loadgen_kind(long n)
{
	if (strcmp(lg.method, "mix") == 0)
		return (enum loadgen_kind)(n % LG_NKINDS);
	for (int k = 0; k < LG_NKINDS; k++)
		if (strcmp(lg.method, kind_names[k]) == 0)
			return (enum loadgen_kind)k;
	return LG_PING;
}

/* The uid of a create_note answer: the structured content's (the text has it escaped). */
static void
loadgen_uid(const char *body, char *uid, size_t len)
{
	const char *p = strstr(body, "\"uid\":\"");
	size_t n;

	uid[0] = '\0';
	if (p == NULL)
		return;
	p += strlen("\"uid\":\"");
	n = strcspn(p, "\"");
	if (n < len)
		snprintf(uid, len, "%.*s", (int)n, p);
}

static void
loadgen_result(int ok, const char *cid, enum loadgen_kind kind, const char *body,
    long long start_ms, int resent, const char *what)
{
	char uid[64];

	pthread_mutex_lock(&lg.lock);
	if (resent)
		fprintf(stderr, "resent: %s\n", cid);
	if (ok)
		lg.ok++;
	else {
		lg.failed++;
		fprintf(stderr, "failure: %s: (%lld ms) %s\n", cid, loadgen_wall_ms() - start_ms,
		    what);
	}
	if (ok && kind == LG_NOTE && lg.acked != NULL) {
		loadgen_uid(body, uid, sizeof(uid));
		fprintf(lg.acked, "%s %s\n", cid, uid[0] != '\0' ? uid : "-");
	}
	if (lg.reqlog != NULL)
		fprintf(lg.reqlog, "%s %s %s %lld %lld%s\n", cid, kind_names[kind],
		    ok ? "ok" : "fail", start_ms, loadgen_wall_ms(), resent ? " resent" : "");
	pthread_mutex_unlock(&lg.lock);
}

static struct curl_slist *
loadgen_headers(int thread, const char *cid)
{
	const char *token = lg.token, *session = lg.session;
	struct curl_slist *h = NULL;
	char line[640];

	if (lg.nusers > 0) {
		token = lg.users[thread % lg.nusers].token;
		session = lg.users[thread % lg.nusers].session;
	}
	snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json, text/event-stream");
	h = curl_slist_append(h, "MCP-Protocol-Version: 2025-11-25");
	snprintf(line, sizeof(line), "Mcp-Session-Id: %s", session);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Correlation-ID: %s", cid);
	return curl_slist_append(h, line);
}

static void
loadgen_request(enum loadgen_kind kind, long n, const char *cid, char *req, size_t len)
{
	switch (kind) {
	case LG_HEALTH:
		snprintf(req, len, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
		    "\"params\":{\"name\":\"health_check\",\"arguments\":{}}}", n);
		break;
	case LG_NOTE:
		/* The correlation id doubles as the marker: unique, and found in the logs too. */
		snprintf(req, len, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
		    "\"params\":{\"name\":\"create_note\",\"arguments\":{\"title\":\"%s\","
		    "\"content\":\"written by loadgen\"}}}", n, cid);
		break;
	case LG_LIST:
		snprintf(req, len, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
		    "\"params\":{\"name\":\"list_notes\",\"arguments\":{\"limit\":5}}}", n);
		break;
	default:
		snprintf(req, len, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"ping\"}", n);
		break;
	}
}

static void
loadgen_one(CURL *curl, int thread, long n)
{
	static __thread struct loadgen_body body;
	enum loadgen_kind kind = loadgen_kind(n);
	struct curl_slist *headers;
	char cid[128], req[512], what[300];
	long status = 0;
	long long start_ms = loadgen_wall_ms();
	int resent = 0;
	CURLcode rc;

	body.len = 0;
	body.buf[0] = '\0';
	snprintf(cid, sizeof(cid), "%s-%d-%ld", lg.prefix, thread, n);
	loadgen_request(kind, n, cid, req, sizeof(req));
	headers = loadgen_headers(thread, cid);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &resent);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK)
		snprintf(what, sizeof(what), "%s", curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(what, sizeof(what), "HTTP %ld: %.200s", status, body.buf);
	else if (strstr(body.buf, "\"result\"") == NULL || strstr(body.buf, "\"isError\":true"))
		snprintf(what, sizeof(what), "answer: %.250s", body.buf);
	else {
		loadgen_result(1, cid, kind, body.buf, start_ms, resent, NULL);
		return;
	}
	loadgen_result(0, cid, kind, body.buf, start_ms, resent, what);
}

static void *
loadgen_thread(void *arg)
{
	int thread = (int)(long)arg;
	CURL *curl = curl_easy_init();
	double next = loadgen_now(), gap = lg.rate > 0 ? lg.threads / lg.rate : 0, wait;
	struct timespec ts;
	long n;

	if (curl == NULL)
		abort();
	curl_easy_setopt(curl, CURLOPT_URL, lg.url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, lg.timeout);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, loadgen_write);
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, loadgen_debug);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	while ((n = loadgen_take()) != -1) {
		loadgen_one(curl, thread, n);
		if (gap <= 0)
			continue;
		next += gap;
		if ((wait = next - loadgen_now()) <= 0)
			continue;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

static void
loadgen_usage(void)
{
	fprintf(stderr, "usage: loadgen -u URL {-t TOKEN -s SESSION | -a USERS-FILE} "
	    "[-c THREADS] [-n COUNT] "
	    "[-d SECONDS] [-r RATE] [-m ping|health|note|mix] [-p ID-PREFIX] [-w ACKED-FILE] "
	    "[-l REQUEST-LOG] [-T TIMEOUT-SEC]\n");
	exit(64);
}

static FILE *
loadgen_open(const char *path)
{
	FILE *f = fopen(path, "a");

	if (f == NULL) {
		perror(path);
		exit(66);
	}
	return f;
}

static void
loadgen_users(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[800];

	if (f == NULL) {
		perror(path);
		exit(66);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((lg.users = realloc(lg.users, (size_t)(lg.nusers + 1) * sizeof(*lg.users))) == NULL)
			abort();
		if (sscanf(line, "%255s %511s", lg.users[lg.nusers].token,
		    lg.users[lg.nusers].session) == 2)
			lg.nusers++;
	}
	fclose(f);
	if (lg.nusers == 0) {
		fprintf(stderr, "%s: no \"TOKEN SESSION\" line\n", path);
		exit(65);
	}
}

static void
loadgen_options(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "u:t:s:a:c:n:d:r:m:p:w:l:T:")) != -1) {
		switch (ch) {
		case 'u': lg.url = optarg; break;
		case 't': lg.token = optarg; break;
		case 's': lg.session = optarg; break;
		case 'a': loadgen_users(optarg); break;
		case 'c': lg.threads = atoi(optarg); break;
		case 'n': lg.count = atol(optarg); break;
		case 'd': lg.seconds = atof(optarg); break;
		case 'r': lg.rate = atof(optarg); break;
		case 'm': lg.method = optarg; break;
		case 'p': lg.prefix = optarg; break;
		case 'w': lg.acked = loadgen_open(optarg); break;
		case 'l': lg.reqlog = loadgen_open(optarg); break;
		case 'T': lg.timeout = atol(optarg); break;
		default: loadgen_usage();
		}
	}
	if (strcmp(lg.method, "mix") != 0 && strcmp(lg.method, "ping") != 0 &&
	    strcmp(lg.method, "health") != 0 && strcmp(lg.method, "note") != 0)
		loadgen_usage();
	if (lg.url == NULL || ((lg.token == NULL || lg.session == NULL) && lg.nusers == 0) ||
	    lg.threads < 1 ||
	    lg.threads > LOADGEN_MAX_THREADS || lg.timeout < 1 || optind != argc)
		loadgen_usage();
}

int
main(int argc, char **argv)
{
	pthread_t tids[LOADGEN_MAX_THREADS];

	loadgen_options(argc, argv);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	lg.deadline = loadgen_now() + lg.seconds;
	for (int i = 0; i < lg.threads; i++)
		if (pthread_create(&tids[i], NULL, loadgen_thread, (void *)(long)i) != 0)
			abort();
	for (int i = 0; i < lg.threads; i++)
		pthread_join(tids[i], NULL);
	curl_global_cleanup();
	free(lg.users);
	if (lg.acked != NULL)
		fclose(lg.acked);
	if (lg.reqlog != NULL)
		fclose(lg.reqlog);
	printf("sent %ld ok %ld failed %ld\n", lg.sent, lg.ok, lg.failed);
	return lg.failed == 0 && lg.sent > 0 ? 0 : 1;
}
