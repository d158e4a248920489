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
/* FNV-1a of len bytes: cheap, and spread enough for the hash tables of ids and addresses. */
uint32_t fnv1a(const void *data, size_t len);

#endif
