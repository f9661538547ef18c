/* Table tests of the invite address rules (docs/EMAIL.md): verdicts, stored forms and keys. */
#include "core/email.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct email_case {
    const char *in;
    size_t len; /* 0: strlen(in); set for inputs with embedded NULs */
    enum email_verdict verdict;
    const char *stored; /* expected stored form when EMAIL_OK, NULL = same as in */
    const char *key;    /* expected key when EMAIL_OK, NULL = same as stored */
};

static const struct email_case cases[] = {
    /* valid: plain shapes, case handling, plus addressing */
    {"user@example.com", 0, EMAIL_OK, NULL, NULL},
    {"User@Example.COM", 0, EMAIL_OK, "User@example.com", "user@example.com"},
    {"first.last@example.com", 0, EMAIL_OK, NULL, NULL},
    {"user+tag@example.com", 0, EMAIL_OK, NULL, NULL},
    {"User+Tag+More@Sub.Example.co.UK", 0, EMAIL_OK, "User+Tag+More@sub.example.co.uk",
     "user+tag+more@sub.example.co.uk"},
    {"a@b.co", 0, EMAIL_OK, NULL, NULL},
    {"!#$%&'*+-/=?^_`{|}~@example.com", 0, EMAIL_OK, NULL, NULL},
    {"o'brien@example.ie", 0, EMAIL_OK, NULL, NULL},
    {"user_name@example.com", 0, EMAIL_OK, NULL, NULL},
    {"user@a-b.example.com", 0, EMAIL_OK, NULL, NULL},
    {"user@123.example.com", 0, EMAIL_OK, NULL, NULL},
    {"user@example.c0m", 0, EMAIL_OK, NULL, NULL},
    {"user@e-x-a.museum", 0, EMAIL_OK, NULL, NULL},
    {"1234567890@example.com", 0, EMAIL_OK, NULL, NULL},
    /* valid: IDN domains (A-labels and U-labels) and UTF-8 local parts */
    {"x@xn--bcher-kva.example", 0, EMAIL_OK, NULL, NULL},
    {"X@XN--BCHER-KVA.EXAMPLE", 0, EMAIL_OK, "X@xn--bcher-kva.example", "x@xn--bcher-kva.example"},
    {"user@domain.xn--p1ai", 0, EMAIL_OK, NULL, NULL},
    {"user@bücher.de", 0, EMAIL_OK, NULL, NULL},
    {"user@BÜCHER.DE", 0, EMAIL_OK, "user@bÜcher.de", "user@bÜcher.de"},
    {"用户@例子.广告", 0, EMAIL_OK, NULL, NULL},
    {"José.Núñez@Example.ES", 0, EMAIL_OK, "José.Núñez@example.es", "josé.núñez@example.es"},
    {"ÄÖÜ@example.de", 0, EMAIL_OK, NULL, NULL},
    {"пользователь@пример.рф", 0, EMAIL_OK, NULL, NULL},
    {"user@😀.example", 0, EMAIL_OK, NULL, NULL},
    /* empty and missing '@' */
    {"", 0, EMAIL_EMPTY, NULL, NULL},
    {"userexample.com", 0, EMAIL_NO_AT, NULL, NULL},
    {"user", 0, EMAIL_NO_AT, NULL, NULL},
    /* local part */
    {"@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"@", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {".user@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"user.@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"us..er@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"\"john.doe\"@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"\"a@b\"@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"\"\"@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"us(comment)er@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"a@b@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"user@@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"user@example.com@", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"user,x@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"<user@example.com>", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"user\\x@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"user;x@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    {"user[1]@example.com", 0, EMAIL_BAD_LOCAL, NULL, NULL},
    /* domain */
    {"user@", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@example", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@localhost", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@.example.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@example..com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@example.com.", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@-example.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@example-.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@exa_mple.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@exa/mple.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@ex+ample.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@[192.0.2.1]", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@[IPv6:2001:db8::1]", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@192.0.2.1", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@example.123", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@xn--.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@ab--cd.com", 0, EMAIL_BAD_DOMAIN, NULL, NULL},
    {"user@例子\xe3\x80\x82广告", 0, EMAIL_BAD_DOMAIN, NULL, NULL}, /* U+3002 */
    {"user@example\xef\xbc\x8e"
     "com",
     0, EMAIL_BAD_DOMAIN, NULL, NULL}, /* U+FF0E */
    {"user@b\xc2\xa1"
     "cher.de",
     0, EMAIL_BAD_DOMAIN, NULL, NULL}, /* U+00A1 */
    {"user@a\xe2\x80\x94"
     "b.com",
     0, EMAIL_BAD_DOMAIN, NULL, NULL}, /* EM DASH */
    /* controls, spaces, NUL: header injection and invisible characters */
    {"user@example.com\r\nBcc: x@evil.example", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user@example.com\n", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user\r@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user@exam\0ple.com", 17, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user@example.com\0", 17, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"\0user@example.com", 17, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"\tuser@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {" user@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user@example.com ", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"us er@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"\"john doe\"@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user@exa mple.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user\x7f@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user\x1b@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},
    {"user\xc2\xa0@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},     /* NBSP */
    {"user\xc2\x85@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL},     /* NEL (C1) */
    {"user\xe2\x80\x8b@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL}, /* ZWSP */
    {"user\xe2\x80\xa8@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL}, /* LINE SEPARATOR */
    {"user@exa\xe2\x80\xae"
     "mple.com",
     0, EMAIL_CONTROL_CHAR, NULL, NULL},                                 /* RLO */
    {"\xef\xbb\xbfuser@example.com", 0, EMAIL_CONTROL_CHAR, NULL, NULL}, /* BOM */
    {"user@example.com\xe3\x80\x80", 0, EMAIL_CONTROL_CHAR, NULL, NULL}, /* IDEOGRAPHIC SP */
    /* invalid UTF-8 */
    {"user\xff@example.com", 0, EMAIL_BAD_UTF8, NULL, NULL},
    {"user\xc3@example.com", 0, EMAIL_BAD_UTF8, NULL, NULL},             /* cut sequence */
    {"user\xc0\xaf@example.com", 0, EMAIL_BAD_UTF8, NULL, NULL},         /* overlong '/' */
    {"user\xe0\x80\xaf@example.com", 0, EMAIL_BAD_UTF8, NULL, NULL},     /* overlong, 3 bytes */
    {"user\xed\xa0\x80@example.com", 0, EMAIL_BAD_UTF8, NULL, NULL},     /* surrogate */
    {"user\xf4\x90\x80\x80@example.com", 0, EMAIL_BAD_UTF8, NULL, NULL}, /* > U+10FFFF */
    {"user@example.com\xe3", 0, EMAIL_BAD_UTF8, NULL, NULL},             /* cut at the end */
    {"user\x80@example.com", 0, EMAIL_BAD_UTF8, NULL, NULL},             /* lone continuation */
};

#define NCASES (sizeof cases / sizeof cases[0])

static void test_table(void **state)
{
    (void)state;
    int failures = 0;
    assert_true(NCASES >= 60);
    for (size_t i = 0; i < NCASES; i++) {
        const struct email_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        char stored[SI_EMAIL_MAX + 1] = "junk", key[SI_EMAIL_MAX + 1] = "junk";
        enum email_verdict v = email_check(c->in, len, stored, key);
        const char *want_stored = c->stored ? c->stored : c->in;
        const char *want_key = c->key ? c->key : want_stored;
        bool ok = v == c->verdict;
        if (ok && v == EMAIL_OK)
            ok = strcmp(stored, want_stored) == 0 && strcmp(key, want_key) == 0;
        if (ok && v != EMAIL_OK) /* a refusal must not leave a usable address behind */
            ok = stored[0] == '\0' && key[0] == '\0';
        if (!ok) {
            print_error("case %zu \"%s\": verdict %d (want %d), stored \"%s\", key \"%s\"\n", i,
                        c->in, (int)v, (int)c->verdict, stored, key);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Writes n copies of c into p and returns the end. */
static char *fill(char *p, char c, size_t n)
{
    memset(p, c, n);
    return p + n;
}

static enum email_verdict check_parts(size_t local, const char *domain)
{
    char addr[512];
    char *p = fill(addr, 'a', local);
    *p++ = '@';
    size_t dl = strlen(domain);
    memcpy(p, domain, dl + 1);
    char stored[SI_EMAIL_MAX + 1], key[SI_EMAIL_MAX + 1];
    enum email_verdict v = email_check(addr, (size_t)(p - addr) + dl, stored, key);
    if (v == EMAIL_OK)
        assert_string_equal(stored, addr);
    return v;
}

/* Writes a domain of exactly n octets: labels of at most 63 'b's, then ".com". */
static void make_domain(char *out, size_t n)
{
    char *p = out;
    size_t rem = n - 4; /* labels and their dots before ".com" */
    while (rem > 63) {
        size_t label = rem - 64 >= 1 ? 63 : rem - 2; /* leave at least one octet after the dot */
        p = fill(p, 'b', label);
        *p++ = '.';
        rem -= label + 1;
    }
    p = fill(p, 'b', rem);
    memcpy(p, ".com", 5);
}

static void test_local_length_limits(void **state)
{
    (void)state;
    assert_int_equal(check_parts(64, "example.com"), EMAIL_OK);
    assert_int_equal(check_parts(65, "example.com"), EMAIL_TOO_LONG);
    /* the limit counts octets: 32 two-octet letters are exactly 64 */
    char addr[256] = "";
    for (int i = 0; i < 32; i++)
        memcpy(addr + 2 * i, "é", 2);
    memcpy(addr + 64, "@example.com", 13);
    assert_int_equal(email_check(addr, strlen(addr), NULL, NULL), EMAIL_OK);
    memmove(addr + 66, addr + 64, 13);
    memcpy(addr + 64, "é", 2);
    assert_int_equal(email_check(addr, strlen(addr), NULL, NULL), EMAIL_TOO_LONG);
}

static void test_label_length_limits(void **state)
{
    (void)state;
    char domain[128];
    char *p = fill(domain, 'd', 63);
    memcpy(p, ".com", 5);
    assert_int_equal(check_parts(1, domain), EMAIL_OK);
    p = fill(domain, 'd', 64);
    memcpy(p, ".com", 5);
    assert_int_equal(check_parts(1, domain), EMAIL_BAD_DOMAIN);
}

static void test_total_length_limits(void **state)
{
    (void)state;
    char domain[300];
    /* 64 + 1 + 189 = 254: the longest address we take */
    make_domain(domain, 189);
    assert_int_equal(strlen(domain), 189);
    assert_int_equal(check_parts(64, domain), EMAIL_OK);
    make_domain(domain, 190);
    assert_int_equal(check_parts(64, domain), EMAIL_TOO_LONG);
    /* the longest domain that fits next to a 1-octet local part: 252 */
    make_domain(domain, 252);
    assert_int_equal(check_parts(1, domain), EMAIL_OK);
    make_domain(domain, 253);
    assert_int_equal(check_parts(1, domain), EMAIL_TOO_LONG);
}

static void test_null_and_reasons(void **state)
{
    (void)state;
    char stored[SI_EMAIL_MAX + 1] = "junk";
    assert_int_equal(email_check(NULL, 0, stored, NULL), EMAIL_EMPTY);
    assert_string_equal(stored, "");
    /* the outputs are optional: validating alone is a use */
    assert_int_equal(email_check("a@b.co", 6, NULL, NULL), EMAIL_OK);
    for (int v = EMAIL_OK; v <= EMAIL_BAD_UTF8; v++) {
        const char *s = email_verdict_str((enum email_verdict)v);
        assert_non_null(s);
        assert_true(strlen(s) > 5);
    }
    assert_string_not_equal(email_verdict_str(EMAIL_BAD_LOCAL),
                            email_verdict_str(EMAIL_BAD_DOMAIN));
}

/* Two spellings of one address share a key, so the store sees one invitee. */
static void test_keys_compare_case_insensitively(void **state)
{
    (void)state;
    char k1[SI_EMAIL_MAX + 1], k2[SI_EMAIL_MAX + 1], s1[SI_EMAIL_MAX + 1], s2[SI_EMAIL_MAX + 1];
    assert_int_equal(email_check("Jane.Doe@Example.com", 20, s1, k1), EMAIL_OK);
    assert_int_equal(email_check("jane.doe@EXAMPLE.COM", 20, s2, k2), EMAIL_OK);
    assert_string_equal(k1, k2);
    assert_string_not_equal(s1, s2); /* the local part is kept as given */
    assert_int_equal(email_check("jane.doe+x@example.com", 22, s2, k2), EMAIL_OK);
    assert_string_not_equal(k1, k2); /* subaddresses are different invitees */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_local_length_limits),
        cmocka_unit_test(test_label_length_limits),
        cmocka_unit_test(test_total_length_limits),
        cmocka_unit_test(test_null_and_reasons),
        cmocka_unit_test(test_keys_compare_case_insensitively),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
