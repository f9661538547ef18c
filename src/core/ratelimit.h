/* The token-bucket rule behind per-key rate limits, written once: the in-process buckets
 * (request/ratelimit.h) and the shared ones in PostgreSQL (store_key_take) both call it. No I/O and
 * no clock: the caller passes the time in. */
#ifndef SI_CORE_RATELIMIT_H
#define SI_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* One bucket: tokens left at refill_ms, the time (milliseconds, any epoch) they were counted. A
 * new bucket is full: {burst, now}. */
struct rate_bucket {
    double tokens;
    int64_t refill_ms;
};

/* Refills b at rate tokens per second (> 0) up to burst (< 1 counts as 1) for the time since
 * b->refill_ms (a clock going back adds nothing and keeps refill_ms), then takes one token.
 * true: taken, go on. false: b stays refilled but untaken and *retry_after_s (>= 1) says in how
 * many whole seconds a token will be there. b is updated in both cases. */
bool rate_take(struct rate_bucket *b, double rate, double burst, int64_t now_ms,
               long *retry_after_s);

#endif
