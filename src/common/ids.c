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

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10; /* id_valid: lowercase hex only */
}

bool id_to_bytes(const char *s, uint8_t out[SI_ID_BYTES])
{
    if (!id_valid(s))
        return false;
    for (int i = 0, j = 0; i < SI_ID_BYTES; i++, j += 2) {
        if (s[j] == '-')
            j++;
        out[i] = (uint8_t)(hex_value(s[j]) << 4 | hex_value(s[j + 1]));
    }
    return true;
}

void id_from_bytes(const uint8_t b[SI_ID_BYTES], char out[SI_ID_LEN])
{
    format_guid(b, out);
}
