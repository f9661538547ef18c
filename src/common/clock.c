/* Wall clock and RFC 3339 formatting/parsing of millisecond timestamps. */
#include "clock.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static si_ms system_now(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (si_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct clock clock_system = {.now = system_now, .ctx = NULL};

#define STEP_LOG_MS 1000 /* a step back shorter than this (NTP slewing, jitter) goes unlogged */

static si_ms forward_now(void *ctx)
{
    struct clock_forward *f = ctx;
    si_ms t = clock_now(f->inner);
    si_ms h = atomic_load(&f->high);
    while (t > h)
        if (atomic_compare_exchange_weak(&f->high, &h, t))
            return t;
    if (h - t >= STEP_LOG_MS && atomic_exchange(&f->warned_high, h) != h)
        log_warn("clock: the wall clock stepped back %lld ms; the service's time holds until it "
                 "catches up",
                 (long long)(h - t));
    return h;
}

void clock_forward_init(struct clock_forward *f, const struct clock *inner)
{
    f->inner = inner;
    atomic_init(&f->high, 0);
    atomic_init(&f->warned_high, 0);
    f->clock = (struct clock){.now = forward_now, .ctx = f};
}

#define NS_PER_S 1000000000L

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct timespec clock_deadline_after(si_ms ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms < 0)
        ms = 0;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= NS_PER_S) {
        ts.tv_sec++;
        ts.tv_nsec -= NS_PER_S;
    }
    return ts;
}

int clock_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, const struct timespec *deadline)
{
    /* glibc >= 2.30: the clock travels with the call, so no condvar can be made on the wrong
     * one by a forgotten pthread_condattr_setclock. */
    int rc = pthread_cond_clockwait(cv, mu, CLOCK_MONOTONIC, deadline);
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

/* Writes v as exactly n decimal digits (v < 10^n). */
static void put_digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Civil date of a day count since 1970-01-01 (Howard Hinnant's days_from_civil inverse): pure
 * arithmetic, where gmtime_r takes glibc's time-zone lock on every call, and timestamps are
 * formatted several times per invite on every answer. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void time_format(si_ms t, char out[SI_TIME_TEXT_LEN])
{
    int64_t days = (t >= 0 ? t : t - (SI_MS_PER_DAY - 1)) / SI_MS_PER_DAY;
    int64_t in_day = t - days * SI_MS_PER_DAY;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) { /* outside RFC 3339: clamp rather than write a wrong shape */
        memcpy(out, y < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z",
               SI_TIME_TEXT_LEN);
        return;
    }
    memcpy(out, "0000-00-00T00:00:00.000Z", SI_TIME_TEXT_LEN);
    put_digits(out, y, 4);
    put_digits(out + 5, m, 2);
    put_digits(out + 8, d, 2);
    put_digits(out + 11, (int)(in_day / 3600000), 2);
    put_digits(out + 14, (int)(in_day / 60000 % 60), 2);
    put_digits(out + 17, (int)(in_day / 1000 % 60), 2);
    put_digits(out + 20, (int)(in_day % 1000), 3);
}

bool time_format_mail(si_ms t, char out[SI_MAIL_DATE_LEN])
{
    static const char days[] = "ThuFriSatSunMonTueWed"; /* 1970-01-01 was a Thursday */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t day = (t >= 0 ? t : t - (SI_MS_PER_DAY - 1)) / SI_MS_PER_DAY;
    int64_t in_day = t - day * SI_MS_PER_DAY;
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    out[0] = '\0';
    if (y < 0 || y > 9999)
        return false;
    memcpy(out, "Ddd, 00 Mmm 0000 00:00:00 +0000", SI_MAIL_DATE_LEN);
    memcpy(out, days + 3 * (int)(((day % 7) + 7) % 7), 3);
    put_digits(out + 5, d, 2);
    memcpy(out + 8, months + 3 * (m - 1), 3);
    put_digits(out + 12, y, 4);
    put_digits(out + 17, (int)(in_day / 3600000), 2);
    put_digits(out + 20, (int)(in_day / 60000 % 60), 2);
    put_digits(out + 23, (int)(in_day / 1000 % 60), 2);
    return true;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c && !(c == 'T' && (**p == 't' || **p == ' ')))
        return -1;
    (*p)++;
    return 0;
}

enum si_err time_parse(const char *s, si_ms *out)
{
    int y, mo, d, h, mi, sec, ms = 0;
    const char *p = s;
    if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
        digits(&p, 2, &d) || expect(&p, 'T') || digits(&p, 2, &h) || expect(&p, ':') ||
        digits(&p, 2, &mi) || expect(&p, ':') || digits(&p, 2, &sec))
        return SI_EINVAL;
    if (*p == '.') {
        p++;
        int n = 0, scale = 100;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                ms += (*p - '0') * scale;
            scale /= 10;
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return SI_EINVAL;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) || oh > 23 || om > 59)
            return SI_EINVAL;
        offset_min = sign * (oh * 60 + om);
    } else {
        return SI_EINVAL;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return SI_EINVAL;
    /* A leap second (60) is validated as 59 and added back, so timegm's normalisation can be
     * used to refuse impossible dates (Feb 31 would silently become Mar 3). */
    int sec_checked = sec > 59 ? 59 : sec;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec_checked};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d || tm.tm_mon != mo - 1)
        return SI_EINVAL;
    t += sec - sec_checked;
    *out = ((si_ms)t - (si_ms)offset_min * 60) * 1000 + ms;
    return SI_OK;
}
