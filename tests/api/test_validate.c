/* Unit tests of the shared field validation helpers (api/validate.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/validate.h"
#include "core/roles.h"

#include <stdlib.h>
#include <string.h>

#define ADMIN   "6732588207941061632"
#define BLOGGER "1000000000000000006"
#define CUSTOM  "0b7e1f9c-3a41-4c55-9d0e-6f2a8b1c4d3e"

/* The violation recorded for field, or NULL. */
static const struct violation *find(const struct violations *vs, const char *field)
{
    for (int i = 0; i < vs->n && i < VIOLATIONS_MAX; i++)
        if (strcmp(vs->v[i].field, field) == 0)
            return &vs->v[i];
    return NULL;
}

static void assert_violation(const struct violations *vs, const char *field,
                             enum violation_rule rule)
{
    const struct violation *v = find(vs, field);
    if (!v)
        fail_msg("no violation on %s", field);
    assert_int_equal(v->rule, rule);
}

static void test_utf8_count(void **state)
{
    (void)state;
    size_t n = 0;
    assert_true(validate_utf8_count("abc", 3, &n));
    assert_int_equal(n, 3);
    /* é (2 bytes), € (3 bytes), 😀 (4 bytes) are one code point each. */
    const char *mixed = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    assert_true(validate_utf8_count(mixed, strlen(mixed), &n));
    assert_int_equal(n, 3);
    assert_true(validate_utf8_count("", 0, &n));
    assert_int_equal(n, 0);
}

static void test_utf8_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong 2-byte */
        "\xe0\x80\xaf",     /* overlong 3-byte */
        "\xf0\x80\x80\xaf", /* overlong 4-byte */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* lead byte past the range */
        "\x80",             /* stray continuation */
        "\xc3",             /* truncated */
        "\xe2\x82",         /* truncated */
        "a\xc3(",           /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = 12345;
        assert_false(validate_utf8_count(bad[i], strlen(bad[i]), &n));
        assert_int_equal(n, 12345); /* untouched on failure */
    }
}

static void test_has_control(void **state)
{
    (void)state;
    assert_false(validate_has_control("plain text", 10, NULL));
    assert_true(validate_has_control("a\nb", 3, NULL));
    assert_false(validate_has_control("a\r\n\tb", 5, "\t\r\n"));
    assert_true(validate_has_control("a\x01", 2, "\t\r\n"));
    assert_true(validate_has_control("a\x7f", 2, "\t\r\n"));
    assert_true(validate_has_control("a\0b", 3, "\t\r\n")); /* NUL is never allowed */
}

/* A string of n copies of the 2-byte "é". */
static json_t *repeat_e_acute(size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[2 * n] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

static void test_purpose_limits(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    char *out = NULL;
    /* 1,000 code points of 2-byte text is 2,000 bytes and still within the limit. */
    json_t *ok = repeat_e_acute(SI_PURPOSE_MAX_CHARS);
    assert_true(validate_purpose(ok, "invitePurpose", &out, &vs));
    assert_int_equal(vs.n, 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), 2 * SI_PURPOSE_MAX_CHARS);
    free(out);
    json_decref(ok);

    json_t *over = repeat_e_acute(SI_PURPOSE_MAX_CHARS + 1);
    assert_false(validate_purpose(over, "invitePurpose", &out, &vs));
    assert_null(out);
    assert_violation(&vs, "invitePurpose", RULE_MAX);
    json_decref(over);
}

static void test_purpose_content(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    char *out = NULL;
    json_t *lines = json_string("Hi,\r\nplease\thelp.");
    assert_true(validate_purpose(lines, "p", &out, &vs));
    assert_string_equal(out, "Hi,\r\nplease\thelp.");
    free(out);
    json_decref(lines);

    json_t *ctl = json_string("bell\x07");
    assert_false(validate_purpose(ctl, "p", &out, &vs));
    assert_violation(&vs, "p", RULE_FORMAT);
    json_decref(ctl);

    struct violations vs2 = {.n = 0};
    json_t *nul = json_stringn("a\0b", 3);
    assert_false(validate_purpose(nul, "p", &out, &vs2));
    assert_int_equal(vs2.n, 1);
    json_decref(nul);

    struct violations vs3 = {.n = 0};
    json_t *badutf = json_stringn_nocheck("\xed\xa0\x80", 3);
    assert_false(validate_purpose(badutf, "p", &out, &vs3));
    assert_violation(&vs3, "p", RULE_FORMAT);
    json_decref(badutf);

    struct violations vs4 = {.n = 0};
    json_t *empty = json_string(""), *num = json_integer(3);
    assert_true(validate_purpose(empty, "p", &out, &vs4));
    assert_null(out); /* empty means none */
    assert_true(validate_purpose(NULL, "p", &out, &vs4));
    assert_null(out);
    assert_int_equal(vs4.n, 0);
    assert_false(validate_purpose(num, "p", &out, &vs4));
    assert_violation(&vs4, "p", RULE_FORMAT);
    json_decref(empty);
    json_decref(num);
}

static void test_policy_ids_valid(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    struct policy_list pl;
    struct role custom = {.id = CUSTOM, .title = "Translator"};
    json_t *a = json_pack("[sss]", ADMIN, CUSTOM, ADMIN);
    assert_true(validate_policy_ids_need_custom(a));
    assert_true(validate_policy_ids(a, "policyIds", true, &custom, 1, &pl, &vs));
    assert_int_equal(vs.n, 0);
    assert_int_equal(pl.n, 2); /* the repeated ID is kept once */
    assert_string_equal(pl.ids[0], ADMIN);
    assert_string_equal(pl.ids[1], CUSTOM);
    json_decref(a);

    json_t *pre = json_pack("[ss]", ADMIN, BLOGGER);
    assert_false(validate_policy_ids_need_custom(pre));
    assert_true(validate_policy_ids(pre, "policyIds", true, NULL, 0, &pl, &vs));
    assert_int_equal(pl.n, 2);
    json_decref(pre);
}

static void test_policy_ids_bad_entries(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    struct policy_list pl;
    json_t *a = json_pack("[ssis]", ADMIN, "nope", 7, CUSTOM);
    /* Without the custom role in the list, CUSTOM is unknown too: one violation per index. */
    assert_false(validate_policy_ids(a, "policyIds", true, NULL, 0, &pl, &vs));
    assert_int_equal(pl.n, 0);
    assert_int_equal(vs.n, 3);
    assert_null(find(&vs, "policyIds[0]"));
    assert_violation(&vs, "policyIds[1]", RULE_INVALID_ENUM_VALUE);
    assert_violation(&vs, "policyIds[2]", RULE_FORMAT);
    assert_violation(&vs, "policyIds[3]", RULE_INVALID_ENUM_VALUE);
    json_decref(a);
}

static void test_policy_ids_sizes(void **state)
{
    (void)state;
    struct policy_list pl;
    struct violations vs = {.n = 0};
    assert_false(validate_policy_ids(NULL, "policyIds", true, NULL, 0, &pl, &vs));
    assert_violation(&vs, "policyIds", RULE_REQUIRED_FIELD);

    struct violations vs2 = {.n = 0};
    json_t *empty = json_array();
    assert_false(validate_policy_ids(empty, "policyIds", false, NULL, 0, &pl, &vs2));
    assert_violation(&vs2, "policyIds", RULE_REQUIRED_FIELD);
    json_decref(empty);

    struct violations vs3 = {.n = 0};
    assert_false(validate_policy_ids(NULL, "policyIds", false, NULL, 0, &pl, &vs3));
    assert_int_equal(vs3.n, 0); /* optional and absent: fine, nothing parsed */
    assert_int_equal(pl.n, 0);

    struct violations vs4 = {.n = 0};
    json_t *big = json_array();
    for (int i = 0; i < SI_POLICIES_MAX + 1; i++)
        json_array_append_new(big, json_string(ADMIN));
    assert_false(validate_policy_ids(big, "policyIds", true, NULL, 0, &pl, &vs4));
    assert_violation(&vs4, "policyIds", RULE_MAX_SIZE);
    json_array_remove(big, 0);
    struct violations vs5 = {.n = 0};
    assert_true(validate_policy_ids(big, "policyIds", true, NULL, 0, &pl, &vs5));
    json_decref(big);

    struct violations vs6 = {.n = 0};
    json_t *obj = json_object();
    assert_false(validate_policy_ids(obj, "policyIds", true, NULL, 0, &pl, &vs6));
    assert_violation(&vs6, "policyIds", RULE_FORMAT);
    json_decref(obj);
}

static void test_language(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    char lang[SI_LANG_MAX] = "unchanged";
    json_t *ok = json_string("pt-BR"), *bad = json_string("not a tag!"), *num = json_real(1);
    assert_true(validate_language(NULL, "defaultEmailLanguage", lang, &vs));
    assert_string_equal(lang, "unchanged");
    assert_true(validate_language(ok, "defaultEmailLanguage", lang, &vs));
    assert_string_equal(lang, "pt-BR");
    assert_false(validate_language(bad, "defaultEmailLanguage", lang, &vs));
    assert_false(validate_language(num, "lang2", lang, &vs));
    assert_int_equal(vs.n, 2);
    assert_violation(&vs, "defaultEmailLanguage", RULE_FORMAT);
    assert_violation(&vs, "lang2", RULE_FORMAT);
    json_decref(ok);
    json_decref(bad);
    json_decref(num);
}

static void test_staff_id(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    char out[SI_STAFF_ID_MAX];
    bool present = true;
    assert_true(validate_staff_id(NULL, "staffId", out, &present, &vs));
    assert_false(present);
    json_t *empty = json_string("");
    assert_true(validate_staff_id(empty, "staffId", out, &present, &vs));
    assert_true(present);
    assert_string_equal(out, "");
    char longer[SI_STAFF_ID_MAX + 1];
    memset(longer, 'x', SI_STAFF_ID_MAX);
    longer[SI_STAFF_ID_MAX] = '\0';
    json_t *big = json_string(longer), *ctl = json_string("a\nb");
    assert_false(validate_staff_id(big, "staffId", out, &present, &vs));
    assert_violation(&vs, "staffId", RULE_MAX);
    assert_false(validate_staff_id(ctl, "staff2", out, &present, &vs));
    assert_violation(&vs, "staff2", RULE_FORMAT);
    longer[SI_STAFF_ID_MAX - 1] = '\0'; /* exactly the maximum fits */
    json_t *max = json_string(longer);
    assert_true(validate_staff_id(max, "staffId", out, &present, &vs));
    assert_int_equal(strlen(out), SI_STAFF_ID_MAX - 1);
    json_decref(empty);
    json_decref(big);
    json_decref(ctl);
    json_decref(max);
}

static void test_expires_days(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    int d = -1;
    assert_true(validate_expires_days(NULL, "expiresInDays", &d, &vs));
    assert_int_equal(d, 0);
    json_t *one = json_integer(1), *ninety = json_integer(90), *zero = json_integer(0),
           *big = json_integer(91), *real = json_real(1.5);
    assert_true(validate_expires_days(one, "e", &d, &vs));
    assert_int_equal(d, 1);
    assert_true(validate_expires_days(ninety, "e", &d, &vs));
    assert_int_equal(d, 90);
    assert_int_equal(vs.n, 0);
    assert_false(validate_expires_days(zero, "lo", &d, &vs));
    assert_false(validate_expires_days(big, "hi", &d, &vs));
    assert_false(validate_expires_days(real, "fmt", &d, &vs));
    assert_violation(&vs, "lo", RULE_MIN);
    assert_violation(&vs, "hi", RULE_MAX);
    assert_violation(&vs, "fmt", RULE_FORMAT);
    json_decref(one);
    json_decref(ninety);
    json_decref(zero);
    json_decref(big);
    json_decref(real);
}

static void test_bool_and_body(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    bool b = false;
    assert_true(validate_bool(json_true(), "dryRun", &b, &vs));
    assert_true(b);
    json_t *s = json_string("true");
    assert_false(validate_bool(s, "dryRun", &b, &vs));
    assert_violation(&vs, "dryRun", RULE_FORMAT);
    json_decref(s);

    struct violations vs2 = {.n = 0};
    json_t *obj = json_object(), *arr = json_array();
    assert_ptr_equal(validate_body_object(obj, &vs2), obj);
    assert_null(validate_body_object(NULL, &vs2));
    assert_int_equal(vs2.n, 0);
    assert_null(validate_body_object(arr, &vs2));
    assert_violation(&vs2, "body", RULE_FORMAT);
    json_decref(obj);
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_count),
        cmocka_unit_test(test_utf8_rejects_malformed),
        cmocka_unit_test(test_has_control),
        cmocka_unit_test(test_purpose_limits),
        cmocka_unit_test(test_purpose_content),
        cmocka_unit_test(test_policy_ids_valid),
        cmocka_unit_test(test_policy_ids_bad_entries),
        cmocka_unit_test(test_policy_ids_sizes),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_staff_id),
        cmocka_unit_test(test_expires_days),
        cmocka_unit_test(test_bool_and_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
