/*
 * The MCP transport's small pieces of state: session ids (mcp_session.c),
 * the Host/Origin policy (origin.c), sessions ended by DELETE
 * (revocation.c) and the shared session table (session_state.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp_session.h"
#include "origin.h"
#include "revocation.h"
#include "session_state.h"
#include "tap.h"

static void
test_sessions(void)
{
	struct mcp_session_key key, other;
	struct mcp_session issued, s;
	char id[MCP_SESSION_ID_MAX];

	mcp_session_key_derive("tenant-secret-0123456789", &key);
	mcp_session_key_derive("tenant-secret-9876543210", &other);
	mcp_session_issue(&key, "user-a", "2025-06-18", MCP_SESSION_SAMPLING, 1700000000, id, &issued);
	ok(mcp_session_verify(&key, id, "user-a", &s) == 0, "a session id verifies for its subject");
	is_str(s.version, "2025-06-18", "it carries the negotiated version");
	ok(s.flags == MCP_SESSION_SAMPLING, "and the client's capabilities");
	ok(memcmp(s.tag, issued.tag, MCP_SESSION_TAG_LEN) == 0, "its tag is the one issued");
	ok(mcp_session_verify(&key, id, "user-b", &s) == -1, "it does not verify for another subject");
	ok(mcp_session_verify(&other, id, "user-a", &s) == -1, "nor under another tenant secret");
	id[3] = id[3] == 'A' ? 'B' : 'A';
	ok(mcp_session_verify(&key, id, "user-a", &s) == -1, "nor once altered");
	ok(mcp_session_verify(&key, "no-dot", "user-a", &s) == -1, "garbage does not verify");
}

/* Verified ids are remembered: a second look must answer what verifying answers. */
static void
test_sessions_remembered(void)
{
	struct mcp_session_key key, other;
	struct mcp_session issued[100], s;
	char id[100][MCP_SESSION_ID_MAX];
	int wrong = 0;

	mcp_session_key_derive("tenant-secret-0123456789", &key);
	mcp_session_key_derive("tenant-secret-9876543210", &other);
	for (int i = 0; i < 100; i++) {
		mcp_session_issue(&key, "user-a", "2025-11-25", (unsigned)i & 3, 1700000000 + i,
		    id[i], &issued[i]);
		if (mcp_session_verify(&key, id[i], "user-a", &s) != 0)
			wrong++;
	}
	/* More ids than the cache has slots: some are looked up again, some verified again. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 100; i++) {
			memset(&s, 0, sizeof(s));
			if (mcp_session_verify(&key, id[i], "user-a", &s) != 0 ||
			    memcmp(s.tag, issued[i].tag, MCP_SESSION_TAG_LEN) != 0 ||
			    s.flags != ((unsigned)i & 3) || strcmp(s.version, "2025-11-25") != 0)
				wrong++;
		}
	}
	ok(wrong == 0, "100 ids verified three times each answer as issued: %d wrong", wrong);
	ok(mcp_session_verify(&key, id[99], "user-b", &s) == -1,
	    "an id just verified for its subject does not verify for another");
	ok(mcp_session_verify(&other, id[99], "user-a", &s) == -1, "nor under another secret");
	id[99][strlen(id[99]) - 1] ^= 1;
	ok(mcp_session_verify(&key, id[99], "user-a", &s) == -1, "nor with its MAC altered");
}

static void
test_origins(void)
{
	struct origin_policy *p = origin_policy_new("localhost,127.0.0.1,[::1]",
	    "localhost, https://app.example.com");
	struct origin_policy *any = origin_policy_new("*", "*");

	ok(origin_allowed(p, "localhost:8001", NULL), "Host localhost with a port");
	ok(origin_allowed(p, "127.0.0.1", NULL), "Host 127.0.0.1 without a port");
	ok(origin_allowed(p, "[::1]:8001", NULL), "Host [::1] with a port");
	ok(origin_allowed(p, NULL, NULL), "no Host, no Origin");
	ok(!origin_allowed(p, "evil.example.com", NULL), "a foreign Host is refused");
	ok(!origin_allowed(p, "localhost.evil.com:80", NULL), "a Host that only starts like an allowed one");
	ok(!origin_allowed(p, "[::1", NULL), "a malformed Host");
	ok(origin_allowed(p, "localhost", "http://localhost:6274"), "an Origin on an allowed host");
	ok(origin_allowed(p, "localhost", "https://app.example.com"), "a full Origin listed as such");
	ok(!origin_allowed(p, "localhost", "https://app.example.com:8443"), "not with another port");
	ok(!origin_allowed(p, "localhost", "http://evil.example.com"), "a foreign Origin is refused");
	ok(!origin_allowed(p, "localhost", "null"), "so is the null Origin");
	ok(!origin_allowed(p, "localhost", "http://localhost/path"), "and an Origin with a path");
	ok(!origin_allowed(p, "localhost", "localhost"), "a bare host name is no Origin");
	ok(!origin_allowed(p, "localhost:1@evil.example", NULL), "a Host whose port is not a number");
	ok(!origin_allowed(p, "localhost:", NULL), "a Host with an empty port");
	ok(!origin_allowed(p, "localhost", "http://localhost:1@evil.example"), "an Origin with userinfo");
	ok(origin_allowed(any, "anything:1", "http://anything"), "\"*\" allows anything");
	origin_policy_free(p);
	origin_policy_free(any);
}

static void
test_revocation(const char *dir)
{
	unsigned char a[MCP_SESSION_TAG_LEN], b[MCP_SESSION_TAG_LEN];
	struct revocation *one, *two;
	char err[256], path[512];
	FILE *fp;

	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	one = revocation_open(dir, err, sizeof(err));
	two = revocation_open(dir, err, sizeof(err));
	ok(one != NULL && two != NULL, "two workers open the file");
	ok(!revocation_contains(two, a), "a live session is not revoked");
	ok(revocation_add(one, a) == 0, "one worker ends a session");
	ok(revocation_contains(two, a), "the other sees it at once");
	ok(!revocation_contains(two, b), "and nothing else");
	/* a line torn by a crash, then a good one: the good one still counts */
	snprintf(path, sizeof(path), "%s/%s", dir, REVOCATION_FILE);
	fp = fopen(path, "a");
	fputs("0123456789abcdef\n", fp);
	fclose(fp);
	ok(revocation_add(two, b) == 0, "a worker ends another session after a torn line");
	revocation_free(one);
	revocation_free(two);
	one = revocation_open(dir, err, sizeof(err));
	ok(one != NULL && revocation_contains(one, a) && revocation_contains(one, b),
	    "a restarted worker still knows both");
	for (int i = 0; i < 3000; i++) {
		unsigned char t[MCP_SESSION_TAG_LEN] = { 0 };

		memcpy(t, &i, sizeof(i));
		t[15] = 1;
		revocation_add(one, t);
	}
	ok(revocation_contains(one, a) && !revocation_contains(one, (unsigned char[16]){ 9, 9 }),
	    "the set grows past its first size");
	revocation_free(one);
	ok(revocation_open("/proc/no/such/dir", err, sizeof(err)) == NULL && err[0] != '\0',
	    "an unusable state_dir is an error: %s", err);
}

static void
test_session_state(const char *dir)
{
	unsigned char a[MCP_SESSION_TAG_LEN], b[MCP_SESSION_TAG_LEN];
	struct session_state *one, *two;
	char err[256];

	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	one = session_state_open(dir, err, sizeof(err));
	two = session_state_open(dir, err, sizeof(err));
	ok(one != NULL && two != NULL, "two workers map the session table");
	ok(session_state_log_level(one, a) == MCP_LOG_DEFAULT, "a new session has the default level");
	session_state_set_log_level(one, a, MCP_LOG_ERROR);
	ok(session_state_log_level(two, a) == MCP_LOG_ERROR, "a level set by one worker holds on another");
	ok(session_state_log_level(two, b) == MCP_LOG_DEFAULT, "and for that session only");
	session_state_set_log_level(two, a, MCP_LOG_DEBUG);
	ok(session_state_log_level(one, a) == MCP_LOG_DEBUG, "a level is changed in place");
	ok(mcp_log_level_parse("warning") == MCP_LOG_WARNING && mcp_log_level_parse("warn") == -1,
	    "level names are MCP's");
	session_state_free(one);
	session_state_free(two);
}

int
main(void)
{
	char dir[] = "/tmp/test_mcp_state.XXXXXX";
	char cmd[64];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_sessions();
	test_sessions_remembered();
	test_origins();
	test_revocation(dir);
	test_session_state(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "the temporary directory is removed");
	return done_testing();
}
