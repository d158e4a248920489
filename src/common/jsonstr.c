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

/*
 * What jsonstr_quote writes for each byte, in bytes: 1 for a byte copied as
 * it is, 2 for a short escape (\" \\ \n \r \t), 6 for \u00XX.  One table for
 * the writer and for jsonstr_quoted_len, so that they cannot disagree.
 */
static const unsigned char quoted_width[256] = {
	[0x00 ... 0x08] = 6,	['\t'] = 2,	['\n'] = 2,	[0x0b ... 0x0c] = 6,
	['\r'] = 2,		[0x0e ... 0x1f] = 6,
	[0x20 ... 0x21] = 1,	['"'] = 2,	[0x23 ... 0x5b] = 1,	['\\'] = 2,
	[0x5d ... 0xff] = 1,
};

/* Appends n bytes, as many as fit (the last byte of the buffer is the NUL). */
static void
jsonstr_put(struct jsonstr *js, const char *p, size_t n)
{
	size_t room;

	if (js->cap == 0)
		return;
	room = js->cap - 1 - js->len;
	if (n > room)
		n = room;
	memcpy(js->buf + js->len, p, n);
	js->len += n;
	js->buf[js->len] = '\0';
}

void
jsonstr_raw(struct jsonstr *js, const char *text)
{
	jsonstr_put(js, text, strlen(text));
}

static void
jsonstr_put_escape(struct jsonstr *js, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	switch (c) {
	case '"':  jsonstr_put(js, "\\\"", 2); break;
	case '\\': jsonstr_put(js, "\\\\", 2); break;
	case '\n': jsonstr_put(js, "\\n", 2); break;
	case '\r': jsonstr_put(js, "\\r", 2); break;
	case '\t': jsonstr_put(js, "\\t", 2); break;
	default:   jsonstr_put(js, esc, sizeof(esc));
	}
}

/* Runs of bytes that need no escape are copied whole. */
void
jsonstr_quote(struct jsonstr *js, const char *text)
{
	const unsigned char *p = (const unsigned char *)text, *run;

	jsonstr_put(js, "\"", 1);
	while (*p != '\0') {
		for (run = p; *p != '\0' && quoted_width[*p] == 1; p++)
			;
		jsonstr_put(js, (const char *)run, (size_t)(p - run));
		if (*p != '\0')
			jsonstr_put_escape(js, *p++);
	}
	jsonstr_put(js, "\"", 1);
}

/* What jsonstr_quote writes for text, in bytes, the quotes included. */
size_t
jsonstr_quoted_len(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = 2;

	for (; *p != '\0'; p++)
		len += quoted_width[*p];
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
