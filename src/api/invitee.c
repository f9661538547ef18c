/* The invitee's pages at <base>/invite/{token}: the invitation with Accept and Decline forms in
 * the invite's language, the page after the choice, and the pages saying why a link no longer
 * works. Forms are guarded by the Origin / Sec-Fetch-Site headers and a stateless form token. */
#include "api/api.h"

#include "api/invitee_flow.h"
#include "api/page_template.h"
#include "api/role_view.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "core/roles.h"
#include "core/site_settings.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define TEMPLATES_LOCAL   "templates"
#define TEMPLATES_DEFAULT SI_SOURCE_DIR "/templates"
#define ROLES_TEXT_MAX    (SI_POLICIES_MAX * SI_NAME_MAX)
#define ACTION_MAX        (SI_BASE_URL_MAX + 128)
#define FALLBACK_PAGE                                                                              \
    "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Error</title>"                \
    "<main><h1>Something went wrong</h1><p>Please try again later.</p></main></html>\n"

/* The page templates: loaded by serve before requests arrive, else once on first use. */
static struct page_set *pages;
static pthread_once_t pages_once = PTHREAD_ONCE_INIT;

enum si_err api_pages_load(const char *templates_dir)
{
    struct page_set *s = NULL;
    enum si_err rc = page_set_load(templates_dir, &s);
    if (!rc && (rc = role_view_load(templates_dir)) != SI_OK)
        page_set_free(s);
    if (rc)
        return rc;
    page_set_free(pages);
    pages = s;
    return SI_OK;
}

void api_pages_unload(void)
{
    page_set_free(pages);
    pages = NULL;
    role_view_unload();
}

/* Same rule as serve's default: ./templates when it exists, else the source tree's. */
static void pages_default(void)
{
    struct stat st;
    bool local = stat(TEMPLATES_LOCAL, &st) == 0 && S_ISDIR(st.st_mode);
    if (!pages && api_pages_load(local ? TEMPLATES_LOCAL : TEMPLATES_DEFAULT) != SI_OK)
        log_error("pages: no page templates; the invitee pages answer with an error page");
}

/* Renders page id in lang and answers with status; a template failure is a plain 500. */
static void reply_page(struct request *req, unsigned status, const char *lang, enum page_id id,
                       const struct page_values *v)
{
    struct buf b;
    buf_init(&b, 0);
    req->no_store = true;
    pthread_once(&pages_once, pages_default);
    if (!pages || page_render(pages, page_set_pick(pages, lang, NULL), id, v, &b) != SI_OK) {
        buf_cleanup(&b);
        request_reply_html(req, 500, xstrdup(FALLBACK_PAGE));
        return;
    }
    request_reply_html(req, status, buf_take(&b));
}

/* Pages without details: an invalid link, a refused post, an error. */
static void reply_plain(struct request *req, unsigned status, const char *lang, enum page_id id)
{
    struct page_values v = {.v = {NULL}};
    reply_page(req, status, lang, id, &v);
}

/* The error page after a store failure: 503 (with Retry-After) when it passes by itself (a full
 * disk, PostgreSQL restarting), else 500. */
static void reply_failure(struct request *req, enum si_err rc, const char *lang)
{
    reply_plain(req, rc == SI_EFULL || rc == SI_EBUSY ? 503 : 500, lang, PAGE_ERROR);
}

/* The language of an invite's pages: the one asked for, else the site's, else English. */
static const char *invite_lang(const struct invite *inv, const struct site *site)
{
    pthread_once(&pages_once, pages_default);
    return pages ? page_set_pick(pages, inv->language, site ? site->language : NULL) : "en";
}

/* Role titles in lang joined with ", "; custom ones looked up in the site's account. */
static void role_titles(struct request *req, const struct invite *inv, const char *account_id,
                        const char *lang, char *out, size_t cap)
{
    struct role *custom = NULL;
    size_t ncustom = 0;
    for (int i = 0; i < inv->policies.n && !custom; i++)
        if (!roles_find_predefined(inv->policies.ids[i]) &&
            store_roles_list(req->app->store, account_id, &custom, &ncustom) != SI_OK)
            break; /* a title we cannot read shows as its ID; the page still helps */
    role_view_titles(&inv->policies, custom, ncustom, lang, out, cap);
    free(custom);
}

/* "2026-12-26T06:23:17.086Z" reads as "2026-12-26 06:23 UTC": unambiguous in every language. */
static void expiry_text(si_ms t, char out[SI_TIME_TEXT_LEN])
{
    char stamp[SI_TIME_TEXT_LEN];
    time_format(t, stamp);
    snprintf(out, SI_TIME_TEXT_LEN, "%.10s %.5s UTC", stamp, stamp + 11);
}

/* The details every page about one invite shows. */
struct invite_view {
    struct site site;
    struct account inviter;
    char roles[ROLES_TEXT_MAX];
    char expires[SI_TIME_TEXT_LEN];
    char accept_action[ACTION_MAX], decline_action[ACTION_MAX];
    char form_token[FORM_TOKEN_LEN + 1];
    char continue_url[SITE_REDIRECT_COMPOSED_MAX]; /* "" unless the site set acceptRedirectUrl */
};

static enum si_err view_load(struct request *req, const struct invite *inv,
                             const struct token_ref *ref, struct invite_view *w)
{
    memset(w, 0, sizeof *w);
    enum si_err rc = store_site_get(req->app->store, inv->site_id, &w->site);
    if (rc) /* an invite without its site is a broken invariant, not a missing page */
        return rc == SI_ENOTFOUND ? SI_ESTORE : rc;
    /* An inviter account that is gone leaves the name empty; the page still reads. */
    if (store_account_get(req->app->store, inv->inviter_account_id, &w->inviter) != SI_OK)
        memset(&w->inviter, 0, sizeof w->inviter);
    /* The titles speak the page's language: the same pick as invite_lang. */
    role_titles(req, inv, w->site.account_id, invite_lang(inv, &w->site), w->roles,
                sizeof w->roles);
    expiry_text(inv->expires, w->expires);
    const char *bp = page_base_path(req->app->base_url);
    snprintf(w->accept_action, sizeof w->accept_action, "%s/invite/%s/accept", bp, req->param);
    snprintf(w->decline_action, sizeof w->decline_action, "%s/invite/%s/decline", bp, req->param);
    if (ref)
        invitee_form_token(req->app, ref, w->form_token);
    site_settings_redirect_compose(site_settings_of(&w->site)->accept_redirect_url, inv->id,
                                   inv->site_id, w->continue_url);
    return SI_OK;
}

static void view_values(const struct invite *inv, const struct invite_view *w,
                        struct page_values *v)
{
    memset(v, 0, sizeof *v);
    v->v[PV_SITE_NAME] = w->site.name;
    v->v[PV_INVITER_NAME] = w->inviter.name;
    v->v[PV_INVITER_EMAIL] = w->inviter.email;
    v->v[PV_INVITEE_EMAIL] = inv->email;
    v->v[PV_ROLES] = w->roles;
    v->v[PV_EXPIRES] = w->expires;
    v->v[PV_PURPOSE_BLOCK] = inv->purpose;
    v->v[PV_ACCEPT_ACTION] = w->accept_action;
    v->v[PV_DECLINE_ACTION] = w->decline_action;
    v->v[PV_FORM_TOKEN] = w->form_token;
    v->v[PV_CONTINUE_URL] = w->continue_url;
}

/* Shows the page for an invite's effective status: the forms while Pending, else 410 why. */
static void reply_invite(struct request *req, const struct invite *inv, const struct token_ref *ref,
                         enum page_id pending_page, unsigned pending_status)
{
    static const enum page_id gone[] = {
        [INVITE_USED] = PAGE_GONE_USED,
        [INVITE_DELETED] = PAGE_GONE_REVOKED,
        [INVITE_DECLINED] = PAGE_GONE_DECLINED,
        [INVITE_EXPIRED] = PAGE_GONE_EXPIRED,
    };
    struct invite_view w;
    struct page_values v;
    enum si_err rc = view_load(req, inv, ref, &w);
    if (rc) {
        log_error("request %s: invitee page: %s", req->request_id, si_err_name(rc));
        reply_failure(req, rc, inv->language);
        return;
    }
    view_values(inv, &w, &v);
    const char *lang = invite_lang(inv, &w.site);
    /* With the site's acceptRedirectUrl the accepted page offers "Continue to {site}". */
    if (pending_page == PAGE_ACCEPTED && w.continue_url[0])
        pending_page = PAGE_ACCEPTED_CONTINUE;
    enum invite_status st = invite_status_at(inv, clock_now(req->app->clock));
    if (st == INVITE_PENDING || pending_page != PAGE_INVITE)
        reply_page(req, pending_status, lang, pending_page, &v);
    else
        reply_page(req, 410, lang, gone[st], &v);
    secure_wipe(w.form_token, sizeof w.form_token);
    site_cleanup(&w.site);
}

void api_invitee_page(struct request *req)
{
    struct token_ref ref;
    struct invite inv;
    enum si_err rc = invitee_find(req->app, req->param, &inv, &ref);
    if (rc == SI_ENOTFOUND)
        reply_plain(req, 404, NULL, PAGE_INVALID);
    else if (rc) {
        log_error("request %s: invitee page: %s", req->request_id, si_err_name(rc));
        reply_failure(req, rc, NULL);
    } else
        reply_invite(req, &inv, &ref, PAGE_INVITE, 200);
    secure_wipe(&ref, sizeof ref);
    invite_cleanup(&inv);
}

/* Accept or Decline from the page: checks, answers, then says what happened. */
static void page_post(struct request *req, enum invitee_choice choice)
{
    struct token_ref ref;
    struct invite inv;
    struct invitee_answer a;
    memset(&a, 0, sizeof a);
    enum si_err rc = invitee_find(req->app, req->param, &inv, &ref);
    if (rc == SI_ENOTFOUND) {
        reply_plain(req, 404, NULL, PAGE_INVALID);
        goto out;
    }
    if (rc)
        goto out;
    if (!page_same_origin(req) ||
        !invitee_form_token_check(req->app, &ref, req->body.data, req->body.len)) {
        log_warn("request %s: invitee form refused: cross-site or without its form token",
                 req->request_id);
        reply_plain(req, 403, invite_lang(&inv, NULL), PAGE_FORBIDDEN);
        goto out;
    }
    rc = invitee_answer(req, req->param, choice, NULL, NULL, &a);
    if (rc == SI_OK)
        reply_invite(req, &a.invite, NULL, choice == INVITEE_ACCEPT ? PAGE_ACCEPTED : PAGE_DECLINED,
                     200);
    else if (rc == SI_ESTATE) /* someone was faster, or it expired meanwhile: say which */
        reply_invite(req, &a.invite, &ref, PAGE_INVITE, 200);
    else if (rc == SI_EEXIST) /* the invited address already holds a seat in this site */
        reply_invite(req, &inv, NULL, PAGE_GONE_USED, 409);
    else if (rc == SI_ENOTFOUND)
        reply_plain(req, 404, NULL, PAGE_INVALID);
    rc = (rc == SI_ESTATE || rc == SI_EEXIST || rc == SI_ENOTFOUND) ? SI_OK : rc;
out:
    if (rc) {
        log_error("request %s: invitee form: %s", req->request_id, si_err_name(rc));
        reply_failure(req, rc, NULL);
    }
    secure_wipe(&ref, sizeof ref);
    invite_cleanup(&inv);
    invite_cleanup(&a.invite);
}

void api_invitee_page_accept(struct request *req)
{
    page_post(req, INVITEE_ACCEPT);
}

void api_invitee_page_decline(struct request *req)
{
    page_post(req, INVITEE_DECLINE);
}
