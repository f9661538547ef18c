/* RFC 3339 timestamps: formatting, parsing with offsets and fractions, and refusals. */
#include "common/clock.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <errno.h>

static void test_format(void **state)
{
    (void)state;
    char out[SI_TIME_TEXT_LEN];
    time_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    time_format(FAKE_NOW, out);
    assert_string_equal(out, "2026-11-26T05:05:42.123Z");
    time_format(951782400000 + 7, out); /* a leap day */
    assert_string_equal(out, "2000-02-29T00:00:00.007Z");
    time_format(-1, out); /* before the epoch the milliseconds still count up */
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    time_format(253402300799999, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

/* The arithmetic formatter agrees with the C library on every day from 1900 to 2200. */
static void test_format_matches_gmtime(void **state)
{
    (void)state;
    char ours[SI_TIME_TEXT_LEN], libc[64];
    for (si_ms day = -25567; day <= 84006; day++) {
        /* a varying time of day, always within the day */
        si_ms t = day * SI_MS_PER_DAY + ((day + 30000) * 7919 % SI_MS_PER_DAY);
        time_format(t, ours);
        time_t secs = (time_t)(t >= 0 ? t / 1000 : (t - 999) / 1000); /* floor */
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(libc, sizeof libc, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(t - (si_ms)secs * 1000));
        if (strcmp(ours, libc) != 0)
            fail_msg("day %lld: %s != %s", (long long)day, ours, libc);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    const si_ms samples[] = {0, 1, 999, 1000, FAKE_NOW, 951782400000, 4102444799999, -1, -1001};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char text[SI_TIME_TEXT_LEN];
        si_ms back = 42;
        time_format(samples[i], text);
        assert_int_equal(time_parse(text, &back), SI_OK);
        assert_int_equal(back, samples[i]);
    }
}

struct parse_case {
    const char *text;
    si_ms want;
};

static void test_parse_offsets_and_fractions(void **state)
{
    (void)state;
    const struct parse_case cases[] = {
        {"2026-11-26T05:05:42.123Z", FAKE_NOW},       {"2026-11-26T05:05:42Z", FAKE_NOW - 123},
        {"2026-11-26T05:05:42.1Z", FAKE_NOW - 23},    {"2026-11-26T05:05:42.12Z", FAKE_NOW - 3},
        {"2026-11-26T05:05:42.123456Z", FAKE_NOW},    /* sub-millisecond digits dropped */
        {"2026-11-26T05:05:42.123999999Z", FAKE_NOW}, /* truncated, not rounded */
        {"2026-11-26T07:05:42.123+02:00", FAKE_NOW},  {"2026-11-25T23:35:42.123-05:30", FAKE_NOW},
        {"2026-11-26T05:05:42.123+00:00", FAKE_NOW},  {"2026-11-26T05:05:42.123-00:00", FAKE_NOW},
        {"2026-11-26t05:05:42.123z", FAKE_NOW}, /* RFC 3339 5.6 allows lowercase */
        {"2026-11-26 05:05:42.123Z", FAKE_NOW}, /* and a space, per its note */
        {"2026-11-27T04:05:42.123+23:00", FAKE_NOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        si_ms t = 0;
        if (time_parse(cases[i].text, &t) != SI_OK)
            fail_msg("\"%s\" was refused", cases[i].text);
        if (t != cases[i].want)
            fail_msg("\"%s\" gave %lld", cases[i].text, (long long)t);
    }
}

static void test_parse_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2026-11-26",
        "2026-11-26T05:05:42",             /* no zone */
        "2026-11-26T05:05:42.123",         /* no zone */
        "2026-11-26T05:05:42.Z",           /* empty fraction */
        "2026-11-26T05:05:42.1234567890Z", /* fraction over nanoseconds */
        "2026-11-26T05:05:42.123Zjunk",
        "2026-11-26T05:05:42.123Z ",
        " 2026-11-26T05:05:42.123Z",
        "2026-1-26T05:05:42Z",
        "26-11-26T05:05:42Z",
        "2026/11/26T05:05:42Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-32T00:00:00Z",
        "2026-11-26T24:00:00Z",
        "2026-11-26T23:60:00Z",
        "2026-11-26T23:59:61Z",
        "2026-11-26T05:05:42+0200",
        "2026-11-26T05:05:42+02",
        "2026-11-26T05:05:42+24:00",
        "2026-11-26T05:05:42+02:60",
        "2026-11-26X05:05:42Z",
        "2026-11-26T05-05-42Z",
        "abcd-ef-ghTij:kl:mnZ",
        "2026-11-26T05:05:4Z",
        "2026-02-31T00:00:00Z", /* impossible dates must not be normalised */
        "2026-02-29T00:00:00Z", /* 2026 is not a leap year */
        "2026-04-31T12:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        si_ms t = 7;
        if (time_parse(bad[i], &t) != SI_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
}

static void test_parse_leap_day_and_second(void **state)
{
    (void)state;
    si_ms a, b;
    assert_int_equal(time_parse("2028-02-29T00:00:00Z", &a), SI_OK);
    assert_int_equal(time_parse("2028-03-01T00:00:00Z", &b), SI_OK);
    assert_int_equal(b - a, SI_MS_PER_DAY);
    /* A leap second reads as the first instant of the next minute. */
    assert_int_equal(time_parse("2016-12-31T23:59:60Z", &a), SI_OK);
    assert_int_equal(time_parse("2017-01-01T00:00:00Z", &b), SI_OK);
    assert_int_equal(a, b);
}

static void test_fake_clock(void **state)
{
    (void)state;
    struct fake_clock fc;
    fake_clock_init(&fc, FAKE_NOW);
    assert_int_equal(clock_now(&fc.clock), FAKE_NOW);
    fc.now += 1500;
    assert_int_equal(clock_now(&fc.clock), FAKE_NOW + 1500);
    /* the system clock reads milliseconds, not seconds: after 2020-01-01 and before 2126 */
    si_ms real = clock_now(&clock_system);
    assert_true(real > (si_ms)1577836800000);
    assert_true(real < FAKE_NOW + 100 * 365 * SI_MS_PER_DAY);
}

/* A step back holds the time at the highest seen until the wall catches up; forward follows. */
static void test_forward_clock_never_goes_back(void **state)
{
    (void)state;
    struct fake_clock fc;
    fake_clock_init(&fc, FAKE_NOW);
    struct clock_forward f;
    clock_forward_init(&f, &fc.clock);
    assert_int_equal(clock_now(&f.clock), FAKE_NOW);
    fc.now -= SI_MS_PER_DAY;
    assert_int_equal(clock_now(&f.clock), FAKE_NOW);
    fc.now = FAKE_NOW - 1;
    assert_int_equal(clock_now(&f.clock), FAKE_NOW);
    fc.now = FAKE_NOW + 7 * SI_MS_PER_DAY;
    assert_int_equal(clock_now(&f.clock), FAKE_NOW + 7 * SI_MS_PER_DAY);
    fc.now = FAKE_NOW;
    assert_int_equal(clock_now(&f.clock), FAKE_NOW + 7 * SI_MS_PER_DAY);
}

static si_ms mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (si_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The deadline is on CLOCK_MONOTONIC (a realtime one would be decades ahead of it and the wait
 * would not end), and the wait ends there with ETIMEDOUT, on a condvar made with no attributes. */
static void test_cond_wait_monotonic(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    si_ms start = mono_ms();
    struct timespec until = clock_deadline_after(120);
    si_ms at = (si_ms)until.tv_sec * 1000 + until.tv_nsec / 1000000;
    assert_in_range(at - start, 119, 121 + 50);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (rc != ETIMEDOUT)
        rc = clock_cond_wait(&cv, &mu, &until);
    pthread_mutex_unlock(&mu);
    si_ms waited = mono_ms() - start;
    assert_in_range(waited, 119, 5000);
    struct timespec past = clock_deadline_after(-5); /* negative reads as now: no wait */
    pthread_mutex_lock(&mu);
    assert_int_equal(clock_cond_wait(&cv, &mu, &past), ETIMEDOUT);
    pthread_mutex_unlock(&mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_matches_gmtime),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_offsets_and_fractions),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_leap_day_and_second),
        cmocka_unit_test(test_fake_clock),
        cmocka_unit_test(test_cond_wait_monotonic),
        cmocka_unit_test(test_forward_clock_never_goes_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
