/* The console's contributors of a site (GET /console/sites/{id}/contributors): who holds a seat
 * and with which roles, a page to change one's roles and a form to remove one. Both changes are
 * the API's (store_contributor_set_roles, store_contributor_remove, the role rules of
 * api/validate.c), audited with the owner as actor and with the API's webhook payload. */
#include "console/console_int.h"

#include "api/invitee_flow.h"
#include "api/role_view.h"
#include "api/validate.h"
#include "common/ids.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTRIBUTORS_MAX 10000 /* as Query Site Contributors */
#define ROLES_TEXT_MAX   (SI_POLICIES_MAX * SI_NAME_MAX)

static void paths(const struct request *req, char list[CONSOLE_PATH_MAX],
                  char one[CONSOLE_PATH_MAX])
{
    const char *bp = page_base_path(req->app->base_url);
    snprintf(list, CONSOLE_PATH_MAX, "%s/console/sites/%s/contributors", bp, req->site.id);
    snprintf(one, CONSOLE_PATH_MAX, "%s/console/sites/%s/contributor", bp, req->site.id);
}

/* (console_int.h) */
void console_owner_actor(const struct request *req, const struct console_ctx *cx,
                         struct audit_actor *a)
{
    memset(a, 0, sizeof *a);
    a->type = AUDIT_ACTOR_OWNER;
    memcpy(a->id, cx->account.id, sizeof a->id);
    snprintf(a->name, sizeof a->name, "%s", cx->account.name);
    memcpy(a->request_id, req->request_id, sizeof a->request_id);
}

static enum si_err contributor_row(const struct request *req, const struct console_ctx *cx,
                                   const struct contributor_row *c, const struct role *roles,
                                   size_t nroles, struct buf *rows)
{
    char list[CONSOLE_PATH_MAX], one[CONSOLE_PATH_MAX], edit[CONSOLE_PATH_MAX + SI_ID_LEN + 16];
    char remove[CONSOLE_PATH_MAX + 8], titles[ROLES_TEXT_MAX], joined[SI_TIME_TEXT_LEN];
    struct console_values f = {.v = {NULL}}, v = {.v = {NULL}};
    struct buf form;
    buf_init(&form, 0);
    paths(req, list, one);
    snprintf(edit, sizeof edit, "%s?account=%s", one, c->account_id);
    snprintf(remove, sizeof remove, "%s/remove", one);
    role_view_titles(&c->policies, roles, nroles, cx->lang, titles, sizeof titles);
    time_format(c->joined, joined);
    joined[10] = '\0'; /* the day */
    f.v[CV_ACTION] = remove;
    f.v[CV_CSRF] = cx->csrf;
    f.v[CV_ID] = c->account_id;
    f.v[CV_EMAIL] = c->email;
    enum si_err rc = console_fragment(cx->lang, CP_CONTRIBUTOR_REMOVE, &f, &form);
    v.v[CV_EMAIL] = c->email;
    v.v[CV_ROLES] = titles;
    v.v[CV_CREATED] = joined;
    v.v[CV_HREF] = edit;
    v.v[CV_EXTRA] = form.data;
    if (!rc)
        rc = console_fragment(cx->lang, CP_CONTRIBUTOR_ROW, &v, rows);
    buf_cleanup(&form);
    return rc;
}

void console_contributors_page(struct request *req)
{
    struct console_ctx cx;
    struct contributor_row *list = NULL;
    struct role *roles = NULL;
    size_t n = 0, nroles = 0;
    struct buf rows, extra;
    buf_init(&rows, 0);
    buf_init(&extra, 0);
    if (!console_session_load(req, &cx))
        return;
    if (!console_site_load(req, &cx))
        goto out;
    enum si_err rc =
        store_contributors_list(req->app->store, req->site.id, CONTRIBUTORS_MAX, &list, &n);
    if (!rc)
        rc = store_roles_list(req->app->store, cx.account.id, &roles, &nroles);
    for (size_t i = 0; !rc && i < n; i++)
        rc = contributor_row(req, &cx, &list[i], roles, nroles, &rows);
    const char *done = request_arg(req, "done");
    struct console_values none = {.v = {NULL}};
    if (!rc && done && strcmp(done, "changed") == 0)
        rc = console_fragment(cx.lang, CP_NOTICE_ROLES_CHANGED, &none, &extra);
    if (!rc && done && strcmp(done, "removed") == 0)
        rc = console_fragment(cx.lang, CP_NOTICE_CONTRIBUTOR_REMOVED, &none, &extra);
    if (rc) {
        console_fail(req, cx.lang, "contributors", rc);
    } else {
        char site[CONSOLE_PATH_MAX];
        snprintf(site, sizeof site, "%s/console/sites/%s", page_base_path(req->app->base_url),
                 req->site.id);
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_SITE_URL] = site;
        v.v[CV_ROWS] = rows.data;
        v.v[CV_EXTRA] = extra.data;
        console_reply(req, 200, cx.lang, CP_CONTRIBUTORS, &v);
    }
out:
    free(list);
    free(roles);
    buf_cleanup(&rows);
    buf_cleanup(&extra);
    console_ctx_cleanup(&cx);
}

/* The contributor named by account (text) in the site, or false after a 404 page. */
static bool find_contributor(struct request *req, const struct console_ctx *cx, const char *account,
                             struct contributor_row *out)
{
    struct contributor_row *list = NULL;
    size_t n = 0;
    char id[SI_ID_LEN];
    bool found = false;
    enum si_err rc = SI_OK;
    if (account && id_normalize(account, id))
        rc = store_contributors_list(req->app->store, req->site.id, CONTRIBUTORS_MAX, &list, &n);
    for (size_t i = 0; !rc && i < n && !found; i++)
        if (strcmp(list[i].account_id, id) == 0) {
            *out = list[i];
            found = true;
        }
    free(list);
    if (rc) {
        console_fail(req, cx->lang, "contributor", rc);
    } else if (!found) {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx->nav;
        console_reply(req, 404, cx->lang, CP_NOT_FOUND, &v);
    }
    return !rc && found;
}

/* The role page of one contributor, with a notice (CP_COUNT: none). */
static void edit_reply(struct request *req, const struct console_ctx *cx,
                       const struct contributor_row *c, unsigned status, enum console_page notice)
{
    struct role *roles = NULL;
    size_t nroles = 0;
    char list[CONSOLE_PATH_MAX], one[CONSOLE_PATH_MAX];
    struct buf boxes, extra;
    buf_init(&boxes, 0);
    buf_init(&extra, 0);
    paths(req, list, one);
    struct console_values none = {.v = {NULL}};
    enum si_err rc = store_roles_list(req->app->store, cx->account.id, &roles, &nroles);
    if (!rc)
        rc = console_role_boxes(roles, nroles, cx->lang, &c->policies, &boxes);
    if (!rc && notice != CP_COUNT)
        rc = console_fragment(cx->lang, notice, &none, &extra);
    if (rc) {
        console_fail(req, cx->lang, "contributor", rc);
    } else {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx->nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_EMAIL] = c->email;
        v.v[CV_ACTION] = one;
        v.v[CV_HREF] = list;
        v.v[CV_CSRF] = cx->csrf;
        v.v[CV_ID] = c->account_id;
        v.v[CV_OPTIONS] = boxes.data;
        v.v[CV_EXTRA] = extra.data;
        console_reply(req, status, cx->lang, CP_CONTRIBUTOR_EDIT, &v);
    }
    free(roles);
    buf_cleanup(&boxes);
    buf_cleanup(&extra);
}

void console_contributor_page(struct request *req)
{
    struct console_ctx cx;
    struct contributor_row c;
    if (!console_session_load(req, &cx))
        return;
    if (console_site_load(req, &cx) && find_contributor(req, &cx, request_arg(req, "account"), &c))
        edit_reply(req, &cx, &c, 200, CP_COUNT);
    console_ctx_cleanup(&cx);
}

/* (console_int.h) */
bool console_form_roles(struct request *req, const struct role *roles, size_t nroles,
                        struct policy_list *out)
{
    char id[SI_POLICY_ID_MAX + 8];
    struct violations vs = {.n = 0};
    json_t *ids = json_array();
    for (size_t pos = 0; console_form_next(req, "role", &pos, id, sizeof id);)
        json_array_append_new(ids, json_string(id));
    bool ok = json_array_size(ids) > 0 &&
              validate_policy_ids(ids, "newRoles", true, roles, nroles, out, &vs) && vs.n == 0;
    json_decref(ids);
    return ok;
}

void console_contributor_roles(struct request *req)
{
    struct console_ctx cx;
    struct contributor_row c, row;
    struct role *roles = NULL;
    size_t nroles = 0;
    char account[SI_ID_LEN + 8];
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx))
        goto out;
    if (!console_form_field(req, "account", account, sizeof account) ||
        !find_contributor(req, &cx, account, &c))
        goto out;
    enum si_err rc = store_roles_list(req->app->store, cx.account.id, &roles, &nroles);
    struct policy_list policies = {.n = 0};
    if (!rc && !console_form_roles(req, roles, nroles, &policies)) {
        edit_reply(req, &cx, &c, 400, CP_NOTICE_ROLES_INVALID);
        goto out;
    }
    if (!rc) {
        struct audit_actor actor;
        struct contributor_view_ctx vctx = {req, roles, nroles};
        const struct contributor_view view = {contributor_view_render, &vctx};
        console_owner_actor(req, &cx, &actor);
        rc = store_contributor_set_roles(req->app->store, req->site.id, c.account_id, &policies,
                                         clock_now(req->app->clock), &actor, &view, &row);
    }
    if (rc == SI_ENOTFOUND) /* removed meanwhile */
        rc = SI_OK;
    if (rc) {
        console_fail(req, cx.lang, "contributor roles", rc);
    } else {
        char to[CONSOLE_PATH_MAX];
        snprintf(to, sizeof to, "/console/sites/%s/contributors?done=changed", req->site.id);
        console_redirect(req, to);
    }
out:
    free(roles);
    console_ctx_cleanup(&cx);
}

void console_contributor_remove(struct request *req)
{
    struct console_ctx cx;
    struct contributor_row c;
    struct role *roles = NULL;
    size_t nroles = 0;
    char account[SI_ID_LEN + 8];
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx))
        goto out;
    if (!console_form_field(req, "account", account, sizeof account) ||
        !find_contributor(req, &cx, account, &c))
        goto out;
    enum si_err rc = store_roles_list(req->app->store, cx.account.id, &roles, &nroles);
    if (!rc) {
        struct audit_actor actor;
        struct contributor_view_ctx vctx = {req, roles, nroles};
        const struct contributor_view view = {contributor_view_render, &vctx};
        console_owner_actor(req, &cx, &actor);
        rc = store_contributor_remove(req->app->store, req->site.id, c.account_id,
                                      clock_now(req->app->clock), &actor, &view);
    }
    if (rc == SI_ENOTFOUND) /* removed meanwhile: the wanted state holds */
        rc = SI_OK;
    if (rc) {
        console_fail(req, cx.lang, "contributor remove", rc);
    } else {
        char to[CONSOLE_PATH_MAX];
        snprintf(to, sizeof to, "/console/sites/%s/contributors?done=removed", req->site.id);
        console_redirect(req, to);
    }
out:
    free(roles);
    console_ctx_cleanup(&cx);
}
