/* The restart policy: delay vectors, the healthy reset and the crash window. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include "backoff.h"
#include "tap.h"

static void
test_delays(void)
{
	static const struct { unsigned n; int64_t ms; } v[] = {
		{ 0, 0 }, { 1, 1000 }, { 2, 2000 }, { 3, 4000 }, { 4, 8000 },
		{ 5, 16000 }, { 6, 30000 }, { 7, 30000 }, { 64, 30000 }, { 4000000000u, 30000 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ok(backoff_delay_ms(v[i].n) == v[i].ms, "delay after %u early deaths is %lld ms (got %lld)",
		    v[i].n, (long long)v[i].ms, (long long)backoff_delay_ms(v[i].n));
}

/* A child that crashes at start: 1, 2, 4, 8 s between spawns, then the fifth death fails the slot. */
static void
test_crash_at_start(void)
{
	static const int64_t want[] = { 1000, 2000, 4000, 8000 };
	struct backoff b;
	int64_t now = 100000, delay = -1;
	enum backoff_verdict v = BACKOFF_RESTART;

	backoff_reset(&b);
	for (size_t i = 0; i < 4; i++) {
		v = backoff_record_death(&b, now, now + 10, &delay);
		ok(v == BACKOFF_RESTART && delay == want[i] - 10, "crash %zu: next spawn %lld ms "
		    "after the last", i + 1, (long long)want[i]);
		now += 10 + delay;
	}
	v = backoff_record_death(&b, now, now + 10, &delay);
	ok(v == BACKOFF_FAILED, "crash 5 within %d ms: slot failed", BACKOFF_WINDOW_MS);
}

/* A child killed after serving a while comes back at once, and its early-death count restarts. */
static void
test_healthy_resets(void)
{
	struct backoff b;
	int64_t delay;

	backoff_reset(&b);
	backoff_record_death(&b, 0, 10, &delay);
	backoff_record_death(&b, 1010, 1020, &delay);
	ok(delay == 1990, "two early deaths: spawns 2000 ms apart");
	ok(backoff_record_death(&b, 3020, 3020 + BACKOFF_HEALTHY_MS, &delay) == BACKOFF_RESTART &&
	    delay == 0, "death after a healthy run: restart at once");
	backoff_record_death(&b, 9000, 9100, &delay);
	ok(delay == 900, "next early death starts again at 1000 ms between spawns");

	backoff_reset(&b);
	ok(backoff_record_death(&b, 0, BACKOFF_HEALTHY_MS - 1, &delay) == BACKOFF_RESTART &&
	    b.early_deaths == 1 && delay == 0, "a run just short of healthy is early, but "
	    "already lasted longer than the delay");
	backoff_record_death(&b, BACKOFF_HEALTHY_MS, BACKOFF_HEALTHY_MS + 10, &delay);
	ok(delay == 1990, "so the next early death waits for the doubled gap");
}

/* Deaths spread wider than the window never fail the slot; five inside it do, healthy or not. */
static void
test_window(void)
{
	struct backoff b;
	int64_t delay, t = 0;
	int failed = 0;

	backoff_reset(&b);
	for (int i = 0; i < 50; i++) {
		t += BACKOFF_WINDOW_MS / (BACKOFF_MAX_DEATHS - 1);	/* 15 s apart */
		if (backoff_record_death(&b, t - 6000, t, &delay) == BACKOFF_FAILED)
			failed++;
	}
	ok(failed == 0, "deaths 15 s apart (5 span exactly 60 s): never failed");

	backoff_reset(&b);
	t = 0;
	for (int i = 0; i < 4; i++) {
		t += 12000;
		ok(backoff_record_death(&b, t - 6000, t, &delay) == BACKOFF_RESTART && delay == 0,
		    "healthy death %d at %lld ms: restart at once", i + 1, (long long)t);
	}
	t += 11000;
	ok(backoff_record_death(&b, t - 6000, t, &delay) == BACKOFF_FAILED,
	    "fifth death within 60 s fails the slot even though each run was healthy");

	backoff_reset(&b);
	ok(b.ndeaths == 0 && b.early_deaths == 0, "reset clears the history");
}

int
main(void)
{
	test_delays();
	test_crash_at_start();
	test_healthy_resets();
	test_window();
	return done_testing();
}
