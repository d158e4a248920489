/* Byte encodings (lowercase hex, base64url without padding), UUIDs, and small byte helpers. */
#ifndef TRESTLE_CODEC_H
#define TRESTLE_CODEC_H

#include <stddef.h>
#include <stdint.h>

void	hex_encode(const unsigned char *in, size_t len, char *out);	/* out: 2*len+1 */
/* Returns the decoded length, or -1 on a character outside the alphabet. */
long	b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);
size_t	b64url_encode(const unsigned char *in, size_t len, char *out, size_t cap);
int	uuid_is_valid(const char *text);
void	uuid_generate(char out[37]);
int	timingsafe_equal(const void *a, const void *b, size_t len);
/*
 * Strict UTF-8 (RFC 3629: no overlong form, no UTF-16 surrogate, nothing
 * above U+10FFFF): the length of the sequence at s within left bytes (1 for
 * ASCII), 0 when none starts there; whether all of s[0..len) is UTF-8.
 */
size_t	utf8_sequence_len(const unsigned char *s, size_t left);
int	utf8_valid(const unsigned char *s, size_t len);
/* FNV-1a of len bytes: cheap, and spread enough for the hash tables of ids and addresses. */
uint32_t fnv1a(const void *data, size_t len);

#endif
