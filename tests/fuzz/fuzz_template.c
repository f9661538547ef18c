/* Fuzzes the template engine (common/template.c): any text as a template over a fixed list of
 * placeholders, rendered with values from the input in every escaping mode, and every value
 * escaped alone. Input: one mode byte, the template text, then up to VALUES values, each ending
 * at the unit separator (0x1f). Checked:
 *   - an escaped value (any mode but raw) is valid UTF-8 whatever the bytes given;
 *   - header escaping leaves no control character (no line break can end a header early);
 *   - text escaping leaves no control but LF and TAB;
 *   - HTML escaping leaves none of < > " ' and every & starts an entity we write, and no
 *     control but LF (TEMPLATE_HTML_BR: each LF follows "<br>");
 *   - a template that parses renders (or stops at the output cap), and when its own text is valid
 * UTF-8 without controls the rendering is valid UTF-8 too. */
#include "fuzz_support.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/template.h"

#include <stdlib.h>
#include <string.h>

#define VALUES  10
#define OUT_CAP (1024 * 1024)

/* The mail templates' placeholders (mail/mail_template.h), so the real templates are seeds. */
static const char *const names[VALUES] = {
    "site_name", "inviter_name",  "inviter_email", "invitee_email", "roles",
    "purpose",   "purpose_block", "accept_link",   "expires",       "site_language"};
static const struct template_vars vars = {names, VALUES};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(
        LOG_ERROR); /* unknown placeholders are logged as errors: the fuzzer's daily bread */
    return 0;
}

static bool has_control(const char *s, size_t n, const char *allowed)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 || c == 0x7F) && !strchr(allowed, c))
            return true;
        /* C1 controls, U+0080..U+009F, are C2 80..C2 9F in UTF-8. */
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9F)
            return true;
    }
    return false;
}

static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};

static bool html_safe(const char *s, size_t n, bool br)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '&') {
            bool known = false;
            for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++)
                known = known || strncmp(s + i, entities[e], strlen(entities[e])) == 0;
            if (!known)
                return false;
        } else if (c == '\n' && br) {
            if (i < 4 || memcmp(s + i - 4, "<br>", 4) != 0)
                return false;
        } else if (c == '<' && br && strncmp(s + i, "<br>\n", 5) == 0) {
            i += 4;
        } else if (c == '<' || c == '>' || c == '"' || c == '\'') {
            return false;
        }
    }
    return !has_control(s, n, "\n");
}

static void check_escape(const char *value)
{
    static const enum template_escape modes[] = {TEMPLATE_TEXT, TEMPLATE_HTML, TEMPLATE_HTML_BR,
                                                 TEMPLATE_HEADER};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct buf b;
        buf_init(&b, OUT_CAP);
        fuzz_check(template_escape(&b, value, modes[m]) == SI_OK, "a value escapes");
        const char *s = b.data ? b.data : "";
        fuzz_check(template_utf8_valid(s, b.len), "an escaped value is valid UTF-8");
        switch (modes[m]) {
        case TEMPLATE_HEADER:
            fuzz_check(!has_control(s, b.len, ""), "header escaping leaves no control");
            break;
        case TEMPLATE_TEXT:
            fuzz_check(!has_control(s, b.len, "\n\t"), "text escaping leaves LF and TAB only");
            break;
        default:
            fuzz_check(html_safe(s, b.len, modes[m] == TEMPLATE_HTML_BR),
                       "HTML escaping leaves no markup");
            break;
        }
        buf_cleanup(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size};
    enum template_escape mode = (enum template_escape)(fuzz_byte(&r) % (TEMPLATE_HEADER + 1));
    size_t len = 0;
    char *text = fuzz_string(&r, &len);
    char *values[VALUES];
    for (size_t i = 0; i < VALUES; i++) {
        values[i] = fuzz_string(&r, NULL);
        check_escape(values[i]);
    }
    struct template_src src = {.path = "fuzz.txt", .text = text, .len = len, .line = 1};
    struct template *t = NULL;
    if (template_parse(&src, &vars, &t) == SI_OK) {
        struct template_values v = {.v = (const char *const *)values};
        struct buf b;
        buf_init(&b, OUT_CAP);
        enum si_err rc = template_render(t, &v, mode, &b);
        fuzz_check(rc == SI_OK || rc == SI_ETOOBIG, "a parsed template renders or hits the cap");
        fuzz_check(b.len <= OUT_CAP, "the rendering stays within its cap");
        if (rc == SI_OK && mode != TEMPLATE_RAW && template_utf8_valid(text, len) &&
            !has_control(text, len, ""))
            fuzz_check(template_utf8_valid(b.data, b.len), "a clean template renders UTF-8");
        buf_cleanup(&b);
        template_free(t);
    }
    for (size_t i = 0; i < VALUES; i++)
        free(values[i]);
    free(text);
    return 0;
}
