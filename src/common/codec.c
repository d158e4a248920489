#include "config.h"

#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "codec.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

size_t
b64url_encode(const unsigned char *in, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	unsigned long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			if (n + 1 < cap)
				out[n++] = b64url_alphabet[(acc >> bits) & 63];
		}
	}
	if (bits > 0 && n + 1 < cap)
		out[n++] = b64url_alphabet[(acc << (6 - bits)) & 63];
	if (cap > 0)
		out[n] = '\0';
	return n;
}

static int
b64url_value(char c)
{
	const char *p = c != '\0' ? strchr(b64url_alphabet, c) : NULL;

	return p == NULL ? -1 : (int)(p - b64url_alphabet);
}

long
b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	unsigned long acc = 0;
	size_t n = 0;
	int bits = 0, v;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if ((v = b64url_value(in[i])) == -1)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (unsigned char)((acc >> bits) & 0xff);
		}
	}
	return (long)n;
}

int
uuid_is_valid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[36] == '\0';
}

void
uuid_generate(char out[37])
{
	unsigned char b[16];
	char hex[33];

	RAND_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	hex_encode(b, sizeof(b), hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
}

int
timingsafe_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* How many continuation bytes follow lead, and the range allowed for the first of them. */
static int
utf8_tail(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (lead >= 0xc2 && lead <= 0xdf)
		return 1;
	if (lead >= 0xe0 && lead <= 0xef) {
		if (lead == 0xe0)
			*lo = 0xa0;	/* no overlong form */
		else if (lead == 0xed)
			*hi = 0x9f;	/* no UTF-16 surrogate */
		return 2;
	}
	if (lead >= 0xf0 && lead <= 0xf4) {
		if (lead == 0xf0)
			*lo = 0x90;	/* no overlong form */
		else if (lead == 0xf4)
			*hi = 0x8f;	/* nothing above U+10FFFF */
		return 3;
	}
	return -1;			/* a continuation byte, 0xc0, 0xc1 or above 0xf4 */
}

size_t
utf8_sequence_len(const unsigned char *s, size_t left)
{
	unsigned char lo, hi;
	int n;

	if (left == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if ((n = utf8_tail(s[0], &lo, &hi)) < 0 || left <= (size_t)n)
		return 0;
	for (int i = 1; i <= n; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return (size_t)n + 1;
}

int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	for (; i < len; i += n)
		if ((n = utf8_sequence_len(s + i, len - i)) == 0)
			return 0;
	return 1;
}

uint32_t
fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}
