/*
 * The API child's caches of verified tokens and of sync sessions: an entry
 * serves only while it is good, and what this process changes is forgotten.
 */
#include "config.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "session_cache.h"
#include "tap.h"
#include "token_cache.h"

#define SID	"0b0e1d1c-2a2b-4c4d-8e8f-000000000001"
#define SID_UC	"0B0E1D1C-2A2B-4C4D-8E8F-000000000001"
#define SID2	"0b0e1d1c-2a2b-4c4d-8e8f-000000000002"
#define OWNER	"11111111-2222-4333-8444-555555555555"
#define OWNER2	"11111111-2222-4333-8444-666666666666"

static long long fake_now_ms = 1700000000000LL;

/* api.h's clock, which the session cache reads for the sessions' expiry. */
long long
api_now_ms(void)
{
	return fake_now_ms;
}

static void
test_tokens(void)
{
	char sub[JWT_SUB_MAX], long_token[2000];
	long long now = 1700000000;

	ok(token_cache_get("a.b.c", now, sub) == -1, "an unknown token is not known");
	token_cache_put("a.b.c", "user-a", now, now + 10);
	ok(token_cache_get("a.b.c", now, sub) == 0 && strcmp(sub, "user-a") == 0,
	    "a verified token is known, with its subject");
	ok(token_cache_get("a.b.d", now, sub) == -1, "a token differing in one byte is not");
	ok(token_cache_get("a.b.", now, sub) == -1, "nor a prefix of it");
	ok(token_cache_get("a.b.c", now + 9, sub) == 0, "known until just before its exp");
	ok(token_cache_get("a.b.c", now + 10, sub) == -1, "not at its exp: it has expired");
	token_cache_put("x.y.z", "user-b", now, LLONG_MAX);
	ok(token_cache_get("x.y.z", now + TOKEN_CACHE_TTL_SEC - 1, sub) == 0 &&
	    strcmp(sub, "user-b") == 0, "a token without exp is known for the TTL");
	ok(token_cache_get("x.y.z", now + TOKEN_CACHE_TTL_SEC, sub) == -1,
	    "and not past it: it is verified again");
	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	token_cache_put(long_token, "user-c", now, now + 10);
	ok(token_cache_get(long_token, now, sub) == -1, "a long token is not kept");
	ok(token_cache_get("", now, sub) == -1, "nor an empty one");
}

static void
test_sessions(void)
{
	const struct session_cache_entry *e;

	ok(session_cache_get(SID) == NULL, "an unknown session is not known");
	session_cache_put(SID, OWNER, "user-a", 3, fake_now_ms + 60000);
	e = session_cache_get(SID);
	ok(e != NULL && strcmp(e->owner_id, OWNER) == 0 && strcmp(e->sub, "user-a") == 0 &&
	    e->epoch == 3, "a session looked up is known: owner, subject, epoch");
	ok(session_cache_get(SID_UC) == e, "in either case");
	ok(session_cache_get(SID2) == NULL, "another session is not");
	ok(session_cache_get("0b0e1d1c") == NULL, "nor a prefix");
	session_cache_forget(SID_UC);
	ok(session_cache_get(SID) == NULL, "a deleted session is forgotten");

	session_cache_put(SID, OWNER, "user-a", 3, fake_now_ms + 60000);
	session_cache_put(SID2, OWNER2, "user-b", 1, fake_now_ms + 60000);
	session_cache_forget_owner(OWNER);
	ok(session_cache_get(SID) == NULL, "a wiped owner's sessions are forgotten");
	ok(session_cache_get(SID2) != NULL, "another owner's are not");

	session_cache_put(SID, OWNER, "user-a", 3, fake_now_ms + 1000);
	fake_now_ms += 1000;
	ok(session_cache_get(SID) == NULL, "a session is not served past its expiry");

	session_cache_put(SID, OWNER, "user-a", 3, fake_now_ms + 60000);
	usleep((SESSION_CACHE_TTL_MS + 100) * 1000);
	ok(session_cache_get(SID) == NULL && session_cache_get(SID2) == NULL,
	    "nor once the TTL is over: it is looked up again");
}

int
main(void)
{
	test_tokens();
	test_sessions();
	return done_testing();
}
