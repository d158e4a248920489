-- wrk script of the benchmark (tests/bench/run.sh): real MCP requests, every
-- answer checked.
--
-- Settings come from the environment (wrk passes no options to scripts
-- except after "--", and run.sh sets these for each phase):
--	BENCH_OP		healthz, tools_list, get_note, create_note or list_notes
--	BENCH_TOKEN		the bearer token
--	BENCH_SESSION		the Mcp-Session-Id (not for healthz)
--	BENCH_MCP_PATH		the MCP endpoint's path (default /mcp)
--	BENCH_NOTES		get_note: uids 1..BENCH_NOTES exist (run.sh's pattern)
--	BENCH_ACCEPT_ENCODING	the Accept-Encoding header of MCP requests (default: none)
--	BENCH_EXPECT_FILE	tools_list: the answer body, checked by run.sh
--	BENCH_MAX_REQUESTS	a thread stops after this many answers (0: run the duration)
--	BENCH_DONE_DIR		where a thread that stopped so leaves a file "thread-N"
--
-- An error is an answer that is not HTTP 200, a JSON-RPC error (or, for
-- healthz and tools/list, not the expected body: for tools/list, the bytes of
-- BENCH_EXPECT_FILE), or a tool result with "isError":true (get_note of a
-- missing note is one); socket errors and timeouts are wrk's own.
-- done() prints one line, "WRK key=value ...", that run.sh reads.

local op = os.getenv("BENCH_OP") or "healthz"
local token = os.getenv("BENCH_TOKEN") or ""
local session = os.getenv("BENCH_SESSION") or ""
local mcp_path = os.getenv("BENCH_MCP_PATH") or "/mcp"
local notes = tonumber(os.getenv("BENCH_NOTES") or "1") or 1
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0") or 0
local done_dir = os.getenv("BENCH_DONE_DIR") or ""
local accept_encoding = os.getenv("BENCH_ACCEPT_ENCODING") or ""
local expect_file = os.getenv("BENCH_EXPECT_FILE") or ""

local threads = {}
local thread_no = 0

function setup(thread)
	thread_no = thread_no + 1
	thread:set("id", thread_no)
	table.insert(threads, thread)
end

-- Per thread (each thread has its own Lua state).
answers = 0
http_errors = 0
rpc_errors = 0
is_errors = 0
local fixed = nil
local tools_list_answer = nil
local cursor = nil
local sent = 0

local function mcp_headers()
	local h = {
		["Content-Type"] = "application/json",
		["Accept"] = "application/json, text/event-stream",
		["Authorization"] = "Bearer " .. token,
		["MCP-Protocol-Version"] = "2025-11-25",
		["Mcp-Session-Id"] = session,
	}
	if accept_encoding ~= "" then
		h["Accept-Encoding"] = accept_encoding
	end
	return h
end

local headers = nil

local function call(name, args)
	sent = sent + 1
	return wrk.format("POST", mcp_path, headers, string.format(
	    '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":%s}}',
	    sent, name, args))
end

-- The uid of generated note n: the pattern run.sh's INSERT ... SELECT uses.
local function note_uid(n)
	return string.format("00000000-0000-4000-8000-%012x", n)
end

-- The whole of a file, as bytes; an error if it cannot be read.
local function read_file(path)
	local f = assert(io.open(path, "rb"))
	local data = f:read("*a")

	f:close()
	return data
end

local content = string.rep("A note written by the benchmark, about as long as a short real one. ", 3)

function init(args)
	math.randomseed(os.time() * 1000 + (id or 0))
	headers = mcp_headers()
	if op == "healthz" then
		fixed = wrk.format("GET", "/healthz", {})
	elseif op == "tools_list" then
		fixed = wrk.format("POST", mcp_path, headers, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
		tools_list_answer = read_file(expect_file)
	end
end

function request()
	if fixed ~= nil then
		return fixed
	elseif op == "get_note" then
		return call("get_note", string.format('{"uid":"%s"}', note_uid(math.random(1, notes))))
	elseif op == "create_note" then
		return call("create_note", string.format('{"title":"Bench note %d-%d","content":"%s"}',
		    id or 0, sent, content))
	elseif op == "list_notes" then
		if cursor ~= nil then
			return call("list_notes", string.format('{"limit":100,"cursor":"%s"}', cursor))
		end
		return call("list_notes", '{"limit":100}')
	end
	error("BENCH_OP: unknown operation " .. op)
end

function response(status, hdrs, body)
	answers = answers + 1
	if status ~= 200 then
		http_errors = http_errors + 1
	elseif op == "healthz" then
		if body ~= "ok" then
			rpc_errors = rpc_errors + 1
		end
	elseif op == "tools_list" then
		-- The answer is built once per configuration and the request never
		-- changes: run.sh checked it (decoded, when gzip'd), and every
		-- answer must be the same bytes.  Comparing is cheap; scanning 52 KB
		-- for patterns in Lua made wrk, not trestle, the limit of this phase.
		if body ~= tools_list_answer then
			rpc_errors = rpc_errors + 1
		end
	else
		if string.find(body, '"error":{"code"', 1, true) then
			rpc_errors = rpc_errors + 1
		elseif string.find(body, '"isError":true', 1, true) then
			is_errors = is_errors + 1
		elseif op == "list_notes" then
			-- Follow the cursor; the escaped copy in "text" does not match.
			-- The last page has none: start again from the first.
			cursor = string.match(body, '"nextCursor":"([^"]+)"')
		end
	end
	if max_requests > 0 and answers == max_requests then
		-- wrk waits out its duration even when every thread stopped: the
		-- file tells run.sh to end it with SIGINT.
		local f = done_dir ~= "" and io.open(done_dir .. "/thread-" .. (id or 0), "w")
		if f then
			f:close()
		end
		wrk.thread:stop()
	end
end

function done(summary, latency, requests)
	local a, h, r, e = 0, 0, 0, 0
	local errs = summary.errors

	for _, t in ipairs(threads) do
		a = a + (t:get("answers") or 0)
		h = h + (t:get("http_errors") or 0)
		r = r + (t:get("rpc_errors") or 0)
		e = e + (t:get("is_errors") or 0)
	end
	io.write(string.format("WRK requests=%d duration_us=%d rps=%.1f answers=%d http_errors=%d "
	    .. "rpc_errors=%d is_errors=%d socket_errors=%d mean_us=%.0f p50_us=%d p99_us=%d "
	    .. "p999_us=%d max_us=%d\n",
	    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), a, h,
	    r, e, errs.connect + errs.read + errs.write + errs.timeout, latency.mean,
	    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
