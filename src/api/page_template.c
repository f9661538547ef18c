/* Loading, checking and rendering of the invitee pages' templates (placeholders only, no logic).
 * The same shape as the mail room's templates (src/mail/template.c), kept generic over its
 * placeholder list so the two could share one renderer. */
#include "api/page_template.h"

#include "api/validate.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "core/lang.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PAGE_PATH_MAX 4096
#define OPEN          "{{"
#define CLOSE         "}}"

static const char *const var_names[PV_COUNT] = {
#define PAGE_VAR_NAME(e, name) [e] = name,
    PAGE_VARS(PAGE_VAR_NAME)
#undef PAGE_VAR_NAME
};
static const char *const page_files[PAGE_COUNT] = {
#define PAGE_FILE_NAME(e, name) [e] = name,
    PAGE_IDS(PAGE_FILE_NAME)
#undef PAGE_FILE_NAME
};

/* Languages written right to left: their pages get dir="rtl". */
static const char *const rtl_langs[] = {"he", "ar", "fa", "ur"};

/* A parsed text is a list of pieces: a literal slice of the file, or one placeholder. */
struct piece {
    int var; /* -1 for literal text */
    size_t off, len;
};

struct tpl {
    char *text;
    struct piece *pieces;
    size_t n;
};

struct page_lang {
    char lang[PAGE_LANG_MAX];
    struct tpl title[PAGE_COUNT]; /* the first line of each file */
    struct tpl body[PAGE_COUNT];  /* the rest */
};

struct page_set {
    struct tpl layout;
    struct page_lang langs[PAGE_LANGS_MAX];
    size_t n;
};

static int var_lookup(const char *name, size_t len)
{
    for (int i = 0; i < PV_COUNT; i++)
        if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0)
            return i;
    return -1;
}

static void add_piece(struct tpl *t, int var, size_t off, size_t len)
{
    t->pieces = xrealloc(t->pieces, (t->n + 1) * sizeof *t->pieces);
    t->pieces[t->n++] = (struct piece){.var = var, .off = off, .len = len};
}

/* Splits text (owned by t from now on) into pieces; SI_EINVAL (logged) on an unknown or
 * unclosed placeholder. */
static enum si_err parse(struct tpl *t, char *text, const char *path)
{
    t->text = text;
    size_t len = strlen(text), at = 0;
    while (at < len) {
        const char *open = strstr(text + at, OPEN);
        if (!open) {
            add_piece(t, -1, at, len - at);
            break;
        }
        size_t o = (size_t)(open - text);
        if (o > at)
            add_piece(t, -1, at, o - at);
        const char *close = strstr(open + 2, CLOSE);
        int var = close ? var_lookup(open + 2, (size_t)(close - open - 2)) : -1;
        if (var < 0) {
            log_error("pages: %s: unknown or unclosed placeholder at byte %zu", path, o);
            return SI_EINVAL;
        }
        add_piece(t, var, 0, 0);
        at = (size_t)(close - text) + 2;
    }
    return SI_OK;
}

static void tpl_free(struct tpl *t)
{
    free(t->text);
    free(t->pieces);
    memset(t, 0, sizeof *t);
}

/* Reads a whole template file: valid UTF-8, no NUL, at most PAGE_FILE_MAX bytes. */
static enum si_err read_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        log_error("pages: cannot open %s", path);
        return SI_ECONFIG;
    }
    char *text = xmalloc(PAGE_FILE_MAX + 1);
    size_t n = fread(text, 1, PAGE_FILE_MAX + 1, f);
    fclose(f);
    size_t chars;
    if (n > PAGE_FILE_MAX || memchr(text, '\0', n) || !validate_utf8_count(text, n, &chars)) {
        log_error("pages: %s is over %d bytes, holds a NUL or is not UTF-8", path, PAGE_FILE_MAX);
        free(text);
        return SI_EINVAL;
    }
    text[n] = '\0';
    *out = text;
    return SI_OK;
}

/* Loads pages/<lang>/<page>.html: title line, then body. */
static enum si_err load_page(struct page_lang *pl, const char *dir, enum page_id id)
{
    char path[PAGE_PATH_MAX], *text = NULL;
    snprintf(path, sizeof path, "%s/pages/%s/%s.html", dir, pl->lang, page_files[id]);
    enum si_err rc = read_file(path, &text);
    if (rc)
        return rc;
    char *nl = strchr(text, '\n');
    char *body = xstrdup(nl ? nl + 1 : "");
    if (nl)
        *nl = '\0';
    if (!text[0]) {
        log_error("pages: %s: the first line (the title) is empty", path);
        free(text);
        free(body);
        return SI_EINVAL;
    }
    rc = parse(&pl->title[id], text, path);
    if (!rc)
        rc = parse(&pl->body[id], body, path);
    else
        free(body);
    return rc;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Loads every language folder of pages/. */
static enum si_err load_langs(struct page_set *s, const char *dir)
{
    char path[PAGE_PATH_MAX];
    snprintf(path, sizeof path, "%s/pages", dir);
    DIR *d = opendir(path);
    if (!d) {
        log_error("pages: cannot open the folder %s", path);
        return SI_ECONFIG;
    }
    enum si_err rc = SI_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        char sub[PAGE_PATH_MAX];
        size_t nlen = strlen(e->d_name);
        if (nlen >= PAGE_LANG_MAX || !lang_tag_valid(e->d_name))
            continue;
        if (snprintf(sub, sizeof sub, "%s/%.*s", path, (int)nlen, e->d_name) >= (int)sizeof sub ||
            !is_dir(sub))
            continue;
        if (s->n == PAGE_LANGS_MAX) {
            log_warn("pages: more than %d languages; %s is ignored", PAGE_LANGS_MAX, e->d_name);
            continue;
        }
        struct page_lang *pl = &s->langs[s->n++];
        memcpy(pl->lang, e->d_name, nlen + 1);
        for (int id = 0; !rc && id < PAGE_COUNT; id++)
            rc = load_page(pl, dir, (enum page_id)id);
    }
    closedir(d);
    return rc;
}

void page_set_free(struct page_set *s)
{
    if (!s)
        return;
    tpl_free(&s->layout);
    for (size_t i = 0; i < s->n; i++)
        for (int id = 0; id < PAGE_COUNT; id++) {
            tpl_free(&s->langs[i].title[id]);
            tpl_free(&s->langs[i].body[id]);
        }
    free(s);
}

enum si_err page_set_load(const char *templates_dir, struct page_set **out)
{
    struct page_set *s = xcalloc(1, sizeof *s);
    char path[PAGE_PATH_MAX], *text = NULL;
    *out = NULL;
    snprintf(path, sizeof path, "%s/pages/layout.html", templates_dir);
    enum si_err rc = read_file(path, &text);
    if (!rc)
        rc = parse(&s->layout, text, path);
    if (!rc)
        rc = load_langs(s, templates_dir);
    if (!rc && !page_set_pick(s, LANG_FALLBACK, NULL)[0]) {
        log_error("pages: %s/pages/%s is missing", templates_dir, LANG_FALLBACK);
        rc = SI_ECONFIG;
    }
    if (rc) {
        page_set_free(s);
        return rc;
    }
    *out = s;
    return SI_OK;
}

/* The loaded language matching tag exactly or by its primary subtag, or NULL. */
static const struct page_lang *find_lang(const struct page_set *s, const char *tag)
{
    if (!tag || !*tag)
        return NULL;
    size_t primary = strcspn(tag, "-_");
    for (size_t i = 0; i < s->n; i++)
        if (strcasecmp(s->langs[i].lang, tag) == 0)
            return &s->langs[i];
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->langs[i].lang) == primary && strncasecmp(s->langs[i].lang, tag, primary) == 0)
            return &s->langs[i];
    return NULL;
}

const char *page_set_pick(const struct page_set *s, const char *want1, const char *want2)
{
    const struct page_lang *pl = find_lang(s, want1);
    if (!pl)
        pl = find_lang(s, want2);
    if (!pl)
        pl = find_lang(s, LANG_FALLBACK);
    return pl ? pl->lang : "";
}

enum si_err page_escape(struct buf *out, const char *text)
{
    const char *s = text ? text : "";
    size_t n = strlen(s), chars;
    /* Text that is not UTF-8 would break the page's encoding: its high bytes become '?'. */
    bool utf8 = validate_utf8_count(s, n, &chars);
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *ent = c == '&'    ? "&amp;"
                          : c == '<'  ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '"'  ? "&quot;"
                          : c == '\'' ? "&#39;"
                                      : NULL;
        if (ent)
            rc = buf_puts(out, ent);
        else if ((c < 0x20 && c != '\n') || c == 0x7f)
            rc = buf_puts(out, " ");
        else if (c >= 0x80 && !utf8)
            rc = buf_puts(out, "?");
        else
            rc = buf_append(out, s + i, 1);
    }
    return rc;
}

/* Appends the purpose as a quotation, or nothing when there is none. */
static enum si_err purpose_block(struct buf *out, const char *purpose)
{
    if (!purpose || !*purpose)
        return SI_OK;
    /* dir="auto": the inviter's text keeps its own direction inside a page of another. */
    enum si_err rc = buf_puts(out, "<blockquote class=\"purpose\" dir=\"auto\">");
    if (!rc)
        rc = page_escape(out, purpose);
    if (!rc)
        rc = buf_puts(out, "</blockquote>");
    return rc;
}

/* Renders t with v; raw leaves values unescaped (the title, which the layout escapes once). */
static enum si_err render(const struct tpl *t, const struct page_values *v, bool raw,
                          struct buf *out)
{
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < t->n && !rc; i++) {
        const struct piece *p = &t->pieces[i];
        if (p->var < 0)
            rc = buf_append(out, t->text + p->off, p->len);
        else if (p->var == PV_CONTENT)
            rc = buf_puts(out, v->v[PV_CONTENT] ? v->v[PV_CONTENT] : "");
        else if (raw)
            rc = buf_puts(out, v->v[p->var] ? v->v[p->var] : "");
        else if (p->var == PV_PURPOSE_BLOCK)
            rc = purpose_block(out, v->v[PV_PURPOSE_BLOCK]);
        else
            rc = page_escape(out, v->v[p->var]);
    }
    return rc;
}

enum si_err page_render(const struct page_set *s, const char *lang, enum page_id id,
                        const struct page_values *values, struct buf *out)
{
    const struct page_lang *pl = find_lang(s, lang);
    if (!pl || (unsigned)id >= PAGE_COUNT)
        return SI_ENOTFOUND;
    struct page_values v = *values;
    struct buf title, body;
    buf_init(&title, 0);
    buf_init(&body, 0);
    /* The body is rendered first (its values escaped), then put in the layout raw; the title
     * is rendered as plain text and escaped once, where the layout places it. */
    v.v[PV_CONTENT] = NULL;
    enum si_err rc = render(&pl->title[id], &v, true, &title);
    if (!rc)
        rc = render(&pl->body[id], &v, false, &body);
    if (!rc) {
        bool rtl = false;
        for (size_t i = 0; i < sizeof rtl_langs / sizeof rtl_langs[0]; i++)
            rtl = rtl || strncmp(pl->lang, rtl_langs[i], 2) == 0;
        v.v[PV_LANG] = pl->lang;
        v.v[PV_DIR] = rtl ? "rtl" : "ltr";
        v.v[PV_TITLE] = title.data ? title.data : "";
        v.v[PV_CONTENT] = body.data ? body.data : "";
        rc = render(&s->layout, &v, false, out);
    }
    buf_cleanup(&title);
    buf_cleanup(&body);
    return rc;
}
