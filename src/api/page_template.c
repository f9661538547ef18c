/* The page templates of the invitee pages and the console: which pages a family has, their
 * title line, the shared layout, the page direction, the language by Accept-Language and the
 * quoted purpose; parsing and escaping are common/template.c's. */
#include "api/page_template.h"

#include "common/log.h"
#include "common/template.h"
#include "common/template_dir.h"
#include "common/xalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPT_TAGS_MAX 16 /* Accept-Language entries looked at; browsers send a handful */

static const char *const var_names[PV_COUNT] = {
#define PAGE_VAR_NAME(e, name) [e] = name,
    PAGE_VARS(PAGE_VAR_NAME)
#undef PAGE_VAR_NAME
};
static const struct template_vars vars = {.names = var_names, .n = PV_COUNT};

static const char *const page_files[PAGE_COUNT] = {
#define PAGE_FILE_NAME(e, name) [e] = name,
    PAGE_IDS(PAGE_FILE_NAME)
#undef PAGE_FILE_NAME
};

static enum si_err purpose_block(const void *ctx, int var, enum template_escape mode,
                                 struct buf *out);

/* The invitee pages (docs/INVITEE.md). */
static const struct page_family invitee_family = {
    .folder = "pages",
    .files = page_files,
    .nfiles = PAGE_COUNT,
    .vars = &vars,
    .var_lang = PV_LANG,
    .var_dir = PV_DIR,
    .var_title = PV_TITLE,
    .var_content = PV_CONTENT,
    .hooked = (uint64_t)1 << PV_PURPOSE_BLOCK,
    .hook = purpose_block,
};

/* Languages written right to left: their pages get dir="rtl". */
static const char *const rtl_langs[] = {"he", "ar", "fa", "ur"};

struct page_set {
    const struct page_family *fam;
    struct template *layout;
    struct template_langs langs;
    struct template **title; /* [lang * nfiles + page]: the first line of each file */
    struct template **body;  /* the rest */
};

/* Loads <folder>/<lang>/<page>.html: a non-empty title line, then the body. */
static enum si_err load_page(struct page_set *s, const char *dir, int lang, int id)
{
    const struct page_family *f = s->fam;
    char path[TEMPLATE_PATH_MAX], *text = NULL;
    size_t len = 0;
    int at = lang * f->nfiles + id;
    snprintf(path, sizeof path, "%s/%s/%s/%s.html", dir, f->folder, s->langs.name[lang],
             f->files[id]);
    enum si_err rc = template_dir_read(path, &text, &len);
    if (rc)
        return rc;
    const char *nl = memchr(text, '\n', len);
    size_t title_len = nl ? (size_t)(nl - text) : len;
    if (title_len == 0) {
        log_error("pages: %s: the first line (the title) is empty", path);
        rc = SI_EINVAL;
        goto out;
    }
    struct template_src title = {.path = path, .text = text, .len = title_len, .line = 1};
    rc = template_parse(&title, f->vars, &s->title[at]);
    if (rc)
        goto out;
    struct template_src body = {.path = path, .text = text + title_len, .len = 0, .line = 2};
    if (nl) {
        body.text = nl + 1;
        body.len = len - title_len - 1;
    }
    rc = template_parse(&body, f->vars, &s->body[at]);
out:
    free(text);
    return rc;
}

void page_set_free(struct page_set *s)
{
    if (!s)
        return;
    template_free(s->layout);
    int n = s->langs.n * s->fam->nfiles;
    for (int i = 0; s->title && i < n; i++) {
        template_free(s->title[i]);
        template_free(s->body[i]);
    }
    free(s->title);
    free(s->body);
    free(s);
}

/* Loads <folder>/layout.html, the shell every page is put in. */
static enum si_err load_layout(struct page_set *s, const char *dir)
{
    char path[TEMPLATE_PATH_MAX], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s/layout.html", dir, s->fam->folder);
    enum si_err rc = template_dir_read(path, &text, &len);
    if (!rc) {
        struct template_src src = {.path = path, .text = text, .len = len, .line = 1};
        rc = template_parse(&src, s->fam->vars, &s->layout);
    }
    free(text);
    return rc;
}

enum si_err page_family_load(const char *templates_dir, const struct page_family *f,
                             struct page_set **out)
{
    struct page_set *s = xcalloc(1, sizeof *s);
    char path[TEMPLATE_PATH_MAX];
    s->fam = f;
    *out = NULL;
    snprintf(path, sizeof path, "%s/%s", templates_dir, f->folder);
    enum si_err rc = load_layout(s, templates_dir);
    if (!rc)
        rc = template_dir_langs(path, &s->langs);
    if (!rc) {
        size_t n = (size_t)s->langs.n * (size_t)f->nfiles;
        s->title = xcalloc(n ? n : 1, sizeof *s->title);
        s->body = xcalloc(n ? n : 1, sizeof *s->body);
    }
    for (int i = 0; !rc && i < s->langs.n; i++)
        for (int id = 0; !rc && id < f->nfiles; id++)
            rc = load_page(s, templates_dir, i, id);
    if (rc) {
        page_set_free(s);
        return rc;
    }
    *out = s;
    return SI_OK;
}

enum si_err page_set_load(const char *templates_dir, struct page_set **out)
{
    return page_family_load(templates_dir, &invitee_family, out);
}

const char *page_set_pick(const struct page_set *s, const char *want1, const char *want2)
{
    /* Never -1: page_set_load refused a set without the fallback. */
    return s->langs.name[template_dir_pick(&s->langs, want1, want2)];
}

const char *page_set_pick_accept(const struct page_set *s, const char *accept_language)
{
    const char *p = accept_language ? accept_language : "";
    for (int n = 0; *p && n < ACCEPT_TAGS_MAX; n++) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",; ");
        char tag[TEMPLATE_LANG_MAX];
        if (len > 0 && len < sizeof tag) {
            memcpy(tag, p, len);
            tag[len] = '\0';
            int i = template_dir_find(&s->langs, tag);
            if (i >= 0)
                return s->langs.name[i];
        }
        p += strcspn(p, ","); /* skip ";q=..." */
    }
    return page_set_pick(s, NULL, NULL);
}

/* Appends the purpose as a quotation, or nothing when there is none; in the title (raw) it is
 * the purpose's text. */
static enum si_err purpose_block(const void *ctx, int var, enum template_escape mode,
                                 struct buf *out)
{
    const char *purpose = ((const char *const *)ctx)[var];
    if (!purpose || !*purpose || mode == TEMPLATE_RAW)
        return template_escape(out, purpose, mode);
    /* dir="auto": the inviter's text keeps its own direction inside a page of another. */
    enum si_err rc = buf_puts(out, "<blockquote class=\"purpose\" dir=\"auto\">");
    if (!rc)
        rc = template_escape(out, purpose, mode);
    if (!rc)
        rc = buf_puts(out, "</blockquote>");
    return rc;
}

bool page_lang_rtl(const char *lang)
{
    for (size_t i = 0; i < sizeof rtl_langs / sizeof rtl_langs[0]; i++)
        if (strncmp(lang, rtl_langs[i], 2) == 0)
            return true;
    return false;
}

enum si_err page_family_render(const struct page_set *s, const char *lang, int id,
                               const char *const *values, bool bare, struct buf *out)
{
    const struct page_family *f = s->fam;
    int i = template_dir_find(&s->langs, lang);
    if (i < 0 || id < 0 || id >= f->nfiles)
        return SI_ENOTFOUND;
    int at = i * f->nfiles + id;
    const char *v[TEMPLATE_VARS_MAX];
    memcpy(v, values, (size_t)f->vars->n * sizeof *v);
    struct template_values tv = {.v = v,
                                 .raw = f->raw | (uint64_t)1 << f->var_content,
                                 .hooked = f->hooked,
                                 .hook = f->hook,
                                 .ctx = v};
    if (bare)
        return template_render(s->body[at], &tv, TEMPLATE_HTML, out);
    struct buf title, body;
    buf_init(&title, 0);
    buf_init(&body, 0);
    /* The body is rendered first (its values escaped), then put in the layout raw; the title
     * is rendered as plain text and escaped once, where the layout places it. */
    v[f->var_content] = NULL;
    enum si_err rc = template_render(s->title[at], &tv, TEMPLATE_RAW, &title);
    if (!rc)
        rc = template_render(s->body[at], &tv, TEMPLATE_HTML, &body);
    if (!rc) {
        v[f->var_lang] = s->langs.name[i];
        v[f->var_dir] = page_lang_rtl(s->langs.name[i]) ? "rtl" : "ltr";
        v[f->var_title] = title.data;
        v[f->var_content] = body.data;
        rc = template_render(s->layout, &tv, TEMPLATE_HTML, out);
    }
    buf_cleanup(&title);
    buf_cleanup(&body);
    return rc;
}

enum si_err page_render(const struct page_set *s, const char *lang, enum page_id id,
                        const struct page_values *values, struct buf *out)
{
    return page_family_render(s, lang, (int)id, values->v, false, out);
}
