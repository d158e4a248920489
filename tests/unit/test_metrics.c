/*
 * The shared metrics region in one process playing both parts: the master
 * creates it and hands out slots, a "child" maps it from SHM_CHILD_FD and
 * counts, and the Prometheus text must show the sums, the cumulative
 * histogram buckets, the tools by name, gauges of live slots only, and the
 * counts of a slot kept for its next owner.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "shm_metrics.h"
#include "tap.h"

static char *
render(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (fp == NULL || metrics_render(fp) == -1)
		abort();
	fclose(fp);
	return text;
}

/* 1 when text has line, as a whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

static void
check(const char *text, const char *line)
{
	ok(has_line(text, line), "has: %s", line);
}

int
main(void)
{
	int fd, api, w1, w2;
	char *text;

	ok(metrics_render(stdout) == -1, "without a region, rendering says metrics are off");
	fd = metrics_create();
	ok(fd >= 0, "the master creates the region");
	api = metrics_slot_take(METRICS_ROLE_API);
	w1 = metrics_slot_take(METRICS_ROLE_WORKER);
	w2 = metrics_slot_take(METRICS_ROLE_WORKER);
	ok(api == 0 && w1 == METRICS_API_SLOTS && w2 == METRICS_API_SLOTS + 1,
	    "API slots first, then worker slots (%d %d %d)", api, w1, w2);
	metrics_slot_owner(w1, getpid());
	ok(dup2(fd, SHM_CHILD_FD) == SHM_CHILD_FD && metrics_attach(w1) == 0,
	    "a child maps the region from fd %d", SHM_CHILD_FD);
	ok(metrics_attach(w1) == -1, "fd %d is closed once mapped", SHM_CHILD_FD);

	for (int i = 0; i < 3; i++)
		metrics_count_request("POST", 200, 1500);
	metrics_count_request("GET", 404, 10);
	metrics_count_request("PATCH", 299, 2000000);
	metrics_count_tool("create_note", METRICS_TOOL_OK, 20000);
	metrics_count_tool("create_note", METRICS_TOOL_ERROR, 30000);
	metrics_count_tool("list_notes", METRICS_TOOL_CANCELLED, 40000);
	metrics_count_session(1);
	metrics_set_streams(7);
	metrics_count_restart(METRICS_ROLE_WORKER);
	metrics_count_reload(1);
	metrics_count_reload(0);
	metrics_set_generation(3);
	text = render();
	check(text, "trestle_http_requests_total{method=\"POST\",code=\"200\"} 3");
	check(text, "trestle_http_requests_total{method=\"GET\",code=\"404\"} 1");
	check(text, "trestle_http_requests_total{method=\"other\",code=\"other\"} 1");
	check(text, "trestle_http_request_duration_seconds_bucket{le=\"0.001\"} 1");
	check(text, "trestle_http_request_duration_seconds_bucket{le=\"0.0025\"} 4");
	check(text, "trestle_http_request_duration_seconds_bucket{le=\"1\"} 4");
	check(text, "trestle_http_request_duration_seconds_bucket{le=\"5\"} 5");
	check(text, "trestle_http_request_duration_seconds_bucket{le=\"+Inf\"} 5");
	check(text, "trestle_http_request_duration_seconds_count 5");
	check(text, "trestle_http_request_duration_seconds_sum 2.004510");
	check(text, "trestle_tool_calls_total{tool=\"create_note\",outcome=\"ok\"} 1");
	check(text, "trestle_tool_calls_total{tool=\"create_note\",outcome=\"error\"} 1");
	check(text, "trestle_tool_calls_total{tool=\"list_notes\",outcome=\"cancelled\"} 1");
	check(text, "trestle_mcp_sessions_created_total 1");
	check(text, "trestle_mcp_sse_streams 7");
	check(text, "trestle_workers_up 1");
	check(text, "trestle_restarts_total{role=\"worker\"} 1");
	check(text, "trestle_reloads_total{result=\"ok\"} 1");
	check(text, "trestle_reloads_total{result=\"failed\"} 1");
	check(text, "trestle_generation 3");
	free(text);

	/* The process is gone: its counts stay, its gauges go, its slot is handed on. */
	metrics_slot_owner(w1, 0);
	text = render();
	check(text, "trestle_http_requests_total{method=\"POST\",code=\"200\"} 3");
	check(text, "trestle_mcp_sse_streams 0");
	check(text, "trestle_workers_up 0");
	free(text);
	ok(metrics_slot_take(METRICS_ROLE_WORKER) == w1, "the used slot is handed on first");
	metrics_slot_owner(w1, getpid());
	metrics_count_request("POST", 200, 100);
	text = render();
	check(text, "trestle_http_requests_total{method=\"POST\",code=\"200\"} 4");
	free(text);
	close(fd);
	return done_testing();
}
