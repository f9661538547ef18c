/* How much slower this machine reads memory after a pause (issue 14, bench/README.md "Why a quiet
 * call is slower than back to back"): random reads over a block of memory, four rounds back to
 * back, then rounds each after a pause. No part of the service; a probe of the machine.
 *   cc -O2 bench/idle_walk.c -o /tmp/idle_walk && /tmp/idle_walk 32 3
 * (32 MiB, 3 s pauses) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* 2,000,000 reads at xorshift-random places of p[0 .. n). */
static double walk(const unsigned *p, size_t n, unsigned long *x, volatile unsigned *sink)
{
    double t0 = now_ms();
    for (long k = 0; k < 2000000; k++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *sink += p[*x % n];
    }
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 32;
    unsigned pause_s = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
    size_t n = (mib << 20) / sizeof(unsigned);
    unsigned *p = malloc(n * sizeof *p);
    if (!p || n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned)i;
    unsigned long x = 88172645463325252UL;
    volatile unsigned sink = 0;
    for (int r = 0; r < 4; r++)
        printf("back to back: %.1f ms\n", walk(p, n, &x, &sink));
    for (int r = 0; r < 4; r++) {
        sleep(pause_s);
        printf("after %u s idle: %.1f ms\n", pause_s, walk(p, n, &x, &sink));
    }
    free(p);
    return 0;
}
