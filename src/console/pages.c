/* The console's pages: the template family under templates/console/, the language by
 * Accept-Language, and the answers every console handler ends with (a page, a redirect). */
#include "console/console_int.h"

#include "api/invitee_flow.h"
#include "api/page_template.h"
#include "common/log.h"
#include "common/template.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <string.h>

#define FALLBACK_PAGE                                                                              \
    "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Error</title>"                \
    "<main><h1>Something went wrong</h1><p>Please try again later.</p></main></html>\n"

static const char *const var_names[CV_COUNT] = {
#define CV_NAME(e, name) [e] = name,
    CONSOLE_VARS(CV_NAME)
#undef CV_NAME
};
static const struct template_vars vars = {.names = var_names, .n = CV_COUNT};

static const char *const page_files[CP_COUNT] = {
#define CP_FILE(e, name) [e] = name,
    CONSOLE_PAGES(CP_FILE)
#undef CP_FILE
};

#define BIT(v) ((uint64_t)1 << (v))
static const struct page_family family = {
    .folder = "console",
    .files = page_files,
    .nfiles = CP_COUNT,
    .vars = &vars,
    .var_lang = CV_LANG,
    .var_dir = CV_DIR,
    .var_title = CV_TITLE,
    .var_content = CV_CONTENT,
    .raw = BIT(CV_NAV) | BIT(CV_ROWS) | BIT(CV_OPTIONS) | BIT(CV_SORT_OPTIONS) | BIT(CV_EXTRA) |
           BIT(CV_CHART),
};

/* Loaded by serve before requests arrive; read-only afterwards. */
static struct page_set *pages;

enum si_err console_pages_load(const char *templates_dir)
{
    struct page_set *s = NULL;
    enum si_err rc = page_family_load(templates_dir, &family, &s);
    if (rc)
        return rc;
    page_set_free(pages);
    pages = s;
    return SI_OK;
}

void console_pages_unload(void)
{
    page_set_free(pages);
    pages = NULL;
}

const char *console_lang(const struct request *req)
{
    return pages ? page_set_pick_accept(pages, req->accept_language) : "en";
}

void console_reply(struct request *req, unsigned status, const char *lang, enum console_page id,
                   const struct console_values *v)
{
    struct buf b;
    buf_init(&b, 0);
    req->no_store = true;
    if (!pages || page_family_render(pages, lang, (int)id, v->v, false, &b) != SI_OK) {
        buf_cleanup(&b);
        request_reply_html(req, 500, xstrdup(FALLBACK_PAGE));
        return;
    }
    request_reply_html(req, status, buf_take(&b));
}

enum si_err console_fragment(const char *lang, enum console_page id, const struct console_values *v,
                             struct buf *out)
{
    if (!pages)
        return SI_ENOTFOUND;
    return page_family_render(pages, lang, (int)id, v->v, true, out);
}

void console_fragment_text(const char *lang, enum console_page id, const struct console_values *v,
                           char *out, size_t cap)
{
    struct buf b;
    buf_init(&b, cap - 1);
    out[0] = '\0';
    if (console_fragment(lang, id, v, &b) == SI_OK && b.data) {
        /* A translator's trailing line break is not part of the word. */
        size_t n = b.len;
        while (n && (b.data[n - 1] == '\n' || b.data[n - 1] == ' '))
            n--;
        memcpy(out, b.data, n);
        out[n] = '\0';
    }
    buf_cleanup(&b);
}

void console_redirect(struct request *req, const char *path)
{
    char to[CONSOLE_PATH_MAX];
    snprintf(to, sizeof to, "%s%s", page_base_path(req->app->base_url), path);
    free(req->location);
    req->location = xstrdup(to);
    request_reply_html(req, 303, xstrdup("<!doctype html><title>See other</title>\n"));
}

void console_fail(struct request *req, const char *lang, const char *what, enum si_err rc)
{
    struct console_values v = {.v = {NULL}};
    log_error("request %s: console %s: %s", req->request_id, what, si_err_name(rc));
    console_reply(req, 500, lang, CP_ERROR, &v);
}

size_t console_log_path_keep(const char *path, bool *redact)
{
    static const char prefix[] = "/console/signin/";
    const char *at = strstr(path, prefix);
    *redact = at != NULL;
    return at ? (size_t)(at - path) + sizeof prefix - 1 : strlen(path);
}
