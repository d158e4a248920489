/*
 * What evhttp_find_header answers, faster: a request is looked up a dozen
 * times for a dozen headers, and libevent compares names a character at a
 * time through a function call per character, which made these lookups a
 * tenth of the API child's time.  Here a name is rejected at its first
 * letter, in line.
 */
#include "config.h"

#include <sys/queue.h>

#include <stddef.h>

#include <event2/keyvalq_struct.h>

#include "http_headers.h"

static inline unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static int
name_equal(const char *a, const char *b)
{
	for (; *a != '\0'; a++, b++)
		if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
			return 0;
	return *b == '\0';
}

const char *
http_header_get(const struct evkeyvalq *headers, const char *name)
{
	unsigned char first = ascii_lower((unsigned char)name[0]);
	const struct evkeyval *h;

	TAILQ_FOREACH(h, headers, next)
		if (ascii_lower((unsigned char)h->key[0]) == first && name_equal(h->key, name))
			return h->value;
	return NULL;
}
