// The official TypeScript SDK client against trestle, driven by mcp_sdk.sh.
//
// Environment: NPM_DIR (where @modelcontextprotocol/sdk is installed),
// MCP_URL, TOKEN_A, TOKEN_B, TOKEN_C (three users).  Writes one line per
// check to standard output: "ok<TAB>desc" or "not ok<TAB>desc<TAB>detail";
// "diag<TAB>text"; "do<TAB>action" asks the shell to act and waits for a line
// on standard input; "writes<TAB>n" at the end is the number of calls of
// write tools made (each must have its audit line).
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const sdk = (p) => import(pathToFileURL(`${process.env.NPM_DIR}/node_modules/@modelcontextprotocol/sdk/dist/esm/${p}`).href);
const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');

const URL_ = new URL(process.env.MCP_URL);
const ENTITIES = [
	['note', 'notes'], ['task', 'tasks'], ['comment', 'comments'], ['chat', 'chats'],
	['chat_message', 'chat_messages'],
];
const VERBS = ['list', 'get', 'create', 'update', 'patch', 'delete', 'archive', 'process'];
const WRITE = /^(create|update|patch|delete|archive|process)_/;
let writes = 0;
let failed = 0;

function out(...fields) {
	process.stdout.write(fields.map((f) => String(f).replace(/[\t\n]/g, ' ')).join('\t') + '\n');
}
function ok(cond, desc, detail = '') {
	if (!cond)
		failed++;
	cond ? out('ok', desc) : out('not ok', desc, detail);
	return cond;
}
function is(got, want, desc) {
	const g = JSON.stringify(got), w = JSON.stringify(want);
	return ok(g === w, desc, `got ${g}, expected ${w}`);
}
function like(got, re, desc) {
	return ok(typeof got === 'string' && re.test(got), desc, `got ${JSON.stringify(got)}, expected to match ${re}`);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function shell(action) {
	out('do', action);
	const { value } = await lines.next();
	ok(value === 'done', `the shell did: ${action}`, `answered ${value}`);
}

async function connect(token) {
	const transport = new StreamableHTTPClientTransport(URL_,
		{ requestInit: { headers: { Authorization: `Bearer ${token}` } } });
	const client = new Client({ name: 'trestle-sdk-test', version: '1.0.0' });
	await client.connect(transport);
	return { client, transport };
}

// A tool call: the structured content of a success (the SDK has validated it
// against the tool's outputSchema), or { error: text } for an isError result.
async function call(client, name, args = {}) {
	if (WRITE.test(name))
		writes++;
	const r = await client.callTool({ name, arguments: args });
	const text = r.content?.[0]?.type === 'text' ? r.content[0].text : undefined;
	if (r.isError)
		return { error: text ?? '', raw: r };
	let same = false;
	try {
		same = JSON.stringify(JSON.parse(text)) === JSON.stringify(r.structuredContent);
	} catch { /* not JSON: reported below */ }
	if (r.structuredContent === undefined || !same)
		ok(false, `${name}: structured content, repeated as text`, text);
	return r.structuredContent;
}

async function listAllTools(client) {
	const tools = [];
	let cursor, pages = 0;

	do {
		const page = await client.listTools(cursor ? { cursor } : {});
		tools.push(...page.tools);
		cursor = page.nextCursor;
		pages++;
	} while (cursor && pages < 100);
	return { tools, pages };
}

function checkTools(tools) {
	const names = tools.map((t) => t.name).sort();
	const want = ['health_check'];
	for (const [e, plural] of ENTITIES)
		for (const v of VERBS)
			want.push(v === 'list' ? `list_${plural}` : `${v}_${e}`);
	is(names, want.sort(), 'tools/list: the 41 tools of the reference');
	for (const t of tools) {
		const a = t.annotations ?? {};
		const verb = t.name.split('_')[0];
		ok(t.inputSchema?.type === 'object' && t.outputSchema?.type === 'object' &&
			typeof t.description === 'string' && t.description.length > 40,
			`${t.name}: description, inputSchema and outputSchema`);
		is([a.readOnlyHint, a.destructiveHint, a.idempotentHint],
			[['list', 'get', 'health'].includes(verb), ['delete', 'update', 'patch'].includes(verb),
				['list', 'get', 'health', 'delete'].includes(verb)], `${t.name}: annotations`);
	}
	const create = tools.find((t) => t.name === 'create_comment');
	is(create.inputSchema.required, ['content', 'parent_type', 'parent_uid'], 'create_comment: required arguments');
	is(create.inputSchema.properties.parent_type.enum, ['note', 'task'], 'create_comment: parent_type is an enum');
	const list = tools.find((t) => t.name === 'list_notes');
	is([list.inputSchema.properties.limit.minimum, list.inputSchema.properties.limit.maximum,
		list.inputSchema.properties.limit.default], [1, 1000, 100], 'list_notes: limit 1..1000, default 100');
}

// notes: every tool, and the failures a model must be able to act on.
async function notes(c) {
	const n = await call(c, 'create_note', { title: 'Groceries', content: 'milk', tags: ['home'],
		additional_fields: { color: 'blue', pinned: false } });
	is([n.version, n.payload.title, n.payload.content, n.payload.tags, n.payload.color, n.deletedAt],
		[1, 'Groceries', 'milk', ['home'], 'blue', undefined], 'create_note: version 1 and the fields');
	const s = await call(c, 'create_note', { title: 'Strings', content: 'x',
		tags: '["a","b"]', additional_fields: '{"color":"green"}' });
	is([s.payload.tags, s.payload.color], [['a', 'b'], 'green'], 'create_note: list and object arguments sent as JSON strings');
	is((await call(c, 'get_note', { uid: n.uid })).version, 1, 'get_note');
	const p1 = await call(c, 'list_notes', { limit: 1 });
	ok(p1.items.length === 1 && typeof p1.nextCursor === 'string', 'list_notes limit 1: one item and nextCursor');
	const p2 = await call(c, 'list_notes', { limit: 1, cursor: p1.nextCursor });
	ok(p2.items.length === 1 && p2.items[0].uid !== p1.items[0].uid, 'list_notes: the cursor reads the next page');
	const u = await call(c, 'update_note', { uid: n.uid, title: 'Groceries 2', content: 'milk, eggs', if_match: 1 });
	is([u.version, u.payload.title, u.payload.content, u.payload.tags, u.payload.color],
		[2, 'Groceries 2', 'milk, eggs', ['home'], 'blue'], 'update_note: version 2, fields not given are kept');
	const stale = await call(c, 'update_note', { uid: n.uid, title: 'x', content: 'y', if_match: '1' });
	like(stale.error, /now at version 2.*retry with if_match=2/, 'update_note with a stale if_match (412): names the current version');
	const pa = await call(c, 'patch_note', { uid: n.uid, updates: '{"color":"red"}' });
	is([pa.version, pa.payload.color, pa.payload.title], [3, 'red', 'Groceries 2'], 'patch_note: updates as a JSON string');
	is((await call(c, 'patch_note', { uid: n.uid, updates: { x: 1 }, if_match: 3 })).version, 4, 'patch_note with if_match');
	is((await call(c, 'archive_note', { uid: n.uid })).payload.status, 'archived', 'archive_note');
	is((await call(c, 'process_note', { uid: n.uid, action: 'pin', metadata: { why: 'test' } })).payload.pinned, true, 'process_note pin');
	is((await call(c, 'process_note', { uid: n.uid, action: 'unarchive' })).payload.status, 'active', 'process_note unarchive');
	like((await call(c, 'process_note', { uid: n.uid, action: 'fly' })).error,
		/^Invalid arguments for process_note: argument 'action' must be one of pin, unpin, archive, unarchive/, 'process_note with an unknown action');
	like((await call(c, 'create_note', { content: 'no title' })).error,
		/^Invalid arguments for create_note: missing required argument 'title'/, 'create_note without a title');
	like((await call(c, 'get_note', { uid: 'not-a-uuid' })).error, /argument 'uid' must be a UUID/, 'get_note with a bad uid');
	like((await call(c, 'list_notes', { limit: 5000 })).error, /'limit' must be an integer from 1 to 1000/, 'list_notes limit 5000');
	like((await call(c, 'get_note', { uid: n.uid, bogus: 1 })).error, /unknown argument 'bogus'/, 'an unknown argument');
	like((await call(c, 'get_note', { uid: '00000000-0000-4000-8000-000000000000' })).error,
		/^No note with uid 00000000-0000-4000-8000-000000000000 exists.*list_notes/, 'get_note of an unknown uid (404)');
	const d = await call(c, 'delete_note', { uid: n.uid });
	ok(typeof d.deletedAt === 'string' && d.payload.sync?.isDeleted === true, 'delete_note: deletedAt');
	like((await call(c, 'get_note', { uid: n.uid })).error,
		new RegExp(`^The note ${n.uid} was deleted at ${d.deletedAt.replace(/[.]/g, '[.]')}.*include_deleted=true`), 'get_note of a deleted note (410): when');
	is((await call(c, 'get_note', { uid: n.uid, include_deleted: true })).deletedAt, d.deletedAt, 'get_note include_deleted');
	like((await call(c, 'update_note', { uid: n.uid, title: 'z', content: 'z' })).error,
		/was deleted at .*can no longer be changed/, 'update_note of a deleted note (410)');
	like((await call(c, 'delete_note', { uid: n.uid })).error, /was deleted at/, 'delete_note twice (410)');
	const all = await call(c, 'list_notes', { include_deleted: true, limit: 1000 });
	const alive = await call(c, 'list_notes', {});
	ok(all.items.some((i) => i.uid === n.uid) && !alive.items.some((i) => i.uid === n.uid), 'list_notes: include_deleted');
	return s;
}

async function tasks(c) {
	const t = await call(c, 'create_task', { title: 'Ship', description: 'the release', status: 'open',
		priority: 'high', due_date: '2030-01-31T17:00:00Z', tags: ['w'] });
	is([t.version, t.payload.dueDate, t.payload.priority, t.payload.status], [1, '2030-01-31T17:00:00Z', 'high', 'open'], 'create_task: due_date is sent as dueDate');
	is((await call(c, 'get_task', { uid: t.uid })).uid, t.uid, 'get_task');
	ok((await call(c, 'list_tasks', {})).items.some((i) => i.uid === t.uid), 'list_tasks');
	const u = await call(c, 'update_task', { uid: t.uid, title: 'Ship it', status: 'in_progress' });
	is([u.version, u.payload.title, u.payload.status, u.payload.description, u.payload.priority, u.payload.dueDate],
		[2, 'Ship it', 'in_progress', 'the release', 'high', '2030-01-31T17:00:00Z'], 'update_task keeps description, priority, dueDate');
	is((await call(c, 'patch_task', { uid: t.uid, updates: { priority: 'low' } })).payload.priority, 'low', 'patch_task');
	is((await call(c, 'process_task', { uid: t.uid, action: 'start' })).payload.status, 'in_progress', 'process_task start');
	is((await call(c, 'process_task', { uid: t.uid, action: 'complete' })).payload.status, 'completed', 'process_task complete');
	is((await call(c, 'process_task', { uid: t.uid, action: 'reopen' })).payload.status, 'open', 'process_task reopen');
	is((await call(c, 'archive_task', { uid: t.uid })).payload.status, 'archived', 'archive_task');
	const keep = await call(c, 'create_task', { title: 'Parent of comments' });
	ok(typeof (await call(c, 'delete_task', { uid: t.uid })).deletedAt === 'string', 'delete_task');
	return keep;
}

async function comments(c, task) {
	const m = await call(c, 'create_comment', { content: 'LGTM', parent_type: 'task', parent_uid: task.uid, author: 'ann', tags: ['r'] });
	is([m.payload.parentType, m.payload.parentUid, m.payload.author], ['task', task.uid, 'ann'], 'create_comment: parentType and parentUid');
	const u = await call(c, 'update_comment', { uid: m.uid, content: 'LGTM!', if_match: 1 });
	is([u.version, u.payload.content, u.payload.parentType, u.payload.parentUid, u.payload.author],
		[2, 'LGTM!', 'task', task.uid, 'ann'], 'update_comment keeps its parent (the reference lost it)');
	is((await call(c, 'patch_comment', { uid: m.uid, updates: { tags: ['x'] } })).payload.parentUid, task.uid, 'patch_comment');
	is((await call(c, 'get_comment', { uid: m.uid })).version, 3, 'get_comment');
	ok((await call(c, 'list_comments', { limit: 10 })).items.some((i) => i.uid === m.uid), 'list_comments');
	is((await call(c, 'process_comment', { uid: m.uid, action: 'resolve' })).payload.status, 'resolved', 'process_comment resolve');
	is((await call(c, 'process_comment', { uid: m.uid, action: 'reopen' })).payload.status, 'open', 'process_comment reopen');
	is((await call(c, 'archive_comment', { uid: m.uid })).payload.status, 'archived', 'archive_comment');
	like((await call(c, 'create_comment', { content: 'x', parent_type: 'note', parent_uid: '00000000-0000-4000-8000-000000000001' })).error,
		/^The comment was not saved: parent note not found/, 'create_comment on a missing note: says the parent is missing');
	like((await call(c, 'create_comment', { content: 'x', parent_type: 'chat', parent_uid: task.uid })).error,
		/'parent_type' must be one of note, task/, 'create_comment on a chat: parent_type note or task');
	ok(typeof (await call(c, 'delete_comment', { uid: m.uid })).deletedAt === 'string', 'delete_comment');
}

async function chats(c) {
	const h = await call(c, 'create_chat', { title: 'Standup', description: 'daily', participants: ['ann', 'bob'] });
	is([h.payload.archived, h.payload.participants], [false, ['ann', 'bob']], 'create_chat: archived defaults to false');
	const u = await call(c, 'update_chat', { uid: h.uid, title: 'Standup!' });
	is([u.payload.title, u.payload.description, u.payload.participants], ['Standup!', 'daily', ['ann', 'bob']], 'update_chat keeps the rest');
	is((await call(c, 'patch_chat', { uid: h.uid, updates: { topic: 't' } })).payload.topic, 't', 'patch_chat');
	is((await call(c, 'get_chat', { uid: h.uid })).version, 3, 'get_chat');
	ok((await call(c, 'list_chats', {})).items.some((i) => i.uid === h.uid), 'list_chats');
	is((await call(c, 'process_chat', { uid: h.uid, action: 'resolve' })).payload.status, 'resolved', 'process_chat resolve');
	is((await call(c, 'process_chat', { uid: h.uid, action: 'reopen' })).payload.status, 'active', 'process_chat reopen');
	is((await call(c, 'archive_chat', { uid: h.uid })).payload.archived, true, 'archive_chat');
	return h;
}

async function messages(c, chat) {
	const m = await call(c, 'create_chat_message', { chat_uid: chat.uid, content: 'hi', sender: 'ann', message_type: 'text' });
	is([m.payload.chatUid, m.payload.messageType, m.payload.sender], [chat.uid, 'text', 'ann'], 'create_chat_message: chatUid and messageType');
	const u = await call(c, 'update_chat_message', { uid: m.uid, content: 'hello', additional_fields: { edited: true } });
	is([u.payload.content, u.payload.chatUid, u.payload.sender, u.payload.edited], ['hello', chat.uid, 'ann', true],
		'update_chat_message keeps its chat (the reference lost it)');
	is((await call(c, 'patch_chat_message', { uid: m.uid, updates: { sender: 'bob' } })).payload.chatUid, chat.uid, 'patch_chat_message');
	is((await call(c, 'get_chat_message', { uid: m.uid })).version, 3, 'get_chat_message');
	ok((await call(c, 'list_chat_messages', {})).items.some((i) => i.uid === m.uid), 'list_chat_messages');
	is((await call(c, 'process_chat_message', { uid: m.uid, action: 'mark_read' })).payload.read, true, 'process_chat_message mark_read');
	is((await call(c, 'process_chat_message', { uid: m.uid, action: 'mark_delivered' })).payload.delivered, true, 'process_chat_message mark_delivered');
	is((await call(c, 'archive_chat_message', { uid: m.uid })).payload.archived, true, 'archive_chat_message');
	like((await call(c, 'create_chat_message', { chat_uid: '00000000-0000-4000-8000-000000000002', content: 'x' })).error,
		/parent chat not found/, 'create_chat_message in a missing chat');
	ok(typeof (await call(c, 'delete_chat_message', { uid: m.uid })).deletedAt === 'string', 'delete_chat_message');
	const keep = await call(c, 'create_chat_message', { chat_uid: chat.uid, content: 'stays' });
	return keep;
}

// B can neither see nor touch A's items through any tool.
async function isolation(b, a, items) {
	const fields = { note: { title: 'B', content: 'B' }, task: { title: 'B' }, comment: { content: 'B' },
		chat: { title: 'B' }, chat_message: { content: 'B' } };
	for (const [e, plural, item] of items) {
		const before = await call(a, `get_${e}`, { uid: item.uid });
		const list = await call(b, `list_${plural}`, { include_deleted: true, limit: 1000 });
		ok(!list.items.some((i) => i.uid === item.uid), `user B: list_${plural} does not show A's ${e}`);
		const args = { uid: item.uid };
		const attempts = [
			['get', args], ['get', { ...args, include_deleted: true }],
			['update', { ...args, ...fields[e] }], ['patch', { ...args, updates: { owner: 'B' } }],
			['archive', args], ['process', { ...args, action: { note: 'pin', task: 'start', comment: 'resolve', chat: 'resolve', chat_message: 'mark_read' }[e] }],
			['delete', args],
		];
		for (const [verb, a2] of attempts) {
			const r = await call(b, `${verb}_${e}`, a2);
			like(r.error, /^No .* exists for this user/, `user B: ${verb}_${e} on A's ${e} is not found`);
		}
		const after = await call(a, `get_${e}`, { uid: item.uid });
		is(after, before, `A's ${e} is unchanged`);
	}
}

async function parentsOfOthers(b, note, chat) {
	like((await call(b, 'create_comment', { content: 'x', parent_type: 'note', parent_uid: note.uid })).error,
		/parent note not found/, "user B cannot comment on A's note");
	like((await call(b, 'create_chat_message', { chat_uid: chat.uid, content: 'x' })).error,
		/parent chat not found/, "user B cannot post in A's chat");
}

async function failures(c, note) {
	// 429: the API child's per-user rate limit (burst 120)
	const burst = await Promise.all(Array.from({ length: 140 }, () => call(c, 'list_notes', { limit: 1 })));
	const limited = burst.filter((r) => r.error !== undefined);
	ok(limited.length > 0 && limited.every((r) => /^Too many requests: .*Wait \d+ seconds?, then try again/.test(r.error)),
		`429: ${limited.length} of 140 rapid calls are isError results saying how long to wait`, limited[0]?.error);
	await new Promise((resolve) => setTimeout(resolve, 3000));	/* the bucket refills */
	// the API child too slow: api_timeout_ms is short in this test
	await shell('stop-api');
	const slow = await call(c, 'patch_note', { uid: note.uid, updates: { slow: true } });
	like(slow.error, /^The notes service did not answer in time. The change may or may not have been made/, 'the API child too slow: isError, check before retrying');
	await shell('cont-api');
	// the API child down
	await shell('kill-api');
	like((await call(c, 'get_note', { uid: note.uid })).error, /^The notes service is unavailable right now.*Try again/, 'the API child down: isError, try again');
	await shell('restart-api');
	is((await call(c, 'get_note', { uid: note.uid })).uid, note.uid, 'once the API child is back, calls work again');
	// 409: the epoch moved on under the worker's cached session: re-read and sent again
	await shell('bump-epoch');
	is((await call(c, 'patch_note', { uid: note.uid, updates: { after: 'epoch' } })).payload.after, 'epoch', 'an epoch mismatch (409) is resolved by the worker: the call succeeds');
}

async function main() {
	const a = await connect(process.env.TOKEN_A);
	const { tools, pages } = await listAllTools(a.client);
	out('diag', `tools/list: ${tools.length} tools in ${pages} page(s)`);
	checkTools(tools);
	like(a.transport.sessionId, /^[\x21-\x7e]{16,}$/, 'the session id is visible ASCII');

	is((await call(a.client, 'health_check')).status, 'healthy', 'health_check');
	const note = await notes(a.client);
	const task = await tasks(a.client);
	await comments(a.client, task);
	const chat = await chats(a.client);
	const msg = await messages(a.client, chat);
	const comment = await call(a.client, 'create_comment', { content: 'kept', parent_type: 'note', parent_uid: note.uid });

	const b = await connect(process.env.TOKEN_B);
	await isolation(b.client, a.client, [['note', 'notes', note], ['task', 'tasks', task],
		['comment', 'comments', comment], ['chat', 'chats', chat], ['chat_message', 'chat_messages', msg]]);
	await parentsOfOthers(b.client, note, chat);

	const c = await connect(process.env.TOKEN_C);
	const cnote = await call(c.client, 'create_note', { title: 'rate', content: 'limited' });
	await failures(c.client, cnote);

	// Ending the session: DELETE, then the id is unknown (404) to every worker.
	const sid = a.transport.sessionId;
	await a.transport.terminateSession();
	is(a.transport.sessionId, undefined, 'terminateSession: the SDK forgets the session');
	let statuses = new Set();
	for (let i = 0; i < 8; i++) {
		const r = await fetch(URL_, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"ping"}', headers: {
			Authorization: `Bearer ${process.env.TOKEN_A}`, 'Content-Type': 'application/json',
			Accept: 'application/json, text/event-stream', 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' } });
		statuses.add(r.status);
	}
	is([...statuses], [404], 'after terminateSession the session id gets 404');
	await a.client.close();
	await b.client.close();
	await c.client.close();
}

try {
	await main();
} catch (e) {
	ok(false, 'the client ran to the end', e?.stack ?? String(e));
}
out('writes', writes);
process.exit(failed ? 1 : 0);
