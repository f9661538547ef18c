/* The mail room's templates: which files a language has, which placeholders they may use, the
 * one-line subject rule and the quoted purpose; parsing and escaping are common/template.c's. */
#include "mail_template.h"

#include "common/log.h"
#include "common/template.h"
#include "common/template_dir.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const var_names[TV_COUNT] = {
#define MAIL_VAR_NAME(e, name) [e] = name,
    MAIL_VARS(MAIL_VAR_NAME)
#undef MAIL_VAR_NAME
};
static const struct template_vars vars = {.names = var_names, .n = TV_COUNT};

/* The file of each part per kind, and the escaping its values get (a subject lands in a
 * header). */
static const char *const part_files[MAIL_KINDS][MAIL_PARTS] = {
    [MAIL_KIND_INVITE] = {"subject.txt", "body.txt", "body.html"},
    [MAIL_KIND_REMINDER] = {"reminder_subject.txt", "reminder_body.txt", "reminder_body.html"},
    [MAIL_KIND_SIGNIN] = {"signin_subject.txt", "signin_body.txt", "signin_body.html"},
};
static const enum template_escape part_escape[MAIL_PARTS] = {TEMPLATE_HEADER, TEMPLATE_TEXT,
                                                             TEMPLATE_HTML_BR};

struct mail_templates {
    const char *lang; /* the set's folder name */
    struct template *part[MAIL_PARTS];
};

struct mail_template_set {
    struct template_langs langs;
    struct mail_templates lang[MAIL_KINDS][TEMPLATE_LANGS_MAX]; /* indexed as langs */
};

/* Appends the escaped purpose with every line quoted by "> " (an empty one by ">": no trailing
 * blank), set off from the sentences around it. */
static enum si_err quote_lines(struct buf *out, const char *purpose, enum template_escape mode)
{
    struct buf tmp;
    buf_init(&tmp, 0);
    enum si_err rc = template_escape(&tmp, purpose, mode);
    const char *p = tmp.data, *end = tmp.data + tmp.len;
    while (!rc) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        rc = buf_puts(out, n ? "\n> " : "\n>");
        if (!rc)
            rc = buf_append(out, p, n);
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!rc)
        rc = buf_puts(out, "\n");
    buf_cleanup(&tmp);
    return rc;
}

/* The purpose as a quotation: nothing when empty, so templates read well without one. */
static enum si_err purpose_block(const void *ctx, int var, enum template_escape mode,
                                 struct buf *out)
{
    const char *purpose = ((const struct mail_values *)ctx)->v[TV_PURPOSE];
    (void)var;
    if (!purpose || !*purpose)
        return SI_OK;
    if (mode == TEMPLATE_TEXT)
        return quote_lines(out, purpose, mode);
    if (mode != TEMPLATE_HTML_BR)
        return template_escape(out, purpose, mode);
    enum si_err rc = buf_puts(out, "<blockquote style=\"margin:16px 0;padding:4px 12px;"
                                   "border-left:3px solid #c8c8c8;color:#333333\">");
    if (!rc)
        rc = template_escape(out, purpose, mode);
    if (!rc)
        rc = buf_puts(out, "</blockquote>");
    return rc;
}

/* A subject lands in one header line: its final line ends go, and one non-empty line stays. */
static enum si_err check_subject(char *text, size_t *len, const char *path)
{
    size_t w = *len;
    while (w > 0 && text[w - 1] == '\n')
        text[--w] = '\0';
    if (w == 0 || memchr(text, '\n', w)) {
        log_error("templates: %s must hold exactly one non-empty line", path);
        return SI_EINVAL;
    }
    *len = w;
    return SI_OK;
}

/* Releases the parts of a language, whichever were loaded. */
static void lang_cleanup(struct mail_templates *l)
{
    for (int p = 0; p < MAIL_PARTS; p++) {
        template_free(l->part[p]);
        l->part[p] = NULL;
    }
}

/* Reads, checks and parses the three files of one kind in one language folder; on failure the
 * log names the file at fault and lang_cleanup releases what was loaded. */
static enum si_err load_lang(const char *dir, const char *lang, enum mail_kind kind,
                             struct mail_templates *l)
{
    enum si_err rc = SI_OK;
    l->lang = lang;
    for (int p = 0; p < MAIL_PARTS && !rc; p++) {
        char path[TEMPLATE_PATH_MAX], *text = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/mail/%s/%s", dir, lang, part_files[kind][p]);
        rc = template_dir_read(path, &text, &len);
        if (!rc && p == MAIL_SUBJECT)
            rc = check_subject(text, &len, path);
        if (!rc) {
            struct template_src src = {.path = path, .text = text, .len = len, .line = 1};
            rc = template_parse(&src, &vars, &l->part[p]);
        }
        free(text);
    }
    return rc;
}

enum si_err mail_template_load(const char *templates_dir, struct mail_template_set **out)
{
    char path[TEMPLATE_PATH_MAX];
    snprintf(path, sizeof path, "%s/mail", templates_dir);
    /* Every folder is loaded now, not on first use: a broken translation must stop start-up,
     * not fail an email hours later. */
    struct mail_template_set *s = xcalloc(1, sizeof *s);
    enum si_err rc = template_dir_langs(path, &s->langs);
    for (int k = 0; k < MAIL_KINDS; k++)
        for (int i = 0; !rc && i < s->langs.n; i++)
            rc = load_lang(templates_dir, s->langs.name[i], (enum mail_kind)k, &s->lang[k][i]);
    if (rc) {
        mail_template_free(s);
        return rc;
    }
    *out = s;
    return SI_OK;
}

void mail_template_free(struct mail_template_set *s)
{
    if (!s)
        return;
    for (int k = 0; k < MAIL_KINDS; k++)
        for (int i = 0; i < s->langs.n; i++)
            lang_cleanup(&s->lang[k][i]);
    free(s);
}

const struct mail_templates *mail_template_pick(const struct mail_template_set *s,
                                                enum mail_kind kind, const char *want1,
                                                const char *want2)
{
    /* Never -1: mail_template_load refused a set without the fallback. */
    return &s->lang[kind][template_dir_pick(&s->langs, want1, want2)];
}

const char *mail_templates_lang(const struct mail_templates *t)
{
    return t->lang;
}

enum si_err mail_template_render(const struct mail_templates *t, enum mail_part part,
                                 const struct mail_values *v, struct buf *out)
{
    struct template_values tv = {
        .v = v->v, .hooked = (uint64_t)1 << TV_PURPOSE_BLOCK, .hook = purpose_block, .ctx = v};
    return template_render(t->part[part], &tv, part_escape[part], out);
}
