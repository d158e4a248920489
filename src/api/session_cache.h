/*
 * The API child's memory of sync sessions it looked up: session id -> owner,
 * subject, epoch, so that an entity request costs one query, not two.
 *
 * An entry serves for SESSION_CACHE_TTL_MS at most (and never past the
 * session's expiry).  This process forgets a session when it deletes it and
 * an owner's sessions when it wipes the owner; what another process changes
 * (the other API child during a reload, an administrator's SQL) is seen once
 * the entry is that old.  Memory is a fixed table: a new entry takes the slot
 * of whatever hashed there before.
 */
#ifndef TRESTLE_SESSION_CACHE_H
#define TRESTLE_SESSION_CACHE_H

#include "jwt.h"

#define SESSION_CACHE_TTL_MS	2000

struct session_cache_entry {
	char		 id[37];
	char		 owner_id[37];
	char		 sub[JWT_SUB_MAX];
	int		 epoch;
	long long	 expires_ms;	/* the session's expiry, wall clock */
	long long	 fresh_until;	/* monotonic ms; 0: empty slot */
};

/* The session's entry while fresh, else NULL; valid until the next call that adds. */
const struct session_cache_entry *session_cache_get(const char *session_id);
/* What PostgreSQL said of a live session (an id not of a UUID's length is not kept). */
void	session_cache_put(const char *session_id, const char *owner_id, const char *sub,
	    int epoch, long long expires_ms);
void	session_cache_forget(const char *session_id);
/* Every session of the owner: a wipe deletes them and starts a new epoch. */
void	session_cache_forget_owner(const char *owner_id);

#endif
