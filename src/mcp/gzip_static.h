/*
 * The gzip content coding for answers whose end never changes.
 *
 * tools/list is about 50 kB of JSON and the same for every request but for
 * the JSON-RPC id at its start.  The constant end (the tail) is deflated once,
 * at start-up; each answer is then a gzip member made of the varying start
 * (the head) in a stored block, the tail's deflate data as they are, and a
 * trailer whose CRC-32 is combined from the two parts.  Per answer that costs
 * a CRC of a few dozen bytes, not a compression.
 */
#ifndef TRESTLE_GZIP_STATIC_H
#define TRESTLE_GZIP_STATIC_H

#include <stddef.h>

struct evbuffer;
struct gzip_static;

/* tail: the constant end of every body; copied.  NULL if zlib fails. */
struct gzip_static	*gzip_static_new(const char *tail, size_t len);
void			 gzip_static_free(struct gzip_static *);

/* Bytes of the tail, uncompressed and deflated. */
size_t			 gzip_static_plain_len(const struct gzip_static *);
size_t			 gzip_static_deflated_len(const struct gzip_static *);

/*
 * Append to out the gzip member of body, whose last gzip_static_plain_len()
 * bytes are the tail: the caller's promise, of which only the length is
 * checked (-1, nothing appended).  The deflated tail is added by reference:
 * gz must outlive out's data.
 */
int			 gzip_static_member(const struct gzip_static *gz, const char *body,
			    size_t len, struct evbuffer *out);

/*
 * Whether an Accept-Encoding field value (RFC 9110, section 12.5.3) accepts
 * gzip: "gzip" or "x-gzip" with a non-zero weight, or "*" with a non-zero
 * weight and gzip not named.  NULL (no field) accepts nothing but identity.
 */
int			 accept_encoding_gzip(const char *value);

#endif
