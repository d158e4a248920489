/*
 * The check that lets an API answer be passed on as it is
 * (json_check_object in src/common/json_check.c).  Input: the text itself,
 * in a buffer of exactly its size (no NUL after it), so that a read past
 * the end is a sanitizer report.
 *
 * What the check accepts must be an object to json-c's strict parser with
 * UTF-8 validation: the check may refuse more than json-c, never less.
 */
#include "config.h"

#include <json-c/json.h>

#include "fuzz.h"
#include "json_check.h"

static struct json_tokener *tok;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	if ((tok = json_tokener_new()) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size > 0 ? size : 1);
	json_object *obj;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	if (json_check_object(text, size)) {
		json_tokener_reset(tok);
		obj = json_tokener_parse_ex(tok, text, (int)size);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    !json_object_is_type(obj, json_type_object))
			abort();
		json_object_put(obj);
	}
	free(text);
	return 0;
}
