/* The test clock: the system clock plus an offset kept in a file, re-read when the file changes. */
#include "cli/test_clock.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OFFSET_TEXT_MAX 32 /* bytes of the file read: a 64-bit decimal and a newline fit */

struct test_clock {
    struct clock clock; /* ctx points back here */
    char *path;
    pthread_mutex_t mu; /* guards the members below: every thread reads the clock */
    struct stat seen;   /* the file as last read; st_ino 0 = not read yet */
    bool present;
    si_ms offset_ms;
};

/* Reads the offset; a missing, empty or malformed file reads as 0 (malformed is logged). */
static si_ms read_offset(const char *path)
{
    char text[OFFSET_TEXT_MAX];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    while (*end == '\n' || *end == ' ' || *end == '\r')
        end++;
    if (n == 0)
        return 0;
    if (errno || end == text || *end) {
        log_warn("test clock: %s does not hold one number of milliseconds; using 0", path);
        return 0;
    }
    return (si_ms)v;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static si_ms test_now(void *ctx)
{
    struct test_clock *t = ctx;
    struct stat st;
    bool present = stat(t->path, &st) == 0;
    pthread_mutex_lock(&t->mu);
    if (present != t->present || (present && !same_file(&st, &t->seen))) {
        si_ms was = t->offset_ms;
        t->offset_ms = present ? read_offset(t->path) : 0;
        t->present = present;
        if (present)
            t->seen = st;
        if (t->offset_ms != was)
            log_info("test clock: offset now %lld ms", (long long)t->offset_ms);
    }
    si_ms offset = t->offset_ms;
    pthread_mutex_unlock(&t->mu);
    return clock_now(&clock_system) + offset;
}

struct test_clock *test_clock_new(const char *path, const struct clock **out_clock)
{
    struct test_clock *t = xcalloc(1, sizeof *t);
    t->path = xstrdup(path);
    pthread_mutex_init(&t->mu, NULL);
    t->clock = (struct clock){.now = test_now, .ctx = t};
    *out_clock = &t->clock;
    return t;
}

void test_clock_free(struct test_clock *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->path);
    free(t);
}
