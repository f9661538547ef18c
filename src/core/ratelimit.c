/* Token-bucket arithmetic: refill by elapsed time, cap at the burst, take one or say when. */
#include "core/ratelimit.h"

#include <math.h>

#define MS_PER_S 1000.0

bool rate_take(struct rate_bucket *b, double rate, double burst, int64_t now_ms,
               long *retry_after_s)
{
    if (burst < 1)
        burst = 1;
    if (now_ms > b->refill_ms) {
        b->tokens += (double)(now_ms - b->refill_ms) / MS_PER_S * rate;
        b->refill_ms = now_ms;
    }
    if (b->tokens > burst)
        b->tokens = burst;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return true;
    }
    long wait = (long)ceil((1 - b->tokens) / rate);
    *retry_after_s = wait < 1 ? 1 : wait;
    return false;
}
