/* Deterministic stand-ins for the clock and the random source, the seams core takes as input. */
#ifndef SI_TESTS_FAKES_H
#define SI_TESTS_FAKES_H

#include "common/clock.h"
#include "common/secure.h"

#include <stddef.h>
#include <stdint.h>

/* A clock that reads `now` and moves only when a test moves it. */
struct fake_clock {
    si_ms now;
    struct clock clock; /* pass &fc.clock where a const struct clock * is wanted */
};

/* Sets the fake to read `now`; the struct must outlive every use of fc->clock. */
void fake_clock_init(struct fake_clock *fc, si_ms now);

/* A reproducible byte stream: the same seed gives the same bytes, call after call. */
struct fake_random {
    uint64_t state;
    size_t calls; /* how many fills were made, so tests can check a source was (not) used */
    struct random_source source;
};

/* Starts the stream at seed (any value, 0 included). */
void fake_random_init(struct fake_random *fr, uint64_t seed);

/* A source that fills every byte with the same value; for edge cases (all-0x00, all-0xff). */
struct fake_constant_random {
    uint8_t byte;
    struct random_source source;
};

void fake_constant_random_init(struct fake_constant_random *fc, uint8_t byte);

/* 2026-11-26T05:05:42.123Z, a fixed "now" for tests that need a plausible date. */
#define FAKE_NOW ((si_ms)1795669542123)

#endif
