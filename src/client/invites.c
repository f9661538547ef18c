/* The five Site Invites calls: cheap input checks, the Wix request bodies and paths
 * (/invites/site-invite/..., as the Wix SDK sends them to www.wixapis.com), and their answers. */
#include "client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN       (sizeof CLIENT_INVITES + SI_CLIENT_INVITE_ID_MAX + 16)
#define PURPOSE_MAX_BYTES  4000 /* 1,000 code points of UTF-8 at most (docs/API.md §3.2) */
#define EXPIRES_DAYS_MAX   90
#define LANGUAGE_MAX_BYTES 35 /* BCP 47 tags used in practice are far shorter */
#define SORT_FIELD_MAX     64

/* The checks every call starts with; returns SI_CLIENT_OK or fills err. */
enum si_client_rc client_check_site(struct si_client *c, struct si_client_error *err)
{
    client_error_clear(err);
    if (!c)
        return client_fail(err, SI_CLIENT_E_ARG, "client is NULL");
    /* Every invite call is site-level: without wix-site-id the server can only refuse. */
    if (!c->has_site)
        return client_fail(err, SI_CLIENT_E_ARG, "site_id is required for invite calls");
    return SI_CLIENT_OK;
}

/* An invite ID goes into the path: allow only GUID-like text so it can never add segments. */
enum si_client_rc client_check_id(const char *id, struct si_client_error *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > SI_CLIENT_INVITE_ID_MAX)
        return client_fail(err, SI_CLIENT_E_ARG, "invite_id is empty or too long");
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_';
        if (!ok)
            return client_fail(err, SI_CLIENT_E_ARG, "invite_id may hold only [A-Za-z0-9_-]");
    }
    return SI_CLIENT_OK;
}

static enum si_client_rc check_language(const char *lang, struct si_client_error *err)
{
    if (lang && (!lang[0] || strlen(lang) > LANGUAGE_MAX_BYTES || !client_text_ok(lang, false)))
        return client_fail(err, SI_CLIENT_E_ARG, "default_email_language is not a language tag");
    return SI_CLIENT_OK;
}

/* Sets o[key] to a new string; false when out of memory (the text was checked before). */
static bool set_text(json_t *o, const char *key, const char *text)
{
    return json_object_set_new(o, key, json_string(text)) == 0;
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, json_string(v[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Every element is a non-empty line of valid UTF-8 (what would make json_string fail). */
static bool strings_ok(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!v[i] || !client_text_ok(v[i], false))
            return false;
    return true;
}

/* Limits are checked here so a call that cannot succeed costs no round trip; the server
 * remains the judge of everything else (addresses, roles). */
static enum si_client_rc check_bulk(const struct si_bulk_invite_request *req,
                                    struct si_client_error *err)
{
    if (!req)
        return client_fail(err, SI_CLIENT_E_ARG, "request is NULL");
    if (!req->emails || req->email_count == 0 || req->email_count > SI_CLIENT_BULK_EMAILS_MAX)
        return client_fail(err, SI_CLIENT_E_ARG, "emails must hold 1 to %d addresses",
                           SI_CLIENT_BULK_EMAILS_MAX);
    if (!req->policy_ids || req->policy_id_count == 0 ||
        req->policy_id_count > SI_CLIENT_POLICY_IDS_MAX)
        return client_fail(err, SI_CLIENT_E_ARG, "policy_ids must hold 1 to %d IDs",
                           SI_CLIENT_POLICY_IDS_MAX);
    /* A bad address is the server's to judge per email; only what JSON cannot carry is ours. */
    if (!strings_ok(req->emails, req->email_count))
        return client_fail(err, SI_CLIENT_E_ARG, "an email is NULL or not valid UTF-8 text");
    if (!strings_ok(req->policy_ids, req->policy_id_count))
        return client_fail(err, SI_CLIENT_E_ARG, "a policy ID is NULL or not valid UTF-8 text");
    if (req->invite_purpose && (strlen(req->invite_purpose) > PURPOSE_MAX_BYTES ||
                                !client_text_ok(req->invite_purpose, true)))
        return client_fail(err, SI_CLIENT_E_ARG, "invite_purpose is too long or not text");
    if (req->expires_in_days < 0 || req->expires_in_days > EXPIRES_DAYS_MAX)
        return client_fail(err, SI_CLIENT_E_ARG, "expires_in_days must be 0 (unset) to %d",
                           EXPIRES_DAYS_MAX);
    return check_language(req->default_email_language, err);
}

/* {policyIds, emails, invitePurpose?, defaultEmailLanguage?, expiresInDays?, dryRun?} */
static json_t *bulk_body(const struct si_bulk_invite_request *req)
{
    json_t *o = json_object();
    bool ok = o &&
              json_object_set_new(o, "policyIds",
                                  string_array(req->policy_ids, req->policy_id_count)) == 0 &&
              json_object_set_new(o, "emails", string_array(req->emails, req->email_count)) == 0;
    if (ok && req->invite_purpose)
        ok = set_text(o, "invitePurpose", req->invite_purpose);
    if (ok && req->default_email_language)
        ok = set_text(o, "defaultEmailLanguage", req->default_email_language);
    /* siteinvites additions: sent only when asked for, so the Wix API never sees them. */
    if (ok && req->expires_in_days)
        ok = json_object_set_new(o, "expiresInDays", json_integer(req->expires_in_days)) == 0;
    if (ok && req->dry_run)
        ok = json_object_set_new(o, "dryRun", json_true()) == 0;
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

enum si_client_rc si_client_bulk_invite(struct si_client *c,
                                        const struct si_bulk_invite_request *req,
                                        struct si_bulk_invite_result **out,
                                        struct si_client_error *err)
{
    json_t *body = NULL, *answer = NULL;
    struct si_bulk_invite_result *r = NULL;
    if (out)
        *out = NULL; /* NULL on every failure, including a NULL client */
    enum si_client_rc rc = client_check_site(c, err);
    if (!rc && !out)
        rc = client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    if (rc)
        return rc;
    rc = check_bulk(req, err);
    if (rc)
        return rc;
    if (!(body = bulk_body(req)) || !(r = calloc(1, sizeof *r))) {
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    rc = client_call(c, "POST", CLIENT_INVITES "/bulk", body, &answer, err);
    if (rc)
        goto out;
    rc = client_bulk_result_parse(answer, r, req->dry_run);
    if (rc) {
        client_bad_answer(c, rc, "the bulk answer does not have the expected members", err);
        goto out;
    }
    *out = r;
    r = NULL;
out:
    si_bulk_invite_result_free(r);
    json_decref(body);
    json_decref(answer);
    return rc;
}

/* Builds "/invites/site-invite/<id><suffix>" into path[PATH_MAX_LEN]. */
static void invite_path(char *path, const char *id, const char *suffix)
{
    snprintf(path, PATH_MAX_LEN, "%s/%s%s", CLIENT_INVITES, id, suffix);
}

/* Shared by get and resend: an answer {invite: {...}} into a new struct si_invite. */
static enum si_client_rc take_invite(const struct si_client *c, const json_t *answer,
                                     struct si_invite **out, struct si_client_error *err)
{
    struct si_invite *inv = calloc(1, sizeof *inv);
    if (!inv)
        return client_bad_answer(c, SI_CLIENT_E_NOMEM, NULL, err);
    enum si_client_rc rc = client_invite_parse(json_object_get(answer, "invite"), inv, true);
    if (rc) {
        free(inv);
        return client_bad_answer(c, rc, "the answer has no usable invite", err);
    }
    *out = inv;
    return SI_CLIENT_OK;
}

enum si_client_rc si_client_get_invite(struct si_client *c, const char *invite_id,
                                       struct si_invite **out, struct si_client_error *err)
{
    char path[PATH_MAX_LEN];
    json_t *answer = NULL;
    if (out)
        *out = NULL; /* NULL on every failure, including a NULL client */
    enum si_client_rc rc = client_check_site(c, err);
    if (!rc && !out)
        rc = client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    if (rc)
        return rc;
    rc = client_check_id(invite_id, err);
    if (rc)
        return rc;
    invite_path(path, invite_id, ""); /* the ID was checked: it cannot overflow or escape */
    rc = client_call(c, "GET", path, NULL, &answer, err);
    if (!rc)
        rc = take_invite(c, answer, out, err);
    json_decref(answer);
    return rc;
}

enum si_client_rc si_client_resend_invite(struct si_client *c, const char *invite_id,
                                          const char *default_email_language,
                                          struct si_invite **out, struct si_client_error *err)
{
    char path[PATH_MAX_LEN];
    json_t *body = NULL, *answer = NULL;
    if (out)
        *out = NULL; /* NULL on every failure, including a NULL client */
    enum si_client_rc rc = client_check_site(c, err);
    if (!rc && !out)
        rc = client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    if (rc)
        return rc;
    rc = client_check_id(invite_id, err);
    if (!rc)
        rc = check_language(default_email_language, err);
    if (rc)
        return rc;
    /* The SDK sends the ID in the body too; the server checks it matches the path. */
    body = json_object();
    if (!body || !set_text(body, "inviteId", invite_id) ||
        (default_email_language &&
         !set_text(body, "defaultEmailLanguage", default_email_language))) {
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    invite_path(path, invite_id, "/resend");
    rc = client_call(c, "POST", path, body, &answer, err);
    if (!rc)
        rc = take_invite(c, answer, out, err);
out:
    json_decref(body);
    json_decref(answer);
    return rc;
}

enum si_client_rc si_client_revoke_invite(struct si_client *c, const char *invite_id,
                                          struct si_client_error *err)
{
    char path[PATH_MAX_LEN];
    json_t *body = NULL, *answer = NULL;
    enum si_client_rc rc = client_check_site(c, err);
    if (!rc)
        rc = client_check_id(invite_id, err);
    if (rc)
        return rc;
    /* The SDK sends {inviteId}; an empty body would do for us, this keeps Wix happy too. */
    body = json_object();
    if (!body || !set_text(body, "inviteId", invite_id)) {
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    invite_path(path, invite_id, "/revoke");
    rc = client_call(c, "POST", path, body, &answer, err);
out:
    json_decref(body);
    json_decref(answer);
    return rc;
}

static enum si_client_rc check_query(const struct si_invite_query *q, json_t **filter,
                                     struct si_client_error *err)
{
    *filter = NULL;
    if (!q)
        return SI_CLIENT_OK;
    if (q->limit < 0 || q->limit > SI_CLIENT_QUERY_LIMIT_MAX)
        return client_fail(err, SI_CLIENT_E_ARG, "limit must be 0 (default) to %d",
                           SI_CLIENT_QUERY_LIMIT_MAX);
    if (q->cursor && (!q->cursor[0] || !client_text_ok(q->cursor, false)))
        return client_fail(err, SI_CLIENT_E_ARG, "cursor is empty or not text");
    if (q->sort_field && (!q->sort_field[0] || strlen(q->sort_field) > SORT_FIELD_MAX ||
                          !client_text_ok(q->sort_field, false)))
        return client_fail(err, SI_CLIENT_E_ARG, "sort_field is empty, too long or not text");
    /* Parsed here, not passed through as text: a typo fails at once, locally, and the body
     * is built with jansson so it is always valid JSON. */
    if (q->filter_json && !q->cursor) {
        json_error_t jerr;
        *filter = json_loads(q->filter_json, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(*filter)) {
            json_decref(*filter);
            *filter = NULL;
            return client_fail(err, SI_CLIENT_E_ARG, "filter_json is not a JSON object");
        }
    }
    return SI_CLIENT_OK;
}

/* {query: {filter?, sort?, cursorPaging?}}; with a cursor only cursorPaging (Wix semantics:
 * the cursor carries the filter and sort). filter is stolen. */
static json_t *query_body(const struct si_invite_query *q, json_t *filter)
{
    /* Members are added with json_object_set (not _new) and our references dropped at the end,
     * so every exit path releases the same three objects. */
    json_t *body = json_object(), *query = json_object(), *paging = json_object();
    bool ok = body && query && paging;
    if (ok && filter)
        ok = json_object_set(query, "filter", filter) == 0;
    if (ok && q && q->sort_field && !q->cursor)
        ok = json_object_set_new(query, "sort",
                                 json_pack("[{s:s, s:s}]", "fieldName", q->sort_field, "order",
                                           q->sort_desc ? "DESC" : "ASC")) == 0;
    if (ok && q && q->limit)
        ok = json_object_set_new(paging, "limit", json_integer(q->limit)) == 0;
    if (ok && q && q->cursor)
        ok = set_text(paging, "cursor", q->cursor);
    if (ok && json_object_size(paging))
        ok = json_object_set(query, "cursorPaging", paging) == 0;
    if (ok)
        ok = json_object_set(body, "query", query) == 0;
    json_decref(filter);
    json_decref(paging);
    json_decref(query);
    if (!ok) {
        json_decref(body);
        return NULL;
    }
    return body;
}

enum si_client_rc si_client_query_invites(struct si_client *c, const struct si_invite_query *q,
                                          struct si_invite_page **out, struct si_client_error *err)
{
    json_t *filter = NULL, *body = NULL, *answer = NULL;
    struct si_invite_page *p = NULL;
    if (out)
        *out = NULL; /* NULL on every failure, including a NULL client */
    enum si_client_rc rc = client_check_site(c, err);
    if (!rc && !out)
        rc = client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    if (rc)
        return rc;
    rc = check_query(q, &filter, err);
    if (rc)
        return rc;
    body = query_body(q, filter); /* steals filter */
    if (!body || !(p = calloc(1, sizeof *p))) {
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    rc = client_call(c, "POST", CLIENT_INVITES "/query", body, &answer, err);
    if (rc)
        goto out;
    rc = client_invite_page_parse(answer, p);
    if (rc) {
        client_bad_answer(c, rc, "the query answer does not have the expected members", err);
        goto out;
    }
    *out = p;
    p = NULL;
out:
    si_invite_page_free(p);
    json_decref(body);
    json_decref(answer);
    return rc;
}
