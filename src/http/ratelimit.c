/* Token buckets by API key ID in an open-addressed table guarded by one mutex: a lookup is a
 * hash and a few compares, far below the cost of the request it guards. */
#include "http/ratelimit.h"

#include "common/xalloc.h"
#include "common/ids.h"

#include <stdio.h>
#include <stdlib.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#define PROBE_MAX 8 /* slots tried per key before the least recently used is reused */
#define US_PER_S  1000000.0

struct bucket {
    char key[SI_ID_LEN]; /* "" = free */
    double tokens;
    int64_t last_us;
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
static struct bucket *slot_for(struct ratelimit *rl, const char *key, int64_t now_us)
{
    uint32_t h = hash(key);
    struct bucket *oldest = NULL;
    for (uint32_t i = 0; i < PROBE_MAX; i++) {
        struct bucket *b = &rl->slots[(h + i) % RATELIMIT_KEYS_MAX];
        if (strcmp(b->key, key) == 0)
            return b;
        if (!b->key[0] || !oldest || b->last_us < oldest->last_us)
            oldest = b;
        if (!b->key[0])
            break;
    }
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    oldest->tokens = rl->burst;
    oldest->last_us = now_us;
    return oldest;
}

bool ratelimit_take(struct ratelimit *rl, const char *key_id, int64_t now_us, long *retry_after_s)
{
    pthread_mutex_lock(&rl->lock);
    struct bucket *b = slot_for(rl, key_id, now_us);
    double refill = (double)(now_us - b->last_us) / US_PER_S * rl->rate;
    b->tokens = fmin(rl->burst, b->tokens + (refill > 0 ? refill : 0));
    b->last_us = now_us > b->last_us ? now_us : b->last_us;
    bool ok = b->tokens >= 1;
    if (ok)
        b->tokens -= 1;
    else
        *retry_after_s = (long)ceil((1 - b->tokens) / rl->rate);
    pthread_mutex_unlock(&rl->lock);
    if (!ok && *retry_after_s < 1)
        *retry_after_s = 1;
    return ok;
}
