/*
 * Each entry is one 64-bit word, written and read atomically, so workers
 * never see a torn entry and need no lock: 56 bits of the session's tag and
 * the level plus one (0 marks a free entry).  Entries are grouped in buckets
 * of four; a session lives in the bucket its tag selects.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session_state.h"

#define ENTRIES		65536
#define WAYS		4
#define BUCKETS		(ENTRIES / WAYS)
#define TABLE_BYTES	(ENTRIES * sizeof(uint64_t))

struct session_state {
	uint64_t	*table;
};

static const char *const level_names[] = {
	"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"
};

int
mcp_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
mcp_log_level_name(enum mcp_log_level level)
{
	return level_names[level];
}

static uint64_t
session_state_key(const unsigned char *tag)
{
	uint64_t key = 0;

	for (int i = 0; i < 7; i++)
		key = key << 8 | tag[i];
	return key;
}

static uint64_t *
session_state_bucket(const struct session_state *st, uint64_t key)
{
	return st->table + (key % BUCKETS) * WAYS;
}

struct session_state *
session_state_open(const char *runtime_dir, char *err, size_t cap)
{
	struct session_state *st;
	struct stat sb;
	char path[4096];
	void *map;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", runtime_dir, SESSION_STATE_FILE);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 || fstat(fd, &sb) == -1 ||
	    (sb.st_size < (off_t)TABLE_BYTES && ftruncate(fd, TABLE_BYTES) == -1)) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	map = mmap(NULL, TABLE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, cap, "%s: mmap: %s", path, strerror(errno));
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		fatal("session_state_open");
	st->table = map;
	return st;
}

enum mcp_log_level
session_state_log_level(const struct session_state *st, const unsigned char tag[MCP_SESSION_TAG_LEN])
{
	uint64_t key = session_state_key(tag), *bucket = session_state_bucket(st, key);

	for (int i = 0; i < WAYS; i++) {
		uint64_t e = __atomic_load_n(&bucket[i], __ATOMIC_ACQUIRE);

		if (e != 0 && e >> 8 == key)
			return (enum mcp_log_level)((e & 0xff) - 1);
	}
	return MCP_LOG_DEFAULT;
}

/* This session's entry, else a free one, else the one its tag picks. */
void
session_state_set_log_level(struct session_state *st, const unsigned char tag[MCP_SESSION_TAG_LEN],
    enum mcp_log_level level)
{
	uint64_t key = session_state_key(tag), *bucket = session_state_bucket(st, key);
	uint64_t entry = key << 8 | (uint64_t)(level + 1);
	int victim = (int)(tag[7] % WAYS);

	for (int i = 0; i < WAYS; i++) {
		uint64_t e = __atomic_load_n(&bucket[i], __ATOMIC_ACQUIRE);

		if (e != 0 && e >> 8 == key) {
			__atomic_store_n(&bucket[i], entry, __ATOMIC_RELEASE);
			return;
		}
	}
	for (int i = 0; i < WAYS; i++) {
		uint64_t expected = 0;

		if (__atomic_compare_exchange_n(&bucket[i], &expected, entry, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE))
			return;
	}
	__atomic_store_n(&bucket[victim], entry, __ATOMIC_RELEASE);
}

void
session_state_free(struct session_state *st)
{
	if (st == NULL)
		return;
	munmap(st->table, TABLE_BYTES);
	free(st);
}
