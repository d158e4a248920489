/*
 * Who a client of the MCP endpoint is: its bearer token to a subject.  The
 * token is a static key of api_keys_file (compared by hash, in constant
 * time), or a JWT: HS256 with mcp_jwt_secret, RS256 or ES256 with a key of
 * mcp_jwks_url, each with iss, aud (the canonical MCP URL), exp and nbf
 * checked, then the required scopes and the allowed email domains.  The
 * token itself never leaves this module: the API child is called with the
 * worker's own credentials (backend.h).
 */
#ifndef TRESTLE_MCP_AUTH_H
#define TRESTLE_MCP_AUTH_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "conf.h"

struct mcp_auth;

/* subject is valid during the call only. */
typedef void (*mcp_auth_done_fn)(struct evhttp_request *, const char *subject, void *arg);

/* NULL and err on a configuration that cannot be served (an unreadable key file). */
struct mcp_auth	*mcp_auth_new(struct event_base *, const struct conf *, char *err, size_t cap);
/* Requests waiting for a JWKS fetch are dropped without a call or an answer. */
void		 mcp_auth_free(struct mcp_auth *);
/*
 * Authenticate req: done(req, subject, arg) once the subject is known, at
 * once or, while a JWKS is fetched, later from the event loop.  Otherwise req
 * is answered here (401 with a WWW-Authenticate challenge, or 403) and done
 * is not called.  A client without a token is the anonymous subject when the
 * conformance fixtures are on.
 */
void		 mcp_auth_request(struct mcp_auth *, struct evhttp_request *,
		    mcp_auth_done_fn done, void *arg);

#endif
