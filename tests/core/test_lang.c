/* Language tags: syntax, and which supported template language an email gets. */
#include "core/lang.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const char *const supported[] = {"en", "es", "fr", "de", "pt", "he", "ja", NULL};

static void test_valid_tags(void **state)
{
    (void)state;
    const char *good[] = {"en",     "EN",  "pt-BR",      "PT_br",      "zh-Hant-TW",
                          "es-419", "haw", "de-CH-1901", "sr-Latn-RS", "en-a"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!lang_tag_valid(good[i]))
            fail_msg("\"%s\" was refused", good[i]);
    }
    /* 35 chars is the most that fits SI_LANG_MAX with its NUL */
    assert_true(lang_tag_valid("en-aaaaaaaa-bbbbbbbb-cccccccc-ddddd"));
    assert_false(lang_tag_valid("en-aaaaaaaa-bbbbbbbb-cccccccc-dddddd"));
}

static void test_invalid_tags(void **state)
{
    (void)state;
    const char *bad[] = {"",       "e",     "engl",         "en-",        "en--US", "-en",
                         "en-US-", "en US", "en-123456789", "e1",         "12",     "en.US",
                         "x-a",    "en\n",  "fr-ça",        "en-US;q=0.9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (lang_tag_valid(bad[i]))
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    assert_false(lang_tag_valid(NULL));
}

static void test_pick_requested(void **state)
{
    (void)state;
    assert_string_equal(lang_pick("fr", "de", supported), "fr");
    assert_string_equal(lang_pick("pt-BR", "de", supported), "pt");
    assert_string_equal(lang_pick("PT_br", NULL, supported), "pt");
    assert_string_equal(lang_pick("JA", "en", supported), "ja");
    assert_string_equal(lang_pick("he-IL", "en", supported), "he");
    /* the answer points into supported: static storage the caller may keep */
    assert_ptr_equal(lang_pick("es-MX", "en", supported), supported[1]);
}

static void test_pick_falls_back(void **state)
{
    (void)state;
    /* unknown or malformed request: the site's language, then English */
    assert_string_equal(lang_pick("it", "de", supported), "de");
    assert_string_equal(lang_pick("it", "de-AT", supported), "de");
    assert_string_equal(lang_pick("not a tag", "fr", supported), "fr");
    assert_string_equal(lang_pick(NULL, "es", supported), "es");
    assert_string_equal(lang_pick("it", "ru", supported), "en");
    assert_string_equal(lang_pick(NULL, NULL, supported), "en");
    assert_string_equal(lang_pick("", "", supported), "en");
    /* a prefix is not a match: "e" is not "en", "fra" is not "fr" */
    assert_string_equal(lang_pick("fra", "e", supported), "en");
}

static void test_pick_without_english(void **state)
{
    (void)state;
    static const char *const only[] = {"de", "fr", NULL};
    static const char *const none[] = {NULL};
    assert_string_equal(lang_pick("it", NULL, only), "de");
    assert_string_equal(lang_pick("fr", NULL, only), "fr");
    assert_string_equal(lang_pick("fr", NULL, none), LANG_FALLBACK);
    assert_string_equal(lang_pick("fr", NULL, NULL), LANG_FALLBACK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_tags),           cmocka_unit_test(test_invalid_tags),
        cmocka_unit_test(test_pick_requested),       cmocka_unit_test(test_pick_falls_back),
        cmocka_unit_test(test_pick_without_english),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
