/* The libsodium adapter: base64url, hashing, constant-time equality, wiping, random hex. */
#include "common/secure.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

static int setup(void **state)
{
    (void)state;
    return secure_init() == SI_OK ? 0 : -1;
}

static void test_b64url_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10, without padding */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char text[16];
        b64url_encode(text, in[i], strlen(in[i]));
        assert_string_equal(text, out[i]);
        assert_int_equal(b64url_len(strlen(in[i])), strlen(out[i]));
    }
    /* the URL alphabet: '-' and '_' where standard base64 has '+' and '/' */
    const uint8_t hi[] = {0xfb, 0xff, 0xbf};
    char text[8];
    b64url_encode(text, hi, sizeof hi);
    assert_string_equal(text, "-_-_");
}

static void test_b64url_round_trip(void **state)
{
    (void)state;
    struct fake_random fr;
    fake_random_init(&fr, 3);
    for (size_t n = 0; n <= 64; n++) {
        uint8_t bin[64], back[64];
        char text[128];
        size_t got = 999;
        random_fill(&fr.source, bin, n);
        b64url_encode(text, bin, n);
        assert_int_equal(strlen(text), b64url_len(n));
        assert_int_equal(b64url_decode(text, strlen(text), back, sizeof back, &got), SI_OK);
        assert_int_equal(got, n);
        assert_memory_equal(back, bin, n);
    }
}

/* Regression (found by fuzz_api, tests/fuzz/README.md): decoding refused anything over 180
 * bytes, so a Query Sites cursor the server wrote for a filter of a few IDs came back refused.
 * Every length decodes now, and a non-canonical last character is still refused. */
/* The arithmetic encoder spells exactly what libsodium's does: every value of each byte of a
 * 3-byte group, and every length to 70 of varied bytes (each tail length). */
static void test_b64url_matches_libsodium(void **state)
{
    (void)state;
    unsigned char bin[70];
    char ours[100], theirs[100];
    for (int pos = 0; pos < 3; pos++) {
        for (int v = 0; v < 256; v++) {
            memset(bin, 0x5a, 3);
            bin[pos] = (unsigned char)v;
            for (size_t n = (size_t)pos + 1; n <= 3; n++) {
                b64url_encode(ours, bin, n);
                sodium_bin2base64(theirs, sizeof theirs, bin, n,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
                assert_string_equal(ours, theirs);
            }
        }
    }
    for (size_t n = 0; n <= sizeof bin; n++) {
        for (size_t i = 0; i < n; i++)
            bin[i] = (unsigned char)(i * 37 + n * 11);
        b64url_encode(ours, bin, n);
        sodium_bin2base64(theirs, sizeof theirs, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_string_equal(ours, theirs);
    }
}

static void test_b64url_long(void **state)
{
    (void)state;
    enum { LONG = 4000 };
    static uint8_t bin[LONG], back[LONG];
    static char text[LONG * 2];
    struct fake_random fr;
    fake_random_init(&fr, 11);
    random_fill(&fr.source, bin, sizeof bin);
    for (size_t n = 170; n <= LONG; n += n < 400 ? 1 : 601) {
        size_t got = 0;
        b64url_encode(text, bin, n);
        assert_int_equal(b64url_decode(text, strlen(text), back, sizeof back, &got), SI_OK);
        assert_int_equal(got, n);
        assert_memory_equal(back, bin, n);
        if (n % 3) { /* the last character has spare low bits: set one */
            size_t len = strlen(text);
            char saved = text[len - 1];
            text[len - 1] = saved == 'A' ? 'B' : saved == 'Q' ? 'R' : saved == 'g' ? 'h' : 'x';
            assert_int_equal(b64url_decode(text, len, back, sizeof back, &got), SI_EINVAL);
            text[len - 1] = saved;
        }
    }
}

static void test_b64url_refusals(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    const char *bad[] = {
        "Zh",          /* "f" with a spare low bit set: not canonical */
        "Zm9",         /* "fo" is Zm8 */
        "Zg==",        /* padding */
        "Zm9v+w",      /* standard alphabet */
        "Zm9v/w", "Z", /* a length no byte count encodes */
        "Zm9vY",  "Zm 9v", "Zm9v\n", "Zm\x80v",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (b64url_decode(bad[i], strlen(bad[i]), out, sizeof out, &n) != SI_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    /* an output that does not fit is refused, not truncated */
    assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 5, &n), SI_EINVAL);
    assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 6, &n), SI_OK);
    assert_int_equal(n, 6);
    /* len, not the NUL, bounds the input */
    assert_int_equal(b64url_decode("Zm9vYmFy", 4, out, sizeof out, &n), SI_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "foo", 3);
}

static void test_hash(void **state)
{
    (void)state;
    /* BLAKE2b-256 of the empty string (RFC 7693 parameters, 32-byte output) */
    static const uint8_t empty[SECURE_HASH_LEN] = {0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2,
                                                   0xe8, 0xab, 0x2e, 0xb0, 0x60, 0x99, 0xda, 0xa1,
                                                   0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f, 0x77, 0x87,
                                                   0xfa, 0xab, 0x45, 0xcd, 0xf1, 0x2f, 0xe3, 0xa8};
    uint8_t h[SECURE_HASH_LEN], h2[SECURE_HASH_LEN], k1[SECURE_HASH_LEN], k2[SECURE_HASH_LEN];
    secure_hash(h, "", 0, NULL, 0);
    assert_memory_equal(h, empty, sizeof h);
    secure_hash(h, "message", 7, NULL, 0);
    secure_hash(h2, "message", 7, NULL, 0);
    assert_memory_equal(h, h2, sizeof h); /* stable */
    uint8_t key[SECURE_KEY_LEN];
    memset(key, 7, sizeof key);
    secure_hash(k1, "message", 7, key, sizeof key);
    assert_memory_not_equal(k1, h, sizeof h); /* keyed differs from unkeyed */
    key[0] ^= 1;
    secure_hash(k2, "message", 7, key, sizeof key);
    assert_memory_not_equal(k1, k2, sizeof k1); /* and depends on the key */
    secure_hash(h2, "messagf", 7, NULL, 0);
    assert_memory_not_equal(h, h2, sizeof h);
}

static void test_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof a);
    memcpy(b, a, sizeof b);
    assert_true(secure_equal(a, b, sizeof a));
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] ^= 0x01;
        assert_false(secure_equal(a, b, sizeof a));
        b[i] ^= 0x01;
    }
    assert_true(secure_equal(a, b, 0));
    secure_wipe(a, sizeof a);
    for (size_t i = 0; i < sizeof a; i++)
        assert_int_equal(a[i], 0);
}

static void test_random(void **state)
{
    (void)state;
    struct fake_constant_random c;
    fake_constant_random_init(&c, 0xa7);
    char hex[2 * 16 + 1];
    random_hex(&c.source, hex, 16);
    assert_string_equal(hex, "a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7");
    /* the real source: two draws of 256 bits are different and not all zero */
    uint8_t r1[32] = {0}, r2[32] = {0}, zero[32] = {0};
    random_fill(&random_system, r1, sizeof r1);
    random_fill(&random_system, r2, sizeof r2);
    assert_memory_not_equal(r1, zero, sizeof r1);
    assert_memory_not_equal(r1, r2, sizeof r1);
}

/* A batch serves the underlying stream unchanged, in order, with one draw per len bytes. */
static void test_random_batch(void **state)
{
    (void)state;
    struct fake_random direct, under;
    fake_random_init(&direct, 7);
    fake_random_init(&under, 7);
    uint8_t want[100], got[100];
    random_fill(&direct.source, want, 40);
    random_fill(&direct.source, want + 40, 40);
    random_fill(&direct.source, want + 80, 20);
    struct random_batch b;
    random_batch_init(&b, &under.source, 40);
    assert_int_equal(under.calls, 0); /* drawn lazily */
    /* Odd-sized takes across draw boundaries. */
    random_fill(&b.source, got, 16);
    random_fill(&b.source, got + 16, 30);
    random_fill(&b.source, got + 46, 54);
    assert_memory_equal(got, want, sizeof got);
    assert_int_equal(under.calls, 3);
    random_batch_cleanup(&b);
    random_batch_cleanup(&b); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_b64url_round_trip),
        cmocka_unit_test(test_b64url_matches_libsodium),
        cmocka_unit_test(test_b64url_long),
        cmocka_unit_test(test_b64url_refusals),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_equal_and_wipe),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_random_batch),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
