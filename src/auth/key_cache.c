/* The key cache: a direct-mapped table under one mutex. A hit copies ~1 KB under the lock, far
 * less than the round trip it saves; a second (key, site) pair that maps to the same slot just
 * replaces the first. */
#include "auth/key_cache.h"

#include "common/secure.h"
#include "common/xalloc.h"

#include <pthread.h>
#include <string.h>

struct entry {
    uint64_t epoch; /* 0: empty */
    int64_t filled_ms;
    uint8_t hash[32];
    bool has_site;
    char site_id[SI_ID_LEN];
    struct api_key_row key;
    struct site site; /* owns its settings */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry slots[KEY_CACHE_SLOTS];

/* The key hash is a cryptographic hash, spread already; the site's ID is folded in (FNV-1a)
 * and the high bits mixed down, so every byte of both picks the slot. */
static struct entry *slot_of(const uint8_t hash[32], const char *site_id)
{
    uint32_t h = (uint32_t)hash[0] | (uint32_t)hash[1] << 8 | (uint32_t)hash[2] << 16 |
                 (uint32_t)hash[3] << 24;
    for (const char *p = site_id ? site_id : ""; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    return &slots[h % KEY_CACHE_SLOTS];
}

static bool same_site(const struct entry *e, const char *site_id)
{
    if (!site_id)
        return !e->has_site;
    return e->has_site && strncmp(e->site_id, site_id, sizeof e->site_id) == 0;
}

static void copy_site(struct site *dst, const struct site *src)
{
    *dst = *src;
    dst->settings = NULL;
    if (src->settings)
        site_settings_put(dst, src->settings);
}

static void entry_clear(struct entry *e)
{
    site_cleanup(&e->site);
    memset(e, 0, sizeof *e);
}

bool key_cache_get(const uint8_t hash[32], const char *site_id, uint64_t epoch, int64_t now_ms,
                   struct api_key_row *key, struct site *site)
{
    if (!epoch)
        return false;
    pthread_mutex_lock(&mu);
    struct entry *e = slot_of(hash, site_id);
    /* Constant-time, like every comparison of key material here: what a caller's timing
     * could learn is only the hash of a valid key, but nothing needs to leak that either. */
    bool hit = e->epoch == epoch && now_ms - e->filled_ms < KEY_CACHE_TTL_MS &&
               now_ms >= e->filled_ms && secure_equal(e->hash, hash, sizeof e->hash) &&
               same_site(e, site_id);
    if (hit) {
        *key = e->key;
        if (e->has_site)
            copy_site(site, &e->site);
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

void key_cache_put(const uint8_t hash[32], const char *site_id, uint64_t epoch, int64_t now_ms,
                   const struct api_key_row *key, const struct site *site, bool site_found)
{
    if (!epoch || key->revoked != 0 || (site_id && !site_found))
        return;
    if (site_id && strlen(site_id) >= SI_ID_LEN)
        return; /* not an ID we issue: no site was found by it anyway */
    pthread_mutex_lock(&mu);
    struct entry *e = slot_of(hash, site_id);
    entry_clear(e);
    e->epoch = epoch;
    e->filled_ms = now_ms;
    memcpy(e->hash, hash, sizeof e->hash);
    e->key = *key;
    e->key.actor = NULL;
    e->has_site = site_id != NULL;
    if (site_id) {
        memcpy(e->site_id, site_id, strlen(site_id) + 1);
        copy_site(&e->site, site);
    }
    pthread_mutex_unlock(&mu);
}

void key_cache_clear(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++)
        entry_clear(&slots[i]);
    pthread_mutex_unlock(&mu);
}
