/* The site page's chart: invites created per day over the last 30 days, stacked by how each
 * ended, drawn on the server as inline SVG (no script), with its legend, the median time to
 * accept and the same numbers as a table for screen readers; mirrored for right-to-left pages.
 * The numbers are store_site_stats' (one snapshot). */
#include "console/console_int.h"

#include "api/page_template.h"
#include "common/template.h"

#include <stdio.h>
#include <string.h>

#define W           640 /* the drawing's coordinate space; it scales to the card's width */
#define H           260
#define PLOT_X0     56 /* the plot area: left of it the value labels, below it the day labels */
#define PLOT_X1     (W - 28)
#define PLOT_Y0     10
#define PLOT_Y1     (H - 38)
#define BAR_FILL    0.7 /* share of a day's slot the bar takes */
#define TICKS       4   /* value lines above zero */
#define LABEL_EVERY 7   /* days between two day labels, counted back from today */
#define WORD_MAX    128
#define MIN_MS      60000
#define HOUR_MS     3600000
#define NUM_TEXT    24

/* Bar colours by invite_status, each at least 4.5:1 on white (WCAG non-text contrast wants
 * 3:1), told apart by the legend and the table too, not by colour alone. */
static const char *const fills[SITE_COUNTS_LEN] = {
    [INVITE_PENDING] = "#1d4ed8",  /* blue 700 */
    [INVITE_USED] = "#047857",     /* emerald 700 */
    [INVITE_DECLINED] = "#b45309", /* amber 700 */
    [INVITE_DELETED] = "#b91c1c",  /* red 700 */
    [INVITE_EXPIRED] = "#52525b",  /* zinc 600 */
};
/* Bottom to top, and the legend's order: the "pending, accepted, declined, revoked,
 * expired". */
static const enum invite_status stack[SITE_COUNTS_LEN] = {
    INVITE_PENDING, INVITE_USED, INVITE_DECLINED, INVITE_DELETED, INVITE_EXPIRED};

/* The smallest 1, 2 or 5 times a power of ten that is at least n / TICKS: a tick step. */
static int64_t tick_step(int64_t n)
{
    int64_t want = (n + TICKS - 1) / TICKS, p = 1;
    for (;;) {
        if (p >= want)
            return p;
        if (2 * p >= want)
            return 2 * p;
        if (5 * p >= want)
            return 5 * p;
        p *= 10;
    }
}

static int64_t day_total(const int64_t day[SITE_COUNTS_LEN])
{
    int64_t t = 0;
    for (int s = 0; s < SITE_COUNTS_LEN; s++)
        t += day[s];
    return t;
}

/* x mirrored on a right-to-left page, so the newest day is at the reading end. */
static double mx(double x, bool rtl)
{
    return rtl ? W - x : x;
}

/* "12-04": month and day of the window's day d (UTC). */
static void day_label(const struct site_stats *st, int d, char out[SI_TIME_TEXT_LEN])
{
    char stamp[SI_TIME_TEXT_LEN];
    time_format(st->first_day + (si_ms)d * SI_MS_PER_DAY, stamp);
    snprintf(out, SI_TIME_TEXT_LEN, "%.10s", stamp);
}

/* The value lines and their labels, then the day labels. */
static enum si_err axes(struct buf *b, const struct site_stats *st, int64_t step, bool rtl)
{
    enum si_err rc = SI_OK;
    double scale = (double)(PLOT_Y1 - PLOT_Y0) / (double)(step * TICKS);
    for (int t = 0; !rc && t <= TICKS; t++) {
        double y = PLOT_Y1 - (double)(t * step) * scale;
        rc = buf_printf(b,
                        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%lld</text>",
                        mx(PLOT_X0, rtl), mx(PLOT_X1, rtl), y, y, t ? "#e4e4e7" : "#71717a",
                        mx(PLOT_X0 - 8, rtl), y + 6, rtl ? "start" : "end", (long long)(t * step));
    }
    double slot = (double)(PLOT_X1 - PLOT_X0) / SITE_STATS_DAYS;
    for (int d = SITE_STATS_DAYS - 1; !rc && d >= 0; d -= LABEL_EVERY) {
        char label[SI_TIME_TEXT_LEN];
        day_label(st, d, label);
        rc = buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
                        mx(PLOT_X0 + slot * (d + 0.5), rtl), PLOT_Y1 + 26, label + 5);
    }
    return rc;
}

/* One day's stacked bar: a rect per status with invites, bottom up. */
static enum si_err bar(struct buf *b, const int64_t day[SITE_COUNTS_LEN], int d, double scale,
                       bool rtl)
{
    double slot = (double)(PLOT_X1 - PLOT_X0) / SITE_STATS_DAYS, w = slot * BAR_FILL;
    double x = PLOT_X0 + slot * d + (slot - w) / 2, y = PLOT_Y1;
    if (rtl)
        x = W - x - w;
    enum si_err rc = SI_OK;
    for (int i = 0; !rc && i < SITE_COUNTS_LEN; i++) {
        int64_t n = day[stack[i]];
        if (n <= 0)
            continue;
        double h = (double)n * scale;
        y -= h;
        /* A white edge keeps two neighbouring segments apart. */
        rc = buf_printf(b,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\""
                        " stroke=\"#fff\" stroke-width=\"1\"/>",
                        x, y, w, h, fills[stack[i]]);
    }
    return rc;
}

/* The <svg>: role img, named by its <title> and described by the median line. */
static enum si_err drawing(struct buf *b, const struct site_stats *st, const char *title, bool rtl)
{
    int64_t max = 0;
    for (int d = 0; d < SITE_STATS_DAYS; d++) {
        int64_t t = day_total(st->days[d]);
        max = t > max ? t : max;
    }
    int64_t step = tick_step(max > TICKS ? max : TICKS);
    double scale = (double)(PLOT_Y1 - PLOT_Y0) / (double)(step * TICKS);
    enum si_err rc = buf_printf(b,
                                "<svg class=\"chart-svg\" viewBox=\"0 0 %d %d\" role=\"img\""
                                " aria-labelledby=\"chart-svg-title\" aria-describedby=\"chart-"
                                "median\" font-size=\"18\" fill=\"#3f3f46\" direction=\"ltr\">"
                                "<title id=\"chart-svg-title\">",
                                W, H);
    if (!rc)
        rc = template_escape(b, title, TEMPLATE_HTML);
    if (!rc)
        rc = buf_puts(b, "</title>");
    if (!rc)
        rc = axes(b, st, step, rtl);
    for (int d = 0; !rc && d < SITE_STATS_DAYS; d++)
        rc = bar(b, st->days[d], d, scale, rtl);
    return rc ? rc : buf_puts(b, "</svg>");
}

/* The legend: a swatch and the status word per colour (HTML, so it wraps on a phone). */
static enum si_err legend(struct buf *b, const char *lang)
{
    struct console_values none = {.v = {NULL}};
    enum si_err rc = buf_puts(b, "<ul class=\"legend\">");
    for (int i = 0; !rc && i < SITE_COUNTS_LEN; i++) {
        char word[WORD_MAX];
        console_fragment_text(lang, (enum console_page)(CP_STATUS_PENDING + stack[i]), &none, word,
                              sizeof word);
        rc = buf_printf(b, "<li><span class=\"swatch\" style=\"background:%s\"></span>",
                        fills[stack[i]]);
        if (!rc)
            rc = template_escape(b, word, TEMPLATE_HTML);
        if (!rc)
            rc = buf_puts(b, "</li>");
    }
    return rc ? rc : buf_puts(b, "</ul>");
}

/* The table's rows: the day, then its counts in the legend's order, then the total. */
static enum si_err table_rows(struct buf *b, const struct site_stats *st)
{
    enum si_err rc = SI_OK;
    for (int d = SITE_STATS_DAYS - 1; !rc && d >= 0; d--) {
        char label[SI_TIME_TEXT_LEN];
        day_label(st, d, label);
        rc = buf_printf(b, "<tr><th scope=\"row\">%s</th>", label);
        for (int i = 0; !rc && i < SITE_COUNTS_LEN; i++)
            rc = buf_printf(b, "<td class=\"num\">%lld</td>", (long long)st->days[d][stack[i]]);
        if (!rc)
            rc = buf_printf(b, "<td class=\"num\">%lld</td></tr>",
                            (long long)day_total(st->days[d]));
    }
    return rc;
}

/* The median in one whole unit: minutes under 90 minutes, hours under 48 hours, else days. */
static void median_text(const struct site_stats *st, const char *lang, char *out, size_t cap)
{
    struct console_values v = {.v = {NULL}};
    char num[NUM_TEXT];
    si_ms m = st->median_accept_ms;
    enum console_page unit = CP_CHART_DAYS;
    int64_t n = (m + SI_MS_PER_DAY / 2) / SI_MS_PER_DAY;
    if (m < 90 * MIN_MS) {
        unit = CP_CHART_MINUTES;
        n = (m + MIN_MS / 2) / MIN_MS;
    } else if (m < 48 * (si_ms)HOUR_MS) {
        unit = CP_CHART_HOURS;
        n = (m + HOUR_MS / 2) / HOUR_MS;
    }
    snprintf(num, sizeof num, "%lld", (long long)n);
    v.v[CV_VALUE] = num;
    console_fragment_text(lang, m < 0 ? CP_CHART_NONE : unit, &v, out, cap);
}

enum si_err console_chart(const struct site_stats *st, const char *lang, struct buf *out)
{
    char title[WORD_MAX * 2], median[WORD_MAX], accepted[NUM_TEXT];
    struct console_values v = {.v = {NULL}};
    struct buf svg, rows;
    bool rtl = page_lang_rtl(lang);
    console_fragment_text(lang, CP_CHART_TITLE, &v, title, sizeof title);
    median_text(st, lang, median, sizeof median);
    snprintf(accepted, sizeof accepted, "%lld", (long long)st->accepted);
    buf_init(&svg, 0);
    buf_init(&rows, 0);
    enum si_err rc = drawing(&svg, st, title, rtl);
    if (!rc)
        rc = legend(&svg, lang);
    if (!rc)
        rc = table_rows(&rows, st);
    if (!rc) {
        v.v[CV_CHART] = svg.data;
        v.v[CV_ROWS] = rows.data;
        v.v[CV_VALUE] = median;
        v.v[CV_ACCEPTED] = accepted;
        rc = console_fragment(lang, CP_CHART, &v, out);
    }
    buf_cleanup(&svg);
    buf_cleanup(&rows);
    return rc;
}
