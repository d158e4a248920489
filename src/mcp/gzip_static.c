/*
 * A gzip member (RFC 1952) is a 10-byte header, deflate data (RFC 1951) and
 * the CRC-32 and length of the uncompressed bytes.  Deflate data is a series
 * of blocks; a stored block starts on a byte boundary and ends on one, so
 * stored blocks holding the head followed by the tail's own deflate data
 * (which starts on a byte boundary and ends with the final block) are one
 * valid deflate stream.  The tail was deflated without the head before it,
 * so none of its back-references reaches into the head.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "gzip_static.h"
#include "log.h"

#define STORED_MAX	65535	/* the most bytes one stored block holds */

struct gzip_static {
	unsigned char	*deflated;	/* raw deflate data of the tail, final block last */
	size_t		 deflated_len;
	size_t		 plain_len;
	uLong		 crc;		/* CRC-32 of the tail */
};

/* ID1 ID2, CM = deflate, no flags, no time, no extra flags, OS = Unix. */
static const unsigned char gzip_header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

/* Raw deflate data (no zlib or gzip wrapper) of data, ending with the final block. */
static unsigned char *
deflate_raw(const char *data, size_t len, size_t *outlen)
{
	z_stream zs;
	unsigned char *out;
	uLong bound;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (len > UINT_MAX ||
	    deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	bound = deflateBound(&zs, (uLong)len);
	if ((out = malloc(bound)) == NULL)
		fatal("deflate_raw");
	zs.next_in = (Bytef *)(uintptr_t)data;	/* zlib does not write the input */
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)bound;
	rc = deflate(&zs, Z_FINISH);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

struct gzip_static *
gzip_static_new(const char *tail, size_t len)
{
	struct gzip_static *gz = calloc(1, sizeof(*gz));

	if (gz == NULL)
		fatal("gzip_static_new");
	if ((gz->deflated = deflate_raw(tail, len, &gz->deflated_len)) == NULL) {
		free(gz);
		return NULL;
	}
	gz->plain_len = len;
	gz->crc = crc32(0L, (const Bytef *)tail, (uInt)len);
	return gz;
}

void
gzip_static_free(struct gzip_static *gz)
{
	if (gz == NULL)
		return;
	free(gz->deflated);
	free(gz);
}

size_t
gzip_static_plain_len(const struct gzip_static *gz)
{
	return gz->plain_len;
}

size_t
gzip_static_deflated_len(const struct gzip_static *gz)
{
	return gz->deflated_len;
}

static void
put_le16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void
put_le32(unsigned char *p, unsigned long v)
{
	put_le16(p, v & 0xffff);
	put_le16(p + 2, (v >> 16) & 0xffff);
}

/* Non-final stored blocks: BFINAL 0, BTYPE 00, padding, LEN, NLEN, the bytes. */
static void
add_stored_blocks(struct evbuffer *out, const char *data, size_t len)
{
	while (len > 0) {
		size_t n = len < STORED_MAX ? len : STORED_MAX;
		unsigned char block[5] = { 0 };

		put_le16(block + 1, (unsigned)n);
		put_le16(block + 3, (unsigned)~n & 0xffff);
		evbuffer_add(out, block, sizeof(block));
		evbuffer_add(out, data, n);
		data += n;
		len -= n;
	}
}

int
gzip_static_member(const struct gzip_static *gz, const char *body, size_t len,
    struct evbuffer *out)
{
	size_t headlen;
	unsigned char trailer[8];
	uLong crc;

	if (len < gz->plain_len || len - gz->plain_len > UINT_MAX)
		return -1;
	headlen = len - gz->plain_len;
	crc = crc32(0L, (const Bytef *)body, (uInt)headlen);
	crc = crc32_combine(crc, gz->crc, (z_off_t)gz->plain_len);
	put_le32(trailer, crc);
	put_le32(trailer + 4, (unsigned long)(len & 0xffffffffUL));	/* ISIZE: modulo 2^32 */

	evbuffer_add(out, gzip_header, sizeof(gzip_header));
	add_stored_blocks(out, body, headlen);
	if (evbuffer_add_reference(out, gz->deflated, gz->deflated_len, NULL, NULL) == -1)
		fatalx("gzip_static_member: evbuffer_add_reference");
	evbuffer_add(out, trailer, sizeof(trailer));
	return 0;
}

/* ---- Accept-Encoding ---- */

static int
token_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

/*
 * A qvalue, "0" to "1" with up to three decimals: 1 when it is valid and not
 * zero.  An invalid weight counts as zero: identity is always acceptable, so
 * not compressing is the safe reading.
 */
static int
qvalue_nonzero(const char *s, size_t len)
{
	size_t i, nonzero = 0;

	if (len == 0 || (s[0] != '0' && s[0] != '1'))
		return 0;
	if (len > 1 && (s[1] != '.' || len > 5))
		return 0;
	for (i = 2; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0'))
			return 0;
		nonzero |= s[i] != '0';
	}
	return s[0] == '1' || nonzero;
}

/* The parameters after a coding, up to the next ',': 0 when they say q=0. */
static int
weight_nonzero(const char **pp)
{
	const char *p = *pp;
	int nonzero = 1;

	for (;;) {
		size_t n;

		p += strspn(p, " \t");
		if (*p != ';')
			break;
		p++;
		p += strspn(p, " \t");
		n = strcspn(p, "=;, \t");
		if (token_is(p, n, "q") && p[n] == '=') {
			p += n + 1;
			n = strcspn(p, ";, \t");
			nonzero = qvalue_nonzero(p, n);
		}
		p += n;
		p += strcspn(p, ";,");
	}
	*pp = p + strcspn(p, ",");
	return nonzero;
}

int
accept_encoding_gzip(const char *value)
{
	int gzip = -1, star = -1;	/* -1: not named; else whether the weight is not zero */
	const char *p = value;

	if (value == NULL)
		return 0;
	while (*p != '\0') {
		const char *name;
		size_t n;
		int nonzero;

		p += strspn(p, " \t,");
		name = p;
		n = strcspn(p, " \t,;");
		p += n;
		nonzero = weight_nonzero(&p);
		if (token_is(name, n, "gzip") || token_is(name, n, "x-gzip"))
			gzip = nonzero;
		else if (token_is(name, n, "*"))
			star = nonzero;
	}
	return gzip != -1 ? gzip : star == 1;
}
