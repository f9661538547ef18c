/* The libsodium primitives of webhooks, beside secure.h: HMAC-SHA256 (Standard Webhooks
 * signatures), standard padded base64 (their secrets and signatures), and sealing a secret with
 * the server secret so the database alone does not hold a webhook's signing key. */
#ifndef SI_COMMON_SEAL_H
#define SI_COMMON_SEAL_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define SEAL_MAC_LEN 32 /* bytes of an HMAC-SHA256 tag */
/* Bytes a sealed value grows by: the random nonce in front and the MAC of secretbox. */
#define SEAL_OVERHEAD (24 + 16)

/* out = HMAC-SHA256(key, a || b): the message in two parts (b may be NULL with b_len 0), so a
 * caller need not copy a large body behind its header. Any key length. Thread-safe. */
void seal_hmac_sha256(uint8_t out[SEAL_MAC_LEN], const uint8_t *key, size_t key_len, const void *a,
                      size_t a_len, const void *b, size_t b_len);

/* Length of the padded standard base64 text of n bytes, excluding the NUL. */
size_t b64_len(size_t n);
/* Encodes n bytes as padded standard base64 into out (b64_len(n) + 1 bytes). */
void b64_encode(char *out, const void *in, size_t n);
/* Decodes padded standard base64 text of length len into out (at most cap bytes); sets *n.
 * SI_EINVAL on anything else (bad characters, missing padding, too long). */
enum si_err b64_decode(const char *in, size_t len, void *out, size_t cap, size_t *n) SI_MUST_USE;

/* Encrypts and authenticates len bytes of plain with a key derived from the server secret
 * (secretbox, random nonce): out gets len + SEAL_OVERHEAD bytes. Thread-safe. */
void seal_close(uint8_t *out, const uint8_t *plain, size_t len, const uint8_t server_secret[32]);
/* Reverses seal_close: sealed is len bytes (>= SEAL_OVERHEAD), plain gets len - SEAL_OVERHEAD.
 * SI_EINVAL when the value was not sealed with this server secret or was changed. */
enum si_err seal_open(uint8_t *plain, const uint8_t *sealed, size_t len,
                      const uint8_t server_secret[32]) SI_MUST_USE;

#endif
