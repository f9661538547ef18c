/* Accept-link tokens: round trips, and every way a text can be wrong is refused. */
#include "core/token.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct fixture {
    uint8_t secret[SECURE_KEY_LEN];
    uint8_t salt[SI_TOKEN_SALT_LEN];
    char text[TOKEN_TEXT_LEN + 1];
};

static int setup(void **state)
{
    static struct fixture f;
    struct fake_random fr;
    if (secure_init())
        return -1;
    fake_random_init(&fr, 42);
    random_fill(&fr.source, f.secret, sizeof f.secret);
    token_new_salt(&fr.source, f.salt);
    token_format(f.secret, f.salt, f.text);
    *state = &f;
    return 0;
}

/* Parses text and checks it is refused without touching the salt output. */
static void assert_refused(const struct fixture *f, const char *text)
{
    uint8_t salt[SI_TOKEN_SALT_LEN];
    memset(salt, 0xA5, sizeof salt);
    assert_int_equal(token_parse(f->secret, text, salt), SI_EINVAL);
    for (size_t i = 0; i < sizeof salt; i++)
        assert_int_equal(salt[i], 0xA5);
}

static void test_round_trip(void **state)
{
    const struct fixture *f = *state;
    assert_int_equal(strlen(f->text), TOKEN_TEXT_LEN);
    assert_int_equal(strspn(f->text, alphabet), TOKEN_TEXT_LEN);
    uint8_t salt[SI_TOKEN_SALT_LEN] = {0};
    assert_int_equal(token_parse(f->secret, f->text, salt), SI_OK);
    assert_memory_equal(salt, f->salt, sizeof salt);
    /* the same salt and secret always render the same link (resend keeps the acceptLink) */
    char again[TOKEN_TEXT_LEN + 1];
    token_format(f->secret, f->salt, again);
    assert_string_equal(again, f->text);
}

/* Version 2 (schema 16): the link names the invite's ID, 44 characters, and every one-character
 * change, a wrong version byte, a version 1 tag over the same bytes or another secret fails. */
static void test_v2_names_the_id(void **state)
{
    const struct fixture *f = *state;
    struct invite inv = {.has_salt = false};
    snprintf(inv.id, sizeof inv.id, "%s", "01a2429e-3cb0-76ab-ab95-4127e887c050");
    char text[TOKEN_TEXT_CAP], again[TOKEN_TEXT_CAP];
    assert_int_equal(token_format_invite(f->secret, &inv, text), TOKEN_V2_TEXT_LEN);
    assert_int_equal(strspn(text, alphabet), TOKEN_V2_TEXT_LEN);
    struct token_ref ref;
    assert_int_equal(token_parse_ref(f->secret, text, &ref), SI_OK);
    assert_int_equal(ref.kind, TOKEN_BY_ID);
    char id[SI_ID_LEN];
    id_from_bytes(ref.key, id);
    assert_string_equal(id, inv.id);
    token_format_invite(f->secret, &inv, again); /* resend keeps the link */
    assert_string_equal(again, text);
    /* Only the stored form of an ID converts: lowercase, dashes in place, 36 characters. */
    uint8_t key[SI_ID_BYTES];
    assert_false(id_to_bytes(NULL, key));
    assert_false(id_to_bytes("01A2429e-3cb0-76ab-ab95-4127e887c050", key));
    assert_false(id_to_bytes("01a2429e+3cb0-76ab-ab95-4127e887c050", key));
    assert_false(id_to_bytes("01a2429e-3cb0-76ab-ab95-4127e887c05", key));
    assert_false(id_to_bytes("01a2429e-3cb0-76ab-ab95-4127e887c0500", key));
    assert_false(id_to_bytes("01a2429e-3cb0-76ab-ab95-4127e887c05g", key));
    assert_string_equal(again, text);
    /* token_parse (version 1 only) refuses it. */
    uint8_t salt[SI_TOKEN_SALT_LEN];
    assert_int_equal(token_parse(f->secret, text, salt), SI_EINVAL);
    for (size_t i = 0; i < TOKEN_V2_TEXT_LEN; i++) {
        for (const char *c = alphabet; *c; c++) {
            if (*c == text[i])
                continue;
            memcpy(again, text, sizeof again);
            again[i] = *c;
            assert_int_equal(token_parse_ref(f->secret, again, &ref), SI_EINVAL);
        }
    }
    /* Another secret: refused. */
    uint8_t other[SECURE_KEY_LEN];
    memcpy(other, f->secret, sizeof other);
    other[5] ^= 1;
    assert_int_equal(token_parse_ref(other, text, &ref), SI_EINVAL);
    /* A version 1 token whose salt is the ID's bytes is another text, and names the salt. */
    struct token_ref as_salt = {.kind = TOKEN_BY_SALT};
    assert_true(id_to_bytes(inv.id, as_salt.key));
    assert_int_equal(token_format_ref(f->secret, &as_salt, again), TOKEN_TEXT_LEN);
    assert_int_equal(token_parse_ref(f->secret, again, &ref), SI_OK);
    assert_int_equal(ref.kind, TOKEN_BY_SALT);
    /* The same 33 bytes with a version 1 tag (label v1) behind byte 2 are refused. */
    uint8_t raw[33];
    raw[0] = 2;
    memcpy(raw + 1, as_salt.key, 16);
    size_t n = 0;
    assert_int_equal(b64url_decode(again, TOKEN_TEXT_LEN, raw + 1, 32, &n), SI_OK);
    raw[0] = 2;
    b64url_encode(again, raw, sizeof raw);
    assert_int_equal(token_parse_ref(f->secret, again, &ref), SI_EINVAL);
    /* An old invite keeps its salt's link. */
    inv.has_salt = true;
    memcpy(inv.token_salt, f->salt, sizeof inv.token_salt);
    assert_int_equal(token_format_invite(f->secret, &inv, again), TOKEN_TEXT_LEN);
    assert_string_equal(again, f->text);
}

static void test_salts_come_from_the_source(void **state)
{
    (void)state;
    struct fake_random a, b;
    uint8_t s1[SI_TOKEN_SALT_LEN], s2[SI_TOKEN_SALT_LEN], s3[SI_TOKEN_SALT_LEN];
    fake_random_init(&a, 7);
    fake_random_init(&b, 7);
    token_new_salt(&a.source, s1);
    token_new_salt(&b.source, s2);
    token_new_salt(&a.source, s3);
    assert_memory_equal(s1, s2, sizeof s1);
    assert_memory_not_equal(s1, s3, sizeof s1);
    assert_int_equal(a.calls, 2);
}

static void test_every_single_char_tamper_fails(void **state)
{
    const struct fixture *f = *state;
    char t[TOKEN_TEXT_LEN + 1];
    int tried = 0;
    for (size_t i = 0; i < TOKEN_TEXT_LEN; i++) {
        for (const char *c = alphabet; *c; c++) {
            if (*c == f->text[i])
                continue;
            memcpy(t, f->text, sizeof t);
            t[i] = *c;
            assert_refused(f, t);
            tried++;
        }
    }
    assert_int_equal(tried, TOKEN_TEXT_LEN * 63);
}

static void test_wrong_length_and_bytes(void **state)
{
    const struct fixture *f = *state;
    char t[TOKEN_TEXT_MAX * 2];
    assert_refused(f, "");
    assert_refused(f, NULL);
    /* truncated */
    memcpy(t, f->text, TOKEN_TEXT_LEN - 1);
    t[TOKEN_TEXT_LEN - 1] = '\0';
    assert_refused(f, t);
    /* over-long: one more char, padding, a trailing slash, and far beyond the max */
    memcpy(t, f->text, TOKEN_TEXT_LEN);
    memcpy(t + TOKEN_TEXT_LEN, "A", 2);
    assert_refused(f, t);
    memcpy(t + TOKEN_TEXT_LEN, "=", 2);
    assert_refused(f, t);
    memcpy(t + TOKEN_TEXT_LEN, "/", 2);
    assert_refused(f, t);
    memset(t, 'A', sizeof t - 1);
    t[sizeof t - 1] = '\0';
    assert_refused(f, t);
    /* non-ASCII and non-alphabet bytes of the right length */
    const char bad[] = {(char)0x80, (char)0xC3, (char)0xFF, '+', '/', '=', ' ', '.', '\n'};
    for (size_t i = 0; i < sizeof bad; i++) {
        memcpy(t, f->text, TOKEN_TEXT_LEN + 1);
        t[10] = bad[i];
        assert_refused(f, t);
    }
    /* standard base64 for the same bytes is a different text, and refused */
    memcpy(t, f->text, TOKEN_TEXT_LEN + 1);
    for (char *p = t; *p; p++)
        *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
    if (strcmp(t, f->text) != 0)
        assert_refused(f, t);
}

static void test_wrong_secret_fails(void **state)
{
    const struct fixture *f = *state;
    uint8_t other[SECURE_KEY_LEN];
    memcpy(other, f->secret, sizeof other);
    other[31] ^= 1;
    uint8_t salt[SI_TOKEN_SALT_LEN];
    assert_int_equal(token_parse(other, f->text, salt), SI_EINVAL);
}

/* A tag over the bare salt (no purpose label) must not pass: tags are bound to accept links. */
static void test_tag_is_bound_to_its_purpose(void **state)
{
    const struct fixture *f = *state;
    uint8_t raw[SI_TOKEN_SALT_LEN + SECURE_HASH_LEN];
    memcpy(raw, f->salt, SI_TOKEN_SALT_LEN);
    secure_hash(raw + SI_TOKEN_SALT_LEN, f->salt, SI_TOKEN_SALT_LEN, f->secret, SECURE_KEY_LEN);
    char t[TOKEN_TEXT_LEN + 1];
    b64url_encode(t, raw, SI_TOKEN_SALT_LEN + TOKEN_TAG_LEN);
    assert_refused(f, t);
}

static void test_distinct_salts_distinct_links(void **state)
{
    const struct fixture *f = *state;
    uint8_t salt[SI_TOKEN_SALT_LEN];
    memcpy(salt, f->salt, sizeof salt);
    salt[0] ^= 0x80;
    char t[TOKEN_TEXT_LEN + 1];
    token_format(f->secret, salt, t);
    assert_string_not_equal(t, f->text);
    /* the tag part differs too, not only the salt part */
    assert_memory_not_equal(t + 22, f->text + 22, TOKEN_TEXT_LEN - 22);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_v2_names_the_id),
        cmocka_unit_test(test_salts_come_from_the_source),
        cmocka_unit_test(test_every_single_char_tamper_fails),
        cmocka_unit_test(test_wrong_length_and_bytes),
        cmocka_unit_test(test_wrong_secret_fails),
        cmocka_unit_test(test_tag_is_bound_to_its_purpose),
        cmocka_unit_test(test_distinct_salts_distinct_links),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
