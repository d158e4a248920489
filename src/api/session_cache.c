/*
 * A direct-mapped table: a session id hashes to one slot, and a collision
 * simply replaces the older entry (it is looked up again next time).  Workers
 * keep one sync session a user, so a few thousand slots hold every active one.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "codec.h"
#include "session_cache.h"

#define SESSION_CACHE_SLOTS	2048	/* a power of two */

static struct session_cache_entry	sc_slots[SESSION_CACHE_SLOTS];

static long long
sc_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The id in lower case (PostgreSQL reads a UUID in either), and its slot by
 * FNV-1a; NULL when it is not the length of a UUID.
 */
static struct session_cache_entry *
sc_slot(const char *id, char key[37])
{
	size_t i;

	for (i = 0; id[i] != '\0' && i < 36; i++)
		key[i] = (char)tolower((unsigned char)id[i]);
	key[i] = '\0';
	if (i != 36 || id[i] != '\0')
		return NULL;
	return &sc_slots[fnv1a(key, 36) & (SESSION_CACHE_SLOTS - 1)];
}

const struct session_cache_entry *
session_cache_get(const char *session_id)
{
	char key[37];
	struct session_cache_entry *e = sc_slot(session_id, key);

	if (e == NULL || e->fresh_until == 0 || strcmp(e->id, key) != 0)
		return NULL;
	if (e->fresh_until <= sc_monotonic_ms() || e->expires_ms <= api_now_ms()) {
		e->fresh_until = 0;
		return NULL;
	}
	return e;
}

void
session_cache_put(const char *session_id, const char *owner_id, const char *sub, int epoch,
    long long expires_ms)
{
	char key[37];
	struct session_cache_entry *e = sc_slot(session_id, key);

	if (e == NULL || strlen(owner_id) >= sizeof(e->owner_id) || strlen(sub) >= sizeof(e->sub))
		return;
	memcpy(e->id, key, sizeof(e->id));
	strcpy(e->owner_id, owner_id);
	strcpy(e->sub, sub);
	e->epoch = epoch;
	e->expires_ms = expires_ms;
	e->fresh_until = sc_monotonic_ms() + SESSION_CACHE_TTL_MS;
}

void
session_cache_forget(const char *session_id)
{
	char key[37];
	struct session_cache_entry *e = sc_slot(session_id, key);

	if (e != NULL && strcmp(e->id, key) == 0)
		e->fresh_until = 0;
}

void
session_cache_forget_owner(const char *owner_id)
{
	for (size_t i = 0; i < SESSION_CACHE_SLOTS; i++)
		if (sc_slots[i].fresh_until != 0 && strcmp(sc_slots[i].owner_id, owner_id) == 0)
			sc_slots[i].fresh_until = 0;
}
