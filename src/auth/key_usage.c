/* The "last used" recorder of API keys: the map of recent notes, the queue and its writer thread
 * (see key_usage.h). */
#include "auth/key_usage.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_MIN 64 /* slots of a new map; a power of two */

/* One remembered key: when its use was last handed to the writer. at 0 = empty slot. */
struct slot {
    char id[SI_ID_LEN];
    si_ms at;
};

struct key_usage {
    struct store *store;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* uses were queued, or stop was asked */
    /* Under mu: the map (open addressing, linear probing, at most half full) and the queue. */
    struct slot *slots;
    size_t cap, used;
    struct key_use *queue;
    size_t queued, queue_cap;
    bool stopping;
};

/* FNV-1a: IDs are random already, any spread will do. */
static size_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211u;
    return (size_t)h;
}

/* The slot of id, or the empty one where it goes. The map is never full (load <= 1/2). */
static struct slot *map_find(struct slot *slots, size_t cap, const char *id)
{
    for (size_t i = id_hash(id) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].at || strcmp(slots[i].id, id) == 0)
            return &slots[i];
}

/* Makes room for one more key: doubles the map, or past KEY_USAGE_KEYS_MAX empties it (each
 * key is then written once more, within the minute). Under mu. */
static void map_reserve(struct key_usage *u)
{
    if ((u->used + 1) * 2 <= u->cap)
        return;
    size_t cap = u->cap * 2;
    struct slot *old = u->slots;
    size_t old_cap = u->cap;
    if (u->used >= KEY_USAGE_KEYS_MAX) {
        cap = MAP_MIN;
        old_cap = 0;
        u->used = 0;
    }
    u->slots = xcalloc(cap, sizeof *u->slots);
    u->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].at)
            *map_find(u->slots, cap, old[i].id) = old[i];
    free(old);
}

void key_usage_note(struct key_usage *u, const char *key_id, si_ms now)
{
    if (!u || !key_id[0] || now <= 0)
        return;
    pthread_mutex_lock(&u->mu);
    struct slot *s = map_find(u->slots, u->cap, key_id);
    /* The hot path: this key was handed over less than a minute ago. */
    if (s->at && now < s->at + KEY_USAGE_EVERY_MS)
        goto out;
    if (u->queued == KEY_USAGE_QUEUE_MAX || u->stopping)
        goto out; /* not marked: the key's next request tries again */
    if (!s->at) {
        map_reserve(u);
        s = map_find(u->slots, u->cap, key_id);
        snprintf(s->id, sizeof s->id, "%s", key_id);
        u->used++;
    }
    s->at = now;
    if (u->queued == u->queue_cap) {
        u->queue_cap = u->queue_cap ? u->queue_cap * 2 : 16;
        u->queue = xrealloc(u->queue, u->queue_cap * sizeof *u->queue);
    }
    u->queue[u->queued].at = now;
    memcpy(u->queue[u->queued].key_id, s->id, SI_ID_LEN);
    u->queued++;
    pthread_cond_signal(&u->cv);
out:
    pthread_mutex_unlock(&u->mu);
}

static int by_key_id(const void *a, const void *b)
{
    return strcmp(((const struct key_use *)a)->key_id, ((const struct key_use *)b)->key_id);
}

/* Takes the queue as it is and writes it, until stopped with nothing left. */
static void *run(void *arg)
{
    pthread_setname_np(pthread_self(), "si-key-usage");
    struct key_usage *u = arg;
    struct key_use *batch = NULL;
    size_t batch_cap = 0;
    pthread_mutex_lock(&u->mu);
    for (;;) {
        while (!u->queued && !u->stopping)
            pthread_cond_wait(&u->cv, &u->mu);
        if (!u->queued)
            break; /* stopping, and everything is written */
        /* Swap the buffers: requests queue into the empty one while this batch is written. */
        struct key_use *take = u->queue;
        size_t n = u->queued, cap = u->queue_cap;
        u->queue = batch;
        u->queue_cap = batch_cap;
        u->queued = 0;
        batch = take;
        batch_cap = cap;
        pthread_mutex_unlock(&u->mu);
        /* Sorted by key ID: two servers' batches lock rows in one order (no deadlock). */
        qsort(batch, n, sizeof *batch, by_key_id);
        if (store_keys_used(u->store, batch, n) != SI_OK) /* the store logged why */
            log_warn("key usage: %zu last-used times not written; each key's next use after "
                     "a minute writes again",
                     n);
        pthread_mutex_lock(&u->mu);
    }
    pthread_mutex_unlock(&u->mu);
    free(batch);
    return NULL;
}

enum si_err key_usage_start(struct store *s, struct key_usage **out)
{
    struct key_usage *u = xcalloc(1, sizeof *u);
    u->store = s;
    u->cap = MAP_MIN;
    u->slots = xcalloc(u->cap, sizeof *u->slots);
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    if (pthread_create(&u->thread, NULL, run, u) != 0) {
        log_error("key usage: cannot start the writer thread");
        pthread_cond_destroy(&u->cv);
        pthread_mutex_destroy(&u->mu);
        free(u->slots);
        free(u);
        *out = NULL;
        return SI_EIO;
    }
    *out = u;
    return SI_OK;
}

void key_usage_stop(struct key_usage *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->mu);
    u->stopping = true;
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
    pthread_join(u->thread, NULL); /* it writes what is queued first */
    pthread_cond_destroy(&u->cv);
    pthread_mutex_destroy(&u->mu);
    free(u->slots);
    free(u->queue);
    free(u);
}
