/*
 * What the libFuzzer targets share (tests/fuzz/run.sh builds and runs them).
 * An input is often several C strings: they are separated by NUL bytes, the
 * one byte none of them can hold.
 */
#ifndef TRESTLE_FUZZ_H
#define TRESTLE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define FUZZ_FIELDS_MAX	16

/* The input split at NUL bytes; the strings point into a copy that fuzz_fields_free frees. */
struct fuzz_fields {
	char	*copy;
	size_t	 n;
	char	*f[FUZZ_FIELDS_MAX];	/* missing fields are "" */
	size_t	 len[FUZZ_FIELDS_MAX];
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

static void __attribute__((unused))
fuzz_fields_split(struct fuzz_fields *ff, const uint8_t *data, size_t size)
{
	size_t start = 0;

	memset(ff, 0, sizeof(*ff));
	if ((ff->copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(ff->copy, data, size);
	ff->copy[size] = '\0';
	for (size_t i = 0; i <= size && ff->n < FUZZ_FIELDS_MAX; i++) {
		if (i < size && ff->copy[i] != '\0')
			continue;
		ff->f[ff->n] = ff->copy + start;
		ff->len[ff->n] = i - start;
		ff->n++;
		start = i + 1;
	}
	for (size_t i = ff->n; i < FUZZ_FIELDS_MAX; i++)
		ff->f[i] = ff->copy + size;	/* "" */
}

static void __attribute__((unused))
fuzz_fields_free(struct fuzz_fields *ff)
{
	free(ff->copy);
}

/* A NUL-terminated copy of the input (free it). */
static char * __attribute__((unused))
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Logs the targets' code writes go nowhere: only sanitizer reports matter. */
static void __attribute__((unused))
fuzz_quiet_logs(void)
{
	log_init("fuzz", "/dev/null", LOG_LEVEL_DEBUG);
}

#endif
