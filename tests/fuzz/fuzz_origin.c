/*
 * The Host/Origin policy of the MCP endpoint (src/mcp/origin.c), which every
 * request passes before anything else.  Input: a mode byte, then
 * NUL-separated fields.
 *
 *	mode & 1 == 0	Host, Origin, against the default lists
 *	mode & 1 == 1	allowed hosts, allowed origins (as configured), Host, Origin
 *	mode & 2	no Host header; mode & 4: no Origin header
 *
 * Under the default lists an accepted Host names localhost, 127.0.0.1 or
 * [::1], with a port or without.
 */
#include "config.h"

#include <strings.h>

#include "fuzz.h"
#include "origin.h"

#define DEFAULT_LIST	"localhost,127.0.0.1,[::1]"

static struct origin_policy *default_policy;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	default_policy = origin_policy_new(DEFAULT_LIST, DEFAULT_LIST);
	return 0;
}

/* name, then nothing or ":port", in text (case aside). */
static int
names(const char *text, const char *name)
{
	size_t len = strlen(name);

	return strncasecmp(text, name, len) == 0 && (text[len] == '\0' || text[len] == ':');
}

static int
default_host(const char *host)
{
	return names(host, "localhost") || names(host, "127.0.0.1") || names(host, "[::1]");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct origin_policy *policy = default_policy;
	struct fuzz_fields ff;
	const char *host, *origin;
	int allowed;

	if (size < 1)
		return 0;
	fuzz_fields_split(&ff, data + 1, size - 1);
	host = ff.f[0];
	origin = ff.f[1];
	if (data[0] & 1) {
		policy = origin_policy_new(ff.f[0], ff.f[1]);
		host = ff.f[2];
		origin = ff.f[3];
	}
	allowed = origin_allowed(policy, data[0] & 2 ? NULL : host, data[0] & 4 ? NULL : origin);
	if (policy == default_policy && allowed && !(data[0] & 2) && !default_host(host))
		abort();	/* a Host the default lists do not name */
	if (policy != default_policy)
		origin_policy_free(policy);
	fuzz_fields_free(&ff);
	return 0;
}
