/* The console's webhooks page of a site (GET/POST /console/sites/{siteId}/webhooks and its
 * enable, delete, test and deliveries): the endpoints with their events and state, adding one
 * (the secret shown once), and the API's own calls and rules for each (api/webhook_input.h:
 * the URL check, the events, the per-site limit; store/webhooks.h). */
#include "console/console_int.h"

#include "api/invitee_flow.h"
#include "api/webhook_input.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_TEXT_MAX 512
#define DELIVERIES_PAGE 50
#define NOTICE_MAX      (VIOLATION_TEXT_MAX + 256)

static const char *const event_names[] = {
#define EVENT_NAME(e, name) name,
    WEBHOOK_EVENTS(EVENT_NAME)
#undef EVENT_NAME
};

/* The page's path, with tail ("", "/enable", ...). */
static void hooks_path(const struct request *req, const char *tail, char out[CONSOLE_PATH_MAX])
{
    snprintf(out, CONSOLE_PATH_MAX, "%s/console/sites/%s/webhooks%s",
             page_base_path(req->app->base_url), req->site.id, tail);
}

/* "invite.created, invite.accepted": the names of a subscription mask. */
static void events_text(unsigned mask, char out[EVENTS_TEXT_MAX])
{
    size_t o = 0;
    out[0] = '\0';
    for (int e = 0; e < WH_EVENT_COUNT; e++)
        if (mask & WEBHOOK_EVENT_BIT(e))
            o += (size_t)snprintf(out + o, o < EVENTS_TEXT_MAX ? EVENTS_TEXT_MAX - o : 0, "%s%s",
                                  o ? ", " : "", event_names[e]);
}

/* One form of a row (enable/disable, test, delete): fragment id posting to tail. */
static enum si_err row_form(const struct request *req, const struct console_ctx *cx,
                            enum console_page id, const char *tail, const struct webhook_row *w,
                            struct buf *out)
{
    char action[CONSOLE_PATH_MAX];
    hooks_path(req, tail, action);
    struct console_values f = {.v = {NULL}};
    f.v[CV_ACTION] = action;
    f.v[CV_CSRF] = cx->csrf;
    f.v[CV_ID] = w->id;
    f.v[CV_VALUE] = w->url;
    return console_fragment(cx->lang, id, &f, out);
}

static enum si_err hook_row(const struct request *req, const struct console_ctx *cx,
                            const struct webhook_row *w, struct buf *rows)
{
    char events[EVENTS_TEXT_MAX], state[SI_ERROR_TEXT_MAX + 128], deliveries[CONSOLE_PATH_MAX];
    struct console_values none = {.v = {NULL}}, v = {.v = {NULL}};
    events_text(w->events, events);
    console_fragment_text(cx->lang, w->enabled ? CP_WEBHOOK_ENABLED : CP_WEBHOOK_DISABLED, &none,
                          state, sizeof state);
    if (!w->enabled && w->disabled_reason[0]) /* why the worker turned it off */
        strncat(state, ": ", sizeof state - strlen(state) - 1);
    if (!w->enabled && w->disabled_reason[0])
        strncat(state, w->disabled_reason, sizeof state - strlen(state) - 1);
    hooks_path(req, "/deliveries?webhook=", deliveries);
    strncat(deliveries, w->id, sizeof deliveries - strlen(deliveries) - 1);
    struct buf forms;
    buf_init(&forms, 0);
    enum si_err rc = row_form(req, cx, w->enabled ? CP_WEBHOOK_DISABLE : CP_WEBHOOK_ENABLE,
                              "/enable", w, &forms);
    if (!rc)
        rc = row_form(req, cx, CP_WEBHOOK_TEST, "/test", w, &forms);
    if (!rc)
        rc = row_form(req, cx, CP_WEBHOOK_DELETE, "/delete", w, &forms);
    v.v[CV_VALUE] = w->url;
    v.v[CV_ROLES] = events;
    v.v[CV_STATUS] = state;
    v.v[CV_HREF] = deliveries;
    v.v[CV_EXTRA] = forms.data;
    if (!rc)
        rc = console_fragment(cx->lang, CP_WEBHOOK_ROW, &v, rows);
    buf_cleanup(&forms);
    return rc;
}

/* The event checkboxes of the add form, those in checked ticked. */
static enum si_err event_boxes(unsigned checked, struct buf *out)
{
    enum si_err rc = SI_OK;
    for (int e = 0; e < WH_EVENT_COUNT && !rc; e++)
        if (WEBHOOK_SUBSCRIBABLE & WEBHOOK_EVENT_BIT(e))
            rc = buf_printf(out,
                            "<label class=\"check\"><input type=\"checkbox\" name=\"event\" "
                            "value=\"%s\"%s> <code>%s</code></label>\n",
                            event_names[e], checked & WEBHOOK_EVENT_BIT(e) ? " checked" : "",
                            event_names[e]);
    return rc;
}

/* The page: the endpoints, then the add form; notice (may be "") above them. */
static void page_reply(struct request *req, const struct console_ctx *cx, unsigned status,
                       const char *notice)
{
    struct webhook_row *hooks = NULL;
    size_t n = 0;
    char site_path[CONSOLE_PATH_MAX], action[CONSOLE_PATH_MAX];
    struct buf rows, boxes;
    buf_init(&rows, 0);
    buf_init(&boxes, 0);
    snprintf(site_path, sizeof site_path, "%s/console/sites/%s", page_base_path(req->app->base_url),
             req->site.id);
    hooks_path(req, "", action);
    enum si_err rc = store_webhook_list(req->app->store, req->site.id, &hooks, &n);
    if (!rc)
        rc = buf_puts(&rows, "");
    for (size_t i = 0; i < n && !rc; i++)
        rc = hook_row(req, cx, &hooks[i], &rows);
    if (!rc)
        rc = event_boxes(WEBHOOK_SUBSCRIBABLE, &boxes);
    if (rc) {
        console_fail(req, cx->lang, "webhooks page", rc);
    } else {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx->nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_SITE_URL] = site_path;
        v.v[CV_ACTION] = action;
        v.v[CV_CSRF] = cx->csrf;
        v.v[CV_ROWS] = rows.data;
        v.v[CV_OPTIONS] = boxes.data;
        v.v[CV_EXTRA] = notice;
        console_reply(req, status, cx->lang, CP_WEBHOOKS, &v);
    }
    free(hooks);
    buf_cleanup(&rows);
    buf_cleanup(&boxes);
}

void console_webhooks_page(struct request *req)
{
    static const struct {
        const char *done;
        enum console_page notice;
    } notices[] = {{"enabled", CP_NOTICE_WEBHOOK_ENABLED},
                   {"disabled", CP_NOTICE_WEBHOOK_DISABLED},
                   {"deleted", CP_NOTICE_WEBHOOK_DELETED},
                   {"tested", CP_NOTICE_WEBHOOK_TESTED}};
    struct console_ctx cx;
    if (!console_session_load(req, &cx))
        return;
    if (console_site_load(req, &cx)) {
        char notice[NOTICE_MAX] = "";
        const char *done = request_arg(req, "done");
        struct console_values none = {.v = {NULL}};
        for (size_t i = 0; done && i < sizeof notices / sizeof notices[0]; i++)
            if (strcmp(done, notices[i].done) == 0)
                console_fragment_text(cx.lang, notices[i].notice, &none, notice, sizeof notice);
        page_reply(req, &cx, 200, notice);
    }
    console_ctx_cleanup(&cx);
}

/* The add form as the API's body: {url, events: [...], description?}. */
static json_t *form_body(const struct request *req)
{
    size_t cap = req->body.len + 1;
    char *text = xmalloc(cap);
    json_t *body = json_object(), *events = json_array();
    if (console_form_field(req, "url", text, cap))
        json_object_set_new(body, "url", json_string(text));
    for (size_t pos = 0; console_form_next(req, "event", &pos, text, cap);)
        json_array_append_new(events, json_string(text));
    json_object_set_new(body, "events", events);
    if (console_form_field(req, "description", text, cap) && *text)
        json_object_set_new(body, "description", json_string(text));
    free(text);
    return body;
}

/* The refusal of an add: the first violation's text (the API's words) in a notice. */
static void refuse_add(struct request *req, const struct console_ctx *cx, const char *why)
{
    char notice[NOTICE_MAX];
    struct console_values v = {.v = {NULL}};
    v.v[CV_VALUE] = why;
    console_fragment_text(cx->lang, CP_NOTICE_WEBHOOK_INVALID, &v, notice, sizeof notice);
    page_reply(req, cx, 400, notice);
}

void console_webhook_create(struct request *req)
{
    struct console_ctx cx;
    struct violations vs = {.n = 0};
    struct webhook_row w;
    memset(&w, 0, sizeof w);
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx))
        goto out;
    json_t *body = form_body(req);
    bool ok = webhook_input_read(body, true, req->app->webhooks_allow_http, &w, &vs);
    json_decref(body);
    if (!ok) {
        refuse_add(req, &cx, vs.n ? vs.v[0].description : "");
        goto out;
    }
    char secret[WEBHOOK_SECRET_TEXT_MAX];
    struct audit_actor actor;
    console_owner_actor(req, &cx, &actor);
    enum si_err rc = webhook_create_for_site(req->app, req->site.id, &w, secret, &actor);
    if (rc == SI_ELIMIT) {
        refuse_add(req, &cx, "A site has at most 20 webhooks.");
    } else if (rc) {
        console_fail(req, cx.lang, "add webhook", rc);
    } else {
        char back[CONSOLE_PATH_MAX];
        hooks_path(req, "", back);
        log_info("request %s: console: account %s added webhook %s to site %s", req->request_id,
                 cx.account.id, w.id, req->site.id);
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_HREF] = back;
        v.v[CV_EMAIL] = w.url;
        v.v[CV_VALUE] = secret;
        console_reply(req, 200, cx.lang, CP_WEBHOOK_CREATED, &v);
    }
    secure_wipe(secret, sizeof secret);
out:
    console_ctx_cleanup(&cx);
}

/* Loads the endpoint named by the form's "webhook" in the session's site: 404 page otherwise. */
static bool load_posted(struct request *req, const struct console_ctx *cx, struct webhook_row *w)
{
    char raw[SI_ID_LEN + 2], id[SI_ID_LEN];
    enum si_err rc = SI_ENOTFOUND;
    if (console_form_field(req, "webhook", raw, sizeof raw) && id_normalize(raw, id))
        rc = store_webhook_get(req->app->store, req->site.id, id, w);
    if (rc == SI_ENOTFOUND) {
        struct console_values v = {.v = {NULL}};
        console_reply(req, 404, cx->lang, CP_NOT_FOUND, &v);
    } else if (rc) {
        console_fail(req, cx->lang, "webhook", rc);
    }
    return rc == SI_OK;
}

/* What a row's button does to w: the API's PATCH enabled, DELETE, or POST .../test. */
enum hook_op { OP_ENABLE, OP_DELETE, OP_TEST };

static void hook_post(struct request *req, enum hook_op op)
{
    struct console_ctx cx;
    struct webhook_row w;
    struct audit_actor actor;
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx) || !load_posted(req, &cx, &w))
        goto out;
    console_owner_actor(req, &cx, &actor);
    const struct webhook_row before = w;
    const char *done = "tested";
    enum si_err rc;
    if (op == OP_ENABLE) {
        char on[8] = "";
        (void)console_form_field(req, "enabled", on, sizeof on);
        bool enable = strcmp(on, "true") == 0;
        if (enable && !w.enabled) { /* as PATCH enabled:true: forget why it was turned off */
            w.disabled_reason[0] = '\0';
            w.failing_since = 0;
        }
        w.enabled = enable;
        w.updated = clock_now(req->app->clock);
        done = enable ? "enabled" : "disabled";
        rc = store_webhook_update(req->app->store, &before, &w, &actor);
    } else if (op == OP_DELETE) {
        done = "deleted";
        rc = store_webhook_delete(req->app->store, &w, clock_now(req->app->clock), &actor);
    } else {
        rc = webhook_send_test(req->app, &w, &actor);
    }
    if (rc) {
        console_fail(req, cx.lang, "webhook change", rc);
    } else {
        char to[CONSOLE_PATH_MAX];
        snprintf(to, sizeof to, "/console/sites/%s/webhooks?done=%s", req->site.id, done);
        log_info("request %s: console: account %s: webhook %s %s", req->request_id, cx.account.id,
                 w.id, done);
        console_redirect(req, to);
    }
out:
    console_ctx_cleanup(&cx);
}

void console_webhook_enable(struct request *req)
{
    hook_post(req, OP_ENABLE);
}

void console_webhook_delete(struct request *req)
{
    hook_post(req, OP_DELETE);
}

void console_webhook_test(struct request *req)
{
    hook_post(req, OP_TEST);
}

void console_webhook_deliveries(struct request *req)
{
    struct console_ctx cx;
    struct webhook_row w;
    struct webhook_delivery_row *rows = NULL;
    size_t n = 0;
    bool has_next = false;
    if (!console_session_load(req, &cx))
        return;
    if (!console_site_load(req, &cx))
        goto out;
    char id[SI_ID_LEN], *end = NULL;
    const char *raw = request_arg(req, "webhook"), *cursor = request_arg(req, "cursor");
    long long before = cursor ? strtoll(cursor, &end, 10) : 0;
    enum si_err rc = raw && id_normalize(raw, id) && (!cursor || (*end == '\0' && before > 0))
                         ? store_webhook_get(req->app->store, req->site.id, id, &w)
                         : SI_ENOTFOUND;
    if (!rc)
        rc = store_webhook_deliveries(req->app->store, w.id, before, DELIVERIES_PAGE, &rows, &n,
                                      &has_next);
    struct buf list, extra;
    buf_init(&list, 0);
    buf_init(&extra, 0);
    if (!rc)
        rc = buf_puts(&list, "");
    for (size_t i = 0; i < n && !rc; i++) {
        char created[SI_TIME_TEXT_LEN], code[16] = "";
        struct console_values v = {.v = {NULL}};
        time_format(rows[i].created, created);
        if (rows[i].last_status)
            snprintf(code, sizeof code, "%d", rows[i].last_status);
        char tries[16];
        snprintf(tries, sizeof tries, "%d", rows[i].attempts);
        v.v[CV_CREATED] = created;
        v.v[CV_ROLES] = webhook_event_name(rows[i].type);
        v.v[CV_STATUS] = rows[i].status;
        v.v[CV_SENT] = tries;
        v.v[CV_ID] = code;
        v.v[CV_VALUE] = rows[i].last_error;
        rc = console_fragment(cx.lang, CP_DELIVERY_ROW, &v, &list);
    }
    if (!rc && has_next && n) {
        char next[CONSOLE_PATH_MAX + 64];
        hooks_path(req, "/deliveries?webhook=", next);
        size_t len = strlen(next);
        snprintf(next + len, sizeof next - len, "%s&cursor=%lld", w.id, (long long)rows[n - 1].id);
        struct console_values v = {.v = {NULL}};
        v.v[CV_HREF] = next;
        rc = console_fragment(cx.lang, CP_NEXT_PAGE, &v, &extra);
    }
    if (rc == SI_ENOTFOUND) {
        struct console_values v = {.v = {NULL}};
        console_reply(req, 404, cx.lang, CP_NOT_FOUND, &v);
    } else if (rc) {
        console_fail(req, cx.lang, "webhook deliveries", rc);
    } else {
        char back[CONSOLE_PATH_MAX];
        hooks_path(req, "", back);
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_HREF] = back;
        v.v[CV_EMAIL] = w.url;
        v.v[CV_ROWS] = list.data;
        v.v[CV_EXTRA] = extra.data;
        console_reply(req, 200, cx.lang, CP_WEBHOOK_DELIVERIES, &v);
    }
    free(rows);
    buf_cleanup(&list);
    buf_cleanup(&extra);
out:
    console_ctx_cleanup(&cx);
}
