/* Time as milliseconds since the Unix epoch, and an injectable clock for core and tests. */
#ifndef SI_COMMON_CLOCK_H
#define SI_COMMON_CLOCK_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

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

/* Formats t as RFC 3339 UTC with milliseconds into out[SI_TIME_TEXT_LEN]. */
void time_format(si_ms t, char out[SI_TIME_TEXT_LEN]);

/* Parses an RFC 3339 timestamp ("...Z" or "+hh:mm", optional fraction); SI_EINVAL if malformed. */
enum si_err time_parse(const char *s, si_ms *out) SI_MUST_USE;

#endif
