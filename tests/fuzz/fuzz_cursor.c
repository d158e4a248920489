/*
 * Pagination cursors of the API child (api_cursor_decode in
 * src/api/api_entities.c), as GET /v1/{entity} and /v1/sync/pull read them.
 * Input: a mode byte, then
 *
 *	mode & 1 == 0	the query string ("limit=5&cursor=..."), whose cursor
 *			parameter is taken as api_query_param takes it
 *	mode & 1 == 1	the cursor's text itself
 *
 * A cursor that decodes must survive the round trip: the nextCursor
 * api_append_cursor writes for its position decodes to the same position.
 */
#include "config.h"

#include <stdio.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api_store.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

/* The cursor parameter into buf (256 bytes, as api_query_param); NULL if none. */
static const char *
query_cursor(const char *query, char buf[256])
{
	struct evkeyvalq params;
	const char *v;

	if (evhttp_parse_query_str(query, &params) == -1)
		return NULL;
	if ((v = evhttp_find_header(&params, "cursor")) != NULL)
		snprintf(buf, 256, "%s", v);
	evhttp_clear_headers(&params);
	return v != NULL ? buf : NULL;
}

static void
round_trip(const char *ms, const char *uid)
{
	struct evbuffer *out = evbuffer_new();
	char text[256], ms2[24], uid2[37];
	const char *start, *end;
	size_t len;

	if (out == NULL)
		abort();
	api_append_cursor(out, ms, uid);
	len = evbuffer_get_length(out);
	if (len >= sizeof(text))
		abort();
	evbuffer_remove(out, text, len);
	text[len] = '\0';
	evbuffer_free(out);
	if (strncmp(text, ",\"nextCursor\":\"", 15) != 0 || (end = strrchr(text, '"')) == NULL ||
	    end < text + 15)
		abort();
	start = text + 15;
	memmove(text, start, (size_t)(end - start));
	text[end - start] = '\0';
	if (api_cursor_decode(text, ms2, uid2) != 0 || strcmp(ms, ms2) != 0 ||
	    strcmp(uid, uid2) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[256], after_ms[24], after_uid[37], *text;
	const char *cursor;

	if (size < 1)
		return 0;
	text = fuzz_strndup(data + 1, size - 1);
	cursor = data[0] & 1 ? text : query_cursor(text, buf);
	if (cursor != NULL && api_cursor_decode(cursor, after_ms, after_uid) == 0) {
		if (after_ms[0] == '-' && strcmp(after_ms, "-1") != 0)
			abort();	/* a negative position other than "from the start" */
		if (cursor[0] != '\0')
			round_trip(after_ms, after_uid);
	}
	free(text);
	return 0;
}
