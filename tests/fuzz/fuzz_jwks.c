/*
 * JWKS parsing (src/common/jwks.c): the input is the document an issuer
 * serves; the keys it yields are looked up by kid, as a token would name them.
 */
#include "config.h"

#include "fuzz.h"
#include "jwks.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwks_set *set;
	const char *reason = NULL;

	set = jwks_set_parse((const char *)data, size, &reason);
	if (set == NULL) {
		if (reason == NULL)
			abort();
		return 0;
	}
	if (jwks_set_count(set) == 0 || jwks_set_count(set) > 64)
		abort();
	jwks_set_find(set, "k1");
	jwks_set_find(set, "");
	jwks_set_free(set);
	return 0;
}
