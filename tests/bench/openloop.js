// An open-loop load driver for the latency phase of tests/bench/run.sh:
// get_note calls at a fixed rate, whatever the server does, with latencies in
// microseconds.  No dependencies: Node's own net module and a minimal
// HTTP/1.1 client (keep-alive, Content-Length bodies, which is what trestle
// sends).
//
// Why not autocannon -R: it records whole milliseconds, and under a fixed rate
// its coordinated-omission correction uses an interval of 1 ms whatever the
// rate, which fills the tail with invented values.
//
// A call waits in a queue when every connection is busy, and its latency then
// counts from when it was due (no coordinated omission); when a connection is
// free it is sent at once and timed from there, so the driver's own timer
// granularity is not blamed on the server.
//
//	node openloop.js   (settings from the environment, as run.sh sets them)
//	BENCH_PORT, BENCH_TOKEN, BENCH_SESSION, BENCH_MCP_PATH (default /mcp),
//	BENCH_RATE (calls a second), BENCH_DURATION (seconds), BENCH_WARMUP
//	(seconds at the same rate, not recorded), BENCH_CONNECTIONS (default 32),
//	BENCH_NOTES (uids 1..N exist)
//
// Prints one line: "OPENLOOP key=value ...".
'use strict';

const net = require('net');

const env = process.env;
const port = Number(env.BENCH_PORT);
const rate = Number(env.BENCH_RATE);
const duration = Number(env.BENCH_DURATION || 10);
const warmup = Number(env.BENCH_WARMUP || 0);
const nconn = Number(env.BENCH_CONNECTIONS || 32);
const notes = Number(env.BENCH_NOTES || 1);
const path = env.BENCH_MCP_PATH || '/mcp';
const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
	'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n' +
	`Authorization: Bearer ${env.BENCH_TOKEN}\r\nMCP-Protocol-Version: 2025-11-25\r\n` +
	`Mcp-Session-Id: ${env.BENCH_SESSION}\r\n`;

const stats = { sent: 0, answers: 0, http: 0, rpc: 0, isError: 0, socket: 0 };
const latencies = [];
const queue = [];	// due times (ns) of calls waiting for a connection
const idle = [];
let recording = false;
let stopping = false;
let seq = 0;

function nowNs() {
	return process.hrtime.bigint();
}

function body() {
	const n = 1 + Math.floor(Math.random() * notes);
	const uid = '00000000-0000-4000-8000-' + n.toString(16).padStart(12, '0');

	seq++;
	return `{"jsonrpc":"2.0","id":${seq},"method":"tools/call",` +
		`"params":{"name":"get_note","arguments":{"uid":"${uid}"}}}`;
}

function send(c, due) {
	const b = body();

	c.due = due;
	c.recorded = recording;
	stats.sent++;
	c.sock.write(head + `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n` + b);
}

function onAnswer(c, status, text) {
	if (c.recorded) {
		stats.answers++;
		latencies.push(Number(nowNs() - c.due) / 1000);
		if (status !== 200)
			stats.http++;
		else if (text.includes('"error":{"code"'))
			stats.rpc++;
		else if (text.includes('"isError":true'))
			stats.isError++;
	}
	if (queue.length > 0)
		send(c, queue.shift());
	else
		idle.push(c);
}

// Parse as many complete answers as c.buf holds.
function parse(c) {
	for (;;) {
		const end = c.buf.indexOf('\r\n\r\n');
		if (end < 0)
			return;
		const headers = c.buf.subarray(0, end).toString('latin1');
		const m = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
		const len = m ? Number(m[1]) : 0;
		if (c.buf.length < end + 4 + len)
			return;
		const status = Number(headers.split(' ', 2)[1]);
		const text = c.buf.subarray(end + 4, end + 4 + len).toString('utf8');
		c.buf = c.buf.subarray(end + 4 + len);
		onAnswer(c, status, text);
	}
}

function connect() {
	const c = { sock: net.connect(port, '127.0.0.1'), buf: Buffer.alloc(0), due: 0n };

	c.sock.setNoDelay(true);
	c.sock.on('connect', () => idle.push(c));
	c.sock.on('data', (d) => { c.buf = Buffer.concat([c.buf, d]); parse(c); });
	c.sock.on('error', () => {});
	c.sock.on('close', () => {
		if (!stopping) {
			stats.socket++;
			const i = idle.indexOf(c);
			if (i >= 0)
				idle.splice(i, 1);
		}
	});
}

function percentile(sorted, p) {
	if (sorted.length === 0)
		return 0;
	return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p / 100) - 1)];
}

function report(elapsedNs) {
	const s = latencies.sort((a, b) => a - b);
	const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
	const secs = Number(elapsedNs) / 1e9;

	console.log(`OPENLOOP rate=${rate} requests=${stats.answers} duration_us=${Math.round(secs * 1e6)} ` +
		`rps=${(stats.answers / secs).toFixed(1)} http_errors=${stats.http} rpc_errors=${stats.rpc} ` +
		`is_errors=${stats.isError} socket_errors=${stats.socket} ` +
		`unanswered=${queue.length} mean_us=${Math.round(mean)} p50_us=${Math.round(percentile(s, 50))} ` +
		`p99_us=${Math.round(percentile(s, 99))} p999_us=${Math.round(percentile(s, 99.9))} ` +
		`max_us=${Math.round(s.length ? s[s.length - 1] : 0)}`);
}

function run() {
	const intervalNs = BigInt(Math.round(1e9 / rate));
	const start = nowNs();
	const recordFrom = start + BigInt(Math.round(warmup * 1e9));
	const end = recordFrom + BigInt(Math.round(duration * 1e9));
	let next = start;

	const tick = () => {
		const now = nowNs();

		if (!recording && now >= recordFrom) {
			recording = true;
			latencies.length = 0;
		}
		if (now >= end) {
			stopping = true;
			report(now - recordFrom);
			process.exit(0);
		}
		// Due calls: sent now if a connection is free, else queued from now.
		for (; next <= now; next += intervalNs) {
			if (idle.length > 0)
				send(idle.pop(), now);
			else
				queue.push(now);
		}
		setTimeout(tick, 1);
	};
	tick();
}

for (let i = 0; i < nconn; i++)
	connect();
setTimeout(run, 200);	// let the connections open
