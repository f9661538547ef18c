/* The predefined roles: Wix's IDs, the site-grant rule, the retired alias, the level filter, and
 * translated texts with their locale fallback and load-time check. */
#include "common/text_table.h"
#include "core/roles.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define OLD_ADMIN "1000000000000000001"
#define DESIGNER  "1000000000000000003"

static void test_wix_ids_first(void **state)
{
    (void)state;
    size_t n = 0;
    const struct role *r = roles_predefined(&n);
    assert_int_equal(n, 10);
    assert_string_equal(r[0].id, ROLE_ID_OWNER);
    assert_string_equal(r[0].title, "Owner");
    assert_int_equal(r[0].restrict_from, ROLE_NO_RESTRICTION);
    assert_string_equal(r[1].id, ROLE_ID_ACCOUNT_ADMIN);
    assert_int_equal(r[1].restrict_from, ROLE_RESTRICT_SITE);
    assert_string_equal(r[2].id, ROLE_ID_ADMIN);
    assert_int_equal(r[2].restrict_from, ROLE_RESTRICT_ACCOUNT);
    for (size_t i = 0; i < n; i++) {
        assert_true(r[i].predefined);
        assert_true(r[i].title[0] && r[i].description[0]);
        assert_int_equal(strlen(r[i].id), 19);
    }
    assert_string_equal(roles_restriction_name(ROLE_NO_RESTRICTION), "NoRestriction");
    assert_string_equal(roles_restriction_name(ROLE_RESTRICT_SITE), "Site");
    assert_string_equal(roles_restriction_name(ROLE_RESTRICT_ACCOUNT), "Account");
}

static void test_alias(void **state)
{
    (void)state;
    assert_string_equal(roles_canonical_id(OLD_ADMIN), ROLE_ID_ADMIN);
    assert_string_equal(roles_canonical_id(ROLE_ID_ADMIN), ROLE_ID_ADMIN);
    const char *custom = "0b9a1c7e-3f2d-4e5a-9b8c-7d6e5f4a3b2c";
    assert_ptr_equal(roles_canonical_id(custom), custom);
    assert_ptr_equal(roles_find_predefined(OLD_ADMIN), roles_find_predefined(ROLE_ID_ADMIN));
    assert_null(roles_find_predefined(custom));
    assert_null(roles_find_predefined("1000000000000000009"));
    size_t n = 0;
    const struct role_alias *a = roles_aliases(&n);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].old_id, OLD_ADMIN);
    assert_string_equal(a[0].id, ROLE_ID_ADMIN);
}

static void test_site_grant(void **state)
{
    (void)state;
    assert_int_equal(roles_site_grant(ROLE_ID_OWNER), ROLE_GRANT_OWNER);
    assert_int_equal(roles_site_grant(ROLE_ID_ACCOUNT_ADMIN), ROLE_GRANT_ACCOUNT_ONLY);
    assert_int_equal(roles_site_grant(ROLE_ID_ADMIN), ROLE_GRANT_OK);
    assert_int_equal(roles_site_grant(OLD_ADMIN), ROLE_GRANT_OK);
    assert_int_equal(roles_site_grant(DESIGNER), ROLE_GRANT_OK);
    /* Existence is the caller's question: an unknown or custom ID is not refused here. */
    assert_int_equal(roles_site_grant("0b9a1c7e-3f2d-4e5a-9b8c-7d6e5f4a3b2c"), ROLE_GRANT_OK);
}

static void test_levels(void **state)
{
    (void)state;
    enum role_level l;
    assert_true(roles_level_parse("ALL", &l) && l == ROLE_LEVEL_ALL);
    assert_true(roles_level_parse("SITE_LEVEL", &l) && l == ROLE_LEVEL_SITE);
    assert_true(roles_level_parse("ACCOUNT_LEVEL", &l) && l == ROLE_LEVEL_ACCOUNT);
    assert_false(roles_level_parse("site_level", &l));
    assert_false(roles_level_parse("", &l));
    assert_false(roles_level_parse(NULL, &l));
    const struct role *owner = roles_find_predefined(ROLE_ID_OWNER);
    const struct role *acct = roles_find_predefined(ROLE_ID_ACCOUNT_ADMIN);
    const struct role *admin = roles_find_predefined(ROLE_ID_ADMIN);
    struct role custom = {.id = "c", .title = "Custom"};
    assert_true(roles_in_level(owner, ROLE_LEVEL_SITE) &&
                roles_in_level(owner, ROLE_LEVEL_ACCOUNT));
    assert_false(roles_in_level(acct, ROLE_LEVEL_SITE));
    assert_true(roles_in_level(acct, ROLE_LEVEL_ACCOUNT));
    assert_true(roles_in_level(admin, ROLE_LEVEL_SITE));
    assert_false(roles_in_level(admin, ROLE_LEVEL_ACCOUNT));
    assert_true(roles_in_level(&custom, ROLE_LEVEL_SITE) &&
                roles_in_level(&custom, ROLE_LEVEL_ACCOUNT) &&
                roles_in_level(&custom, ROLE_LEVEL_ALL));
}

/* A table of every predefined role in lang: "<lang>:<id>" titles, English for "en". */
static void add_lang(struct text_table *t, const char *lang, const char *skip_id)
{
    char json[8192];
    size_t len = 0, n = 0;
    const struct role *r = roles_predefined(&n);
    len += (size_t)snprintf(json + len, sizeof json - len, "{");
    for (size_t i = 0; i < n; i++) {
        if (skip_id && strcmp(r[i].id, skip_id) == 0)
            continue;
        bool en = strcmp(lang, "en") == 0;
        len += (size_t)snprintf(json + len, sizeof json - len,
                                "%s\"%s\": {\"title\": \"%s%s%s\", \"description\": \"%s%s\"}",
                                len > 1 ? "," : "", r[i].id, en ? "" : lang, en ? "" : ":",
                                en ? r[i].title : r[i].id, en ? "" : "d-",
                                en ? r[i].description : lang);
    }
    snprintf(json + len, sizeof json - len, "}");
    assert_int_equal(text_table_add(t, lang, json, strlen(json), lang), SI_OK);
}

static void test_locale_fallback(void **state)
{
    (void)state;
    struct text_table *t = text_table_new();
    add_lang(t, "en", NULL);
    add_lang(t, "pt", NULL);
    add_lang(t, "fr", NULL);
    char why[256];
    assert_int_equal(roles_texts_check(t, why, sizeof why), SI_OK);
    const struct role *owner = roles_find_predefined(ROLE_ID_OWNER);
    const char *title, *desc;
    roles_text(t, "fr", owner, &title, &desc);
    assert_string_equal(title, "fr:" ROLE_ID_OWNER);
    assert_string_equal(desc, "d-fr");
    roles_text(t, "pt-BR", owner, &title, &desc); /* region -> language */
    assert_string_equal(title, "pt:" ROLE_ID_OWNER);
    roles_text(t, "PT_br", owner, &title, &desc);
    assert_string_equal(title, "pt:" ROLE_ID_OWNER);
    const char *to_english[] = {"xx", "de", "", NULL, "not a tag!"};
    for (size_t i = 0; i < sizeof to_english / sizeof to_english[0]; i++) {
        roles_text(t, to_english[i], owner, &title, &desc);
        assert_string_equal(title, "Owner");
        assert_string_equal(desc, owner->description);
    }
    /* The retired alias is the Admin's texts; a custom role keeps its own words. */
    struct role old = {.id = OLD_ADMIN, .title = "stale", .predefined = true};
    roles_text(t, "fr", &old, &title, &desc);
    assert_string_equal(title, "fr:" ROLE_ID_ADMIN);
    struct role custom = {.id = "c", .title = "Traducteur", .description = "Traduit"};
    roles_text(t, "fr", &custom, &title, &desc);
    assert_string_equal(title, "Traducteur");
    assert_string_equal(desc, "Traduit");
    /* No table: the built-in English. */
    roles_text(NULL, "fr", owner, &title, &desc);
    assert_string_equal(title, "Owner");
    text_table_free(t);
}

static void test_texts_check(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(roles_texts_check(NULL, why, sizeof why), SI_OK);

    struct text_table *t = text_table_new();
    add_lang(t, "en", NULL);
    add_lang(t, "ja", ROLE_ID_ACCOUNT_ADMIN); /* a translator forgot one */
    assert_int_equal(roles_texts_check(t, why, sizeof why), SI_EINVAL);
    assert_non_null(strstr(why, ROLE_ID_ACCOUNT_ADMIN));
    text_table_free(t);

    t = text_table_new();
    add_lang(t, "en", NULL);
    const char *extra = "{\"" OLD_ADMIN "\": {\"title\": \"x\", \"description\": \"y\"}}";
    assert_int_equal(text_table_add(t, "es", extra, strlen(extra), "es"), SI_OK);
    assert_int_equal(roles_texts_check(t, why, sizeof why), SI_EINVAL); /* not a current ID */
    assert_non_null(strstr(why, OLD_ADMIN));
    text_table_free(t);

    t = text_table_new();
    add_lang(t, "fr", NULL);
    assert_int_equal(roles_texts_check(t, why, sizeof why), SI_EINVAL); /* no "en" */
    text_table_free(t);

    /* en must be Wix's English: a changed title would contradict the stores' seeds. */
    t = text_table_new();
    add_lang(t, "de", NULL);
    assert_int_equal(text_table_add(t, "en", "{}", 2, "en"), SI_OK);
    assert_int_equal(roles_texts_check(t, why, sizeof why), SI_EINVAL);
    text_table_free(t);

    /* Shapes text_table_add refuses: not an object, a number, a control character, a repeat. */
    t = text_table_new();
    const char *bad[] = {"[]",
                         "{\"a\": {\"title\": 3}}",
                         "{\"a\": {\"title\": \"x\\ny\"}}",
                         "{\"a\": {}, \"a\": {}}",
                         "{\"a\": \"x\"}",
                         "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(text_table_add(t, "en", bad[i], strlen(bad[i]), "bad"), SI_EINVAL);
    assert_int_equal(text_table_add(t, "en", "{}", 2, "ok"), SI_OK);
    assert_int_equal(text_table_add(t, "EN", "{}", 2, "twice"), SI_EINVAL);
    text_table_free(t);
}

/* The translations that ship pass the check the server runs at start, in all seven languages. */
static void test_shipped_translations(void **state)
{
    (void)state;
    struct text_table *t = NULL;
    assert_int_equal(text_table_load(SI_SOURCE_DIR "/templates", ROLES_TEXTS_FAMILY,
                                     ROLES_TEXTS_FILE, roles_texts_check, &t),
                     SI_OK);
    assert_non_null(t);
    const struct role *owner = roles_find_predefined(ROLE_ID_OWNER);
    const char *langs[] = {"es", "fr", "de", "pt", "he", "ja"}, *title, *desc;
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
        assert_string_equal(text_table_pick(t, langs[i]), langs[i]);
        roles_text(t, langs[i], owner, &title, &desc);
        assert_string_not_equal(title, "Owner");
        assert_string_not_equal(desc, owner->description);
    }
    text_table_free(t);
    /* A templates folder without roles/ keeps the built-in English. */
    assert_int_equal(text_table_load("/nonexistent-si", ROLES_TEXTS_FAMILY, ROLES_TEXTS_FILE,
                                     roles_texts_check, &t),
                     SI_OK);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wix_ids_first),        cmocka_unit_test(test_alias),
        cmocka_unit_test(test_site_grant),           cmocka_unit_test(test_levels),
        cmocka_unit_test(test_locale_fallback),      cmocka_unit_test(test_texts_check),
        cmocka_unit_test(test_shipped_translations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
