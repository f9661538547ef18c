/* Loading, checking and rendering of the mail templates (placeholders only, no logic). */
#include "template.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TEMPLATE_PATH_MAX 4096
#define TEMPLATE_NAME_MAX 32 /* bytes of a placeholder name between the braces */
#define REPLACEMENT_CHAR  "\xEF\xBF\xBD"

static const char *const var_names[TV_COUNT] = {
#define TEMPLATE_VAR_NAME(e, name) [e] = name,
    TEMPLATE_VARS(TEMPLATE_VAR_NAME)
#undef TEMPLATE_VAR_NAME
};

/* The file of each part, and the escaping its values get (a subject lands in a header). */
static const char *const part_files[TEMPLATE_PARTS] = {"subject.txt", "body.txt", "body.html"};
static const enum template_escape part_escape[TEMPLATE_PARTS] = {ESCAPE_HEADER, ESCAPE_NONE,
                                                                 ESCAPE_HTML};

/* A parsed file is a list of pieces: literal text (a slice of the file) or one placeholder. */
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

struct mail_templates {
    char lang[TEMPLATE_LANG_MAX];
    struct template part[TEMPLATE_PARTS];
};

struct template_set {
    struct mail_templates langs[TEMPLATE_LANGS_MAX];
    size_t n;
    const struct mail_templates *fallback;
};

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

static bool utf8_valid(const char *s, size_t n)
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

/* Appends one code point's worth of text (raw bytes s[0..k)) made safe for mode. */
/* Controls are folded rather than dropped so words either side of them stay apart. */
static enum si_err escape_one(struct buf *out, const char *s, size_t k, uint32_t cp,
                              enum template_escape mode)
{
    bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    if (cp == '\n' && mode != ESCAPE_HEADER)
        return buf_puts(out, mode == ESCAPE_HTML ? "<br>\n" : "\n");
    if (cp == '\t' && mode == ESCAPE_NONE)
        return buf_puts(out, "\t");
    if (control)
        return buf_puts(out, " ");
    if (mode == ESCAPE_HTML) {
        switch (cp) {
        case '&':
            return buf_puts(out, "&amp;");
        case '<':
            return buf_puts(out, "&lt;");
        case '>':
            return buf_puts(out, "&gt;");
        case '"':
            return buf_puts(out, "&quot;");
        case '\'':
            return buf_puts(out, "&#39;");
        default:
            break;
        }
    }
    return buf_append(out, s, k);
}

enum si_err template_escape(struct buf *out, const char *text, enum template_escape mode)
{
    enum si_err rc = SI_OK;
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    for (size_t i = 0; i < n && !rc;) {
        uint32_t cp;
        size_t k = utf8_next(s + i, n - i, &cp);
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
        rc = escape_one(out, (const char *)s + i, k, cp, mode);
        i += k;
    }
    return rc;
}

/* The purpose as a quotation: nothing when empty, so templates read well without one. */
static enum si_err purpose_block(struct buf *out, const char *purpose, enum template_escape mode)
{
    if (!purpose || !*purpose)
        return SI_OK;
    if (mode == ESCAPE_HEADER)
        return template_escape(out, purpose, mode);
    struct buf tmp;
    buf_init(&tmp, 0);
    enum si_err rc = template_escape(&tmp, purpose, mode);
    if (!rc && mode == ESCAPE_HTML) {
        rc = buf_printf(out,
                        "<blockquote style=\"margin:16px 0;padding:4px 12px;"
                        "border-left:3px solid #c8c8c8;color:#333333\">%s</blockquote>",
                        tmp.data);
    } else if (!rc) {
        /* Plain text: every line quoted with "> " (an empty one with ">": no trailing blank),
         * set off from the sentences around it. */
        rc = buf_puts(out, "\n>");
        bool line_start = true;
        for (size_t i = 0; !rc && i < tmp.len; i++) {
            if (tmp.data[i] == '\n') {
                rc = buf_puts(out, "\n>");
                line_start = true;
                continue;
            }
            if (line_start)
                rc = buf_puts(out, " ");
            line_start = false;
            if (!rc)
                rc = buf_append(out, tmp.data + i, 1);
        }
        if (!rc)
            rc = buf_puts(out, "\n");
    }
    buf_cleanup(&tmp);
    return rc;
}

/* The placeholder index of name[0..len), or -1: a linear scan of ten names at load time. */
static int var_lookup(const char *name, size_t len)
{
    for (int i = 0; i < TV_COUNT; i++)
        if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0)
            return i;
    return -1;
}

/* Grows the piece list by one; load time only, so the realloc per piece does not matter. */
static void add_piece(struct template *t, int var, size_t off, size_t len)
{
    t->pieces = xrealloc(t->pieces, (t->n + 1) * sizeof *t->pieces);
    t->pieces[t->n++] = (struct piece){.var = var, .off = off, .len = len};
}

/* The 1-based line of byte off, for error messages a translator can act on. */
static int line_of(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        line += text[i] == '\n';
    return line;
}

/* Splits t->text into pieces; every {{name}} must be known (spaces inside braces allowed). */
static enum si_err parse(struct template *t, const char *path)
{
    const char *s = t->text;
    size_t pos = 0;
    for (;;) {
        const char *open = strstr(s + pos, "{{");
        if (!open) {
            if (s[pos])
                add_piece(t, -1, pos, strlen(s + pos));
            return SI_OK;
        }
        size_t at = (size_t)(open - s);
        if (at > pos)
            add_piece(t, -1, pos, at - pos);
        const char *close = strstr(open + 2, "}}");
        const char *nl = strchr(open + 2, '\n');
        if (!close || (nl && nl < close)) {
            log_error("template %s line %d: '{{' without '}}' on the same line", path,
                      line_of(s, at));
            return SI_EINVAL;
        }
        const char *name = open + 2, *end = close;
        while (name < end && *name == ' ')
            name++;
        while (end > name && end[-1] == ' ')
            end--;
        int var = var_lookup(name, (size_t)(end - name));
        if (var < 0) {
            int shown =
                (int)(end - name) < TEMPLATE_NAME_MAX ? (int)(end - name) : TEMPLATE_NAME_MAX;
            log_error("template %s line %d: unknown placeholder {{%.*s}}", path, line_of(s, at),
                      shown, name);
            return SI_EINVAL;
        }
        add_piece(t, var, 0, 0);
        pos = (size_t)(close + 2 - s);
    }
}

/* Reads a whole file (at most TEMPLATE_FILE_MAX bytes) into a NUL-terminated heap string. */
static enum si_err read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        log_error("templates: cannot open %s: %s", path, strerror(errno));
        return SI_ECONFIG;
    }
    char *data = xmalloc(TEMPLATE_FILE_MAX + 2);
    size_t n = fread(data, 1, TEMPLATE_FILE_MAX + 1, f);
    enum si_err rc = ferror(f) ? SI_ECONFIG : n > TEMPLATE_FILE_MAX ? SI_ETOOBIG : SI_OK;
    fclose(f);
    if (rc) {
        log_error("templates: cannot read %s: %s", path,
                  rc == SI_ETOOBIG ? "larger than 64 KiB" : "read error");
        free(data);
        return rc;
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    return SI_OK;
}

/* Line ends become LF (a translator's editor may save CRLF); the subject loses its final one. */
static enum si_err normalise(char *text, size_t *len, enum template_part part, const char *path)
{
    size_t w = 0;
    for (size_t r = 0; r < *len; r++) {
        if (text[r] == '\r' && r + 1 < *len && text[r + 1] == '\n')
            continue;
        text[w++] = text[r] == '\r' ? '\n' : text[r];
    }
    text[w] = '\0';
    if (memchr(text, '\0', w) != NULL || !utf8_valid(text, w)) {
        log_error("templates: %s is not valid UTF-8 text", path);
        return SI_EINVAL;
    }
    if (part == TEMPLATE_SUBJECT) {
        while (w > 0 && text[w - 1] == '\n')
            text[--w] = '\0';
        if (w == 0 || memchr(text, '\n', w)) {
            log_error("templates: %s must hold exactly one non-empty line", path);
            return SI_EINVAL;
        }
    }
    *len = w;
    return SI_OK;
}

/* Releases one parsed file; the struct is left zeroed, safe to clean again. */
static void template_cleanup(struct template *t)
{
    free(t->text);
    free(t->pieces);
    memset(t, 0, sizeof *t);
}

/* Releases the three parts of a language, whichever were loaded. */
static void lang_cleanup(struct mail_templates *l)
{
    for (int p = 0; p < TEMPLATE_PARTS; p++)
        template_cleanup(&l->part[p]);
}

/* Loads, checks and parses the three files of one language folder; on failure nothing stays
 * allocated and the log names the file at fault. */
static enum si_err load_lang(const char *dir, const char *lang, struct mail_templates *l)
{
    enum si_err rc = SI_OK;
    snprintf(l->lang, sizeof l->lang, "%s", lang);
    for (int p = 0; p < TEMPLATE_PARTS && !rc; p++) {
        char path[TEMPLATE_PATH_MAX];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/mail/%s/%s", dir, lang, part_files[p]);
        rc = read_file(path, &l->part[p].text, &len);
        if (!rc)
            rc = normalise(l->part[p].text, &len, (enum template_part)p, path);
        if (!rc)
            rc = parse(&l->part[p], path);
    }
    if (rc)
        lang_cleanup(l);
    return rc;
}

/* A folder name that looks like a language tag: 2-3 letters, then [-_] alphanumeric subtags. */
static bool lang_name_ok(const char *s)
{
    size_t n = strlen(s), letters = 0;
    while (letters < n &&
           ((s[letters] >= 'a' && s[letters] <= 'z') || (s[letters] >= 'A' && s[letters] <= 'Z')))
        letters++;
    if (letters < 2 || letters > 3 || n >= TEMPLATE_LANG_MAX)
        return false;
    for (size_t i = letters; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  ((c == '-' || c == '_') && i + 1 < n && s[i - 1] != '-' && s[i - 1] != '_');
        if (!ok)
            return false;
    }
    return true;
}

enum si_err template_set_load(const char *templates_dir, struct template_set **out)
{
    char path[TEMPLATE_PATH_MAX];
    snprintf(path, sizeof path, "%s/mail", templates_dir);
    DIR *d = opendir(path);
    if (!d) {
        log_error("templates: cannot open folder %s: %s", path, strerror(errno));
        return SI_ECONFIG;
    }
    /* Every folder is loaded now, not on first use: a broken translation must stop start-up,
     * not fail an email hours later. */
    struct template_set *s = xcalloc(1, sizeof *s);
    enum si_err rc = SI_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        char sub[TEMPLATE_PATH_MAX];
        struct stat st;
        int len = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (len < 0 || (size_t)len >= sizeof sub || !lang_name_ok(e->d_name) ||
            stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (s->n == TEMPLATE_LANGS_MAX) {
            log_error("templates: more than %d languages in %s", TEMPLATE_LANGS_MAX, path);
            rc = SI_ETOOBIG;
            break;
        }
        rc = load_lang(templates_dir, e->d_name, &s->langs[s->n]);
        if (!rc)
            s->n++;
    }
    closedir(d);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->langs[i].lang, TEMPLATE_LANG_FALLBACK) == 0)
            s->fallback = &s->langs[i];
    if (!rc && !s->fallback) {
        log_error("templates: %s has no '%s' folder (the fallback language)", path,
                  TEMPLATE_LANG_FALLBACK);
        rc = SI_ECONFIG;
    }
    if (rc) {
        template_set_free(s);
        return rc;
    }
    *out = s;
    return SI_OK;
}

void template_set_free(struct template_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        lang_cleanup(&s->langs[i]);
    free(s);
}

/* The language whose folder name equals lang[0..len), ignoring case ("pt-br" finds "pt-BR"). */
static const struct mail_templates *find_lang(const struct template_set *s, const char *lang,
                                              size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->langs[i].lang) == len && strncasecmp(s->langs[i].lang, lang, len) == 0)
            return &s->langs[i];
    return NULL;
}

const struct mail_templates *template_set_pick(const struct template_set *s, const char *lang)
{
    const struct mail_templates *t = NULL;
    if (lang && *lang) {
        t = find_lang(s, lang, strlen(lang));
        if (!t)
            t = find_lang(s, lang, strcspn(lang, "-_"));
    }
    return t ? t : s->fallback;
}

const char *mail_templates_lang(const struct mail_templates *t)
{
    return t->lang;
}

enum si_err template_render(const struct mail_templates *t, enum template_part part,
                            const struct template_values *v, struct buf *out)
{
    const struct template *tp = &t->part[part];
    enum template_escape mode = part_escape[part];
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < tp->n && !rc; i++) {
        const struct piece *p = &tp->pieces[i];
        if (p->var < 0)
            rc = buf_append(out, tp->text + p->off, p->len);
        else if (p->var == TV_PURPOSE_BLOCK)
            rc = purpose_block(out, v->v[TV_PURPOSE], mode);
        else
            rc = template_escape(out, v->v[p->var], mode);
    }
    /* buf_append leaves data NULL for an empty result; callers may read it as a string. */
    if (!rc && !out->data)
        rc = buf_append(out, "", 0);
    return rc;
}
