/* Mail templates: the shipped ones load, typos and missing files are caught at load, and each
 * escaping mode makes values safe for where they land. */
#include "mail/mail_template.h"

#include "common/template.h"

#include "fakes.h"

#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define TEST_PATH_MAX 4096

static const char *source_dir(void)
{
    const char *d = getenv("SI_SOURCE_DIR");
    return d && *d ? d : SI_SOURCE_DIR;
}

/* ---- a scratch templates folder --------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void write_file(const char *dir, const char *lang, const char *name, const char *text)
{
    char path[TEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/mail", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/mail/%s", dir, lang);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/mail/%s/%s", dir, lang, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* A complete, valid language folder. */
static void write_lang(const char *dir, const char *lang, const char *subject)
{
    write_file(dir, lang, "subject.txt", subject);
    write_file(dir, lang, "body.txt",
               "Hi {{invitee_email}}\n{{purpose_block}}\nGo: {{accept_link}}\n");
    write_file(dir, lang, "body.html", "<p>{{ site_name }}</p>{{purpose_block}}<p>{{purpose}}</p>");
}

static int setup_dir(void **state)
{
    char *dir = strdup("/tmp/si-template-XXXXXX");
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

/* ---- loading ------------------------------------------------------------------------------ */

static void test_shipped_templates_load(void **state)
{
    (void)state;
    char dir[TEST_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/templates", source_dir());
    struct mail_template_set *s = NULL;
    /* Fails on any unknown placeholder, so a typo in a shipped template fails this test. */
    assert_int_equal(mail_template_load(dir, &s), SI_OK);
    const struct mail_templates *en = mail_template_pick(s, "en", NULL);
    assert_string_equal(mail_templates_lang(en), "en");
    assert_ptr_equal(mail_template_pick(s, NULL, NULL), en);
    assert_ptr_equal(mail_template_pick(s, "", NULL), en);
    assert_ptr_equal(mail_template_pick(s, "xx-YY", NULL), en);

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
    char path[TEST_PATH_MAX];
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
    assert_string_equal(mail_templates_lang(mail_template_pick(s, "fr", NULL)), "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, "fr-CA", NULL)), "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, "FR", NULL)), "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, "de", NULL)), "en");
    /* The one fallback: the invite's language, else the site's, else English. */
    assert_string_equal(mail_templates_lang(mail_template_pick(s, "it", "fr-CA")), "fr");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, "de-AT", "it")), "en");
    assert_string_equal(mail_templates_lang(mail_template_pick(s, "", "fr")), "fr");

    struct mail_values v = {.v = {[TV_SITE_NAME] = "Café\r\nBcc: x@y"}};
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(
        mail_template_render(mail_template_pick(s, "fr", NULL), MAIL_SUBJECT, &v, &out), SI_OK);
    assert_string_equal(out.data, "Rejoignez Café Bcc: x@y"); /* header escaping: one line */
    buf_cleanup(&out);
    mail_template_free(s);
}

/* ---- rendering and escaping -------------------------------------------------------------- */

static char *escaped(const char *text, enum template_escape mode)
{
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(template_escape(&out, text, mode), SI_OK);
    assert_int_equal(buf_append(&out, "", 0), SI_OK);
    return buf_take(&out);
}

static void check_escape(const char *text, enum template_escape mode, const char *want)
{
    char *got = escaped(text, mode);
    assert_string_equal(got, want);
    free(got);
}

static void test_escape_modes(void **state)
{
    (void)state;
    check_escape("<a href=\"x\">Tom & Jerry's</a>", TEMPLATE_HTML_BR,
                 "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    check_escape("a\r\nb\nc\rd", TEMPLATE_HTML_BR, "a<br>\nb<br>\nc<br>\nd");
    check_escape("a\r\nBcc: x\tz\x01\x7f", TEMPLATE_HEADER, "a Bcc: x z  ");
    check_escape("a\r\nb\rc\td\x1b", TEMPLATE_TEXT, "a\nb\nc\td ");
    check_escape("日本 é <b>", TEMPLATE_TEXT, "日本 é <b>");
    /* Broken UTF-8 never passes through: each stray byte becomes U+FFFD. */
    check_escape("a\xff"
                 "b\xc3",
                 TEMPLATE_TEXT,
                 "a\xEF\xBF\xBD"
                 "b\xEF\xBF\xBD");
    check_escape("\xed\xa0\x80", TEMPLATE_HEADER, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    check_escape(NULL, TEMPLATE_HTML_BR, "");
}

static void test_purpose_block(void **state)
{
    const char *dir = *state;
    write_lang(dir, "en", "Join {{site_name}}\n");
    struct mail_template_set *s = NULL;
    assert_int_equal(mail_template_load(dir, &s), SI_OK);
    const struct mail_templates *en = mail_template_pick(s, "en", NULL);
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
        cmocka_unit_test_setup_teardown(test_unknown_placeholder_is_refused, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_unclosed_placeholder_is_refused, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_missing_file_is_refused, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_missing_fallback_or_folder_is_refused, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_bad_subject_or_encoding_is_refused, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_languages_and_fallback, setup_dir, teardown_dir),
        cmocka_unit_test(test_escape_modes),
        cmocka_unit_test_setup_teardown(test_purpose_block, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
