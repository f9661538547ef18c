/* The Idempotency-Key rules at fixed times: key syntax, fingerprints, the decision on a record,
 * which answers are kept, and sealing accept links out of a stored answer and back. */
#include "core/idempotency.h"

#include "core/token.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define T0 1700000000000LL /* an arbitrary wall-clock time in ms */

static int setup(void **state)
{
    (void)state;
    return secure_init() ? -1 : 0;
}

static void test_key_syntax(void **state)
{
    (void)state;
    char longest[IDEM_KEY_MAX + 2];
    memset(longest, '~', IDEM_KEY_MAX);
    longest[IDEM_KEY_MAX] = '\0';
    assert_true(idem_key_valid("a"));
    assert_true(idem_key_valid("order 42/retry:1"));
    assert_true(idem_key_valid(longest));
    longest[IDEM_KEY_MAX] = 'x';
    longest[IDEM_KEY_MAX + 1] = '\0';
    assert_false(idem_key_valid(longest)); /* 256 */
    assert_false(idem_key_valid(""));
    assert_false(idem_key_valid("tab\there"));
    assert_false(idem_key_valid("del\x7f"));
    assert_false(idem_key_valid("caf\xc3\xa9"));
}

static void test_fingerprint_covers_every_part(void **state)
{
    (void)state;
    uint8_t a[IDEM_FP_LEN], b[IDEM_FP_LEN];
    idem_fingerprint("POST", "/site-invite/bulk", "s1", "{}", 2, a);
    idem_fingerprint("POST", "/site-invite/bulk", "s1", "{}", 2, b);
    assert_memory_equal(a, b, IDEM_FP_LEN);
    idem_fingerprint("PATCH", "/site-invite/bulk", "s1", "{}", 2, b);
    assert_memory_not_equal(a, b, IDEM_FP_LEN);
    idem_fingerprint("POST", "/site-invite", "s1", "{}", 2, b);
    assert_memory_not_equal(a, b, IDEM_FP_LEN);
    idem_fingerprint("POST", "/site-invite/bulk", "s2", "{}", 2, b);
    assert_memory_not_equal(a, b, IDEM_FP_LEN);
    idem_fingerprint("POST", "/site-invite/bulk", "s1", "{ }", 3, b);
    assert_memory_not_equal(a, b, IDEM_FP_LEN);
    /* The parts are separated: moving a byte from the path to the site is another request. */
    idem_fingerprint("POST", "/site-invite/bulks", "1", "{}", 2, b);
    assert_memory_not_equal(a, b, IDEM_FP_LEN);
    idem_fingerprint("POST", "/x", "", NULL, 0, b); /* no body, no site */
    assert_memory_not_equal(a, b, IDEM_FP_LEN);
}

static void test_decide(void **state)
{
    (void)state;
    uint8_t fp[IDEM_FP_LEN] = {1}, other[IDEM_FP_LEN] = {2};
    struct idem_row row = {.state = IDEM_STATE_RUN, .lease_until = T0 + 1000, .expires = T0 + 5000};
    memcpy(row.fingerprint, fp, sizeof fp);
    assert_int_equal(idem_decide(NULL, fp, T0), IDEM_RUN);
    assert_int_equal(idem_decide(&row, fp, T0), IDEM_IN_USE);
    assert_int_equal(idem_decide(&row, other, T0), IDEM_REUSED);  /* even while running */
    assert_int_equal(idem_decide(&row, fp, T0 + 1000), IDEM_RUN); /* lease over: abandoned */
    row.state = IDEM_STATE_DONE;
    assert_int_equal(idem_decide(&row, fp, T0 + 4999), IDEM_REPLAY);
    assert_int_equal(idem_decide(&row, other, T0 + 4999), IDEM_REUSED);
    assert_int_equal(idem_decide(&row, fp, T0 + 5000), IDEM_RUN); /* expired: as none */
    assert_int_equal(idem_decide(&row, other, T0 + 5000), IDEM_RUN);
}

static void test_kept_answers_and_ttl(void **state)
{
    (void)state;
    assert_true(idem_keeps(200));
    assert_true(idem_keeps(400));
    assert_true(idem_keeps(409));
    assert_true(idem_keeps(428));
    assert_false(idem_keeps(429));
    assert_false(idem_keeps(500));
    assert_false(idem_keeps(503));
    assert_false(idem_keeps(0));
    assert_int_equal(idem_ttl(0), IDEM_TTL_MS);
    assert_int_equal(idem_ttl(1500), 1500);
}

/* An answer with two accept links, as invite_json writes them. */
static void answer_with_links(const uint8_t *secret, char *out, size_t cap)
{
    /* One old invite's link (version 1, a salt) and one new (version 2, an ID). */
    uint8_t s1[SI_TOKEN_SALT_LEN];
    char t1[TOKEN_TEXT_LEN + 1], t2[TOKEN_TEXT_CAP];
    memset(s1, 0x11, sizeof s1);
    token_format(secret, s1, t1);
    struct invite fresh = {.has_salt = false};
    snprintf(fresh.id, sizeof fresh.id, "%s", "01a2429e-3cb0-76ab-ab95-4127e887c050");
    token_format_invite(secret, &fresh, t2);
    snprintf(out, cap,
             "{\"invites\":[{\"id\":\"a\",\"acceptLink\":\"http://h:1/invite/%s\",\"x\":1},"
             "{\"invitePurpose\":\"\\\"acceptLink\\\":\\\"no\",\"acceptLink\":"
             "\"https://h/p/invite/%s\"}],\"failedEmails\":[]}",
             t1, t2);
}

static void test_seal_round_trip(void **state)
{
    (void)state;
    uint8_t secret[SECURE_KEY_LEN];
    memset(secret, 7, sizeof secret);
    char text[1024];
    answer_with_links(secret, text, sizeof text);
    struct buf sealed, back;
    buf_init(&sealed, 0);
    buf_init(&back, 0);
    assert_int_equal(idem_seal(secret, text, strlen(text), &sealed), SI_OK);
    assert_int_equal(sealed.len, strlen(text) - (TOKEN_TEXT_LEN - 22) - (TOKEN_V2_TEXT_LEN - 23));
    assert_null(strstr(sealed.data, "01a2429e")); /* neither the ID's text */
    uint8_t salt[SI_TOKEN_SALT_LEN];
    char token[TOKEN_TEXT_LEN + 1];
    memset(salt, 0x11, sizeof salt);
    token_format(secret, salt, token);
    assert_non_null(strstr(text, token));
    assert_null(strstr(sealed.data, token)); /* the tag is gone from what is stored */
    assert_int_equal(idem_unseal(secret, sealed.data, sealed.len, &back), SI_OK);
    assert_int_equal(back.len, strlen(text));
    assert_memory_equal(back.data, text, back.len);
    buf_cleanup(&sealed);
    buf_cleanup(&back);
}

static void test_seal_refuses_foreign_tokens(void **state)
{
    (void)state;
    uint8_t secret[SECURE_KEY_LEN], other[SECURE_KEY_LEN];
    memset(secret, 7, sizeof secret);
    memset(other, 8, sizeof other);
    char text[1024];
    answer_with_links(other, text, sizeof text);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(idem_seal(secret, text, strlen(text), &b), SI_EINVAL);
    buf_reset(&b);
    const char *odd = "{\"acceptLink\":\"http://h/elsewhere\"}";
    assert_int_equal(idem_seal(secret, odd, strlen(odd), &b), SI_EINVAL);
    buf_reset(&b);
    const char *plain = "{\"message\":\"x\",\"details\":{}}"; /* no link: unchanged */
    assert_int_equal(idem_seal(secret, plain, strlen(plain), &b), SI_OK);
    assert_string_equal(b.data, plain);
    buf_reset(&b);
    assert_int_equal(idem_seal(secret, "", 0, &b), SI_OK);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_syntax),
        cmocka_unit_test(test_fingerprint_covers_every_part),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_kept_answers_and_ttl),
        cmocka_unit_test(test_seal_round_trip),
        cmocka_unit_test(test_seal_refuses_foreign_tokens),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
