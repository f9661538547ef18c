/* The template engine of mail and pages: every escape mode against hostile values, missing
 * values, unknown and unclosed placeholders (refused with the file and line), size caps, the
 * reading of template files and language folders, and the one language fallback. */
#include "common/template.h"

#include "common/template_dir.h"

#include "scratch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define LOG_TEXT_MAX 4096
#define U_FFFD       "\xEF\xBF\xBD"

/* ---- helpers ------------------------------------------------------------------------------ */

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

enum { V_NAME, V_CITY, V_BLOCK, V_COUNT };
static const char *const names[V_COUNT] = {"name", "city", "block"};
static const struct template_vars vars = {.names = names, .n = V_COUNT};

/* Where the log went while capture was on: stderr is redirected to a temporary file. */
struct capture {
    int saved;
    FILE *f;
    char text[LOG_TEXT_MAX];
};

static void capture_start(struct capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

static const char *capture_end(struct capture *c)
{
    assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
    close(c->saved);
    rewind(c->f);
    size_t n = fread(c->text, 1, sizeof c->text - 1, c->f);
    c->text[n] = '\0';
    fclose(c->f);
    return c->text;
}

/* Parses text; the result (NULL on failure) and the log line it wrote. */
static enum si_err parse_logged(const char *text, int line, struct template **t, struct capture *c)
{
    struct template_src src = {
        .path = "x/en/t.txt", .text = text, .len = strlen(text), .line = line};
    *t = NULL;
    capture_start(c);
    enum si_err rc = template_parse(&src, &vars, t);
    capture_end(c);
    return rc;
}

static struct template *parse_ok(const char *text)
{
    struct capture c;
    struct template *t = NULL;
    assert_int_equal(parse_logged(text, 1, &t, &c), SI_OK);
    assert_string_equal(c.text, "");
    return t;
}

/* ---- escaping ----------------------------------------------------------------------------- */

static void test_escape_html(void **state)
{
    (void)state;
    check_escape("<script>alert(\"x\")</script>", TEMPLATE_HTML,
                 "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    check_escape("Tom & Jerry's <b onclick='x'>", TEMPLATE_HTML,
                 "Tom &amp; Jerry&#39;s &lt;b onclick=&#39;x&#39;&gt;");
    check_escape("&amp;", TEMPLATE_HTML, "&amp;amp;"); /* escaped once more, never trusted */
    /* Pages keep line breaks as LF (white-space: pre-line shows them); mail writes <br>. */
    check_escape("a\r\nb\nc\rd", TEMPLATE_HTML, "a\nb\nc\nd");
    check_escape("a\r\nb\nc\rd", TEMPLATE_HTML_BR, "a<br>\nb<br>\nc<br>\nd");
    check_escape("<i>\n</i>", TEMPLATE_HTML_BR, "&lt;i&gt;<br>\n&lt;/i&gt;");
    check_escape("a\tb\x01"
                 "c\x7f"
                 "d\xC2\x85"
                 "e",
                 TEMPLATE_HTML, "a b c d e"); /* TAB, C0, DEL and C1 (NEL) controls */
    check_escape("日本語 é Ω 😀", TEMPLATE_HTML, "日本語 é Ω 😀");
    check_escape("שלום <b>", TEMPLATE_HTML_BR, "שלום &lt;b&gt;");
    check_escape("a\xff<", TEMPLATE_HTML, "a" U_FFFD "&lt;");
    check_escape("{{name}}", TEMPLATE_HTML, "{{name}}"); /* a value is never a template */
}

static void test_escape_header(void **state)
{
    (void)state;
    check_escape("Hello\r\nBcc: evil@example.com", TEMPLATE_HEADER, "Hello Bcc: evil@example.com");
    check_escape("a\nb\rc\td\x0b"
                 "e\x0c"
                 "f\x00g",
                 TEMPLATE_HEADER, "a b c d e f");
    check_escape("x\xC2\x85y\xC2\x9Bz", TEMPLATE_HEADER, "x y z"); /* NEL and CSI */
    check_escape("<Café> \"q\" 'r'", TEMPLATE_HEADER, "<Café> \"q\" 'r'");
    check_escape("\r\n\r\n", TEMPLATE_HEADER, "  ");
    check_escape("\xed\xa0\x80", TEMPLATE_HEADER, U_FFFD U_FFFD U_FFFD); /* a surrogate */
    check_escape("\xc0\x8a", TEMPLATE_HEADER, U_FFFD U_FFFD);            /* an overlong LF */

    /* Whatever two bytes a value holds, a header gets no control byte from it. */
    for (unsigned a = 1; a < 256; a++)
        for (unsigned b = 1; b < 256; b += 7) {
            char in[] = {'<', (char)a, (char)b, '>', '\0'};
            char *got = escaped(in, TEMPLATE_HEADER);
            for (const unsigned char *p = (const unsigned char *)got; *p; p++)
                assert_true(*p >= 0x20 && *p != 0x7f);
            free(got);
        }
}

static void test_escape_text_and_raw(void **state)
{
    (void)state;
    check_escape("a\r\nb\rc\td\x1b", TEMPLATE_TEXT, "a\nb\nc\td ");
    check_escape("<script>&\"'</script>", TEMPLATE_TEXT, "<script>&\"'</script>");
    check_escape("日本 é", TEMPLATE_TEXT, "日本 é");
    check_escape("a\xff"
                 "b\xc3",
                 TEMPLATE_TEXT, "a" U_FFFD "b" U_FFFD);
    check_escape("a\xf4\x90\x80\x80", TEMPLATE_TEXT, "a" U_FFFD U_FFFD U_FFFD U_FFFD);
    check_escape("<b>\r\n\x01", TEMPLATE_RAW, "<b>\r\n\x01"); /* as is: the caller's choice */
    check_escape(NULL, TEMPLATE_HTML, "");
    check_escape("", TEMPLATE_TEXT, "");
}

/* The modes as the mail parts use them (moved here from the mail suite with the engine). */
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

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(template_utf8_valid("", 0));
    assert_true(template_utf8_valid("aé日😀", strlen("aé日😀")));
    assert_true(template_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    assert_false(template_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(template_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(template_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(template_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(template_utf8_valid("\xe6\x97", 2));         /* cut short */
    assert_false(template_utf8_valid("\x80", 1));             /* stray continuation */
}

/* ---- parsing and rendering ---------------------------------------------------------------- */

static char *render(const struct template *t, const struct template_values *v,
                    enum template_escape mode)
{
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(template_render(t, v, mode, &out), SI_OK);
    assert_non_null(out.data); /* a string even when empty */
    return buf_take(&out);
}

static void check_render(const struct template *t, const struct template_values *v,
                         enum template_escape mode, const char *want)
{
    char *got = render(t, v, mode);
    assert_string_equal(got, want);
    free(got);
}

/* A hook that brackets the city, or writes nothing without one. */
static enum si_err bracket(const void *ctx, int var, enum template_escape mode, struct buf *out)
{
    const char *const *v = ctx;
    assert_int_equal(var, V_BLOCK);
    if (!v[V_CITY])
        return SI_OK;
    enum si_err rc = buf_puts(out, "[");
    if (!rc)
        rc = template_escape(out, v[V_CITY], mode);
    return rc ? rc : buf_puts(out, "]");
}

static void test_render_values(void **state)
{
    (void)state;
    struct template *t = parse_ok("Hi {{name}}, {{ city }}{{block}}!\n{{name}}");
    const char *v[V_COUNT] = {"<Ann>", "Köln & Bonn", NULL};
    struct template_values tv = {.v = v, .hooked = 1u << V_BLOCK, .hook = bracket, .ctx = v};
    check_render(t, &tv, TEMPLATE_HTML,
                 "Hi &lt;Ann&gt;, Köln &amp; Bonn[Köln &amp; Bonn]!\n&lt;Ann&gt;");
    check_render(t, &tv, TEMPLATE_TEXT, "Hi <Ann>, Köln & Bonn[Köln & Bonn]!\n<Ann>");
    tv.raw = 1u << V_NAME;
    check_render(t, &tv, TEMPLATE_HTML, "Hi <Ann>, Köln &amp; Bonn[Köln &amp; Bonn]!\n<Ann>");

    /* A missing value reads as "", and a value that looks like a placeholder stays text. */
    const char *missing[V_COUNT] = {"{{city}}", NULL, NULL};
    struct template_values tm = {
        .v = missing, .hooked = 1u << V_BLOCK, .hook = bracket, .ctx = missing};
    check_render(t, &tm, TEMPLATE_HTML, "Hi {{city}}, !\n{{city}}");
    template_free(t);

    t = parse_ok("");
    check_render(t, &tm, TEMPLATE_HTML, "");
    template_free(t);
    t = parse_ok("no placeholders { } }} {x}");
    check_render(t, &tm, TEMPLATE_HTML, "no placeholders { } }} {x}");
    template_free(t);
    template_free(NULL);
}

static void test_unknown_placeholder(void **state)
{
    (void)state;
    struct capture c;
    struct template *t;
    assert_int_equal(parse_logged("Hello\n\nJoin {{citty}} now", 1, &t, &c), SI_EINVAL);
    assert_null(t);
    assert_non_null(strstr(c.text, "template x/en/t.txt line 3: unknown placeholder {{citty}}"));
    /* Placeholder names are exact: no case folding, no inner spaces, no nesting. */
    assert_int_equal(parse_logged("{{Name}}", 1, &t, &c), SI_EINVAL);
    assert_int_equal(parse_logged("{{na me}}", 1, &t, &c), SI_EINVAL);
    assert_int_equal(parse_logged("{{{name}}}", 1, &t, &c), SI_EINVAL);
    assert_int_equal(parse_logged("{{}}", 1, &t, &c), SI_EINVAL);
    /* A page body starts on line 2 of its file: the message names the file's line. */
    assert_int_equal(parse_logged("<p>\n{{if name}}", 2, &t, &c), SI_EINVAL);
    assert_non_null(strstr(c.text, "line 3: unknown placeholder {{if name}}"));
    /* A long name is cut in the message, not spilled into the log whole. */
    char text[256];
    snprintf(text, sizeof text, "{{%0200d}}", 0);
    assert_int_equal(parse_logged(text, 1, &t, &c), SI_EINVAL);
    char cut[TEMPLATE_NAME_MAX + 2];
    memset(cut, '0', sizeof cut - 1);
    cut[sizeof cut - 1] = '\0';
    assert_non_null(strstr(c.text, cut + 1));
    assert_null(strstr(c.text, cut));
}

static void test_unclosed_placeholder(void **state)
{
    (void)state;
    struct capture c;
    struct template *t;
    assert_int_equal(parse_logged("Join {{name", 1, &t, &c), SI_EINVAL);
    assert_null(t);
    assert_non_null(
        strstr(c.text, "template x/en/t.txt line 1: '{{' without '}}' on the same line"));
    assert_int_equal(parse_logged("a\nJoin {{name\n}} now", 1, &t, &c), SI_EINVAL);
    assert_non_null(strstr(c.text, "line 2: '{{' without '}}'"));
    assert_int_equal(parse_logged("{{name}} and {{", 1, &t, &c), SI_EINVAL);
}

static void test_render_size_cap(void **state)
{
    (void)state;
    struct template *t = parse_ok("<p>{{name}}</p>");
    const char *v[V_COUNT] = {"&&&&&&&&&&", NULL, NULL}; /* 10 bytes, 50 escaped */
    struct template_values tv = {.v = v};
    struct buf out;
    buf_init(&out, 40);
    assert_int_equal(template_render(t, &tv, TEMPLATE_HTML, &out), SI_ETOOBIG);
    buf_cleanup(&out);
    buf_init(&out, 57);
    assert_int_equal(template_render(t, &tv, TEMPLATE_HTML, &out), SI_OK);
    assert_int_equal(out.len, 57);
    buf_reset(&out);
    assert_int_equal(template_escape(&out,
                                     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
                                     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                                     TEMPLATE_TEXT),
                     SI_ETOOBIG); /* 20 bytes become 60 */
    buf_cleanup(&out);
    template_free(t);
}

/* ---- files and languages ------------------------------------------------------------------ */

static void test_read_file(void **state)
{
    const char *dir = *state;
    char path[SCRATCH_PATH_MAX], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/t.txt", dir);
    assert_int_equal(template_dir_read(path, &text, &len), SI_ECONFIG); /* missing */

    scratch_write(dir, "t.txt", "a\r\nb\rc\n", 7); /* CRLF and CR from other editors become LF */
    assert_int_equal(template_dir_read(path, &text, &len), SI_OK);
    assert_string_equal(text, "a\nb\nc\n");
    assert_int_equal(len, 6);
    free(text);

    scratch_write(dir, "t.txt", "a\0b", 3);
    assert_int_equal(template_dir_read(path, &text, &len), SI_EINVAL);
    scratch_write(dir, "t.txt", "Caf\xe9", 4); /* Latin-1, not UTF-8 */
    assert_int_equal(template_dir_read(path, &text, &len), SI_EINVAL);

    char *big = malloc(TEMPLATE_FILE_MAX + 1);
    assert_non_null(big);
    memset(big, 'x', TEMPLATE_FILE_MAX + 1);
    scratch_write(dir, "t.txt", big, TEMPLATE_FILE_MAX);
    assert_int_equal(template_dir_read(path, &text, &len), SI_OK); /* the cap itself is fine */
    assert_int_equal(len, TEMPLATE_FILE_MAX);
    free(text);
    scratch_write(dir, "t.txt", big, TEMPLATE_FILE_MAX + 1);
    assert_int_equal(template_dir_read(path, &text, &len), SI_ETOOBIG);
    free(big);
}

static const char *pick(const struct template_langs *l, const char *a, const char *b)
{
    int i = template_dir_pick(l, a, b);
    assert_true(i >= 0 && i < l->n);
    return l->name[i];
}

static void test_languages_and_fallback(void **state)
{
    const char *dir = *state;
    struct template_langs l;
    assert_int_equal(template_dir_langs("/nonexistent/si-templates", &l), SI_ECONFIG);
    scratch_mkdir(dir, "fr");
    assert_int_equal(template_dir_langs(dir, &l), SI_ECONFIG); /* no en */
    static const char *const folders[] = {"en", "pt", "pt-BR", "zh_Hant", "he"};
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
        scratch_mkdir(dir, folders[i]);
    static const char *const ignored[] = {"x", "english", "en-", "e1", "de--x", ".git"};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        scratch_mkdir(dir, ignored[i]);
    scratch_write(dir, "de", "a file, not a folder", 20);
    assert_int_equal(template_dir_langs(dir, &l), SI_OK);
    assert_int_equal(l.n, 6);

    /* Whole tag, then primary subtag, ignoring case; then the second wish; then English. */
    assert_string_equal(pick(&l, "pt-BR", "fr"), "pt-BR");
    assert_string_equal(pick(&l, "PT_br", NULL), "pt");
    assert_string_equal(pick(&l, "pt-PT", "fr"), "pt");
    assert_string_equal(pick(&l, "FR-ca", "he"), "fr");
    assert_string_equal(pick(&l, "zh_hant", NULL), "zh_Hant");
    assert_string_equal(pick(&l, "it", "fr-CA"), "fr");
    assert_string_equal(pick(&l, "it", "de"), "en");
    assert_string_equal(pick(&l, "", "he-IL"), "he");
    assert_string_equal(pick(&l, NULL, NULL), "en");
    assert_string_equal(pick(&l, "english", NULL), "en");
    assert_int_equal(template_dir_find(&l, "it"), -1);
    assert_int_equal(template_dir_find(&l, NULL), -1);
    assert_int_equal(template_dir_find(&l, ""), -1);
}

static void test_too_many_languages(void **state)
{
    const char *dir = *state;
    scratch_mkdir(dir, "en");
    for (int i = 1; i <= TEMPLATE_LANGS_MAX; i++) {
        char name[8];
        snprintf(name, sizeof name, "x%c%c", 'a' + i / 26, 'a' + i % 26);
        scratch_mkdir(dir, name);
    }
    struct template_langs l;
    assert_int_equal(template_dir_langs(dir, &l), SI_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_html),
        cmocka_unit_test(test_escape_header),
        cmocka_unit_test(test_escape_text_and_raw),
        cmocka_unit_test(test_escape_modes),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_render_values),
        cmocka_unit_test(test_unknown_placeholder),
        cmocka_unit_test(test_unclosed_placeholder),
        cmocka_unit_test(test_render_size_cap),
        cmocka_unit_test_setup_teardown(test_read_file, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_languages_and_fallback, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_too_many_languages, scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
