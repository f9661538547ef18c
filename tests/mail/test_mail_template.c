/* Mail templates: the shipped ones load, typos and missing files are caught at load, and each
 * part's values are escaped for where they land (the modes themselves: tests/common). */
#include "mail/mail_template.h"

#include "fakes.h"
#include "scratch.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static const char *source_dir(void)
{
    const char *d = getenv("SI_SOURCE_DIR");
    return d && *d ? d : SI_SOURCE_DIR;
}

/* ---- a scratch templates folder --------------------------------------------------------- */

static void write_file(const char *dir, const char *lang, const char *name, const char *text)
{
    char path[SCRATCH_PATH_MAX];
    snprintf(path, sizeof path, "%s/mail", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/mail/%s", dir, lang);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "mail/%s/%s", lang, name);
    scratch_write(dir, path, text, strlen(text));
}

/* A complete, valid language folder. */
static void write_lang(const char *dir, const char *lang, const char *subject)
{
    write_file(dir, lang, "subject.txt", subject);
    write_file(dir, lang, "body.txt",
               "Hi {{invitee_email}}\n{{purpose_block}}\nGo: {{accept_link}}\n");
    write_file(dir, lang, "body.html", "<p>{{ site_name }}</p>{{purpose_block}}<p>{{purpose}}</p>");
    /* Every kind of email (issue 10: the reminder) has its three files too. */
    write_file(dir, lang, "reminder_subject.txt", subject);
    write_file(dir, lang, "reminder_body.txt", "Reminder: {{accept_link}}\n");
    write_file(dir, lang, "reminder_body.html", "<p>Reminder: {{site_name}}</p>");
    /* issue 13: the console's sign-in link */
    write_file(dir, lang, "signin_subject.txt", subject);
    write_file(dir, lang, "signin_body.txt", "Sign in: {{signin_link}}\n");
    write_file(dir, lang, "signin_body.html", "<p>{{account_name}}: {{signin_link}}</p>");
}

/* ---- loading ------------------------------------------------------------------------------ */

/* The shipped reminder (issue 10) renders in every launch language, with the link and expiry. */
static void test_shipped_reminder_renders(void **state)
{
    (void)state;
    static const char *const langs[] = {"en", "es", "fr", "de", "pt", "he", "ja"};
    char dir[SCRATCH_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/templates", source_dir());
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_OK);
    struct mail_values v = {.v = {[TV_SITE_NAME] = "Maple Bakery",
                                  [TV_ACCEPT_LINK] = "https://x.test/invite/TOKEN",
                                  [TV_EXPIRES] = "26 December 2026"}};
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
        const struct mail_templates *t = mail_template_pick(s, MAIL_KIND_REMINDER, langs[i], NULL);
        assert_string_equal(mail_templates_lang(t), langs[i]);
        assert_ptr_not_equal(t, mail_template_pick(s, MAIL_KIND_INVITE, langs[i], NULL));
        struct buf out;
        buf_init(&out, 0);
        assert_int_equal(mail_template_render(t, MAIL_TEXT, &v, &out), SI_OK);
        assert_non_null(strstr(out.data, "https://x.test/invite/TOKEN"));
        assert_non_null(strstr(out.data, "26 December 2026"));
        buf_cleanup(&out);
    }
    mail_template_free(s);
}

static void test_shipped_templates_load(void **state)
{
    (void)state;
    char dir[SCRATCH_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/templates", source_dir());
    struct mail_template_set *s = NULL;
    /* Fails on any unknown placeholder, so a typo in a shipped template fails this test. */
    assert_int_equal(mail_template_load(dir, &s), SI_OK);
    const struct mail_templates *en = mail_template_pick(s, MAIL_KIND_INVITE, "en", NULL);
    assert_string_equal(mail_templates_lang(en), "en");
    assert_ptr_equal(mail_template_pick(s, MAIL_KIND_INVITE, NULL, NULL), en);
    assert_ptr_equal(mail_template_pick(s, MAIL_KIND_INVITE, "", NULL), en);
    assert_ptr_equal(mail_template_pick(s, MAIL_KIND_INVITE, "xx-YY", NULL), en);

    /* Every value the templates use shows up once rendered. */
    struct mail_values v = {.v = {[TV_SITE_NAME] = "Maple Bakery",
                                  [TV_INVITER_NAME] = "Ann",
                                  [TV_INVITER_EMAIL] = "ann@example.com",
                                  [TV_INVITEE_EMAIL] = "bob@example.com",
                                  [TV_ROLES] = "Blog Editor",
                                  [TV_ACCEPT_LINK] = "https://x.test/invite/TOKEN",
                                  [TV_EXPIRES] = "26 December 2026"}};
    for (int p = 0; p < MAIL_PARTS; p++) {
        struct buf out;
        buf_init(&out, 0);
        assert_int_equal(mail_template_render(en, (enum mail_part)p, &v, &out), SI_OK);
        assert_non_null(strstr(out.data, "Maple Bakery"));
        assert_null(strstr(out.data, "{{"));
        if (p != MAIL_SUBJECT) {
            assert_non_null(strstr(out.data, "https://x.test/invite/TOKEN"));
            assert_non_null(strstr(out.data, "26 December 2026"));
            assert_non_null(strstr(out.data, "Blog Editor"));
        }
        buf_cleanup(&out);
    }
    mail_template_free(s);
}

static void test_unknown_placeholder_is_refused(void **state)
{
    const char *dir = *state;
    write_lang(dir, "en", "Join {{site_name}}\n");
    write_file(dir, "en", "body.txt", "Hello\n\nJoin {{site_nmae}} now\n");
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_EINVAL);
    assert_null(s);
}

static void test_unclosed_placeholder_is_refused(void **state)
{
    const char *dir = *state;
    write_lang(dir, "en", "Join {{site_name\n");
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_EINVAL);
}

static void test_missing_file_is_refused(void **state)
{
    const char *dir = *state;
    char path[SCRATCH_PATH_MAX];
    write_lang(dir, "en", "Join {{site_name}}\n");
    snprintf(path, sizeof path, "%s/mail/en/body.html", dir);
    assert_int_equal(unlink(path), 0);
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_ECONFIG);
    assert_null(s);
}

static void test_missing_fallback_or_folder_is_refused(void **state)
{
    const char *dir = *state;
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_ECONFIG); /* no mail/ at all */
    write_lang(dir, "fr", "Rejoignez {{site_name}}\n");
    assert_int_equal(mail_template_load(dir, &s), SI_ECONFIG); /* no en/ */
    assert_null(s);
}

static void test_bad_subject_or_encoding_is_refused(void **state)
{
    const char *dir = *state;
    struct mail_template_set *s = NULL;
    write_lang(dir, "en", "Two\nlines\n");
    assert_int_equal(mail_template_load(dir, &s), SI_EINVAL);
    write_lang(dir, "en", "\n");
    assert_int_equal(mail_template_load(dir, &s), SI_EINVAL);
    write_lang(dir, "en", "Join \xC3\x28 {{site_name}}\n"); /* broken UTF-8 */
    assert_int_equal(mail_template_load(dir, &s), SI_EINVAL);
    write_lang(dir, "en", "Join {{site_name}}\r\n"); /* CRLF from a Windows editor is fine */
    assert_int_equal(mail_template_load(dir, &s), SI_OK);
    mail_template_free(s);
}

static void test_languages_and_fallback(void **state)
{
    const char *dir = *state;
    write_lang(dir, "en", "Join {{site_name}}\n");
    write_lang(dir, "fr", "Rejoignez {{site_name}}\n");
    write_file(dir, "README", "x", "not a language folder"); /* ignored: not a tag */
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_OK);
    assert_string_equal(mail_templates_lang(mail_template_pick(s, MAIL_KIND_INVITE, "fr", NULL)),
                        "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, MAIL_KIND_INVITE, "fr-CA", NULL)),
                        "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, MAIL_KIND_INVITE, "FR", NULL)),
                        "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, MAIL_KIND_INVITE, "de", NULL)),
                        "en");
    /* The one fallback: the invite's language, else the site's, else English. */
    assert_string_equal(mail_templates_lang(mail_template_pick(s, MAIL_KIND_INVITE, "it", "fr-CA")),
                        "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, MAIL_KIND_INVITE, "de-AT", "it")),
                        "en");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, MAIL_KIND_INVITE, "", "fr")),
                        "fr");

    struct mail_values v = {.v = {[TV_SITE_NAME] = "Café\r\nBcc: x@y"}};
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(mail_template_render(mail_template_pick(s, MAIL_KIND_INVITE, "fr", NULL),
                                          MAIL_SUBJECT, &v, &out),
                     SI_OK);
    assert_string_equal(out.data, "Rejoignez Café Bcc: x@y"); /* header escaping: one line */
    buf_cleanup(&out);
    mail_template_free(s);
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void test_purpose_block(void **state)
{
    const char *dir = *state;
    write_lang(dir, "en", "Join {{site_name}}\n");
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_OK);
    const struct mail_templates *en = mail_template_pick(s, MAIL_KIND_INVITE, "en", NULL);
    struct buf out;
    buf_init(&out, 0);

    struct mail_values v = {.v = {[TV_INVITEE_EMAIL] = "b@x.io", [TV_ACCEPT_LINK] = "L"}};
    assert_int_equal(mail_template_render(en, MAIL_TEXT, &v, &out), SI_OK);
    assert_string_equal(out.data, "Hi b@x.io\n\nGo: L\n"); /* no purpose: no quote, no gap */

    v.v[TV_PURPOSE] = "Line one\r\n--b\r\n\r\nContent-Type: text/html";
    buf_reset(&out);
    assert_int_equal(mail_template_render(en, MAIL_TEXT, &v, &out), SI_OK);
    assert_string_equal(out.data, "Hi b@x.io\n\n> Line one\n> --b\n>\n> Content-Type: text/html"
                                  "\n\nGo: L\n");

    v.v[TV_PURPOSE] = "<script>alert(1)</script>\nok";
    v.v[TV_SITE_NAME] = "S&P";
    buf_reset(&out);
    assert_int_equal(mail_template_render(en, MAIL_HTML, &v, &out), SI_OK);
    assert_non_null(strstr(out.data, "<p>S&amp;P</p><blockquote"));
    assert_non_null(strstr(out.data, "&lt;script&gt;alert(1)&lt;/script&gt;<br>\nok</blockquote>"));
    assert_null(strstr(out.data, "<script>"));

    v.v[TV_PURPOSE] = NULL;
    buf_reset(&out);
    assert_int_equal(mail_template_render(en, MAIL_HTML, &v, &out), SI_OK);
    assert_string_equal(out.data, "<p>S&amp;P</p><p></p>");
    buf_cleanup(&out);
    mail_template_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_templates_load),
        cmocka_unit_test(test_shipped_reminder_renders),
        cmocka_unit_test_setup_teardown(test_unknown_placeholder_is_refused, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_unclosed_placeholder_is_refused, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_refused, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_missing_fallback_or_folder_is_refused, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_bad_subject_or_encoding_is_refused, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_languages_and_fallback, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_purpose_block, scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
