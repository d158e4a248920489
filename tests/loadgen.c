/*
 * A small, bounded load generator for the supervision tests: THREADS threads,
 * each with one libcurl handle (so a kept-alive connection, as real clients
 * have), POST MCP requests to URL until COUNT requests were sent or SECONDS
 * have passed, and every failure is counted and described.  A failure is a
 * transport error, a status other than 200, or a JSON-RPC error or isError
 * result in the answer.
 *
 *	loadgen -u URL -t TOKEN -s SESSION [-c THREADS] [-n COUNT] [-d SECONDS]
 *	    [-r RATE] [-m ping|health] [-p ID-PREFIX]
 *
 * -r paces the threads to RATE requests a second in all (default: as fast
 * as the answers come).
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

struct loadgen {
	const char	*url, *token, *session, *prefix, *method;
	int		 threads;
	long		 count;		/* 0: until the deadline */
	double		 rate;		/* requests a second, all threads; 0: no pacing */
	double		 seconds;
	double		 deadline;
	pthread_mutex_t	 lock;
	long		 sent, ok, failed;
};

struct loadgen_body {
	char	buf[LOADGEN_BODY_MAX];
	size_t	len;
};

static struct loadgen lg = {
	.threads = 4, .seconds = 10, .method = "ping", .prefix = "lg",
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static double
loadgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void
loadgen_result(int ok, const char *cid, const char *what)
{
	pthread_mutex_lock(&lg.lock);
	if (ok)
		lg.ok++;
	else {
		lg.failed++;
		fprintf(stderr, "failure: %s: %s\n", cid, what);
	}
	pthread_mutex_unlock(&lg.lock);
}

static struct curl_slist *
loadgen_headers(const char *cid)
{
	struct curl_slist *h = NULL;
	char line[512];

	snprintf(line, sizeof(line), "Authorization: Bearer %s", lg.token);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json, text/event-stream");
	h = curl_slist_append(h, "MCP-Protocol-Version: 2025-11-25");
	snprintf(line, sizeof(line), "Mcp-Session-Id: %s", lg.session);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Correlation-ID: %s", cid);
	return curl_slist_append(h, line);
}

static void
loadgen_one(CURL *curl, int thread, long n)
{
	struct loadgen_body body = { .len = 0 };
	struct curl_slist *headers;
	char cid[128], req[256], what[300];
	long status = 0;
	CURLcode rc;

	snprintf(cid, sizeof(cid), "%s-%d-%ld", lg.prefix, thread, n);
	if (strcmp(lg.method, "health") == 0)
		snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
		    "\"params\":{\"name\":\"health_check\",\"arguments\":{}}}", n);
	else
		snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"ping\"}", n);
	headers = loadgen_headers(cid);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
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
		loadgen_result(1, cid, NULL);
		return;
	}
	loadgen_result(0, cid, what);
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
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, loadgen_write);
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
	fprintf(stderr, "usage: loadgen -u URL -t TOKEN -s SESSION [-c THREADS] [-n COUNT] "
	    "[-d SECONDS] [-r RATE] [-m ping|health] [-p ID-PREFIX]\n");
	exit(64);
}

static void
loadgen_options(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "u:t:s:c:n:d:r:m:p:")) != -1) {
		switch (ch) {
		case 'u': lg.url = optarg; break;
		case 't': lg.token = optarg; break;
		case 's': lg.session = optarg; break;
		case 'c': lg.threads = atoi(optarg); break;
		case 'n': lg.count = atol(optarg); break;
		case 'd': lg.seconds = atof(optarg); break;
		case 'r': lg.rate = atof(optarg); break;
		case 'm': lg.method = optarg; break;
		case 'p': lg.prefix = optarg; break;
		default: loadgen_usage();
		}
	}
	if (lg.url == NULL || lg.token == NULL || lg.session == NULL || lg.threads < 1 ||
	    lg.threads > LOADGEN_MAX_THREADS || optind != argc)
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
	printf("sent %ld ok %ld failed %ld\n", lg.sent, lg.ok, lg.failed);
	return lg.failed == 0 && lg.sent > 0 ? 0 : 1;
}
