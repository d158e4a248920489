/*
 * The API child's request body handling: the strict JSON object parse every
 * write starts with (api_json_object), the parent rules of comments and
 * chat messages (api_rules.c), the action of POST /{uid}/process and the
 * If-Match header (api_mutations.c), and a sync push's batch, item by item:
 * uid, timestamps, sync block, acks and the metadata sent to PostgreSQL
 * (api_sync.c).  Nothing reaches a database: the handlers are run up to the
 * statement they would send.
 *
 * Input: a byte choosing the entity (low 3 bits, modulo 5) and the operation
 * (the rest, modulo 5: create or replace, patch, process, push, If-Match),
 * then the body (for If-Match, the header's value).
 *
 * api_sync.c and api_mutations.c are included for their static parsers.
 */
#include "config.h"

#include "api_sync.c"
#include "api_mutations.c"

#include "fuzz.h"

enum op { OP_WHOLE, OP_PATCH, OP_PROCESS, OP_PUSH, OP_IF_MATCH, OP_COUNT };

static const struct api_entity entities[] = {
	{ "notes", "note", "note" },
	{ "tasks", "task", "task" },
	{ "comments", "comment", "comment" },
	{ "chats", "chat", "chat" },
	{ "chat_messages", "chat_message", "chat message" },
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

/* Create, replace and patch: the object, then its parent fields. */
static void
fuzz_write(struct api_req *r, int whole)
{
	json_object *obj;
	char msg[256];

	if ((obj = api_json_object(r->body, r->body_len)) == NULL)
		return;
	msg[0] = '\0';
	if (api_rules_check_parent(r->entity, obj, whole, msg, sizeof(msg)) == -1 &&
	    msg[0] == '\0')
		abort();	/* refused without a reason for the client */
	json_object_put(obj);
}

static void
fuzz_process(struct api_req *r)
{
	char action[128];

	if (api_process_action(r, action, sizeof(action)) != NULL)
		api_rules_action(r->entity, action);
}

/* api_sync_push up to its statement: the acks of refused items and the others' metadata. */
static void
fuzz_push(struct api_req *r)
{
	json_object *body, *items, *acks, *meta;
	size_t n;

	body = api_json_object(r->body, r->body_len);
	items = body != NULL ? push_items(body) : NULL;
	json_object_put(body);
	if (items == NULL)
		return;
	acks = json_object_new_array();
	meta = json_object_new_array();
	n = json_object_array_length(items);
	for (size_t i = 0; i < n; i++)
		push_take_item(r, json_object_array_get_idx(items, i), (int)i, acks, meta);
	if (json_object_array_length(acks) > n || json_object_array_length(meta) > n)
		abort();
	json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN);
	json_object_to_json_string_ext(acks, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(meta);
	json_object_put(acks);
	json_object_put(items);
}

static void
fuzz_if_match(struct api_req *r)
{
	char out[16];

	if (r->body_len == strlen(r->body) &&
	    evhttp_add_header(evhttp_request_get_input_headers(r->req), "If-Match", r->body) == 0)
		api_if_match(r, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_req r;

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	r.entity = &entities[(data[0] & 7) % 5];
	r.body = fuzz_strndup(data + 1, size - 1);	/* NUL-terminated, as api_take_body */
	r.body_len = size - 1;
	snprintf(r.cid, sizeof(r.cid), "fuzz");
	if ((r.req = evhttp_request_new(NULL, NULL)) == NULL)
		abort();
	switch ((data[0] >> 3) % OP_COUNT) {
	case OP_WHOLE:		/* create, replace */
		fuzz_write(&r, 1);
		break;
	case OP_PATCH:
		fuzz_write(&r, 0);
		break;
	case OP_PROCESS:
		fuzz_process(&r);
		break;
	case OP_PUSH:
		fuzz_push(&r);
		break;
	case OP_IF_MATCH:
		fuzz_if_match(&r);
		break;
	}
	evhttp_request_free(r.req);
	free(r.body);
	return 0;
}
