#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"
#include "log.h"

void
jsonstr_init(struct jsonstr *js, char *buf, size_t cap)
{
	js->buf = buf;
	js->cap = cap;
	js->len = 0;
	if (cap > 0)
		buf[0] = '\0';
}

static void
jsonstr_putc(struct jsonstr *js, char c)
{
	if (js->len + 1 < js->cap) {
		js->buf[js->len++] = c;
		js->buf[js->len] = '\0';
	}
}

void
jsonstr_raw(struct jsonstr *js, const char *text)
{
	while (*text != '\0')
		jsonstr_putc(js, *text++);
}

void
jsonstr_quote(struct jsonstr *js, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)text;

	jsonstr_putc(js, '"');
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"':  jsonstr_raw(js, "\\\""); break;
		case '\\': jsonstr_raw(js, "\\\\"); break;
		case '\n': jsonstr_raw(js, "\\n"); break;
		case '\r': jsonstr_raw(js, "\\r"); break;
		case '\t': jsonstr_raw(js, "\\t"); break;
		default:
			if (*p < 0x20) {
				jsonstr_raw(js, "\\u00");
				jsonstr_putc(js, hex[*p >> 4]);
				jsonstr_putc(js, hex[*p & 15]);
			} else
				jsonstr_putc(js, (char)*p);
		}
	}
	jsonstr_putc(js, '"');
}

/* What jsonstr_quote writes for text, in bytes, the quotes included. */
size_t
jsonstr_quoted_len(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = 2;

	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"': case '\\': case '\n': case '\r': case '\t':
			len += 2;
			break;
		default:
			len += *p < 0x20 ? 6 : 1;
		}
	}
	return len;
}

void
jsonstr_printf(struct jsonstr *js, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (js->len >= js->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(js->buf + js->len, js->cap - js->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	js->len += (size_t)n < js->cap - js->len ? (size_t)n : js->cap - js->len - 1;
}

char *
jsonstr_concat(const char *first, ...)
{
	const char *part[JSONSTR_CONCAT_MAX];
	size_t len[JSONSTR_CONCAT_MAX], n = 0, total = 0;
	const char *s;
	char *out, *p;
	va_list ap;

	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *)) {
		if (n == JSONSTR_CONCAT_MAX)
			fatalx("jsonstr_concat: more than %d parts", JSONSTR_CONCAT_MAX);
		part[n] = s;
		len[n] = strlen(s);
		total += len[n++];
	}
	va_end(ap);
	if ((out = p = malloc(total + 1)) == NULL)
		fatal("jsonstr_concat");
	for (size_t i = 0; i < n; i++) {
		memcpy(p, part[i], len[i]);
		p += len[i];
	}
	*p = '\0';
	return out;
}
