/* Calendar dates in the seven launch languages: month names and word order per language, so an
 * invite's expiry reads naturally in its email. Kept in C (not templates) because the order of
 * day, month and year differs, and a template language for that is what we chose not to build. */
#include "expiry.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LANG_PRIMARY_MAX 8 /* bytes of a primary language subtag, NUL included */
#define MONTHS           12

/* How one language writes a date. fmt takes day, month name, year (DMY) or year, month, day
 * (YMD);
 * Japanese writes the month as a number, so its names are the numbers. */
struct date_style {
    const char *lang;
    const char *months[MONTHS];
    enum { DMY, YMD } order;
    const char *fmt;
};

static const struct date_style styles[] = {
    {"en",
     {"January", "February", "March", "April", "May", "June", "July", "August", "September",
      "October", "November", "December"},
     DMY,
     "%d %s %d"},
    {"es",
     {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
      "octubre", "noviembre", "diciembre"},
     DMY,
     "%d de %s de %d"},
    {"fr",
     {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
      "octobre", "novembre", "décembre"},
     DMY,
     "%d %s %d"},
    {"de",
     {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
      "November", "Dezember"},
     DMY,
     "%d. %s %d"},
    {"pt",
     {"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
      "outubro", "novembro", "dezembro"},
     DMY,
     "%d de %s de %d"},
    {"he",
     {"בינואר", "בפברואר", "במרץ", "באפריל", "במאי", "ביוני", "ביולי", "באוגוסט", "בספטמבר",
      "באוקטובר", "בנובמבר", "בדצמבר"},
     DMY,
     "%d %s %d"},
    {"ja", {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}, YMD, "%d年%s月%d日"},
};

/* The style of lang's primary subtag, else English (the first row). */
static const struct date_style *style_for(const char *lang)
{
    char primary[LANG_PRIMARY_MAX] = "";
    if (lang) {
        size_t n = strcspn(lang, "-_");
        if (n < sizeof primary) {
            memcpy(primary, lang, n);
            primary[n] = '\0';
        }
    }
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
        if (strcasecmp(styles[i].lang, primary) == 0)
            return &styles[i];
    return &styles[0];
}

void expiry_format(si_ms t, const char *lang, char out[EXPIRY_TEXT_MAX])
{
    const struct date_style *st = style_for(lang);
    time_t secs = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    const char *month = st->months[tm.tm_mon];
    int year = tm.tm_year + 1900;
    /* The format strings are the table's own constants, never outside text. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (st->order == YMD)
        snprintf(out, EXPIRY_TEXT_MAX, st->fmt, year, month, tm.tm_mday);
    else
        snprintf(out, EXPIRY_TEXT_MAX, st->fmt, tm.tm_mday, month, year);
#pragma GCC diagnostic pop
}
