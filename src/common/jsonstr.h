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
size_t	jsonstr_quoted_len(const char *text);
void	jsonstr_printf(struct jsonstr *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The strings up to NULL (at most JSONSTR_CONCAT_MAX), joined in one
 * allocation of the exact size: for answers of tens of kilobytes, where a
 * growing buffer would touch fresh pages at each step.  Never NULL (fatal).
 */
#define JSONSTR_CONCAT_MAX	8
char	*jsonstr_concat(const char *first, ...) __attribute__((sentinel));

#endif
