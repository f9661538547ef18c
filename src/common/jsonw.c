/* A minimal JSON text writer: strings, keys and scalar members appended to a buffer. Each call
 * reserves room for the worst case once (buf_xspace) and writes in place: a bulk answer of 1,000
 * invites writes ~14,000 members, and one capacity check and memcpy call per piece cost more
 * than the bytes themselves. */
#include "jsonw.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define ESCAPED_MAX 6 /* the longest escape of one byte: \u00XX */

/* Whether any of the 8 bytes in v needs escaping: below 0x20, '"' or '\\' (the exact "has a
 * zero byte" and "has a byte less than" word tests; UTF-8 bytes above 0x7F never match). */
static inline bool word_needs_escape(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t quote = v ^ (ones * '"'), backslash = v ^ (ones * '\\');
    uint64_t control = (v - ones * 0x20) & ~v;
    uint64_t is_quote = (quote - ones) & ~quote, is_backslash = (backslash - ones) & ~backslash;
    return ((control | is_quote | is_backslash) & highs) != 0;
}

/* Writes s (n bytes) escaped, without quotes, at out (room for ESCAPED_MAX * n); returns the
 * bytes written. Runs that need no escaping are copied whole, found 8 bytes at a time: the
 * strings of every JSON answer pass here (~5 M instructions of a Bulk Invite's answer at a
 * byte a step). */
static size_t escape_to(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t w = 0, run = 0;
    for (size_t i = 0; i < n;) {
        uint64_t v;
        if (i + 8 <= n && (memcpy(&v, s + i, 8), !word_needs_escape(v))) {
            i += 8;
            continue;
        }
        unsigned char c = (unsigned char)s[i++];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        memcpy(out + w, s + run, i - 1 - run);
        w += i - 1 - run;
        run = i;
        out[w++] = '\\';
        if (c == '"' || c == '\\') {
            out[w++] = (char)c;
        } else {
            memcpy(out + w, "u00", 3);
            out[w + 3] = hex[c >> 4];
            out[w + 4] = hex[c & 15];
            w += 5;
        }
    }
    memcpy(out + w, s + run, n - run);
    return w + (n - run);
}

/* Room for s escaped: the worst case for short strings (no pass to count), the exact size for
 * long ones, which would otherwise reserve six times their size. */
static size_t escape_room(const char *s, size_t n)
{
    if (n <= 4096)
        return ESCAPED_MAX * n;
    size_t room = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            room += 1;
        else if (c < 0x20)
            room += ESCAPED_MAX - 1;
    }
    return room;
}

void jw_string(struct buf *b, const char *s, size_t n)
{
    char *out = buf_xspace(b, escape_room(s, n) + 2);
    out[0] = '"';
    size_t w = 1 + escape_to(out + 1, s, n);
    out[w++] = '"';
    buf_xadvance(b, w);
}

/* Writes "key": at out; returns the bytes written (klen + 3). */
static size_t key_to(char *out, const char *key, size_t klen)
{
    out[0] = '"';
    memcpy(out + 1, key, klen);
    out[klen + 1] = '"';
    out[klen + 2] = ':';
    return klen + 3;
}

void jw_key(struct buf *b, const char *key)
{
    size_t klen = strlen(key);
    buf_xadvance(b, key_to(buf_xspace(b, klen + 3), key, klen));
}

/* Room for a comma, "key": and extra bytes; writes the comma (unless first) and the key, and
 * returns where the value goes, with *w the bytes written so far. */
static char *member_start(struct buf *b, const char *key, size_t extra, size_t *w)
{
    /* A comma before every member but the first of an object. */
    char last = b->len ? b->data[b->len - 1] : '{';
    size_t klen = strlen(key);
    char *out = buf_xspace(b, 1 + klen + 3 + extra);
    *w = 0;
    if (last != '{' && last != '[')
        out[(*w)++] = ',';
    *w += key_to(out + *w, key, klen);
    return out;
}

void jw_member_str(struct buf *b, const char *key, const char *value)
{
    size_t n = strlen(value), w;
    char *out = member_start(b, key, escape_room(value, n) + 2, &w);
    out[w++] = '"';
    w += escape_to(out + w, value, n);
    out[w++] = '"';
    buf_xadvance(b, w);
}

/* Writes v in decimal at out (room for 20 bytes); returns the bytes written. */
static size_t int_to(char *out, int64_t v)
{
    char digits[20];
    size_t n = 0, w = 0;
    /* Negated as unsigned, so INT64_MIN has a magnitude too. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[w++] = '-';
    while (n)
        out[w++] = digits[--n];
    return w;
}

void jw_int(struct buf *b, int64_t v)
{
    buf_xadvance(b, int_to(buf_xspace(b, 20), v));
}

void jw_member_int(struct buf *b, const char *key, int64_t v)
{
    size_t w;
    char *out = member_start(b, key, 20, &w);
    w += int_to(out + w, v);
    buf_xadvance(b, w);
}

void jw_member_time(struct buf *b, const char *key, si_ms t)
{
    size_t w;
    char *out = member_start(b, key, SI_TIME_TEXT_LEN + 1, &w);
    out[w++] = '"';
    time_format(t, out + w); /* writes its NUL too: room for it is reserved */
    w += SI_TIME_TEXT_LEN - 1;
    out[w++] = '"';
    buf_xadvance(b, w);
}
