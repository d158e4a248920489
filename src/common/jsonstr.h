/* A bounded writer of JSON text into a caller's buffer; never overflows, truncates. */
#ifndef TRESTLE_JSONSTR_H
#define TRESTLE_JSONSTR_H

#include <stddef.h>

struct jsonstr {
	char	*buf;
	size_t	 cap;
	size_t	 len;
};

void	jsonstr_init(struct jsonstr *, char *buf, size_t cap);
void	jsonstr_raw(struct jsonstr *, const char *text);
void	jsonstr_quote(struct jsonstr *, const char *text);
void	jsonstr_printf(struct jsonstr *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
