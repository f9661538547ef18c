/* Time as milliseconds since the Unix epoch, and an injectable clock for core and tests. */
#ifndef SI_COMMON_CLOCK_H
#define SI_COMMON_CLOCK_H

#include "err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef int64_t si_ms; /* milliseconds since 1970-01-01T00:00:00Z, UTC */

#define SI_MS_PER_DAY    ((si_ms)86400000)
#define SI_TIME_TEXT_LEN 25 /* "2026-11-26T05:05:42.123Z" + NUL */

/* A clock the caller passes in; core never reads the system clock itself. */
struct clock {
    si_ms (*now)(void *ctx);
    void *ctx;
};

/* The real wall clock (CLOCK_REALTIME). */
extern const struct clock clock_system;

static inline si_ms clock_now(const struct clock *c)
{
    return c->now(c->ctx);
}

/* A clock that never goes back: it reads inner and hands out the highest time it has handed
 * out so far. When the wall clock steps back (an operator, NTP correcting a fast clock), the
 * service's time holds until the wall catches up instead of reviving expired links, counting
 * future emails in resend windows or leaving due outbox rows "in the future" (docs/FAULTS.md).
 * A step forward is taken as it comes. Caller-owned storage; inner must outlive it. Safe to
 * read from any thread. */
struct clock_forward {
    struct clock clock; /* what readers use: clock_now(&f->clock) */
    const struct clock *inner;
    _Atomic si_ms high;        /* the highest time handed out */
    _Atomic si_ms warned_high; /* high when a step back was last logged: one line per step */
};

/* Makes f read inner; pass &f->clock to the readers. */
void clock_forward_init(struct clock_forward *f, const struct clock *inner);

/* Formats t as RFC 3339 UTC with milliseconds into out[SI_TIME_TEXT_LEN]. */
void time_format(si_ms t, char out[SI_TIME_TEXT_LEN]);

#define SI_MAIL_DATE_LEN 32 /* "Thu, 26 Nov 2026 05:05:42 +0000" + NUL */
/* Formats t as an RFC 5322 date in UTC (seconds) into out[SI_MAIL_DATE_LEN]; false (out empty)
 * for a year outside 0000-9999, which that format cannot write. */
bool time_format_mail(si_ms t, char out[SI_MAIL_DATE_LEN]);

/* Parses an RFC 3339 timestamp ("...Z" or "+hh:mm", optional fraction); SI_EINVAL if malformed. */
enum si_err time_parse(const char *s, si_ms *out) SI_MUST_USE;

/* Every timed wait of a thread: a CLOCK_MONOTONIC instant ms from now, for clock_cond_wait. A
 * CLOCK_REALTIME deadline would stretch by a day when the wall clock steps back a day
 * (scripts/check-src.sh refuses one outside this file). */
struct timespec clock_deadline_after(si_ms ms);

/* Microseconds on CLOCK_MONOTONIC: for rate limits, timeouts and ages, never for domain time
 * (it does not step with the wall clock). */
int64_t clock_mono_us(void);

/* Waits on cv (mu held, as pthread_cond_wait) until signalled or the monotonic deadline passes.
 * Returns ETIMEDOUT at the deadline, else 0 (a wake may be spurious: callers recheck their
 * condition). Any condvar works: the clock is picked here, not when cv was made. */
int clock_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, const struct timespec *deadline);

#endif
