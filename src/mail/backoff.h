/* When to try a failed email again: exponential backoff with jitter, and when to give up. */
#ifndef SI_MAIL_BACKOFF_H
#define SI_MAIL_BACKOFF_H

#include "common/clock.h"

#include <stdint.h>

#define BACKOFF_BASE_MS          ((si_ms)30 * 1000)   /* wait after the first failed try */
#define BACKOFF_CAP_MS           ((si_ms)3600 * 1000) /* longest wait between two tries */
#define BACKOFF_JITTER_PCT       20                   /* each wait is moved by up to +-20% */
#define BACKOFF_ATTEMPTS_DEFAULT 10                   /* tries before an email is Failed */

/* The wait after the tries-th failed try (1 = the first): BACKOFF_BASE_MS * 2^(tries-1), capped
 * at BACKOFF_CAP_MS, then scaled by a factor in [0.8, 1.2] picked by rnd (any 32-bit value,
 * uniform). Spreads retries so a recovered server is not hit by every row at once. Pure. */
si_ms backoff_delay(int tries, uint32_t rnd);

/* The due time for the next try after a failure at now, when tries tries have been made in all
 * (this one included), or 0 when tries has reached max_tries and the email is Failed for good.
 * max_tries <= 0 means BACKOFF_ATTEMPTS_DEFAULT. Pure. */
si_ms backoff_next_due(si_ms now, int tries, int max_tries, uint32_t rnd);

/* backoff_delay with another first wait (base; <= 0 means BACKOFF_BASE_MS): the retry setting
 * of serve, and short waits in tests. Pure. */
si_ms backoff_delay_from(si_ms base, int tries, uint32_t rnd);

/* backoff_next_due with the first wait base (see backoff_delay_from). Pure. */
si_ms backoff_next_due_from(si_ms now, si_ms base, int tries, int max_tries, uint32_t rnd);

#endif
