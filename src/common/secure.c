/* libsodium adapter: the only file that includes sodium.h. */
#include "secure.h"

#include "log.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define B64_CHECK_BYTES 180 /* bytes re-encoded at a time by the canonical check */
#define B64_CHECK_CHARS 240 /* their text */

static void sodium_fill(void *ctx, void *out, size_t n)
{
    (void)ctx;
    randombytes_buf(out, n);
}

const struct random_source random_system = {.fill = sodium_fill, .ctx = NULL};

enum si_err secure_init(void)
{
    if (sodium_init() < 0) {
        log_error("libsodium failed to initialise");
        return SI_ECRYPTO;
    }
    return SI_OK;
}

void secure_hash(uint8_t *out, const void *msg, size_t len, const uint8_t *key, size_t key_len)
{
    crypto_generichash(out, SECURE_HASH_LEN, msg, len, key, key_len);
}

bool secure_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void secure_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

size_t b64url_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

/* The base64url character of a 6-bit value, by arithmetic only: no table a cache could leak
 * (these bytes are tokens and keys) and no branch. Each term adds its offset once v passes a
 * range's end: ((end - v) >> 8) is all ones exactly when v > end. */
static inline char b64url_char(unsigned v)
{
    unsigned c = v + 'A';        /* 0..25: A..Z */
    c += ((25u - v) >> 8) & 6u;  /* 26..51: a..z, v + 71 */
    c -= ((51u - v) >> 8) & 75u; /* 52..61: 0..9, v - 4 */
    c -= ((61u - v) >> 8) & 13u; /* 62: '-' */
    c += ((62u - v) >> 8) & 49u; /* 63: '_' */
    return (char)c;
}

/* libsodium's sodium_bin2base64 is also constant-time but spent ~2,700 instructions on the 32
 * bytes of an accept link (one per invite of an answer and per email). */
void b64url_encode(char *out, const void *in, size_t n)
{
    const unsigned char *p = in;
    size_t w = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[w++] = b64url_char(v >> 18);
        out[w++] = b64url_char(v >> 12 & 63);
        out[w++] = b64url_char(v >> 6 & 63);
        out[w++] = b64url_char(v & 63);
    }
    if (n - i == 1) {
        out[w++] = b64url_char(p[i] >> 2);
        out[w++] = b64url_char((p[i] & 3u) << 4);
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 8 | p[i + 1];
        out[w++] = b64url_char(v >> 10);
        out[w++] = b64url_char(v >> 4 & 63);
        out[w++] = b64url_char((v & 15u) << 2);
    }
    out[w] = '\0';
}

enum si_err b64url_decode(const char *in, size_t len, void *out, size_t cap, size_t *n)
{
    const char *end = NULL;
    if (sodium_base642bin(out, cap, in, len, NULL, n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != in + len)
        return SI_EINVAL;
    /* Reject non-canonical encodings (spare low bits set), so one value has one spelling: the
     * bytes are encoded again and compared, B64_CHECK_BYTES (whole 3-byte groups, so the texts
     * line up) at a time, so any length is checked. */
    if (b64url_len(*n) != len)
        return SI_EINVAL;
    const unsigned char *bytes = out;
    char check[B64_CHECK_CHARS + 1];
    for (size_t at = 0; at < *n; at += B64_CHECK_BYTES) {
        size_t take = *n - at < B64_CHECK_BYTES ? *n - at : B64_CHECK_BYTES;
        b64url_encode(check, bytes + at, take);
        if (memcmp(check, in + at / 3 * 4, b64url_len(take)) != 0)
            return SI_EINVAL;
    }
    return SI_OK;
}

static void batch_fill(void *ctx, void *out, size_t n)
{
    struct random_batch *b = ctx;
    uint8_t *dst = out;
    while (n) {
        if (b->pos == b->len) {
            random_fill(b->under, b->bytes, b->len);
            b->pos = 0;
        }
        size_t take = b->len - b->pos < n ? b->len - b->pos : n;
        memcpy(dst, b->bytes + b->pos, take);
        sodium_memzero(b->bytes + b->pos, take); /* a served byte is never served or kept */
        b->pos += take;
        dst += take;
        n -= take;
    }
}

void random_batch_init(struct random_batch *b, const struct random_source *under, size_t len)
{
    b->source = (struct random_source){.fill = batch_fill, .ctx = b};
    b->under = under;
    b->len = len ? len : 1;
    b->bytes = xmalloc(b->len);
    b->pos = b->len; /* drawn lazily, on first use */
}

void random_batch_cleanup(struct random_batch *b)
{
    if (!b->bytes)
        return;
    sodium_memzero(b->bytes, b->len);
    free(b->bytes);
    b->bytes = NULL;
}

void random_hex(const struct random_source *r, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t tmp[64];
    if (n > sizeof tmp)
        fatal("random_hex: %zu bytes is over %zu", n, sizeof tmp);
    random_fill(r, tmp, n);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[tmp[i] >> 4];
        out[2 * i + 1] = hex[tmp[i] & 15];
    }
    out[2 * n] = '\0';
}
