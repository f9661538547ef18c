/* Parsing and rendering of {{name}} templates, and the escaping of values for each context. */
#include "template.h"

#include "log.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define REPLACEMENT_CHAR "\xEF\xBF\xBD"
#define OPEN             "{{"
#define CLOSE            "}}"
#define MARK_LEN         2 /* bytes of OPEN and of CLOSE */

/* A parsed text is a list of pieces: a literal slice of the text, or one placeholder. */
struct piece {
    int var; /* -1 for literal text */
    size_t off, len;
};

struct template
{
    char *text;
    struct piece *pieces;
    size_t n;
};

/* ---- UTF-8 and escaping ----------------------------------------------------------------- */

/* Decodes one UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF) at
 * s[0..n); returns its length, or 0 when it is not valid UTF-8. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80                    ? 1
                 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t c = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

bool template_utf8_valid(const char *s, size_t n)
{
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

static bool is_html(enum template_escape mode)
{
    return mode == TEMPLATE_HTML || mode == TEMPLATE_HTML_BR;
}

/* True when the ASCII byte c is written unchanged in mode: the fast path of template_escape. */
static bool ascii_as_is(unsigned char c, enum template_escape mode)
{
    if (c < 0x20 || c >= 0x7F)
        return false;
    return !is_html(mode) || (c != '&' && c != '<' && c != '>' && c != '"' && c != '\'');
}

/* The entity for an HTML-special character, or NULL. */
static const char *html_entity(uint32_t cp)
{
    switch (cp) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

/* What replaces code point cp (a control or an HTML-special character) in mode. */
static const char *replacement(uint32_t cp, enum template_escape mode)
{
    if (cp == '\n' && mode != TEMPLATE_HEADER)
        return mode == TEMPLATE_HTML_BR ? "<br>\n" : "\n";
    if (cp == '\t' && mode == TEMPLATE_TEXT)
        return "\t";
    if (is_control(cp))
        return " ";
    return is_html(mode) ? html_entity(cp) : NULL;
}

/* Bytes from s[i] on that mode writes unchanged: printable ASCII that needs no entity, and
 * whole UTF-8 sequences that are not C1 controls. */
static size_t run_as_is(const unsigned char *s, size_t i, size_t n, enum template_escape mode)
{
    size_t start = i;
    while (i < n) {
        uint32_t cp;
        size_t k;
        if (ascii_as_is(s[i], mode))
            i++;
        else if (s[i] >= 0x80 && (k = utf8_next(s + i, n - i, &cp)) != 0 && !is_control(cp))
            i += k;
        else
            break;
    }
    return i - start;
}

enum si_err template_escape(struct buf *out, const char *text, enum template_escape mode)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    if (mode == TEMPLATE_RAW)
        return buf_append(out, s, n);
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < n && !rc;) {
        /* Most values are plain words: copy them in one append, not a byte at a time. */
        size_t k = run_as_is(s, i, n, mode);
        if (k) {
            rc = buf_append(out, s + i, k);
            i += k;
            continue;
        }
        uint32_t cp;
        k = utf8_next(s + i, n - i, &cp);
        if (k == 0) { /* a stray byte: show that something was there, never pass it on */
            rc = buf_puts(out, REPLACEMENT_CHAR);
            i++;
            continue;
        }
        /* CR LF and a lone CR are one line break, so "\r\n" never becomes two. */
        if (cp == '\r') {
            cp = '\n';
            if (i + 1 < n && s[i + 1] == '\n')
                k = 2;
        }
        const char *rep = replacement(cp, mode);
        rc = rep ? buf_puts(out, rep) : buf_append(out, s + i, k);
        i += k;
    }
    return rc;
}

/* ---- parsing ------------------------------------------------------------------------------ */

/* The placeholder number of name[0..len) in vars, or -1: a linear scan, at load time only. */
static int var_lookup(const struct template_vars *vars, const char *name, size_t len)
{
    for (int i = 0; i < vars->n; i++)
        if (strlen(vars->names[i]) == len && memcmp(vars->names[i], name, len) == 0)
            return i;
    return -1;
}

/* Grows the piece list by one; load time only, so the realloc per piece does not matter. */
static void add_piece(struct template *t, int var, size_t off, size_t len)
{
    t->pieces = xrealloc(t->pieces, (t->n + 1) * sizeof *t->pieces);
    t->pieces[t->n++] = (struct piece){.var = var, .off = off, .len = len};
}

/* The file's line of byte off of src, for error messages a translator can act on. */
static int line_of(const struct template_src *src, size_t off)
{
    int line = src->line;
    for (size_t i = 0; i < off; i++)
        line += src->text[i] == '\n';
    return line;
}

/* Parses the placeholder whose "{{" is at s + at, adding its piece; *next is the byte after
 * its "}}". */
static enum si_err parse_placeholder(struct template *t, const struct template_src *src,
                                     const struct template_vars *vars, size_t at, size_t *next)
{
    const char *s = t->text, *open = s + at;
    const char *close = strstr(open + MARK_LEN, CLOSE);
    const char *nl = strchr(open + MARK_LEN, '\n');
    if (!close || (nl && nl < close)) {
        log_error("template %s line %d: '{{' without '}}' on the same line", src->path,
                  line_of(src, at));
        return SI_EINVAL;
    }
    const char *name = open + MARK_LEN, *end = close;
    while (name < end && *name == ' ')
        name++;
    while (end > name && end[-1] == ' ')
        end--;
    int var = var_lookup(vars, name, (size_t)(end - name));
    if (var < 0) {
        int shown = (int)(end - name) < TEMPLATE_NAME_MAX ? (int)(end - name) : TEMPLATE_NAME_MAX;
        log_error("template %s line %d: unknown placeholder {{%.*s}}", src->path, line_of(src, at),
                  shown, name);
        return SI_EINVAL;
    }
    add_piece(t, var, 0, 0);
    *next = (size_t)(close - s) + MARK_LEN;
    return SI_OK;
}

enum si_err template_parse(const struct template_src *src, const struct template_vars *vars,
                           struct template **out)
{
    if (vars->n > TEMPLATE_VARS_MAX)
        fatal("template_parse: %d placeholders, at most %d (a bug)", vars->n, TEMPLATE_VARS_MAX);
    struct template *t = xcalloc(1, sizeof *t);
    t->text = xmalloc(src->len + 1);
    memcpy(t->text, src->text, src->len);
    t->text[src->len] = '\0';
    enum si_err rc = SI_OK;
    size_t pos = 0;
    while (!rc && pos < src->len) {
        const char *open = strstr(t->text + pos, OPEN);
        size_t at = open ? (size_t)(open - t->text) : src->len;
        if (at > pos)
            add_piece(t, -1, pos, at - pos);
        pos = at;
        if (open)
            rc = parse_placeholder(t, src, vars, at, &pos);
    }
    if (rc) {
        template_free(t);
        return rc;
    }
    *out = t;
    return SI_OK;
}

void template_free(struct template *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->pieces);
    free(t);
}

/* ---- rendering ---------------------------------------------------------------------------- */

enum si_err template_render(const struct template *t, const struct template_values *v,
                            enum template_escape mode, struct buf *out)
{
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < t->n && !rc; i++) {
        const struct piece *p = &t->pieces[i];
        uint64_t bit = p->var < 0 ? 0 : (uint64_t)1 << p->var;
        if (p->var < 0)
            rc = buf_append(out, t->text + p->off, p->len);
        else if (v->hooked & bit)
            rc = v->hook(v->ctx, p->var, mode, out);
        else
            rc = template_escape(out, v->v[p->var], v->raw & bit ? TEMPLATE_RAW : mode);
    }
    /* buf_append leaves data NULL for an empty result; callers may read it as a string. */
    if (!rc && !out->data)
        rc = buf_append(out, "", 0);
    return rc;
}
