/*
 * Access lines held for a turn of the event loop (log_access_hold in
 * src/common/log.c): nothing is written until the flush, the caller is woken
 * once per batch, a full buffer is written rather than overflowed, and lines
 * held at exit are written.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char path[256];
static int wakes;

static void
count_wake(void *arg)
{
	(void)arg;
	wakes++;
}

/* Lines in the access log so far; -1 when it cannot be read. */
static int
lines_written(void)
{
	FILE *fp = fopen(path, "r");
	int c, n = 0;

	if (fp == NULL)
		return -1;
	while ((c = getc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

static void
test_held_until_flush(void)
{
	log_access_hold(count_wake, NULL);
	wakes = 0;
	log_access("cid-1", "\"method\":\"POST\",\"status\":200");
	log_access("cid-2", "\"method\":\"POST\",\"status\":200");
	log_access(NULL, "\"method\":\"GET\",\"status\":404");
	ok(lines_written() == 0, "held lines are not written yet");
	ok(wakes == 1, "the caller is woken once for the batch (%d)", wakes);
	log_access_flush();
	ok(lines_written() == 3, "the flush writes the three lines");
	log_access_flush();
	ok(lines_written() == 3, "a second flush writes nothing again");
	log_access("cid-4", "\"method\":\"POST\",\"status\":200");
	ok(wakes == 2, "a new batch wakes the caller again");
	log_access_flush();
	ok(lines_written() == 4, "and is written at its flush");
}

static void
test_full_buffer(void)
{
	char fields[2048];
	int before = lines_written(), n = 0;

	memset(fields, 0, sizeof(fields));
	strcpy(fields, "\"pad\":\"");
	memset(fields + 7, 'x', 1900);
	strcat(fields, "\"");
	/* About 2 kB a line: 40 lines are more than the 32 kB held. */
	for (int i = 0; i < 40; i++)
		log_access(NULL, fields);
	n = lines_written() - before;
	ok(n > 0 && n < 40, "a full buffer is written before it overflows (%d of 40 written)", n);
	log_access_flush();
	ok(lines_written() - before == 40, "no line is lost (%d)", lines_written() - before);
}

static void
test_written_at_exit(void)
{
	int before = lines_written(), status = -1;
	pid_t pid;

	fflush(stdout);		/* the child's exit must not print our lines again */
	if ((pid = fork()) == 0) {
		log_access_hold(count_wake, NULL);
		log_access(NULL, "\"method\":\"GET\",\"status\":200");
		exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && lines_written() == before + 1, "lines held at exit are written");
}

static void
test_not_held(void)
{
	int before = lines_written();

	log_access_hold(NULL, NULL);
	log_access(NULL, "\"method\":\"GET\",\"status\":200");
	ok(lines_written() == before + 1, "without holding, a line is written at once");
}

int
main(void)
{
	char dir[] = "/tmp/test_log.XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/access.log", dir);
	log_init("test", NULL, LOG_LEVEL_WARN);
	if (log_access_init(path) == -1)
		return 1;
	test_held_until_flush();
	test_full_buffer();
	test_written_at_exit();
	test_not_held();
	unlink(path);
	rmdir(dir);
	return done_testing();
}
