/* Changing a pending invite's roles from the site page: a page of role checkboxes and its post,
 * which is the API's Update Invite (PATCH /site-invite/{id}) call: the same role rules
 * (validate_policy_ids), the same store change with core's lifecycle_update, so the same audit
 * entry (actor: the owner) and invite.updated webhook. */
#include "console/console_int.h"

#include "api/change_call.h"
#include "api/invitee_flow.h"
#include "common/ids.h"
#include "common/xalloc.h"
#include "core/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Back to the site page with a notice (done=...). */
static void back_to_site(struct request *req, const char *done)
{
    char to[CONSOLE_PATH_MAX];
    snprintf(to, sizeof to, "/console/sites/%s?done=%s", req->site.id, done);
    console_redirect(req, to);
}

static void not_found(struct request *req, const struct console_ctx *cx)
{
    struct console_values v = {.v = {NULL}};
    v.v[CV_NAV] = cx->nav;
    console_reply(req, 404, cx->lang, CP_NOT_FOUND, &v);
}

/* The roles page of inv (checked: its roles, or what the refused form held) with an optional
 * notice, answered with status. */
static void roles_reply(struct request *req, const struct console_ctx *cx, const struct invite *inv,
                        unsigned status, enum console_page notice)
{
    struct role *roles = NULL;
    size_t nroles = 0;
    char site[CONSOLE_PATH_MAX], action[CONSOLE_PATH_MAX + 8];
    struct buf boxes, extra;
    buf_init(&boxes, 0);
    buf_init(&extra, 0);
    snprintf(site, sizeof site, "%s/console/sites/%s", page_base_path(req->app->base_url),
             req->site.id);
    snprintf(action, sizeof action, "%s/roles", site);
    struct console_values none = {.v = {NULL}};
    enum si_err rc = store_roles_list(req->app->store, cx->account.id, &roles, &nroles);
    if (!rc)
        rc = console_role_boxes(roles, nroles, cx->lang, &inv->policies, &boxes);
    if (!rc && notice != CP_COUNT)
        rc = console_fragment(cx->lang, notice, &none, &extra);
    if (rc) {
        console_fail(req, cx->lang, "invite roles", rc);
    } else {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx->nav;
        v.v[CV_EMAIL] = inv->email;
        v.v[CV_ACTION] = action;
        v.v[CV_HREF] = site;
        v.v[CV_CSRF] = cx->csrf;
        v.v[CV_ID] = inv->id;
        v.v[CV_OPTIONS] = boxes.data;
        v.v[CV_EXTRA] = extra.data;
        console_reply(req, status, cx->lang, CP_INVITE_ROLES, &v);
    }
    free(roles);
    buf_cleanup(&boxes);
    buf_cleanup(&extra);
}

/* Loads the invite named by text in the loaded site. false: it answered (404, or 500). */
static bool invite_load(struct request *req, const struct console_ctx *cx, const char *text,
                        struct invite *inv)
{
    char id[SI_ID_LEN];
    enum si_err rc = SI_ENOTFOUND;
    if (text && id_normalize(text, id))
        rc = store_invite_get(req->app->store, req->site.id, id, inv);
    if (rc == SI_ENOTFOUND)
        not_found(req, cx);
    else if (rc)
        console_fail(req, cx->lang, "invite roles", rc);
    return rc == SI_OK;
}

void console_invite_roles_page(struct request *req)
{
    struct console_ctx cx;
    struct invite inv;
    memset(&inv, 0, sizeof inv);
    if (!console_session_load(req, &cx))
        return;
    if (console_site_load(req, &cx) && invite_load(req, &cx, request_arg(req, "invite"), &inv)) {
        if (invite_status_at(&inv, clock_now(req->app->clock)) != INVITE_PENDING)
            back_to_site(req, "refused"); /* only a Pending invite's roles change */
        else
            roles_reply(req, &cx, &inv, 200, CP_COUNT);
    }
    invite_cleanup(&inv);
    console_ctx_cleanup(&cx);
}

/* An update on its way through the store; the context points into the same allocation. */
struct roles_call {
    struct change_call base; /* first: freed through it */
    struct update_ctx ctx;
    struct policy_list policies;
};

static void roles_answer(struct request *req, struct change_call *call)
{
    if (call->rc == SI_OK)
        back_to_site(req, "roles");
    else if (call->rc == SI_ESTATE) /* no longer Pending meanwhile */
        back_to_site(req, "refused");
    else if (call->rc == SI_ENOTFOUND)
        console_reply(req, 404, console_lang(req), CP_NOT_FOUND,
                      &(struct console_values){.v = {NULL}});
    else
        console_fail(req, console_lang(req), "invite roles", call->rc);
}

void console_invite_roles(struct request *req)
{
    struct console_ctx cx;
    struct invite inv;
    struct role *roles = NULL;
    size_t nroles = 0;
    char text[SI_ID_LEN + 8];
    memset(&inv, 0, sizeof inv);
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx))
        goto out;
    if (!invite_load(req, &cx, console_form_field(req, "invite", text, sizeof text) ? text : NULL,
                     &inv))
        goto out;
    enum si_err rc = store_roles_list(req->app->store, cx.account.id, &roles, &nroles);
    struct roles_call *call = xcalloc(1, sizeof *call);
    if (!rc && !console_form_roles(req, roles, nroles, &call->policies)) {
        roles_reply(req, &cx, &inv, 400, CP_NOTICE_ROLES_INVALID);
        free(call);
        goto out;
    }
    if (rc) {
        console_fail(req, cx.lang, "invite roles", rc);
        free(call);
        goto out;
    }
    memcpy(call->base.id, inv.id, sizeof call->base.id);
    console_owner_actor(req, &cx, &call->base.actor);
    call->base.now = clock_now(req->app->clock);
    call->ctx = (struct update_ctx){.policies = &call->policies};
    /* The API's Update Invite: core decides on the stored row (Pending only), the store writes
     * it with its audit entry and invite.updated event. The request owns call now. */
    change_execute_deferred(req, &call->base, lifecycle_update, &call->ctx, false, roles_answer);
out:
    free(roles);
    invite_cleanup(&inv);
    console_ctx_cleanup(&cx);
}
