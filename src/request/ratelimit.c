/* Token buckets by API key ID in an open-addressed table guarded by one mutex: a lookup is a
 * hash and a few compares, far below the cost of the request it guards. */
#include "request/ratelimit.h"

#include "common/ids.h"
#include "common/xalloc.h"
#include "core/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>

#include <pthread.h>
#include <string.h>

#define PROBE_MAX 8 /* slots tried per key before the least recently used is reused */
#define US_PER_MS 1000

struct bucket {
    char key[SI_ID_LEN];  /* "" = free */
    struct rate_bucket b; /* core's rule; refill_ms on the monotonic clock */
};

struct ratelimit {
    double rate, burst;
    pthread_mutex_t lock;
    struct bucket slots[RATELIMIT_KEYS_MAX];
};

struct ratelimit *ratelimit_new(double rate, double burst)
{
    struct ratelimit *rl = xcalloc(1, sizeof *rl);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The key's slot: found, else a free one, else the least recently used of the probed. */
static struct bucket *slot_for(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    uint32_t h = hash(key);
    struct bucket *oldest = NULL;
    for (uint32_t i = 0; i < PROBE_MAX; i++) {
        struct bucket *b = &rl->slots[(h + i) % RATELIMIT_KEYS_MAX];
        if (strcmp(b->key, key) == 0)
            return b;
        if (!b->key[0] || !oldest || b->b.refill_ms < oldest->b.refill_ms)
            oldest = b;
        if (!b->key[0])
            break;
    }
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    oldest->b = (struct rate_bucket){rl->burst, now_ms};
    return oldest;
}

bool ratelimit_take(struct ratelimit *rl, const char *key_id, int64_t now_us, long *retry_after_s)
{
    int64_t now_ms = now_us / US_PER_MS;
    pthread_mutex_lock(&rl->lock);
    bool ok =
        rate_take(&slot_for(rl, key_id, now_ms)->b, rl->rate, rl->burst, now_ms, retry_after_s);
    pthread_mutex_unlock(&rl->lock);
    return ok;
}
