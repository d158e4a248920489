/* http_header_get (src/common/http_headers.c) answers what evhttp_find_header answers. */
#include "config.h"

#include <sys/queue.h>

#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_headers.h"
#include "tap.h"

static const char *const names[] = {
	"Authorization", "authorization", "AUTHORIZATION", "X-TB-User", "x-tb-user",
	"X-TB-User-Id", "X-TB-Use", "X", "x", "Content-Length", "Host", "Missing", "@a", "`a",
	"X-TB-Nonce", "",
};

int
main(void)
{
	struct evkeyvalq h;
	int differ = 0;

	TAILQ_INIT(&h);
	ok(http_header_get(&h, "Host") == NULL, "nothing in an empty list");
	evhttp_add_header(&h, "Host", "localhost");
	evhttp_add_header(&h, "authorization", "Bearer first");
	evhttp_add_header(&h, "Authorization", "Bearer second");
	evhttp_add_header(&h, "X-TB-User-Id", "7");
	evhttp_add_header(&h, "X-TB-User", "user-a");
	evhttp_add_header(&h, "x", "short");
	evhttp_add_header(&h, "`a", "backquote");
	is_str(http_header_get(&h, "AUTHORIZATION"), "Bearer first",
	    "case-insensitive, and the first of two");
	is_str(http_header_get(&h, "x-tb-user"), "user-a", "a name is not taken for a longer one");
	ok(http_header_get(&h, "X-TB-Use") == NULL, "nor for a shorter one");
	ok(http_header_get(&h, "@a") == NULL, "only letters fold: @ is not `");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *a = http_header_get(&h, names[i]), *b = evhttp_find_header(&h, names[i]);

		if (a != b)
			differ++;
	}
	ok(differ == 0, "the same answers as evhttp_find_header for %zu names (%d differ)",
	    sizeof(names) / sizeof(names[0]), differ);
	evhttp_clear_headers(&h);
	return done_testing();
}
