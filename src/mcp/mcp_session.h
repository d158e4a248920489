/*
 * MCP session ids are self-verifying, so any worker can serve any request of a
 * session without shared lookups: "<payload>.<mac>", both base64url, where the
 * payload names the format, the issue time, a digest of the subject the
 * session was issued to, random bytes, the negotiated protocol version and
 * the client's capabilities that matter to the server (sampling,
 * elicitation), and the MAC is HMAC-SHA256 under a key derived from the
 * tenant secret.  The MAC doubles as the session's tag: the short name under
 * which the little mutable state of a session (revocation, log level) is kept.
 */
#ifndef TRESTLE_MCP_SESSION_H
#define TRESTLE_MCP_SESSION_H

#include <stddef.h>

#define MCP_SESSION_ID_MAX	192
#define MCP_VERSION_MAX		16
#define MCP_SESSION_TAG_LEN	16

enum mcp_session_flags {
	MCP_SESSION_SAMPLING	= 1 << 0,	/* the client declared sampling */
	MCP_SESSION_ELICITATION	= 1 << 1,	/* the client declared elicitation */
};

struct mcp_session_key {
	unsigned char	bytes[32];
};

/* What a verified session id says. */
struct mcp_session {
	char		version[MCP_VERSION_MAX];
	unsigned	flags;
	unsigned char	tag[MCP_SESSION_TAG_LEN];
};

void	mcp_session_key_derive(const char *tenant_secret, struct mcp_session_key *);
/* A new session id in out; the session it names in s (may be NULL). */
void	mcp_session_issue(const struct mcp_session_key *, const char *subject,
	    const char *protocol_version, unsigned flags, long long now,
	    char out[MCP_SESSION_ID_MAX], struct mcp_session *s);
/* 0 when id is genuine and was issued to subject, with what it says in s. */
int	mcp_session_verify(const struct mcp_session_key *, const char *id, const char *subject,
	    struct mcp_session *s);

#endif
