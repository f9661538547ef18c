/* GUID generation and validation. */
#include "ids.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

/* Renders 16 bytes as 8-4-4-4-12 lowercase hex. */
static void format_guid(const uint8_t b[16], char out[SI_ID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

void id_new(const struct random_source *r, char out[SI_ID_LEN])
{
    uint8_t b[16];
    random_fill(r, b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    format_guid(b, out);
}

void id_new_at(const struct random_source *r, int64_t unix_ms, char out[SI_ID_LEN])
{
    uint8_t b[16];
    random_fill(r, b, sizeof b);
    uint64_t t = (uint64_t)unix_ms;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(t >> (40 - 8 * i)); /* big-endian, so text order is time order */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x70);  /* version 7 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
    format_guid(b, out);
}

static bool shape_ok(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[36] == '\0';
}

bool id_valid(const char *s)
{
    if (!s || strnlen(s, 37) != 36 || !shape_ok(s))
        return false;
    for (int i = 0; i < 36; i++)
        if (isupper((unsigned char)s[i]))
            return false;
    return true;
}

bool id_normalize(const char *s, char out[SI_ID_LEN])
{
    if (!s || strnlen(s, 37) != 36 || !shape_ok(s))
        return false;
    for (int i = 0; i < 37; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    return true;
}

/* The value of a lowercase hex digit, -1 for anything else (the stored form is lowercase). */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool id_to_bytes(const char *s, uint8_t out[SI_ID_BYTES])
{
    /* One pass that checks what id_valid checks: every accept link is made through here, so no
     * strnlen, no locale-aware ctype calls. */
    uint8_t b[SI_ID_BYTES];
    if (!s)
        return false;
    for (int i = 0, j = 0; i < SI_ID_BYTES; i++, j += 2) {
        if (j == 8 || j == 13 || j == 18 || j == 23) {
            if (s[j] != '-')
                return false;
            j++;
        }
        int hi = hex_value(s[j]), lo = hi < 0 ? -1 : hex_value(s[j + 1]);
        if (lo < 0)
            return false;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    if (s[36] != '\0')
        return false;
    memcpy(out, b, sizeof b);
    return true;
}

void id_from_bytes(const uint8_t b[SI_ID_BYTES], char out[SI_ID_LEN])
{
    format_guid(b, out);
}
