/*
 * The JSON Web Key Set of RS256 and ES256 tokens: fetched from a URL on the
 * process's event loop (never blocking it), kept for an hour, and fetched
 * again when a token names a key the set does not hold (at most once a
 * minute, so unknown key ids cannot make the process hammer the issuer).
 * A caller that asks while a fetch is under way waits for it.  The API child
 * verifies its users' tokens with it, the MCP workers their clients'.
 */
#ifndef TRESTLE_JWKS_H
#define TRESTLE_JWKS_H

#include <stddef.h>

#include <event2/event.h>
#include <openssl/evp.h>

#define JWKS_TTL_SEC		3600
#define JWKS_FORCED_MIN_SEC	60	/* between two refreshes for an unknown kid */
#define JWKS_RETRY_SEC		10	/* after a failed fetch */

/* A parsed set: its signing keys by kid. */
struct jwks_set;

/*
 * Keys with a kid and use sig: kty RSA of 2048 bits or more
 * (alg, when given, RS256) and kty EC on crv P-256 (alg, when given, ES256).
 * NULL and *reason if none.  The key's kind decides which algorithm it can
 * verify (jwt.h), so a token cannot pick the other one.
 */
struct jwks_set	*jwks_set_parse(const char *json, size_t len, const char **reason);
EVP_PKEY	*jwks_set_find(const struct jwks_set *, const char *kid);
size_t		 jwks_set_count(const struct jwks_set *);
void		 jwks_set_free(struct jwks_set *);

struct jwks;
struct jwks_wait;

enum jwks_answer {
	JWKS_FOUND,	/* *key is the key: valid until control returns to the event loop */
	JWKS_WAIT,	/* a fetch is under way: ready(arg) once it ends; then ask again */
	JWKS_UNKNOWN,	/* no such key, and no fetch allowed now */
};

typedef void (*jwks_ready_fn)(void *arg);

/* Starts the first fetch at once.  NULL on a malformed URL or allocation failure. */
struct jwks	*jwks_new(struct event_base *, const char *url, int timeout_ms);
/* Waiters are dropped without a call.  Not from a ready function. */
void		 jwks_free(struct jwks *);
enum jwks_answer jwks_lookup(struct jwks *, const char *kid, EVP_PKEY **key,
		    jwks_ready_fn ready, void *arg, struct jwks_wait **wait);
/* The ready function will not be called. */
void		 jwks_wait_cancel(struct jwks_wait *);

#endif
