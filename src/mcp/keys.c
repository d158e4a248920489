#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "codec.h"
#include "keys.h"

#define KEY_HASH_HEX 64

struct key_entry {
	char	 hash[KEY_HASH_HEX + 1];
	char	*subject;
};

struct keys {
	struct key_entry	*entries;
	size_t			 count;
};

static int
keys_parse_line(char *line, struct key_entry *e)
{
	char *hash = strtok(line, " \t\r\n"), *subject = strtok(NULL, " \t\r\n");

	if (hash == NULL || subject == NULL || strtok(NULL, " \t\r\n") != NULL ||
	    strlen(hash) != KEY_HASH_HEX)
		return -1;
	for (char *p = hash; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p))
			return -1;
		else
			*p = (char)tolower((unsigned char)*p);
	strcpy(e->hash, hash);
	e->subject = strdup(subject);
	return 0;
}

static int
keys_add(struct keys *k, char *line, const char *path, int lineno, char *errbuf, size_t cap)
{
	struct key_entry e, *grown;

	if (line[strspn(line, " \t\r\n")] == '\0' || line[strspn(line, " \t")] == '#')
		return 0;
	if (keys_parse_line(line, &e) == -1) {
		snprintf(errbuf, cap, "%s:%d: expected '<sha256 hex> <subject>'", path, lineno);
		return -1;
	}
	if ((grown = realloc(k->entries, (k->count + 1) * sizeof(*grown))) == NULL) {
		free(e.subject);
		snprintf(errbuf, cap, "%s: out of memory", path);
		return -1;
	}
	k->entries = grown;
	k->entries[k->count++] = e;
	return 0;
}

struct keys *
keys_load(const char *path, char *errbuf, size_t cap)
{
	struct keys *k = calloc(1, sizeof(*k));
	char line[1024];
	int lineno = 0;
	FILE *fp;

	if (k == NULL || path == NULL || path[0] == '\0')
		return k;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(errbuf, cap, "api_keys_file: cannot open %s: %s", path, strerror(errno));
		keys_free(k);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (keys_add(k, line, path, ++lineno, errbuf, cap) == -1) {
			fclose(fp);
			keys_free(k);
			return NULL;
		}
	}
	fclose(fp);
	return k;
}

/* Every request with an API key looks it up: SHA-256 is fetched once, not on every digest. */
const char *
keys_lookup(const struct keys *k, const char *token)
{
	static EVP_MD *sha256;
	unsigned char digest[32];
	unsigned int len = sizeof(digest);
	char hex[KEY_HASH_HEX + 1];
	const char *found = NULL;

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return NULL;
	if (EVP_Digest(token, strlen(token), digest, &len, sha256, NULL) != 1)
		return NULL;
	hex_encode(digest, sizeof(digest), hex);
	/* Compare with every entry, so the time taken does not say which one matched. */
	for (size_t i = 0; i < k->count; i++)
		if (timingsafe_equal(hex, k->entries[i].hash, KEY_HASH_HEX))
			found = k->entries[i].subject;
	return found;
}

void
keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->count; i++)
		free(k->entries[i].subject);
	free(k->entries);
	free(k);
}
