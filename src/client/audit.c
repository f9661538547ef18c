/* The client's audit-log call: GET /invites/audit-log with its filters in the query string, and
 * the page read into struct si_audit_page. */
#include "client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PATH "/invites/audit-log"
#define QUERY_MAX  1024 /* the longest query string we build: seven short escaped values */

static enum si_client_rc check_text(const char *name, const char *v, struct si_client_error *err)
{
    if (v && (!*v || strlen(v) > 255 || !client_text_ok(v, false)))
        return client_fail(err, SI_CLIENT_E_ARG, "%s is empty, too long or has control characters",
                           name);
    return SI_CLIENT_OK;
}

/* Appends "&name=<escaped v>" (the first with '?') when v is set; false when it does not fit. */
static bool add_arg(CURL *curl, char *qs, size_t cap, const char *name, const char *v)
{
    if (!v)
        return true;
    char *esc = curl_easy_escape(curl, v, 0);
    if (!esc)
        return false;
    size_t len = strlen(qs);
    int n = snprintf(qs + len, cap - len, "%c%s=%s", len ? '&' : '?', name, esc);
    curl_free(esc);
    return n > 0 && (size_t)n < cap - len;
}

/* The path with q's filters; SI_CLIENT_E_ARG for a bad value. */
static enum si_client_rc build_path(struct si_client *c, const struct si_audit_query *q, char *path,
                                    size_t cap, struct si_client_error *err)
{
    char qs[QUERY_MAX] = "", limit[16];
    const struct si_audit_query none = {0};
    if (!q)
        q = &none;
    const char *names[] = {"action", "actorType", "actorId", "since", "until", "cursor"};
    const char *values[] = {q->action, q->actor_type, q->actor_id, q->since, q->until, q->cursor};
    if (q->limit < 0 || q->limit > SI_CLIENT_AUDIT_LIMIT_MAX)
        return client_fail(err, SI_CLIENT_E_ARG, "limit must be 1..%d", SI_CLIENT_AUDIT_LIMIT_MAX);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        enum si_client_rc rc = check_text(names[i], values[i], err);
        if (rc)
            return rc;
        if (!add_arg(c->curl, qs, sizeof qs, names[i], values[i]))
            return client_fail(err, SI_CLIENT_E_ARG, "the audit query is too long");
    }
    snprintf(limit, sizeof limit, "%d", q->limit);
    if (q->limit && !add_arg(c->curl, qs, sizeof qs, "limit", limit))
        return client_fail(err, SI_CLIENT_E_ARG, "the audit query is too long");
    snprintf(path, cap, "%s%s", AUDIT_PATH, qs);
    return SI_CLIENT_OK;
}

static void entry_free(struct si_audit_entry *e)
{
    char **all[] = {&e->id,        &e->site_id,    &e->action,      &e->actor_type,
                    &e->actor_id,  &e->actor_name, &e->actor_email, &e->target_type,
                    &e->target_id, &e->request_id, &e->time,        &e->changes_json};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

static enum si_client_rc entry_parse(const json_t *o, struct si_audit_entry *e)
{
    const json_t *actor = json_object_get(o, "actor"), *target = json_object_get(o, "target");
    const json_t *changes = json_object_get(o, "changes");
    if (!json_is_object(o) || !json_is_object(actor) || !json_is_object(target) ||
        !json_is_object(changes))
        return SI_CLIENT_E_RESPONSE;
    enum si_client_rc rc = client_copy_member(o, "id", &e->id);
    if (!rc)
        rc = client_copy_member(o, "siteId", &e->site_id);
    if (!rc)
        rc = client_copy_member(o, "action", &e->action);
    if (!rc)
        rc = client_copy_member(actor, "type", &e->actor_type);
    if (!rc) /* a key's "id", an invitee's "accountId" */
        rc = client_copy_member(actor, json_object_get(actor, "accountId") ? "accountId" : "id",
                                &e->actor_id);
    if (!rc)
        rc = client_copy_member(actor, "name", &e->actor_name);
    if (!rc)
        rc = client_copy_member(actor, "email", &e->actor_email);
    if (!rc)
        rc = client_copy_member(target, "type", &e->target_type);
    if (!rc)
        rc = client_copy_member(target, "id", &e->target_id);
    if (!rc)
        rc = client_copy_member(o, "requestId", &e->request_id);
    if (!rc)
        rc = client_copy_member(o, "time", &e->time);
    if (!rc && !(e->changes_json = json_dumps(changes, JSON_COMPACT)))
        rc = SI_CLIENT_E_NOMEM;
    if (!rc && (!e->id || !e->action || !e->actor_type || !e->time))
        rc = SI_CLIENT_E_RESPONSE;
    if (rc)
        entry_free(e);
    return rc;
}

static enum si_client_rc page_parse(const json_t *o, struct si_audit_page *p)
{
    const json_t *arr = json_object_get(o, "entries"), *meta = json_object_get(o, "pagingMetadata");
    if (!json_is_array(arr) || !json_is_object(meta))
        return SI_CLIENT_E_RESPONSE;
    size_t n = json_array_size(arr);
    p->entries = calloc(n ? n : 1, sizeof *p->entries);
    if (!p->entries)
        return SI_CLIENT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        enum si_client_rc rc = entry_parse(json_array_get(arr, i), &p->entries[i]);
        if (rc)
            return rc;
        p->entry_count++;
    }
    p->has_next = json_is_true(json_object_get(meta, "hasNext"));
    return client_copy_member(json_object_get(meta, "cursors"), "next", &p->next_cursor);
}

enum si_client_rc si_client_audit_log(struct si_client *c, const struct si_audit_query *q,
                                      struct si_audit_page **out, struct si_client_error *err)
{
    char path[QUERY_MAX + sizeof AUDIT_PATH];
    json_t *answer = NULL;
    struct si_audit_page *p = NULL;
    if (out)
        *out = NULL; /* NULL on every failure, including a NULL client */
    client_error_clear(err);
    if (!c || !out)
        return client_fail(err, SI_CLIENT_E_ARG, "%s is NULL", c ? "out" : "client");
    if (!c->has_site)
        return client_fail(err, SI_CLIENT_E_ARG, "site_id is required for the audit log");
    enum si_client_rc rc = build_path(c, q, path, sizeof path, err);
    if (rc)
        return rc;
    rc = client_call(c, "GET", path, NULL, &answer, err);
    if (!rc && !(p = calloc(1, sizeof *p)))
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
    if (!rc && (rc = page_parse(answer, p)) != SI_CLIENT_OK)
        client_bad_answer(c, rc, "the audit-log answer does not have the expected members", err);
    if (!rc) {
        *out = p;
        p = NULL;
    }
    si_audit_page_free(p);
    json_decref(answer);
    return rc;
}

void si_audit_page_free(struct si_audit_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->entry_count; i++)
        entry_free(&p->entries[i]);
    free(p->entries);
    free(p->next_cursor);
    free(p);
}
