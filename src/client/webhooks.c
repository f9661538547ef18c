/* The webhook calls of the client library: a site's endpoints (docs/WEBHOOKS.md). */
#include "client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBHOOKS_PATH        "/invites/webhooks"
#define CURSOR_MAX           20 /* digits of a deliveries cursor (a 64-bit ID) */
#define PATH_MAX_LEN         (sizeof WEBHOOKS_PATH + SI_CLIENT_INVITE_ID_MAX + CURSOR_MAX + 48)
#define DELIVERIES_LIMIT_MAX 100

/* A copy of member key of o when it is a string; NULL otherwise (or out of memory: *oom). */
static char *dup_member(const json_t *o, const char *key, bool *oom)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return NULL;
    char *s = strdup(json_string_value(v));
    if (!s)
        *oom = true;
    return s;
}

static void webhook_cleanup(struct si_webhook *w)
{
    for (size_t i = 0; w->events && i < w->event_count; i++)
        free(w->events[i]);
    free(w->events);
    free(w->id);
    free(w->url);
    free(w->description);
    free(w->disabled_reason);
    if (w->secret)
        memset(w->secret, 0, strlen(w->secret)); /* a credential */
    free(w->secret);
    free(w->date_created);
    memset(w, 0, sizeof *w);
}

/* Fills w from one webhook object of an answer. */
static enum si_client_rc parse(const json_t *o, struct si_webhook *w)
{
    bool oom = false;
    const json_t *events = json_object_get(o, "events");
    memset(w, 0, sizeof *w);
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "id")) || !json_is_array(events))
        return SI_CLIENT_E_RESPONSE;
    w->id = dup_member(o, "id", &oom);
    w->url = dup_member(o, "url", &oom);
    w->description = dup_member(o, "description", &oom);
    w->disabled_reason = dup_member(o, "disabledReason", &oom);
    w->secret = dup_member(o, "secret", &oom);
    w->date_created = dup_member(o, "dateCreated", &oom);
    w->enabled = json_is_true(json_object_get(o, "enabled"));
    w->events = calloc(json_array_size(events) + 1, sizeof *w->events);
    oom |= !w->events;
    for (size_t i = 0; !oom && i < json_array_size(events); i++)
        if (json_is_string(json_array_get(events, i)) &&
            !(w->events[w->event_count++] = strdup(json_string_value(json_array_get(events, i)))))
            oom = true;
    if (oom)
        webhook_cleanup(w);
    return oom ? SI_CLIENT_E_NOMEM : SI_CLIENT_OK;
}

/* {"webhook": {...}} of answer into a new *out. */
static enum si_client_rc take_one(const struct si_client *c, const json_t *answer,
                                  struct si_webhook **out, struct si_client_error *err)
{
    struct si_webhook *w = calloc(1, sizeof *w);
    enum si_client_rc rc = w ? parse(json_object_get(answer, "webhook"), w) : SI_CLIENT_E_NOMEM;
    if (rc) {
        free(w);
        return client_bad_answer(c, rc, "the answer holds no webhook", err);
    }
    *out = w;
    return SI_CLIENT_OK;
}

/* Runs method on /invites/webhooks[/id][suffix] with body (may be NULL); *answer (may be NULL:
 * dropped) gets the answer. */
static enum si_client_rc call(struct si_client *c, const char *method, const char *id,
                              const char *suffix, json_t *body, json_t **answer,
                              struct si_client_error *err)
{
    char path[PATH_MAX_LEN];
    json_t *got = NULL;
    enum si_client_rc rc = client_check_site(c, err);
    if (!rc && id)
        rc = client_check_id(id, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s%s%s%s", WEBHOOKS_PATH, id ? "/" : "", id ? id : "", suffix);
    rc = client_call(c, method, path, body, &got, err);
    if (answer && !rc)
        *answer = got;
    else
        json_decref(got);
    return rc;
}

/* method (POST: create, PATCH: update) with the members u sets, answered by one webhook. */
static enum si_client_rc send_hook(struct si_client *c, const char *method, const char *id,
                                   const struct si_webhook_update *u, struct si_webhook **out,
                                   struct si_client_error *err)
{
    json_t *body = json_object(), *list = json_array(), *answer = NULL;
    bool ok = body && list;
    if (ok && u->url)
        ok = json_object_set_new(body, "url", json_string(u->url)) == 0;
    for (size_t i = 0; ok && u->events && i < u->event_count; i++)
        ok = u->events[i] && json_array_append_new(list, json_string(u->events[i])) == 0;
    if (ok && u->events)
        ok = json_object_set(body, "events", list) == 0;
    if (ok && u->description)
        ok = json_object_set_new(body, "description", json_string(u->description)) == 0;
    enum si_client_rc rc = ok ? call(c, method, id, "", body, &answer, err)
                              : client_fail(err, SI_CLIENT_E_ARG, "bad url, event or description");
    if (!rc)
        rc = take_one(c, answer, out, err);
    json_decref(list);
    json_decref(body);
    json_decref(answer);
    return rc;
}

enum si_client_rc si_client_create_webhook(struct si_client *c, const char *url,
                                           const char *const *events, size_t event_count,
                                           const char *description, struct si_webhook **out,
                                           struct si_client_error *err)
{
    if (out)
        *out = NULL;
    if (!out || !url || !events || event_count == 0)
        return client_fail(err, SI_CLIENT_E_ARG, "url, events and out are required");
    struct si_webhook_update u = {url, events, event_count, description};
    return send_hook(c, "POST", NULL, &u, out, err);
}

enum si_client_rc si_client_update_webhook(struct si_client *c, const char *webhook_id,
                                           const struct si_webhook_update *u,
                                           struct si_webhook **out, struct si_client_error *err)
{
    if (out)
        *out = NULL;
    if (!out || !u || (!u->url && !u->events && !u->description))
        return client_fail(err, SI_CLIENT_E_ARG, "out and one of url, events, description");
    if (u->events && u->event_count == 0)
        return client_fail(err, SI_CLIENT_E_ARG, "events needs at least one event");
    return send_hook(c, "PATCH", webhook_id, u, out, err);
}

enum si_client_rc si_client_get_webhook(struct si_client *c, const char *webhook_id,
                                        struct si_webhook **out, struct si_client_error *err)
{
    json_t *answer = NULL;
    if (!out)
        return client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    *out = NULL;
    enum si_client_rc rc = call(c, "GET", webhook_id, "", NULL, &answer, err);
    if (!rc)
        rc = take_one(c, answer, out, err);
    json_decref(answer);
    return rc;
}

enum si_client_rc si_client_list_webhooks(struct si_client *c, struct si_webhook **out,
                                          size_t *count, struct si_client_error *err)
{
    json_t *answer = NULL;
    if (!out || !count)
        return client_fail(err, SI_CLIENT_E_ARG, "out and count are required");
    *out = NULL;
    *count = 0;
    enum si_client_rc rc = call(c, "GET", NULL, "", NULL, &answer, err);
    const json_t *list = rc ? NULL : json_object_get(answer, "webhooks");
    if (!rc && !json_is_array(list))
        rc = client_bad_answer(c, SI_CLIENT_E_RESPONSE, "the answer holds no webhooks", err);
    struct si_webhook *v = rc ? NULL : calloc(json_array_size(list) + 1, sizeof *v);
    if (!rc && !v)
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
    size_t n = 0;
    for (; !rc && n < json_array_size(list); n++)
        if (parse(json_array_get(list, n), &v[n]))
            rc = client_bad_answer(c, SI_CLIENT_E_RESPONSE, "a webhook could not be read", err);
    json_decref(answer);
    if (rc) {
        si_webhooks_free(v, n);
        return rc;
    }
    *out = v;
    *count = n;
    return SI_CLIENT_OK;
}

/* PATCH with one boolean member. */
static enum si_client_rc patch(struct si_client *c, const char *id, const char *key, bool value,
                               json_t **answer, struct si_client_error *err)
{
    json_t *body = json_object();
    if (!body || json_object_set_new(body, key, json_boolean(value)) != 0) {
        json_decref(body);
        return client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
    }
    enum si_client_rc rc = call(c, "PATCH", id, "", body, answer, err);
    json_decref(body);
    return rc;
}

enum si_client_rc si_client_set_webhook_enabled(struct si_client *c, const char *webhook_id,
                                                bool enabled, struct si_client_error *err)
{
    return patch(c, webhook_id, "enabled", enabled, NULL, err);
}

enum si_client_rc si_client_rotate_webhook_secret(struct si_client *c, const char *webhook_id,
                                                  struct si_webhook **out,
                                                  struct si_client_error *err)
{
    json_t *answer = NULL;
    if (!out)
        return client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    *out = NULL;
    enum si_client_rc rc = patch(c, webhook_id, "rotateSecret", true, &answer, err);
    if (!rc)
        rc = take_one(c, answer, out, err);
    json_decref(answer);
    return rc;
}

enum si_client_rc si_client_test_webhook(struct si_client *c, const char *webhook_id,
                                         struct si_client_error *err)
{
    return call(c, "POST", webhook_id, "/test", NULL, NULL, err);
}

enum si_client_rc si_client_delete_webhook(struct si_client *c, const char *webhook_id,
                                           struct si_client_error *err)
{
    return call(c, "DELETE", webhook_id, "", NULL, NULL, err);
}

void si_webhook_free(struct si_webhook *w)
{
    if (!w)
        return;
    webhook_cleanup(w);
    free(w);
}

void si_webhooks_free(struct si_webhook *list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        webhook_cleanup(&list[i]);
    free(list);
}

/* ---- deliveries ---------------------------------------------------------------------------- */

static void delivery_cleanup(struct si_webhook_delivery *d)
{
    free(d->id);
    free(d->message_id);
    free(d->event);
    free(d->status);
    free(d->error);
    free(d->date_created);
    free(d->date_updated);
}

void si_webhook_delivery_page_free(struct si_webhook_delivery_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->deliveries && i < p->delivery_count; i++)
        delivery_cleanup(&p->deliveries[i]);
    free(p->deliveries);
    free(p->next_cursor);
    free(p);
}

/* Fills d from one delivery object; false when it is not one (or out of memory: *oom). */
static bool parse_delivery(const json_t *o, struct si_webhook_delivery *d, bool *oom)
{
    memset(d, 0, sizeof *d);
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "id")))
        return false;
    d->id = dup_member(o, "id", oom);
    d->message_id = dup_member(o, "messageId", oom);
    d->event = dup_member(o, "event", oom);
    d->status = dup_member(o, "status", oom);
    d->error = dup_member(o, "error", oom);
    d->date_created = dup_member(o, "dateCreated", oom);
    d->date_updated = dup_member(o, "dateUpdated", oom);
    d->attempts = (long)json_integer_value(json_object_get(o, "attempts"));
    d->status_code = (long)json_integer_value(json_object_get(o, "statusCode"));
    return true;
}

/* The page of answer into p (already allocated, zeroed). */
static enum si_client_rc read_page(const json_t *answer, struct si_webhook_delivery_page *p)
{
    const json_t *list = json_object_get(answer, "deliveries");
    const json_t *paging = json_object_get(answer, "pagingMetadata");
    bool oom = false;
    if (!json_is_array(list))
        return SI_CLIENT_E_RESPONSE;
    p->deliveries = calloc(json_array_size(list) + 1, sizeof *p->deliveries);
    if (!p->deliveries)
        return SI_CLIENT_E_NOMEM;
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (!parse_delivery(json_array_get(list, i), &p->deliveries[i], &oom))
            return SI_CLIENT_E_RESPONSE;
        p->delivery_count++; /* owned from here: freed with the page */
    }
    p->has_next = json_is_true(json_object_get(paging, "hasNext"));
    p->next_cursor = dup_member(json_object_get(paging, "cursors"), "next", &oom);
    return oom ? SI_CLIENT_E_NOMEM : SI_CLIENT_OK;
}

/* The "/deliveries?..." suffix; false when cursor is not a cursor of this list (digits). */
static bool deliveries_suffix(const char *cursor, int limit, char *out, size_t cap)
{
    size_t n = cursor ? strlen(cursor) : 0;
    if (cursor && (n == 0 || n > CURSOR_MAX || strspn(cursor, "0123456789") != n))
        return false;
    char lim[24] = "";
    if (limit)
        snprintf(lim, sizeof lim, "limit=%d", limit);
    int w = snprintf(out, cap, "/deliveries%s%s%s%s", limit || cursor ? "?" : "", lim,
                     limit && cursor ? "&" : "", cursor ? "cursor=" : "");
    if (w <= 0 || (size_t)w + n >= cap)
        return false;
    memcpy(out + w, cursor ? cursor : "", n + 1);
    return true;
}

enum si_client_rc si_client_webhook_deliveries(struct si_client *c, const char *webhook_id,
                                               const char *cursor, int limit,
                                               struct si_webhook_delivery_page **out,
                                               struct si_client_error *err)
{
    char suffix[CURSOR_MAX + 48];
    json_t *answer = NULL;
    if (!out)
        return client_fail(err, SI_CLIENT_E_ARG, "out is required");
    *out = NULL;
    if (limit < 0 || limit > DELIVERIES_LIMIT_MAX)
        return client_fail(err, SI_CLIENT_E_ARG, "limit is 0 (the default) or 1 to 100");
    if (!deliveries_suffix(cursor, limit, suffix, sizeof suffix))
        return client_fail(err, SI_CLIENT_E_ARG, "cursor is not a next_cursor of this list");
    enum si_client_rc rc = call(c, "GET", webhook_id, suffix, NULL, &answer, err);
    if (rc)
        return rc;
    struct si_webhook_delivery_page *p = calloc(1, sizeof *p);
    rc = p ? read_page(answer, p) : SI_CLIENT_E_NOMEM;
    json_decref(answer);
    if (rc) {
        si_webhook_delivery_page_free(p);
        return rc == SI_CLIENT_E_NOMEM
                   ? client_fail(err, rc, "out of memory")
                   : client_bad_answer(c, rc, "the answer holds no deliveries", err);
    }
    *out = p;
    return SI_CLIENT_OK;
}
