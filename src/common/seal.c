/* HMAC-SHA256, standard base64 and secretbox sealing over libsodium (see seal.h). */
#include "seal.h"

#include "secure.h"

#include <sodium.h>
#include <string.h>

/* The sealing key is derived, not the server secret itself: the same secret also keys the
 * accept-link tags, and one key should serve one purpose. */
static const char SEAL_CONTEXT[] = "siteinvites webhook secret v1";

void seal_hmac_sha256(uint8_t out[SEAL_MAC_LEN], const uint8_t *key, size_t key_len, const void *a,
                      size_t a_len, const void *b, size_t b_len)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, a, a_len);
    if (b_len)
        crypto_auth_hmacsha256_update(&st, b, b_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

size_t b64_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) - 1;
}

void b64_encode(char *out, const void *in, size_t n)
{
    sodium_bin2base64(out, b64_len(n) + 1, in, n, sodium_base64_VARIANT_ORIGINAL);
}

enum si_err b64_decode(const char *in, size_t len, void *out, size_t cap, size_t *n)
{
    const char *end = NULL;
    if (sodium_base642bin(out, cap, in, len, NULL, n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != in + len)
        return SI_EINVAL;
    return SI_OK;
}

static void seal_key(uint8_t key[crypto_secretbox_KEYBYTES], const uint8_t server_secret[32])
{
    secure_hash(key, SEAL_CONTEXT, sizeof SEAL_CONTEXT - 1, server_secret, 32);
}

void seal_close(uint8_t *out, const uint8_t *plain, size_t len, const uint8_t server_secret[32])
{
    uint8_t key[crypto_secretbox_KEYBYTES];
    seal_key(key, server_secret);
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, plain, len, out, key);
    sodium_memzero(key, sizeof key);
}

enum si_err seal_open(uint8_t *plain, const uint8_t *sealed, size_t len,
                      const uint8_t server_secret[32])
{
    if (len < SEAL_OVERHEAD)
        return SI_EINVAL;
    uint8_t key[crypto_secretbox_KEYBYTES];
    seal_key(key, server_secret);
    int bad = crypto_secretbox_open_easy(plain, sealed + crypto_secretbox_NONCEBYTES,
                                         len - crypto_secretbox_NONCEBYTES, sealed, key);
    sodium_memzero(key, sizeof key);
    return bad ? SI_EINVAL : SI_OK;
}
