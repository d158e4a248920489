/*
 * Sessions ended by DELETE.  A session id stays valid by itself (it is
 * self-verifying), so its end must be remembered: every worker appends the
 * tags of the sessions it ends to one file under state_dir, written and
 * synced before DELETE is answered, and every worker catches up with the file
 * before it looks a tag up.  The file outlives worker crashes, reloads and
 * master restarts; catching up costs one fstat(2) while nothing changed.
 */
#ifndef TRESTLE_REVOCATION_H
#define TRESTLE_REVOCATION_H

#include <stddef.h>

#include "mcp_session.h"

#define REVOCATION_FILE	"revoked-sessions"

struct revocation;

/* Open (creating state_dir and the file when missing); NULL with err filled. */
struct revocation *revocation_open(const char *state_dir, char *err, size_t cap);
/* Remember tag for good; 0 once it is on disk. */
int	revocation_add(struct revocation *, const unsigned char tag[MCP_SESSION_TAG_LEN]);
/* 1 when tag was revoked by any worker, ever. */
int	revocation_contains(struct revocation *, const unsigned char tag[MCP_SESSION_TAG_LEN]);
void	revocation_free(struct revocation *);

#endif
