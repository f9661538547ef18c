/* Per-API-key rate limits: a token bucket per key ID (rate per second, burst; the rule is
 * core/ratelimit.h), kept in a fixed table in memory, so the limit holds per process. Serve uses
 * it when the store keeps no shared buckets (SQLite: one process); on PostgreSQL the buckets
 * live in the database (store_key_take) and hold across instances. */
#ifndef SI_REQUEST_RATELIMIT_H
#define SI_REQUEST_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_KEYS_MAX 4096 /* keys tracked at once; a key pushed out starts full again */

struct ratelimit;

/* A limiter allowing rate requests per second per key with bursts of up to burst (>= 1).
 * Aborts on out-of-memory (server only). Free with ratelimit_free. */
struct ratelimit *ratelimit_new(double rate, double burst);

/* NULL is accepted. */
void ratelimit_free(struct ratelimit *rl);

/* Takes one token of key_id's bucket at now_us (a monotonic clock). true: go on; false: the
 * bucket is empty and *retry_after_s (>= 1) says when a token will be there. Thread-safe. */
bool ratelimit_take(struct ratelimit *rl, const char *key_id, int64_t now_us, long *retry_after_s);

#endif
