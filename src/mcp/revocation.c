/*
 * The file is a list of lines, one revoked tag a line in hex.  A line is
 * appended with one write(2) on an O_APPEND descriptor, so lines of
 * concurrent writers never interleave; a reader takes whole lines only, so a
 * line being written is picked up on the next look, and a line torn by a
 * crash is skipped.  In memory the tags are
 * an open-addressing hash set that doubles when half full.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "revocation.h"

#define TAG_HEX		(MCP_SESSION_TAG_LEN * 2)
#define LINE_LEN	(TAG_HEX + 1)
#define SET_MIN		1024

struct revocation {
	int		 fd;
	off_t		 consumed;	/* bytes of whole lines already loaded */
	unsigned char	(*set)[MCP_SESSION_TAG_LEN];	/* all-zero slot: empty */
	size_t		 cap, count;
};

static size_t
revocation_hash(const unsigned char *tag, size_t cap)
{
	uint64_t h;

	memcpy(&h, tag, sizeof(h));	/* tags are MACs: already uniform */
	return (size_t)(h & (cap - 1));
}

static int
revocation_is_empty(const unsigned char *slot)
{
	static const unsigned char zero[MCP_SESSION_TAG_LEN];

	return memcmp(slot, zero, sizeof(zero)) == 0;
}

/* The slot holding tag, or the empty slot where it would go. */
static unsigned char *
revocation_slot(const struct revocation *rv, const unsigned char *tag)
{
	size_t i = revocation_hash(tag, rv->cap);

	while (!revocation_is_empty(rv->set[i]) && memcmp(rv->set[i], tag, MCP_SESSION_TAG_LEN) != 0)
		i = (i + 1) & (rv->cap - 1);
	return rv->set[i];
}

static void
revocation_grow(struct revocation *rv)
{
	unsigned char (*old)[MCP_SESSION_TAG_LEN] = rv->set;
	size_t oldcap = rv->cap;

	rv->cap = oldcap == 0 ? SET_MIN : oldcap * 2;
	if ((rv->set = calloc(rv->cap, MCP_SESSION_TAG_LEN)) == NULL)
		fatal("revocation_grow");
	for (size_t i = 0; i < oldcap; i++)
		if (!revocation_is_empty(old[i]))
			memcpy(revocation_slot(rv, old[i]), old[i], MCP_SESSION_TAG_LEN);
	free(old);
}

static void
revocation_insert(struct revocation *rv, const unsigned char *tag)
{
	unsigned char *slot;

	if (revocation_is_empty(tag))
		return;		/* cannot be a MAC in practice; would read as an empty slot */
	if ((rv->count + 1) * 2 > rv->cap)
		revocation_grow(rv);
	slot = revocation_slot(rv, tag);
	if (revocation_is_empty(slot)) {
		memcpy(slot, tag, MCP_SESSION_TAG_LEN);
		rv->count++;
	}
}

/* One line, without its newline; a torn line (a crash mid-write) is skipped. */
static void
revocation_load_line(struct revocation *rv, const char *line, size_t len)
{
	unsigned char tag[MCP_SESSION_TAG_LEN];

	if (len != TAG_HEX)
		return;
	for (int i = 0; i < MCP_SESSION_TAG_LEN; i++) {
		unsigned int byte;

		if (sscanf(line + 2 * i, "%2x", &byte) != 1)
			return;
		tag[i] = (unsigned char)byte;
	}
	revocation_insert(rv, tag);
}

/* Load the whole lines appended since the last look. */
static void
revocation_catch_up(struct revocation *rv)
{
	struct stat st;
	char buf[LINE_LEN * 256];
	ssize_t n;

	if (fstat(rv->fd, &st) == -1 || st.st_size - rv->consumed < LINE_LEN)
		return;
	while ((n = pread(rv->fd, buf, sizeof(buf), rv->consumed)) > 0) {
		char *start = buf, *nl, *end = buf + n;

		while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
			revocation_load_line(rv, start, (size_t)(nl - start));
			start = nl + 1;
		}
		if (start == buf && n < (ssize_t)sizeof(buf))
			break;		/* no whole line yet */
		/* a buffer without any newline is garbage: skip it */
		rv->consumed += start == buf ? n : start - buf;
	}
}

struct revocation *
revocation_open(const char *state_dir, char *err, size_t cap)
{
	struct revocation *rv;
	char path[4096];

	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, cap, "state_dir %s: %s", state_dir, strerror(errno));
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir, REVOCATION_FILE);
	if ((rv = calloc(1, sizeof(*rv))) == NULL)
		fatal("revocation_open");
	if ((rv->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		free(rv);
		return NULL;
	}
	revocation_grow(rv);
	revocation_catch_up(rv);
	return rv;
}

int
revocation_add(struct revocation *rv, const unsigned char tag[MCP_SESSION_TAG_LEN])
{
	char line[LINE_LEN + 1];

	hex_encode(tag, MCP_SESSION_TAG_LEN, line);
	line[TAG_HEX] = '\n';
	if (write(rv->fd, line, LINE_LEN) != LINE_LEN || fdatasync(rv->fd) == -1) {
		log_warn("revocation: cannot record an ended session");
		return -1;
	}
	revocation_insert(rv, tag);
	return 0;
}

int
revocation_contains(struct revocation *rv, const unsigned char tag[MCP_SESSION_TAG_LEN])
{
	revocation_catch_up(rv);
	return !revocation_is_empty(revocation_slot(rv, tag));
}

void
revocation_free(struct revocation *rv)
{
	if (rv == NULL)
		return;
	close(rv->fd);
	free(rv->set);
	free(rv);
}
