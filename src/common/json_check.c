/*
 * A recursive descent over RFC 8259's grammar that only says yes or no.
 * Stricter than json-c's default parser on purpose: what it accepts, any
 * JSON parser a client uses accepts too (no single quotes, comments,
 * trailing commas, NaN, leading zeros or control characters in strings,
 * and no byte sequence that is not UTF-8).
 */
#include "config.h"

#include <string.h>

#include "codec.h"
#include "json_check.h"

struct cursor {
	const unsigned char	*p;
	const unsigned char	*end;
	int			 depth;
};

static bool check_value(struct cursor *);

static void
skip_space(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Consumes ch if it is next. */
static bool
eat(struct cursor *c, unsigned char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool
is_digit(const struct cursor *c)
{
	return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

static bool
is_hex(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool
check_utf8(struct cursor *c)
{
	size_t n = utf8_sequence_len(c->p, (size_t)(c->end - c->p));

	c->p += n;
	return n > 0;
}

static bool
check_escape(struct cursor *c)
{
	if (c->p >= c->end)
		return false;
	switch (*c->p++) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return true;
	case 'u':
		if (c->end - c->p < 4)
			return false;
		for (int i = 0; i < 4; i++)
			if (!is_hex(*c->p++))
				return false;
		return true;
	default:
		return false;
	}
}

static bool
check_string(struct cursor *c)
{
	if (!eat(c, '"'))
		return false;
	while (c->p < c->end) {
		unsigned char ch = *c->p;

		if (ch == '"') {
			c->p++;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			c->p++;
			if (!check_escape(c))
				return false;
		} else if (ch >= 0x80) {
			if (!check_utf8(c))
				return false;
		} else
			c->p++;
	}
	return false;
}

/* -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static bool
check_number(struct cursor *c)
{
	eat(c, '-');
	if (!eat(c, '0')) {
		if (!is_digit(c))
			return false;
		while (is_digit(c))
			c->p++;
	}
	if (eat(c, '.')) {
		if (!is_digit(c))
			return false;
		while (is_digit(c))
			c->p++;
	}
	if (eat(c, 'e') || eat(c, 'E')) {
		if (!eat(c, '+'))
			eat(c, '-');
		if (!is_digit(c))
			return false;
		while (is_digit(c))
			c->p++;
	}
	return true;
}

static bool
check_literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* The members of an object or the elements of an array, up to close. */
static bool
check_members(struct cursor *c, bool named, unsigned char close)
{
	if (++c->depth > JSON_CHECK_MAX_DEPTH)
		return false;
	skip_space(c);
	if (eat(c, close)) {
		c->depth--;
		return true;
	}
	do {
		skip_space(c);
		if (named) {
			if (!check_string(c))
				return false;
			skip_space(c);
			if (!eat(c, ':'))
				return false;
		}
		if (!check_value(c))
			return false;
	} while (eat(c, ','));
	c->depth--;
	return eat(c, close);
}

/* A value and the white space around it. */
static bool
check_value(struct cursor *c)
{
	bool good;

	skip_space(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{': c->p++; good = check_members(c, true, '}'); break;
	case '[': c->p++; good = check_members(c, false, ']'); break;
	case '"': good = check_string(c); break;
	case 't': good = check_literal(c, "true"); break;
	case 'f': good = check_literal(c, "false"); break;
	case 'n': good = check_literal(c, "null"); break;
	default:  good = check_number(c);
	}
	skip_space(c);
	return good;
}

bool
json_check_object(const char *text, size_t len)
{
	struct cursor c = { (const unsigned char *)text, (const unsigned char *)text + len, 0 };

	skip_space(&c);
	return c.p < c.end && *c.p == '{' && check_value(&c) && c.p == c.end;
}
