/* Deterministic fakes for the clock and random seams (see fakes.h). */
#include "fakes.h"

#include <string.h>

static si_ms fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

void fake_clock_init(struct fake_clock *fc, si_ms now)
{
    fc->now = now;
    fc->clock.now = fake_now;
    fc->clock.ctx = fc;
}

/* splitmix64: tiny, well mixed, and fully determined by its state. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Eight bytes per step, little-endian on every machine we build on; the tests compare the
 * output of two identical streams, never fixed byte values. */
static void fake_fill(void *ctx, void *out, size_t n)
{
    struct fake_random *fr = ctx;
    uint8_t *p = out;
    fr->calls++;
    while (n > 0) {
        uint64_t v = splitmix64(&fr->state);
        size_t k = n < sizeof v ? n : sizeof v;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

void fake_random_init(struct fake_random *fr, uint64_t seed)
{
    fr->state = seed;
    fr->calls = 0;
    fr->source.fill = fake_fill;
    fr->source.ctx = fr;
}

static void constant_fill(void *ctx, void *out, size_t n)
{
    memset(out, ((struct fake_constant_random *)ctx)->byte, n);
}

void fake_constant_random_init(struct fake_constant_random *fc, uint8_t byte)
{
    fc->byte = byte;
    fc->source.fill = constant_fill;
    fc->source.ctx = fc;
}
