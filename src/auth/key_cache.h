/* A process-wide cache of what authenticating a request reads: the key's row and the site the
 * request names, by the key's hash and the site's ID. That read is a round trip per request on
 * PostgreSQL and two lookups in the file on SQLite; the cache saves it while the store's epoch
 * (store_auth_epoch) has not moved, that is while no key and no site has changed anywhere
 * (docs/SECURITY.md, "The key cache").
 *
 * Only answers worth keeping go in: an active key and, when a site was asked for, a site that
 * exists. Unknown and revoked keys are always read again, so junk cannot fill the cache and a
 * revoked key has nothing cached to fall back on. An entry also ages out after
 * KEY_CACHE_TTL_MS, whatever the epoch: the bound if a change notification were ever lost
 * (PostgreSQL's feed; SQLite's epoch is read from the file at each request).
 * Thread-safe. */
#ifndef SI_AUTH_KEY_CACHE_H
#define SI_AUTH_KEY_CACHE_H

#include "core/invite.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define KEY_CACHE_SLOTS  256
#define KEY_CACHE_TTL_MS 10000

/* The answer cached for (hash, site_id) under epoch, if any, younger than KEY_CACHE_TTL_MS at
 * now_ms (a monotonic clock): *key, and *site (which must own nothing; it owns a copy of the
 * settings after a hit). site_id NULL is the lookup without a site. epoch 0 never hits. */
bool key_cache_get(const uint8_t hash[32], const char *site_id, uint64_t epoch, int64_t now_ms,
                   struct api_key_row *key, struct site *site);

/* Keeps an answer read under epoch (read before the lookup) at now_ms. Ignored for epoch 0, a
 * revoked key, or a site asked for and not found (site_found false). */
void key_cache_put(const uint8_t hash[32], const char *site_id, uint64_t epoch, int64_t now_ms,
                   const struct api_key_row *key, const struct site *site, bool site_found);

/* Drops every entry (tests; a process that wants nothing kept). */
void key_cache_clear(void);

#endif
