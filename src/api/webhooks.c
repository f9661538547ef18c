/* The webhook endpoints of a site: POST|GET /invites/webhooks, GET|PATCH|DELETE
 * /invites/webhooks/{id}, POST .../{id}/test and GET .../{id}/deliveries (docs/WEBHOOKS.md).
 * Another site's endpoint is 404, like an unknown one. */
#include "api/api.h"

#include "api/audit.h"
#include "api/validate.h"
#include "api/webhook_input.h"
#include "common/ids.h"
#include "common/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEALED_LEN           (WEBHOOK_KEY_LEN + SEAL_OVERHEAD)
#define DELIVERIES_LIMIT_MAX 100
#define DELIVERIES_LIMIT_DEF 50

/* A new signing key: its text into text, sealed with the server secret into w->secret. */
static void new_secret(const struct app *app, struct webhook_row *w,
                       char text[WEBHOOK_SECRET_TEXT_MAX])
{
    uint8_t key[WEBHOOK_KEY_LEN], sealed[SEALED_LEN];
    webhook_secret_new(app->rng, key, text);
    seal_close(sealed, key, sizeof key, app->secret);
    b64_encode(w->secret, sealed, sizeof sealed);
    secure_wipe(key, sizeof key);
}

/* Answers {"webhook": ...} with the secret text when one was made. */
static void reply_hook(struct request *req, const struct webhook_row *w, const char *secret)
{
    json_t *body = json_object();
    json_object_set_new(body, "webhook", webhook_json(w, secret));
    request_reply_json(req, 200, body);
}

/* Loads the endpoint named by the path for the request's site; answers 404 and returns false
 * when there is none. */
static bool load(struct request *req, struct webhook_row *w)
{
    char id[SI_ID_LEN];
    enum si_err rc = id_normalize(req->param, id)
                         ? store_webhook_get(req->app->store, req->site.id, id, w)
                         : SI_ENOTFOUND;
    if (rc == SI_ENOTFOUND)
        request_fail(req, P_NOT_FOUND, "No such webhook in this site.");
    else if (rc)
        request_fail_err(req, rc);
    return rc == SI_OK;
}

enum si_err webhook_create_for_site(const struct app *app, const char *site_id,
                                    struct webhook_row *w, char secret[WEBHOOK_SECRET_TEXT_MAX],
                                    const struct audit_actor *actor)
{
    struct webhook_row *rows = NULL;
    size_t n = 0;
    enum si_err rc = store_webhook_list(app->store, site_id, &rows, &n);
    free(rows);
    if (rc)
        return rc;
    if (n >= WEBHOOK_PER_SITE_MAX)
        return SI_ELIMIT;
    id_new(app->rng, w->id);
    snprintf(w->site_id, sizeof w->site_id, "%s", site_id);
    w->enabled = true;
    w->created = w->updated = clock_now(app->clock);
    new_secret(app, w, secret);
    return store_webhook_create(app->store, w, actor);
}

enum si_err webhook_send_test(const struct app *app, const struct webhook_row *w,
                              const struct audit_actor *actor)
{
    char data[128];
    snprintf(data, sizeof data, "{\"webhookId\":\"%s\",\"siteId\":\"%s\"}", w->id, w->site_id);
    return store_webhook_test(app->store, w, data, clock_now(app->clock), actor);
}

void api_webhook_create(struct request *req)
{
    struct violations vs = {.n = 0};
    struct webhook_row w;
    memset(&w, 0, sizeof w);
    const json_t *body = validate_body_object(req->json, &vs);
    if (!body && !vs.n)
        violations_add(&vs, "url", RULE_REQUIRED_FIELD, "url is required.");
    if (vs.n || !webhook_input_read(body, true, req->app->webhooks_allow_http, &w, &vs)) {
        request_fail_validation(req, &vs);
        return;
    }
    char secret[WEBHOOK_SECRET_TEXT_MAX];
    struct audit_actor actor;
    enum si_err rc =
        webhook_create_for_site(req->app, req->site.id, &w, secret, api_audit_actor(req, &actor));
    if (rc == SI_ELIMIT) {
        violations_add_bound(&vs, "url", RULE_MAX_SIZE, WEBHOOK_PER_SITE_MAX,
                             "A site has at most %d webhooks.", WEBHOOK_PER_SITE_MAX);
        request_fail_validation(req, &vs);
    } else if (rc) {
        request_fail_err(req, rc);
    } else {
        reply_hook(req, &w, secret);
    }
    secure_wipe(secret, sizeof secret);
}

void api_webhooks_list(struct request *req)
{
    struct webhook_row *rows = NULL;
    size_t n = 0;
    enum si_err rc = store_webhook_list(req->app->store, req->site.id, &rows, &n);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    json_t *list = json_array(), *body = json_object();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, webhook_json(&rows[i], NULL));
    free(rows);
    json_object_set_new(body, "webhooks", list);
    request_reply_json(req, 200, body);
}

void api_webhook_get(struct request *req)
{
    struct webhook_row w;
    if (load(req, &w))
        reply_hook(req, &w, NULL);
}

/* PATCH's own members: enabled (true re-enables a disabled endpoint and forgets why) and
 * rotateSecret (a new key; the old one keeps signing for WEBHOOK_ROTATE_GRACE_MS). */
static bool read_switches(const json_t *body, struct webhook_row *w, bool *rotate,
                          struct violations *vs)
{
    bool enabled = w->enabled;
    const json_t *e = json_object_get(body, "enabled"), *r = json_object_get(body, "rotateSecret");
    if (e && !validate_bool(e, "enabled", &enabled, vs))
        return false;
    if (r && !validate_bool(r, "rotateSecret", rotate, vs))
        return false;
    if (enabled && !w->enabled) {
        w->disabled_reason[0] = '\0';
        w->failing_since = 0;
    }
    w->enabled = enabled;
    return true;
}

void api_webhook_update(struct request *req)
{
    struct violations vs = {.n = 0};
    struct webhook_row w, before;
    struct audit_actor actor;
    bool rotate = false;
    if (!load(req, &w))
        return;
    before = w;
    const json_t *body = validate_body_object(req->json, &vs);
    if (body && !vs.n && read_switches(body, &w, &rotate, &vs))
        (void)webhook_input_read(body, false, req->app->webhooks_allow_http, &w, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    char secret[WEBHOOK_SECRET_TEXT_MAX];
    w.updated = clock_now(req->app->clock);
    if (rotate) {
        memcpy(w.old_secret, w.secret, sizeof w.old_secret);
        w.old_secret_until = w.updated + WEBHOOK_ROTATE_GRACE_MS;
        new_secret(req->app, &w, secret);
    }
    enum si_err rc =
        store_webhook_update(req->app->store, &before, &w, api_audit_actor(req, &actor));
    if (rc == SI_ENOTFOUND)
        request_fail(req, P_NOT_FOUND, "No such webhook in this site.");
    else if (rc)
        request_fail_err(req, rc);
    else
        reply_hook(req, &w, rotate ? secret : NULL);
    secure_wipe(secret, sizeof secret);
}

void api_webhook_delete(struct request *req)
{
    struct webhook_row w;
    struct audit_actor actor;
    if (!load(req, &w))
        return;
    enum si_err rc = store_webhook_delete(req->app->store, &w, clock_now(req->app->clock),
                                          api_audit_actor(req, &actor));
    if (rc == SI_ENOTFOUND)
        request_fail(req, P_NOT_FOUND, "No such webhook in this site.");
    else if (rc)
        request_fail_err(req, rc);
    else
        request_reply_json(req, 200, json_object());
}

void api_webhook_test(struct request *req)
{
    struct webhook_row w;
    struct audit_actor actor;
    if (!load(req, &w))
        return;
    enum si_err rc = webhook_send_test(req->app, &w, api_audit_actor(req, &actor));
    if (rc)
        request_fail_err(req, rc);
    else
        request_reply_json(req, 200, json_object());
}

/* The cursor and limit of a deliveries page: cursor is the last ID of the previous page. */
static bool page_args(struct request *req, int64_t *before, int *limit)
{
    const char *c = request_arg(req, "cursor"), *l = request_arg(req, "limit");
    char *end = NULL;
    *before = 0;
    *limit = DELIVERIES_LIMIT_DEF;
    if (c && *c) {
        *before = strtoll(c, &end, 10);
        if (*end || *before <= 0) {
            request_fail_field(req, "cursor", RULE_FORMAT, "Not a cursor of this list.");
            return false;
        }
    }
    if (l && *l) {
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > DELIVERIES_LIMIT_MAX) {
            request_fail_field(req, "limit", RULE_MAX, "limit is 1 to 100.");
            return false;
        }
        *limit = (int)v;
    }
    return true;
}

static json_t *delivery_json(const struct webhook_delivery_row *d)
{
    char created[SI_TIME_TEXT_LEN], updated[SI_TIME_TEXT_LEN], msg[WEBHOOK_MSG_ID_MAX];
    time_format(d->created, created);
    time_format(d->updated, updated);
    snprintf(msg, sizeof msg, "msg_%lld", (long long)d->event_id);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_sprintf("%lld", (long long)d->id));
    json_object_set_new(o, "messageId", json_string(msg));
    json_object_set_new(o, "event", json_string(webhook_event_name(d->type)));
    json_object_set_new(o, "status", json_string(d->status));
    json_object_set_new(o, "attempts", json_integer(d->attempts));
    if (d->last_status)
        json_object_set_new(o, "statusCode", json_integer(d->last_status));
    if (d->last_error[0])
        json_object_set_new(o, "error", json_string(d->last_error));
    json_object_set_new(o, "dateCreated", json_string(created));
    json_object_set_new(o, "dateUpdated", json_string(updated));
    return o;
}

void api_webhook_deliveries(struct request *req)
{
    struct webhook_row w;
    int64_t before;
    int limit;
    if (!load(req, &w) || !page_args(req, &before, &limit))
        return;
    struct webhook_delivery_row *rows = NULL;
    size_t n = 0;
    bool has_next = false;
    enum si_err rc =
        store_webhook_deliveries(req->app->store, w.id, before, limit, &rows, &n, &has_next);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    json_t *list = json_array(), *body = json_object(), *paging = json_object();
    json_t *cursors = json_object();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, delivery_json(&rows[i]));
    if (has_next && n > 0)
        json_object_set_new(cursors, "next", json_sprintf("%lld", (long long)rows[n - 1].id));
    free(rows);
    json_object_set_new(paging, "count", json_integer((json_int_t)n));
    json_object_set_new(paging, "cursors", cursors);
    json_object_set_new(paging, "hasNext", json_boolean(has_next));
    json_object_set_new(body, "deliveries", list);
    json_object_set_new(body, "pagingMetadata", paging);
    request_reply_json(req, 200, body);
}
