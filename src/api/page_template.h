/* The invitee pages' templates: translator-edited files under <templates_dir>/pages/ with
 * {{name}} placeholders and no logic, loaded and checked once, rendered with HTML escaping by
 * the common template engine (common/template.h).
 *
 * Layout: pages/layout.html is the shared document shell ({{lang}}, {{dir}}, {{title}},
 * {{content}}); pages/<lang>/<page>.html holds one page per file, whose first line is its title
 * and the rest its body. Every value is HTML-escaped except {{content}} (the rendered body) and
 * {{purpose_block}} (the purpose, escaped, inside a <blockquote>, or nothing). */
#ifndef SI_API_PAGE_TEMPLATE_H
#define SI_API_PAGE_TEMPLATE_H

#include "common/buf.h"
#include "common/err.h"
#include "common/template.h"

#include <stdbool.h>
#include <stdint.h>

/* X(enum, file name without .html) */
#define PAGE_IDS(X)                                                                                \
    X(PAGE_INVITE, "invite")     /* Pending: who, what, until when; the two forms */               \
    X(PAGE_ACCEPTED, "accepted") /* after Accept */                                                \
    X(PAGE_ACCEPTED_CONTINUE, "accepted_continue") /* after Accept, the site's redirect set */     \
    X(PAGE_DECLINED, "declined")                   /* after Decline */                             \
    X(PAGE_GONE_USED, "gone_used")                 /* 410 */                                       \
    X(PAGE_GONE_DECLINED, "gone_declined")         /* 410 */                                       \
    X(PAGE_GONE_REVOKED, "gone_revoked")           /* 410 */                                       \
    X(PAGE_GONE_EXPIRED, "gone_expired")           /* 410 */                                       \
    X(PAGE_INVALID, "invalid")                     /* 404: malformed or unknown link */            \
    X(PAGE_FORBIDDEN, "forbidden")                 /* 403: a post from another site */             \
    X(PAGE_ERROR, "error")                         /* 5xx */

enum page_id {
#define PAGE_ID_ENUM(e, name) e,
    PAGE_IDS(PAGE_ID_ENUM)
#undef PAGE_ID_ENUM
        PAGE_COUNT
};

/* X(enum, placeholder name) */
#define PAGE_VARS(X)                                                                               \
    X(PV_LANG, "lang")                                                                             \
    X(PV_DIR, "dir")                                                                               \
    X(PV_TITLE, "title")                                                                           \
    X(PV_CONTENT, "content")                                                                       \
    X(PV_SITE_NAME, "site_name")                                                                   \
    X(PV_INVITER_NAME, "inviter_name")                                                             \
    X(PV_INVITER_EMAIL, "inviter_email")                                                           \
    X(PV_INVITEE_EMAIL, "invitee_email")                                                           \
    X(PV_ROLES, "roles")                                                                           \
    X(PV_EXPIRES, "expires")                                                                       \
    X(PV_PURPOSE_BLOCK, "purpose_block")                                                           \
    X(PV_ACCEPT_ACTION, "accept_action")                                                           \
    X(PV_DECLINE_ACTION, "decline_action")                                                         \
    X(PV_FORM_TOKEN, "form_token")                                                                 \
    X(PV_CONTINUE_URL, "continue_url") /* the composed acceptRedirectUrl (issue 10) */

enum page_var {
#define PAGE_VAR_ENUM(e, name) e,
    PAGE_VARS(PAGE_VAR_ENUM)
#undef PAGE_VAR_ENUM
        PV_COUNT
};

/* The values of one page, UTF-8 text as stored (unescaped); NULL reads as "". Borrowed.
 * lang, dir, title and content are set by page_render itself. */
struct page_values {
    const char *v[PV_COUNT];
};

struct page_set;

/* A family of page templates, for the invitee pages and the console alike: its folder under
 * the templates directory, its page files and its placeholders, four of which the renderer
 * fills itself (lang, dir, title, content). Static data, borrowed for the set's life. */
struct page_family {
    const char *folder;       /* "pages", "console" */
    const char *const *files; /* page file names without ".html", indexed by page number */
    int nfiles;
    const struct template_vars *vars;
    int var_lang, var_dir, var_title, var_content;
    uint32_t raw;          /* placeholders written as is: HTML the caller built and escaped */
    uint32_t hooked;       /* placeholders written by hook (ctx: the values array) */
    template_hook_fn hook; /* may be NULL when hooked is 0 */
};

/* Loads <templates_dir>/<f->folder>/layout.html and every language folder beside it, each with
 * every page of f, as page_set_load does. Errors as page_set_load. */
enum si_err page_family_load(const char *templates_dir, const struct page_family *f,
                             struct page_set **out) SI_MUST_USE;

/* Appends page id in lang to out: the whole document in the layout, or only the page's body
 * (bare: a fragment such as a table row, whose title line is then unused). values has one
 * entry per placeholder of the family (NULL reads as ""); lang, dir, title and content are
 * set here. Errors as page_render. Thread-safe. */
enum si_err page_family_render(const struct page_set *s, const char *lang, int id,
                               const char *const *values, bool bare, struct buf *out) SI_MUST_USE;

/* The language folder for an Accept-Language header: its tags in the order sent (browsers
 * send them by preference), whole tag then primary subtag, else "en". Borrowed until
 * page_set_free. Thread-safe. */
const char *page_set_pick_accept(const struct page_set *s, const char *accept_language);

/* Whether a folder's language is written right to left (he, ar, fa, ur). */
bool page_lang_rtl(const char *lang);

/* Loads <templates_dir>/pages/layout.html and every pages/<lang>/ folder whose name is a
 * language tag; each folder must hold every page of PAGE_IDS, valid UTF-8, at most
 * TEMPLATE_FILE_MAX bytes, with only known placeholders; "en" must exist. Errors are logged with
 * the file: SI_ECONFIG for a missing folder or file, SI_EINVAL for bad content, SI_ETOOBIG for a
 * file too large. */
enum si_err page_set_load(const char *templates_dir, struct page_set **out) SI_MUST_USE;

/* Frees a set; NULL is accepted. */
void page_set_free(struct page_set *s);

/* The folder for the first of want1, want2 (whole tag, then primary subtag) that exists, else
 * "en": the one language fallback, template_dir_pick. Borrowed until page_set_free.
 * Thread-safe. */
const char *page_set_pick(const struct page_set *s, const char *want1, const char *want2);

/* Appends the whole document of page id in lang (a name page_set_pick returned) to out.
 * SI_ENOTFOUND for an unknown lang; SI_ETOOBIG when out's limit is reached. Thread-safe. */
enum si_err page_render(const struct page_set *s, const char *lang, enum page_id id,
                        const struct page_values *v, struct buf *out) SI_MUST_USE;

#endif
