/* The one adapter over libsodium: random bytes, keyed hashing, constant-time compare, wiping,
 * base64url. Everything else in the tree reaches libsodium only through this header. */
#ifndef SI_COMMON_SECURE_H
#define SI_COMMON_SECURE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECURE_HASH_LEN 32 /* bytes of secure_hash output */
#define SECURE_KEY_LEN  32 /* bytes of a server secret */

/* A source of random bytes passed into core, so tests can fix it. */
struct random_source {
    void (*fill)(void *ctx, void *out, size_t n);
    void *ctx;
};

/* libsodium's CSPRNG. secure_init must have succeeded first. */
extern const struct random_source random_system;

/* Initialises libsodium; call once at start-up before any thread. */
enum si_err secure_init(void) SI_MUST_USE;

static inline void random_fill(const struct random_source *r, void *out, size_t n)
{
    r->fill(r->ctx, out, n);
}

/* out (SECURE_HASH_LEN bytes) = BLAKE2b-256(key, msg); key may be NULL (unkeyed) with key_len 0.
 * Thread-safe. */
void secure_hash(uint8_t *out, const void *msg, size_t len, const uint8_t *key, size_t key_len);

/* Constant-time equality of two n-byte areas. */
bool secure_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes with zeros in a way the compiler cannot drop. */
void secure_wipe(void *p, size_t n);

/* Length of the unpadded base64url text for n bytes, excluding the NUL. */
size_t b64url_len(size_t n);
/* Encodes n bytes as unpadded base64url into out (b64url_len(n) + 1 bytes). */
void b64url_encode(char *out, const void *in, size_t n);
/* Decodes unpadded base64url text of length len into out (at most cap bytes); sets *n.
 * SI_EINVAL on any non-alphabet byte, padding, or a length that cannot be canonical. */
enum si_err b64url_decode(const char *in, size_t len, void *out, size_t cap, size_t *n) SI_MUST_USE;

/* A random source that serves bytes from one large draw of another, for loops that need many
 * small values (Bulk Invite takes two per email): one system call instead of thousands. The
 * bytes are as good as the underlying source's; they are wiped when served and at cleanup. */
struct random_batch {
    struct random_source source; /* pass &batch.source where a source is wanted */
    const struct random_source *under;
    uint8_t *bytes;
    size_t len, pos;
};

/* Prepares a batch drawing len bytes at a time from under (len > 0). Not thread-safe: one
 * batch belongs to one call on one thread. */
void random_batch_init(struct random_batch *b, const struct random_source *under, size_t len);
/* Wipes and frees the unserved bytes. */
void random_batch_cleanup(struct random_batch *b);

/* Fills out with n random bytes rendered as lowercase hex (2n chars + NUL). */
void random_hex(const struct random_source *r, char *out, size_t n);

#endif
