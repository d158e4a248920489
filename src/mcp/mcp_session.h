/*
 * MCP session ids are self-verifying, so any worker can serve any request of a
 * session without shared lookups: "<payload>.<mac>", both base64url, where the
 * payload names the format, the issue time, a digest of the subject the
 * session was issued to and the negotiated protocol version, plus random bytes,
 * and the MAC is HMAC-SHA256 under a key derived from the tenant secret.
 */
#ifndef TRESTLE_MCP_SESSION_H
#define TRESTLE_MCP_SESSION_H

#include <stddef.h>

#define MCP_SESSION_ID_MAX	192
#define MCP_VERSION_MAX		16

struct mcp_session_key {
	unsigned char	bytes[32];
};

void	mcp_session_key_derive(const char *tenant_secret, struct mcp_session_key *);
void	mcp_session_issue(const struct mcp_session_key *, const char *subject,
	    const char *protocol_version, long long now, char out[MCP_SESSION_ID_MAX]);
/* 0 when id is genuine and was issued to subject; the protocol version it carries. */
int	mcp_session_verify(const struct mcp_session_key *, const char *id, const char *subject,
	    char protocol_version[MCP_VERSION_MAX]);

#endif
