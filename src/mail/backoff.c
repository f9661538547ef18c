/* Exponential backoff with jitter for outbox retries. */
#include "backoff.h"

si_ms backoff_delay(int tries, uint32_t rnd)
{
    return backoff_delay_from(BACKOFF_BASE_MS, tries, rnd);
}

si_ms backoff_delay_from(si_ms base, int tries, uint32_t rnd)
{
    si_ms d = base > 0 ? base : BACKOFF_BASE_MS;
    /* Doubling stops at the cap, so no shift can overflow however large tries is. */
    for (int i = 1; i < tries && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    /* rnd / 2^32 in [0, 1) maps to a factor in [1 - j, 1 + j). */
    si_ms span = d * BACKOFF_JITTER_PCT / 100;
    si_ms offset = (si_ms)(((uint64_t)rnd * (uint64_t)(2 * span)) >> 32);
    return d - span + offset;
}

si_ms backoff_next_due(si_ms now, int tries, int max_tries, uint32_t rnd)
{
    return backoff_next_due_from(now, BACKOFF_BASE_MS, tries, max_tries, rnd);
}

si_ms backoff_next_due_from(si_ms now, si_ms base, int tries, int max_tries, uint32_t rnd)
{
    if (max_tries <= 0)
        max_tries = BACKOFF_ATTEMPTS_DEFAULT;
    if (tries >= max_tries)
        return 0;
    return now + backoff_delay_from(base, tries, rnd);
}
