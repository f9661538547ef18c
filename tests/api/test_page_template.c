/* The invitee pages' templates: every shipped page renders in every language, values are
 * escaped once (the title too), right-to-left languages are marked, the language fallback,
 * and broken page files are refused at load. */
#include "api/page_template.h"

#include "scratch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const shipped_langs[] = {"en", "es", "fr", "de", "pt", "he", "ja"};

static const char *source_dir(void)
{
    const char *d = getenv("SI_SOURCE_DIR");
    return d && *d ? d : SI_SOURCE_DIR;
}

static struct page_set *load_shipped(void)
{
    char dir[SCRATCH_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/templates", source_dir());
    struct page_set *s = NULL;
    assert_int_equal(page_set_load(dir, &s), SI_OK);
    return s;
}

/* Hostile values in every field a page shows. */
static struct page_values hostile(void)
{
    return (struct page_values){.v = {
                                    [PV_SITE_NAME] = "Tom & <b>Jerry</b>'s",
                                    [PV_INVITER_NAME] = "Ann \"<script>\"",
                                    [PV_INVITER_EMAIL] = "ann@example.com",
                                    [PV_INVITEE_EMAIL] = "bob@example.com",
                                    [PV_ROLES] = "Blog Editor, <img src=x>",
                                    [PV_EXPIRES] = "2026-12-26 06:23 UTC",
                                    [PV_PURPOSE_BLOCK] = "<script>alert(1)</script>\r\nok",
                                    [PV_ACCEPT_ACTION] = "/invite/T/accept",
                                    [PV_DECLINE_ACTION] = "/invite/T/decline",
                                    [PV_FORM_TOKEN] = "tok\"en",
                                    [PV_CONTENT] = "<must not show>",
                                }};
}

static char *render(const struct page_set *s, const char *lang, enum page_id id,
                    const struct page_values *v)
{
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(page_render(s, lang, id, v, &out), SI_OK);
    return buf_take(&out);
}

static void test_every_page_in_every_language(void **state)
{
    (void)state;
    struct page_set *s = load_shipped();
    struct page_values v = hostile();
    for (size_t l = 0; l < sizeof shipped_langs / sizeof shipped_langs[0]; l++)
        for (int id = 0; id < PAGE_COUNT; id++) {
            const char *lang = page_set_pick(s, shipped_langs[l], NULL);
            assert_string_equal(lang, shipped_langs[l]);
            char *doc = render(s, lang, (enum page_id)id, &v);
            assert_null(strstr(doc, "{{"));
            assert_null(strstr(doc, "<script>"));
            assert_null(strstr(doc, "<b>Jerry"));
            assert_null(strstr(doc, "<img"));
            assert_null(strstr(doc, "<must not show>"));
            assert_null(strstr(doc, "&amp;amp;")); /* escaped once, the title too */
            char want[64];
            snprintf(want, sizeof want, "<html lang=\"%s\" dir=\"%s\"", lang,
                     strcmp(lang, "he") == 0 ? "rtl" : "ltr");
            assert_non_null(strstr(doc, want));
            if (id == PAGE_INVITE) {
                assert_non_null(strstr(doc, "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;&#39;s"));
                assert_non_null(strstr(doc, "<blockquote class=\"purpose\" dir=\"auto\">"
                                            "&lt;script&gt;alert(1)&lt;/script&gt;\nok"
                                            "</blockquote>"));
                assert_non_null(strstr(doc, "value=\"tok&quot;en\""));
            }
            free(doc);
        }
    page_set_free(s);
}

static void test_title_and_missing_values(void **state)
{
    (void)state;
    struct page_set *s = load_shipped();
    struct page_values v = hostile();
    char *doc = render(s, "en", PAGE_INVITE, &v);
    /* The title line is plain text, escaped once where the layout puts it. */
    assert_non_null(strstr(doc, "<title>You&#39;re invited to Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;"
                                "&#39;s</title>"));
    free(doc);
    struct page_values none = {.v = {NULL}};
    doc = render(s, "en", PAGE_INVITE, &none);
    assert_null(strstr(doc, "<blockquote")); /* no purpose, no quotation */
    assert_null(strstr(doc, "(null)"));
    free(doc);
    page_set_free(s);
}

static void test_language_fallback(void **state)
{
    (void)state;
    struct page_set *s = load_shipped();
    assert_string_equal(page_set_pick(s, "pt-BR", "fr"), "pt");
    assert_string_equal(page_set_pick(s, "it", "fr-CA"), "fr");
    assert_string_equal(page_set_pick(s, "HE", NULL), "he");
    assert_string_equal(page_set_pick(s, "it", "ko"), "en");
    assert_string_equal(page_set_pick(s, NULL, NULL), "en");
    struct page_values v = {.v = {NULL}};
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(page_render(s, "ko", PAGE_ERROR, &v, &out), SI_ENOTFOUND);
    assert_int_equal(page_render(s, "en", PAGE_COUNT, &v, &out), SI_ENOTFOUND);
    buf_cleanup(&out);
    page_set_free(s);
}

/* ---- a scratch templates folder ----------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    scratch_write(dir, name, text, strlen(text));
}

static const char *const page_names[PAGE_COUNT] = {
#define PAGE_NAME(e, name) [e] = name,
    PAGE_IDS(PAGE_NAME)
#undef PAGE_NAME
};

/* A minimal set: a layout and every page of lang with the given text. */
static void write_set(const char *dir, const char *lang, const char *page_text)
{
    char path[SCRATCH_PATH_MAX];
    snprintf(path, sizeof path, "%s/pages", dir);
    mkdir(path, 0700);
    write_file(path, "layout.html",
               "<html lang=\"{{lang}}\" dir=\"{{dir}}\"><title>{{title}}"
               "</title>{{content}}</html>\r\n");
    snprintf(path, sizeof path, "%s/pages/%s", dir, lang);
    mkdir(path, 0700);
    for (int id = 0; id < PAGE_COUNT; id++) {
        char name[64];
        snprintf(name, sizeof name, "%s.html", page_names[id]);
        write_file(path, name, page_text);
    }
}

static void test_scratch_pages(void **state)
{
    const char *dir = *state;
    struct page_set *s = NULL;
    assert_int_equal(page_set_load(dir, &s), SI_ECONFIG); /* no pages/ */
    write_set(dir, "fr", "Titre {{ site_name }}\r\n<p>{{site_name}}</p>{{purpose_block}}\r\n");
    assert_int_equal(page_set_load(dir, &s), SI_ECONFIG); /* no en/ */
    write_set(dir, "en", "Title {{site_name}}\n<p>{{site_name}}</p>\n");
    assert_int_equal(page_set_load(dir, &s), SI_OK);

    /* CRLF from a translator's editor: the title line ends before it, the body keeps LF. */
    struct page_values v = {.v = {[PV_SITE_NAME] = "A&B", [PV_PURPOSE_BLOCK] = "why"}};
    char *doc = render(s, page_set_pick(s, "fr-BE", NULL), PAGE_INVITE, &v);
    assert_string_equal(doc, "<html lang=\"fr\" dir=\"ltr\"><title>Titre A&amp;B</title>"
                             "<p>A&amp;B</p><blockquote class=\"purpose\" dir=\"auto\">why"
                             "</blockquote>\n</html>\n");
    free(doc);
    page_set_free(s);

    write_set(dir, "en", "\n<p>no title</p>\n");
    assert_int_equal(page_set_load(dir, &s), SI_EINVAL);
    write_set(dir, "en", "Title\n<p>{{site_nmae}}</p>\n");
    assert_int_equal(page_set_load(dir, &s), SI_EINVAL);
    write_set(dir, "en", "Title {{site_name\n<p></p>\n");
    assert_int_equal(page_set_load(dir, &s), SI_EINVAL);
    write_set(dir, "en", "Title\n<p>\xC3\x28</p>\n");
    assert_int_equal(page_set_load(dir, &s), SI_EINVAL);
    write_set(dir, "en", "Title\n<p></p>\n");
    char path[SCRATCH_PATH_MAX];
    snprintf(path, sizeof path, "%s/pages/en/error.html", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(page_set_load(dir, &s), SI_ECONFIG);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_page_in_every_language),
        cmocka_unit_test(test_title_and_missing_values),
        cmocka_unit_test(test_language_fallback),
        cmocka_unit_test_setup_teardown(test_scratch_pages, scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
