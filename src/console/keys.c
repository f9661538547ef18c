/* The console's API keys page (GET/POST /console/keys, POST /console/keys/revoke): the
 * account's keys with their permissions, creating one (shown once, only its hash stored, as
 * `siteinvites key create` does) and revoking one, audited with the owner as actor. */
#include "console/console_int.h"

#include "api/invitee_flow.h"
#include "auth/auth.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/template.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_MAX      1000 /* keys listed */
#define PERM_NAMES    128
#define PERM_NAME_MAX 64

static const char *const perm_names[] = {
#define PERM_NAME(e, name) name,
    PERMISSIONS(PERM_NAME)
#undef PERM_NAME
};

static void keys_path(const struct request *req, char out[CONSOLE_PATH_MAX])
{
    snprintf(out, CONSOLE_PATH_MAX, "%s/console/keys", page_base_path(req->app->base_url));
}

/* The owner as the audit log's actor. */
static void owner_actor(const struct request *req, const struct console_ctx *cx,
                        struct audit_actor *a)
{
    memset(a, 0, sizeof *a);
    a->type = AUDIT_ACTOR_OWNER;
    memcpy(a->id, cx->account.id, sizeof a->id);
    snprintf(a->name, sizeof a->name, "%s", cx->account.name);
    memcpy(a->request_id, req->request_id, sizeof a->request_id);
}

/* "2026-12-04 19:55 UTC": to the minute, since it is written at most once a minute; the same
 * in every language. */
static void last_used_text(si_ms at, char out[SI_TIME_TEXT_LEN + 8])
{
    char iso[SI_TIME_TEXT_LEN];
    time_format(at, iso); /* 2026-12-04T19:55:12.000Z */
    snprintf(out, SI_TIME_TEXT_LEN + 8, "%.10s %.5s UTC", iso, iso + 11);
}

static enum si_err key_row(const struct request *req, const struct console_ctx *cx,
                           const struct api_key_row *k, struct buf *rows)
{
    char perms[PERM_NAMES], created[SI_TIME_TEXT_LEN], status[128], action[CONSOLE_PATH_MAX + 8];
    char never[64], used[SI_TIME_TEXT_LEN + 8];
    struct console_values none = {.v = {NULL}}, v = {.v = {NULL}};
    struct buf form;
    buf_init(&form, 0);
    /* "a, b": the list wraps between names on a phone */
    char list[PERM_NAMES];
    perm_format_list(k->permissions, list, sizeof list);
    size_t o = 0;
    for (const char *p = list; *p && o + 3 < sizeof perms; p++) {
        perms[o++] = *p;
        if (*p == ',')
            perms[o++] = ' ';
    }
    perms[o] = '\0';
    time_format(k->created, created);
    created[10] = '\0'; /* the day is enough here */
    console_fragment_text(cx->lang, k->revoked ? CP_KEY_REVOKED : CP_KEY_ACTIVE, &none, status,
                          sizeof status);
    /* Keys made before schema version 14 have neither; a key never used has no time. */
    console_fragment_text(cx->lang, CP_KEY_NEVER, &none, never, sizeof never);
    if (k->last_used)
        last_used_text(k->last_used, used);
    keys_path(req, action);
    strncat(action, "/revoke", sizeof action - strlen(action) - 1);
    enum si_err rc = SI_OK;
    if (!k->revoked) {
        struct console_values f = {.v = {NULL}};
        f.v[CV_ACTION] = action;
        f.v[CV_CSRF] = cx->csrf;
        f.v[CV_ID] = k->id;
        f.v[CV_VALUE] = k->name;
        rc = console_fragment(cx->lang, CP_KEY_REVOKE, &f, &form);
    }
    v.v[CV_VALUE] = k->name;
    v.v[CV_ID] = k->id;
    v.v[CV_ROLES] = perms;
    v.v[CV_CREATED] = created;
    v.v[CV_PREFIX] = k->prefix[0] ? k->prefix : never;
    v.v[CV_LAST_USED] = k->last_used ? used : never;
    v.v[CV_STATUS] = status;
    v.v[CV_EXTRA] = form.data;
    if (!rc)
        rc = console_fragment(cx->lang, CP_KEY_ROW, &v, rows);
    buf_cleanup(&form);
    return rc;
}

/* One checkbox per permission, all checked: a new key may do everything unless narrowed. */
static enum si_err perm_boxes(struct buf *out)
{
    enum si_err rc = SI_OK;
    for (size_t i = 0; !rc && i < sizeof perm_names / sizeof perm_names[0]; i++)
        rc = buf_printf(out,
                        "<label class=\"check\"><input type=\"checkbox\" name=\"permission\" "
                        "value=\"%s\" checked> <code>%s</code></label>\n",
                        perm_names[i], perm_names[i]);
    return rc;
}

/* The keys page, with a notice (CP_COUNT: none) and the given status. */
static void keys_reply(struct request *req, const struct console_ctx *cx, unsigned status,
                       enum console_page notice)
{
    struct api_key_row *keys = NULL;
    size_t n = 0;
    char path[CONSOLE_PATH_MAX];
    struct buf rows, boxes, extra;
    buf_init(&rows, 0);
    buf_init(&boxes, 0);
    buf_init(&extra, 0);
    struct console_values none = {.v = {NULL}};
    enum si_err rc = store_account_keys(req->app->store, cx->account.id, KEYS_MAX, &keys, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = key_row(req, cx, &keys[i], &rows);
    if (!rc)
        rc = perm_boxes(&boxes);
    if (!rc && notice != CP_COUNT)
        rc = console_fragment(cx->lang, notice, &none, &extra);
    if (rc) {
        console_fail(req, cx->lang, "keys", rc);
    } else {
        struct console_values v = {.v = {NULL}};
        keys_path(req, path);
        v.v[CV_NAV] = cx->nav;
        v.v[CV_ACTION] = path;
        v.v[CV_CSRF] = cx->csrf;
        v.v[CV_ROWS] = rows.data;
        v.v[CV_OPTIONS] = boxes.data;
        v.v[CV_EXTRA] = extra.data;
        console_reply(req, status, cx->lang, CP_KEYS, &v);
    }
    free(keys);
    buf_cleanup(&rows);
    buf_cleanup(&boxes);
    buf_cleanup(&extra);
}

void console_keys_page(struct request *req)
{
    struct console_ctx cx;
    if (!console_session_load(req, &cx))
        return;
    const char *done = request_arg(req, "done");
    keys_reply(req, &cx, 200,
               done && strcmp(done, "revoked") == 0 ? CP_NOTICE_KEY_REVOKED : CP_COUNT);
    console_ctx_cleanup(&cx);
}

/* The permissions checked on the form; 0 when none or an unknown name. */
static unsigned form_perms(const struct request *req)
{
    char name[PERM_NAME_MAX];
    unsigned perms = 0, one;
    for (size_t pos = 0; console_form_next(req, "permission", &pos, name, sizeof name);) {
        if (!perm_parse_list(name, &one))
            return 0;
        perms |= one;
    }
    return perms;
}

void console_key_create(struct request *req)
{
    struct console_ctx cx;
    char name[SI_NAME_MAX], key[API_KEY_TEXT_LEN + 1];
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx))
        goto out;
    unsigned perms = form_perms(req);
    if (!console_form_field(req, "name", name, sizeof name) || !*name || !perms) {
        keys_reply(req, &cx, 400, CP_NOTICE_KEY_INVALID);
        goto out;
    }
    struct audit_actor actor;
    struct api_key_row row;
    uint8_t hash[SECURE_HASH_LEN];
    owner_actor(req, &cx, &actor);
    memset(&row, 0, sizeof row);
    id_new(req->app->rng, row.id);
    memcpy(row.account_id, cx.account.id, SI_ID_LEN);
    memcpy(row.name, name, sizeof row.name);
    row.permissions = perms;
    row.created = clock_now(req->app->clock);
    row.actor = &actor;
    auth_key_issue(req->app->rng, &row, key, hash);
    enum si_err rc = store_key_create(req->app->store, &row, hash);
    secure_wipe(hash, sizeof hash);
    if (rc) {
        console_fail(req, cx.lang, "key create", rc);
    } else {
        char path[CONSOLE_PATH_MAX];
        keys_path(req, path);
        log_info("request %s: console: account %s created API key %s", req->request_id,
                 cx.account.id, row.id);
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        v.v[CV_HREF] = path;
        v.v[CV_ID] = row.id;
        v.v[CV_VALUE] = key;
        console_reply(req, 200, cx.lang, CP_KEY_CREATED, &v);
    }
    secure_wipe(key, sizeof key);
out:
    console_ctx_cleanup(&cx);
}

/* Whether id names a key of the account (a key of another account is not found). */
static enum si_err own_key(struct request *req, const struct console_ctx *cx, const char *id,
                           bool *mine)
{
    struct api_key_row *keys = NULL;
    size_t n = 0;
    *mine = false;
    enum si_err rc = store_account_keys(req->app->store, cx->account.id, KEYS_MAX, &keys, &n);
    for (size_t i = 0; !rc && i < n && !*mine; i++)
        *mine = strcmp(keys[i].id, id) == 0;
    free(keys);
    return rc;
}

void console_key_revoke(struct request *req)
{
    struct console_ctx cx;
    char text[SI_ID_LEN + 8], id[SI_ID_LEN];
    bool mine = false;
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx))
        goto out;
    enum si_err rc = SI_OK;
    if (console_form_field(req, "key", text, sizeof text) && id_normalize(text, id))
        rc = own_key(req, &cx, id, &mine);
    if (!rc && mine) {
        struct audit_actor actor;
        owner_actor(req, &cx, &actor);
        rc = store_key_revoke_as(req->app->store, id, clock_now(req->app->clock), &actor);
    }
    if (rc) {
        console_fail(req, cx.lang, "key revoke", rc);
    } else if (!mine) {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        console_reply(req, 404, cx.lang, CP_NOT_FOUND, &v);
    } else {
        log_info("request %s: console: account %s revoked API key %s", req->request_id,
                 cx.account.id, id);
        console_redirect(req, "/console/keys?done=revoked");
    }
out:
    console_ctx_cleanup(&cx);
}
