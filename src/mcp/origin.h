/*
 * DNS-rebinding protection: the Host header and, when present, the Origin
 * header of a request to the MCP endpoint must name an allowed host.  Both
 * lists are comma-separated host names (any port): "localhost,127.0.0.1,[::1]"
 * by default.  An Origin entry may also be a full origin
 * ("https://app.example.com"), matched exactly; "*" allows anything.
 */
#ifndef TRESTLE_ORIGIN_H
#define TRESTLE_ORIGIN_H

struct origin_policy;

struct origin_policy *origin_policy_new(const char *allowed_hosts, const char *allowed_origins);
/* 1 when a request with these headers (either may be NULL: absent) may go on. */
int	origin_allowed(const struct origin_policy *, const char *host, const char *origin);
void	origin_policy_free(struct origin_policy *);

#endif
