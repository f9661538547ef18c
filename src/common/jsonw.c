/* A minimal JSON text writer: strings, keys and scalar members appended to a buffer. */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void jw_string(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_xappend(b, "\"", 1);
    size_t run = 0; /* bytes copied in one go until the next byte that needs escaping */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_xappend(b, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_xappend(b, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_xappend(b, esc, 6);
        }
    }
    buf_xappend(b, s + run, n - run);
    buf_xappend(b, "\"", 1);
}

void jw_key(struct buf *b, const char *key)
{
    buf_xappend(b, "\"", 1);
    buf_xputs(b, key);
    buf_xappend(b, "\":", 2);
}

/* A comma before every member but the first of an object. */
static void separate(struct buf *b)
{
    char last = b->len ? b->data[b->len - 1] : '{';
    if (last != '{' && last != '[')
        buf_xappend(b, ",", 1);
}

void jw_member_str(struct buf *b, const char *key, const char *value)
{
    separate(b);
    jw_key(b, key);
    jw_string(b, value, strlen(value));
}

void jw_member_int(struct buf *b, const char *key, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRId64, v);
    separate(b);
    jw_key(b, key);
    buf_xappend(b, num, (size_t)n);
}

void jw_member_time(struct buf *b, const char *key, si_ms t)
{
    char text[SI_TIME_TEXT_LEN];
    time_format(t, text);
    separate(b);
    jw_key(b, key);
    buf_xappend(b, "\"", 1);
    buf_xappend(b, text, SI_TIME_TEXT_LEN - 1);
    buf_xappend(b, "\"", 1);
}
