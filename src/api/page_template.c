/* The invitee pages' templates: which pages a language has, their title line, the shared layout,
 * the page direction and the quoted purpose; parsing and escaping are common/template.c's. */
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

/* Languages written right to left: their pages get dir="rtl". */
static const char *const rtl_langs[] = {"he", "ar", "fa", "ur"};

struct page_lang {
    struct template *title[PAGE_COUNT]; /* the first line of each file */
    struct template *body[PAGE_COUNT];  /* the rest */
};

struct page_set {
    struct template *layout;
    struct template_langs langs;
    struct page_lang lang[TEMPLATE_LANGS_MAX]; /* indexed as langs */
};

/* Loads pages/<lang>/<page>.html: a non-empty title line, then the body. */
static enum si_err load_page(struct page_lang *pl, const char *dir, const char *lang,
                             enum page_id id)
{
    char path[TEMPLATE_PATH_MAX], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/pages/%s/%s.html", dir, lang, page_files[id]);
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
    rc = template_parse(&title, &vars, &pl->title[id]);
    if (rc)
        goto out;
    struct template_src body = {.path = path, .text = text + title_len, .len = 0, .line = 2};
    if (nl) {
        body.text = nl + 1;
        body.len = len - title_len - 1;
    }
    rc = template_parse(&body, &vars, &pl->body[id]);
out:
    free(text);
    return rc;
}

void page_set_free(struct page_set *s)
{
    if (!s)
        return;
    template_free(s->layout);
    for (int i = 0; i < s->langs.n; i++)
        for (int id = 0; id < PAGE_COUNT; id++) {
            template_free(s->lang[i].title[id]);
            template_free(s->lang[i].body[id]);
        }
    free(s);
}

/* Loads pages/layout.html, the shell every page is put in. */
static enum si_err load_layout(struct page_set *s, const char *dir)
{
    char path[TEMPLATE_PATH_MAX], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/pages/layout.html", dir);
    enum si_err rc = template_dir_read(path, &text, &len);
    if (!rc) {
        struct template_src src = {.path = path, .text = text, .len = len, .line = 1};
        rc = template_parse(&src, &vars, &s->layout);
    }
    free(text);
    return rc;
}

enum si_err page_set_load(const char *templates_dir, struct page_set **out)
{
    struct page_set *s = xcalloc(1, sizeof *s);
    char path[TEMPLATE_PATH_MAX];
    *out = NULL;
    snprintf(path, sizeof path, "%s/pages", templates_dir);
    enum si_err rc = load_layout(s, templates_dir);
    if (!rc)
        rc = template_dir_langs(path, &s->langs);
    for (int i = 0; !rc && i < s->langs.n; i++)
        for (int id = 0; !rc && id < PAGE_COUNT; id++)
            rc = load_page(&s->lang[i], templates_dir, s->langs.name[i], (enum page_id)id);
    if (rc) {
        page_set_free(s);
        return rc;
    }
    *out = s;
    return SI_OK;
}

const char *page_set_pick(const struct page_set *s, const char *want1, const char *want2)
{
    /* Never -1: page_set_load refused a set without the fallback. */
    return s->langs.name[template_dir_pick(&s->langs, want1, want2)];
}

/* Appends the purpose as a quotation, or nothing when there is none; in the title (raw) it is
 * the purpose's text. */
static enum si_err purpose_block(const void *ctx, int var, enum template_escape mode,
                                 struct buf *out)
{
    const char *purpose = ((const struct page_values *)ctx)->v[var];
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

static bool is_rtl(const char *lang)
{
    for (size_t i = 0; i < sizeof rtl_langs / sizeof rtl_langs[0]; i++)
        if (strncmp(lang, rtl_langs[i], 2) == 0)
            return true;
    return false;
}

enum si_err page_render(const struct page_set *s, const char *lang, enum page_id id,
                        const struct page_values *values, struct buf *out)
{
    int i = template_dir_find(&s->langs, lang);
    if (i < 0 || (unsigned)id >= PAGE_COUNT)
        return SI_ENOTFOUND;
    const struct page_lang *pl = &s->lang[i];
    struct page_values v = *values;
    struct template_values tv = {.v = v.v,
                                 .raw = (uint32_t)1 << PV_CONTENT,
                                 .hooked = (uint32_t)1 << PV_PURPOSE_BLOCK,
                                 .hook = purpose_block,
                                 .ctx = &v};
    struct buf title, body;
    buf_init(&title, 0);
    buf_init(&body, 0);
    /* The body is rendered first (its values escaped), then put in the layout raw; the title
     * is rendered as plain text and escaped once, where the layout places it. */
    v.v[PV_CONTENT] = NULL;
    enum si_err rc = template_render(pl->title[id], &tv, TEMPLATE_RAW, &title);
    if (!rc)
        rc = template_render(pl->body[id], &tv, TEMPLATE_HTML, &body);
    if (!rc) {
        v.v[PV_LANG] = s->langs.name[i];
        v.v[PV_DIR] = is_rtl(s->langs.name[i]) ? "rtl" : "ltr";
        v.v[PV_TITLE] = title.data;
        v.v[PV_CONTENT] = body.data;
        rc = template_render(s->layout, &tv, TEMPLATE_HTML, out);
    }
    buf_cleanup(&title);
    buf_cleanup(&body);
    return rc;
}
