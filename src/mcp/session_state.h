/*
 * The mutable state of MCP sessions that every worker must see: the log
 * level a client chose with logging/setLevel.  It lives in a small table in
 * shared memory (a file in runtime_dir mapped by every worker), so it
 * survives a worker's crash and a reload.  The table is a cache of 64 K
 * entries: when full, a new session's entry can push out an old one, whose
 * level falls back to the default.
 */
#ifndef TRESTLE_SESSION_STATE_H
#define TRESTLE_SESSION_STATE_H

#include <stddef.h>

#include "mcp_session.h"

#define SESSION_STATE_FILE	"mcp-sessions.shm"

/* MCP's log levels (RFC 5424 severities), least severe first. */
enum mcp_log_level {
	MCP_LOG_DEBUG, MCP_LOG_INFO, MCP_LOG_NOTICE, MCP_LOG_WARNING, MCP_LOG_ERROR,
	MCP_LOG_CRITICAL, MCP_LOG_ALERT, MCP_LOG_EMERGENCY
};
#define MCP_LOG_DEFAULT	MCP_LOG_INFO

struct session_state;

/* Map the table (creating it when missing); NULL with err filled. */
struct session_state *session_state_open(const char *runtime_dir, char *err, size_t cap);
enum mcp_log_level session_state_log_level(const struct session_state *,
	    const unsigned char tag[MCP_SESSION_TAG_LEN]);
void	session_state_set_log_level(struct session_state *,
	    const unsigned char tag[MCP_SESSION_TAG_LEN], enum mcp_log_level);
void	session_state_free(struct session_state *);

/* -1 for a name that is not a level. */
int	mcp_log_level_parse(const char *name);
const char *mcp_log_level_name(enum mcp_log_level);

#endif
