/* Wall clock and RFC 3339 formatting/parsing of millisecond timestamps. */
#include "clock.h"

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

void time_format(si_ms t, char out[SI_TIME_TEXT_LEN])
{
    time_t secs = (time_t)(t >= 0 ? t / 1000 : (t - 999) / 1000);
    int ms = (int)(t - (si_ms)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* A 64-byte scratch keeps gcc's truncation analysis quiet for absurd years; real years fit. */
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    memcpy(out, tmp, SI_TIME_TEXT_LEN - 1);
    out[SI_TIME_TEXT_LEN - 1] = '\0';
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
