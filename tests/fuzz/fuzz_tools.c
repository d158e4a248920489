/*
 * Tool argument validation (src/mcp/tools.c), as a worker handles a
 * tools/call: the arguments are checked against the tool's parameters, the
 * request to the API child is built from the validated ones, a write is
 * audited, and the API child's answer is turned into the call's result.
 * Input: a tool byte (the tool's index, modulo their number), a status byte,
 * then NUL-separated: the arguments (JSON text as the client sent them), the
 * API child's answer body, its Retry-After header.
 */
#include "config.h"

#include <json-c/json.h>

#include "audit.h"
#include "fuzz.h"
#include "tools.h"

static const long statuses[] = { 0, 200, 201, 204, 400, 401, 404, 409, 410, 412, 429, 500, 503 };
static const char **names;
static size_t nnames;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_object *list, *tools;
	char *text = tools_list_build(), err[64];

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	if (audit_open(NULL, err, sizeof(err)) == -1)
		abort();
	if ((list = json_tokener_parse(text)) == NULL ||
	    !json_object_object_get_ex(list, "tools", &tools))
		abort();
	nnames = json_object_array_length(tools);
	if (nnames != tools_count() || (names = calloc(nnames, sizeof(*names))) == NULL)
		abort();
	for (size_t i = 0; i < nnames; i++) {
		json_object *name;

		if (!json_object_object_get_ex(json_object_array_get_idx(tools, i), "name", &name) ||
		    (names[i] = strdup(json_object_get_string(name))) == NULL ||
		    tool_find(names[i]) == NULL)
			abort();
	}
	json_object_put(list);
	free(text);
	return 0;
}

/* Whole JSON text (nested deeper than the worker's parser allows, too). */
static int
is_json(const char *text)
{
	struct json_tokener *tok = json_tokener_new_ex(1024);
	json_object *obj;
	int ok;

	if (tok == NULL)
		abort();
	obj = json_tokener_parse_ex(tok, text, (int)strlen(text));
	ok = obj != NULL && (size_t)json_tokener_get_parse_end(tok) == strlen(text);
	json_object_put(obj);
	json_tokener_free(tok);
	return ok;
}

/* The answer of the API child to the request, turned into the call's result. */
static void
fuzz_answer(const struct tool *t, json_object *valid, long status, const struct fuzz_fields *ff)
{
	struct api_response resp = { .status = status, .body = ff->f[1], .body_len = ff->len[1] };
	struct audit_record a = { "fuzz-user", t->name, NULL, audit_outcome(status), status, "cid" };
	char lines[600];
	json_object *answer = NULL;
	char *result;
	int n;

	n = snprintf(lines, sizeof(lines), "Retry-After: %.512s", ff->f[2]);
	resp.header_lines = lines;
	resp.header_lines_len = (size_t)n + 1;
	if (status == 0)
		resp.error = ff->f[1];
	result = tool_result_from_api(t, valid, &resp, &answer);
	if (result == NULL || !is_json(result))
		abort();	/* the reply would be malformed */
	a.uid = tool_subject_uid(valid, answer);
	if (tool_is_write(t))
		audit_write(&a);
	json_object_put(answer);
	free(result);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tool *t;
	struct fuzz_fields ff;
	struct tool_request treq;
	json_object *args, *valid;
	char err[1024];

	if (size < 2)
		return 0;
	t = tool_find(names[data[0] % nnames]);
	fuzz_fields_split(&ff, data + 2, size - 2);
	args = json_tokener_parse(ff.f[0]);	/* NULL: no arguments */
	err[0] = '\0';
	if ((valid = tool_validate(t, args, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();	/* refused without a word */
		free(tool_result_error(err));
	} else {
		tool_build_request(t, valid, &treq);
		if (treq.method[0] == '\0' || treq.path[0] != '/' ||
		    memchr(treq.path, '\0', sizeof(treq.path)) == NULL)
			abort();
		if (treq.body != NULL && !is_json(treq.body))
			abort();
		free(treq.body);
		fuzz_answer(t, valid, statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))],
		    &ff);
		json_object_put(valid);
	}
	json_object_put(args);
	fuzz_fields_free(&ff);
	return 0;
}
