/* The route table, path matching, and the guard steps every API request passes before its
 * handler runs (body, JSON, key, account, site, permission). */
#include "http/routes.h"

#include "api/api.h"
#include "api/idempotency.h"
#include "api/audit.h"
#include "auth/key_usage.h"
#include "console/console.h"
#include "common/ids.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "http/metrics.h"
#include "http/multipart.h"
#include "request/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#define INVITE_PAGE_PREFIX "/invite/"
#define JSON_MEDIA_TYPE    "application/json"
#define PERM_TEXT_MAX      128
#define METHOD_COUNT       HTTP_OTHER /* methods that can appear in an Allow list */
#define ALLOW_TEXT_MAX     64
#define FORM_MEDIA_TYPE    "application/x-www-form-urlencoded"
/* Route flags beside ROUTE_INVITES_PREFIX (routes.h), for public rows that take a body. */
#define ROUTE_JSON_BODY (1u << 1) /* the body is checked and parsed as JSON (415, 400) */
#define ROUTE_FORM_BODY (1u << 2) /* an HTML form post: the raw body goes to the handler */
/* A POST that only reads (a query in the body): Idempotency-Key has nothing to protect there
 * and is ignored, as on GET. */
#define ROUTE_READS_ONLY (1u << 4)
/* A form that may also come as multipart/form-data (a file input): read into the urlencoded
 * body of the same fields before the handler sees it (http/multipart.h). */
#define ROUTE_MULTIPART      (1u << 5)
#define MULTIPART_MEDIA_TYPE "multipart/form-data"

static void health_live(struct request *req);
static void health_ready(struct request *req);

/* One row per (method, path). Literal segments come before {} rows of the same shape, so the
 * first row whose pattern matches names the resource. */
static const struct route route_table[] = {
    {HTTP_POST, "/site-invite/bulk", api_invites_bulk, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "invites_bulk"},
    {HTTP_POST, "/site-invite/query", api_invites_query, ROUTE_INVITES_PREFIX | ROUTE_READS_ONLY,
     ROUTE_SITE, PERM_READ, "invites_query"},
    {HTTP_GET, "/site-invite/contributor-limit", api_contributor_limit, ROUTE_INVITES_PREFIX,
     ROUTE_SITE, PERM_READ, "contributor_limit"},
    /* The invitee's methods: public (the token is the credential) but with a JSON body. */
    {HTTP_POST, "/site-invite/parse-token", api_invitee_parse_token,
     ROUTE_INVITES_PREFIX | ROUTE_JSON_BODY, ROUTE_PUBLIC, 0, "invitee_parse_token"},
    {HTTP_POST, "/site-invite/accept", api_invitee_accept, ROUTE_INVITES_PREFIX | ROUTE_JSON_BODY,
     ROUTE_PUBLIC, 0, "invitee_accept"},
    {HTTP_POST, "/site-invite/decline", api_invitee_decline, ROUTE_INVITES_PREFIX | ROUTE_JSON_BODY,
     ROUTE_PUBLIC, 0, "invitee_decline"},
    {HTTP_POST, "/site-invite/{}/resend", api_invite_resend, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "invite_resend"},
    {HTTP_POST, "/site-invite/{}/revoke", api_invite_revoke, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_DELETE_INVITE, "invite_revoke"},
    {HTTP_GET, "/site-invite/{}", api_invite_get, ROUTE_INVITES_PREFIX, ROUTE_SITE, PERM_READ,
     "invite_get"},
    {HTTP_PATCH, "/site-invite/{}", api_invite_update, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "invite_update"},
    {HTTP_POST, "/site-invite", api_invite_create, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "invite_create"},
    {HTTP_GET, "/site-invites", api_invites_list, ROUTE_INVITES_PREFIX, ROUTE_SITE, PERM_READ,
     "invites_list"},
    {HTTP_GET, "/site-settings", api_site_settings_get, ROUTE_INVITES_PREFIX, ROUTE_SITE, PERM_READ,
     "site_settings_get"},
    {HTTP_PATCH, "/site-settings", api_site_settings_update, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "site_settings_update"},
    /* Ours (docs/AUDIT.md): the site's audit log, under /invites only. */
    {HTTP_GET, "/invites/audit-log", api_audit_log, 0, ROUTE_SITE, PERM_READ, "audit_log"},
    {HTTP_POST, "/webhooks/{}/test", api_webhook_test, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "webhook_test"},
    {HTTP_GET, "/webhooks/{}/deliveries", api_webhook_deliveries, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_READ, "webhook_deliveries"},
    {HTTP_GET, "/webhooks/{}", api_webhook_get, ROUTE_INVITES_PREFIX, ROUTE_SITE, PERM_READ,
     "webhook_get"},
    {HTTP_PATCH, "/webhooks/{}", api_webhook_update, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "webhook_update"},
    {HTTP_DELETE, "/webhooks/{}", api_webhook_delete, ROUTE_INVITES_PREFIX, ROUTE_SITE,
     PERM_SEND_INVITE, "webhook_delete"},
    {HTTP_POST, "/webhooks", api_webhook_create, ROUTE_INVITES_PREFIX, ROUTE_SITE, PERM_SEND_INVITE,
     "webhook_create"},
    {HTTP_GET, "/webhooks", api_webhooks_list, ROUTE_INVITES_PREFIX, ROUTE_SITE, PERM_READ,
     "webhooks_list"},
    {HTTP_GET, "/roles-management/roles", api_roles_list, 0, ROUTE_ACCOUNT, 0, "roles_list"},
    /* The proto path @wix/identity_user's getRolesInfo calls on a custom host. */
    {HTTP_GET, "/roles", api_roles_list, 0, ROUTE_ACCOUNT, 0, "roles_list"},
    {HTTP_POST, "/roles-management/roles", api_roles_create, 0, ROUTE_ACCOUNT, 0, "roles_create"},
    {HTTP_GET, "/v2/contributors/query", api_contributors_query, ROUTE_ROLES_PREFIX, ROUTE_SITE,
     PERM_READ, "contributors_query"},
    {HTTP_PUT, "/contributor/change/role", api_contributor_change_role, ROUTE_ROLES_PREFIX,
     ROUTE_SITE, PERM_CONTRIBUTORS, "contributor_change_role"},
    {HTTP_PUT, "/contributor/change/locations", api_contributor_change_locations,
     ROUTE_ROLES_PREFIX, ROUTE_SITE, PERM_CONTRIBUTORS, "contributor_change_locations"},
    /* Wix's older pages say POST, its current ones DELETE: both remove. */
    {HTTP_POST, "/contributor/remove", api_contributor_remove, ROUTE_ROLES_PREFIX, ROUTE_SITE,
     PERM_CONTRIBUTORS, "contributor_remove"},
    {HTTP_DELETE, "/contributor/remove", api_contributor_remove, ROUTE_ROLES_PREFIX, ROUTE_SITE,
     PERM_CONTRIBUTORS, "contributor_remove"},
    {HTTP_POST, "/site-list/v2/sites/query", api_sites_query, ROUTE_READS_ONLY, ROUTE_ACCOUNT,
     PERM_READ, "sites_query"},
    {HTTP_GET, "/invite/{}", api_invitee_page, 0, ROUTE_PUBLIC, 0, "invitee_page"},
    {HTTP_POST, "/invite/{}/accept", api_invitee_page_accept, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "invitee_page_accept"},
    {HTTP_POST, "/invite/{}/decline", api_invitee_page_decline, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "invitee_page_decline"},
    /* The site owner's console (docs/CONSOLE.md): pages; the session cookie is the credential. */
    {HTTP_GET, "/console", console_sites_page, 0, ROUTE_PUBLIC, 0, "console_sites"},
    {HTTP_GET, "/console/signin", console_signin_page, 0, ROUTE_PUBLIC, 0, "console_signin"},
    {HTTP_POST, "/console/signin", console_signin_email, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_signin_email"},
    {HTTP_GET, "/console/signin/{}", console_signin_confirm, 0, ROUTE_PUBLIC, 0,
     "console_signin_link"},
    {HTTP_POST, "/console/signin/{}", console_signin_post, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_signin_link"},
    {HTTP_POST, "/console/signout", console_signout, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_signout"},
    {HTTP_GET, "/console/sites/{}", console_site_page, 0, ROUTE_PUBLIC, 0, "console_site"},
    {HTTP_GET, "/console/keys", console_keys_page, 0, ROUTE_PUBLIC, 0, "console_keys"},
    {HTTP_POST, "/console/keys", console_key_create, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_keys"},
    {HTTP_POST, "/console/keys/revoke", console_key_revoke, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_key_revoke"},
    {HTTP_GET, "/console/sites/{}/contributors", console_contributors_page, 0, ROUTE_PUBLIC, 0,
     "console_contributors"},
    {HTTP_GET, "/console/sites/{}/contributor", console_contributor_page, 0, ROUTE_PUBLIC, 0,
     "console_contributor"},
    {HTTP_POST, "/console/sites/{}/contributor", console_contributor_roles, ROUTE_FORM_BODY,
     ROUTE_PUBLIC, 0, "console_contributor"},
    {HTTP_POST, "/console/sites/{}/contributor/remove", console_contributor_remove, ROUTE_FORM_BODY,
     ROUTE_PUBLIC, 0, "console_contributor_remove"},
    {HTTP_GET, "/console/sites/{}/invite", console_invite_form, 0, ROUTE_PUBLIC, 0,
     "console_invite"},
    {HTTP_POST, "/console/sites/{}/invite", console_invite_post, ROUTE_FORM_BODY | ROUTE_MULTIPART,
     ROUTE_PUBLIC, 0, "console_invite"},
    {HTTP_POST, "/console/sites/{}/link", console_invite_link, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_invite_link"},
    {HTTP_GET, "/console/sites/{}/roles", console_invite_roles_page, 0, ROUTE_PUBLIC, 0,
     "console_invite_roles"},
    {HTTP_POST, "/console/sites/{}/roles", console_invite_roles, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_invite_roles"},
    {HTTP_POST, "/console/sites/{}/resend", console_invite_resend, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_invite_resend"},
    {HTTP_POST, "/console/sites/{}/revoke", console_invite_revoke, ROUTE_FORM_BODY, ROUTE_PUBLIC, 0,
     "console_invite_revoke"},
    {HTTP_GET, "/console/sites/{}/audit", console_audit_page, 0, ROUTE_PUBLIC, 0, "console_audit"},
    {HTTP_GET, "/console/sites/{}/webhooks", console_webhooks_page, 0, ROUTE_PUBLIC, 0,
     "console_webhooks"},
    {HTTP_POST, "/console/sites/{}/webhooks", console_webhook_create, ROUTE_FORM_BODY, ROUTE_PUBLIC,
     0, "console_webhooks"},
    {HTTP_POST, "/console/sites/{}/webhooks/enable", console_webhook_enable, ROUTE_FORM_BODY,
     ROUTE_PUBLIC, 0, "console_webhook_enable"},
    {HTTP_POST, "/console/sites/{}/webhooks/delete", console_webhook_delete, ROUTE_FORM_BODY,
     ROUTE_PUBLIC, 0, "console_webhook_delete"},
    {HTTP_POST, "/console/sites/{}/webhooks/test", console_webhook_test, ROUTE_FORM_BODY,
     ROUTE_PUBLIC, 0, "console_webhook_test"},
    {HTTP_GET, "/console/sites/{}/webhooks/deliveries", console_webhook_deliveries, 0, ROUTE_PUBLIC,
     0, "console_webhook_deliveries"},
    {HTTP_GET, "/healthz", health_live, 0, ROUTE_PUBLIC, 0, "healthz"},
    {HTTP_GET, "/readyz", health_ready, 0, ROUTE_PUBLIC, 0, "readyz"},
    {HTTP_GET, "/metrics", metrics_handle, 0, ROUTE_PUBLIC, 0, "metrics"},
};
#define ROUTE_COUNT (sizeof route_table / sizeof route_table[0])

static const struct route_prefix prefixes[ROUTE_PREFIX_COUNT] = {
    {ROUTE_INVITES_PREFIX, "/invites"},
    {ROUTE_ROLES_PREFIX, "/roles-management"},
};

const struct route_prefix *routes_prefixes(void)
{
    return prefixes;
}

/* Indexed by enum http_method; also the names the access log prints. */
static const char *const method_names[] = {"GET",   "HEAD",   "POST", "PUT",
                                           "PATCH", "DELETE", "OTHER"};

/* Allow header values for every set of methods, built once: the answer must be static. */
static char allow_texts[1u << METHOD_COUNT][ALLOW_TEXT_MAX];
static pthread_once_t allow_once = PTHREAD_ONCE_INIT;

static void allow_init(void)
{
    for (unsigned mask = 0; mask < (1u << METHOD_COUNT); mask++) {
        char *out = allow_texts[mask];
        size_t len = 0;
        for (int m = 0; m < METHOD_COUNT; m++) {
            if (!(mask & (1u << m)))
                continue;
            int n =
                snprintf(out + len, ALLOW_TEXT_MAX - len, "%s%s", len ? ", " : "", method_names[m]);
            len += (size_t)n;
        }
    }
}

const struct route *routes_table(size_t *n)
{
    *n = ROUTE_COUNT;
    return route_table;
}

enum http_method routes_method(const char *name)
{
    for (int m = 0; m < METHOD_COUNT; m++)
        if (strcmp(name, method_names[m]) == 0)
            return (enum http_method)m;
    return HTTP_OTHER;
}

const char *routes_method_name(enum http_method m)
{
    return (unsigned)m <= HTTP_OTHER ? method_names[m] : "OTHER";
}

/* Matches path[0..len) against pattern; a {} takes one non-empty segment. */
static bool pattern_match(const char *pattern, const char *path, size_t len, const char **param,
                          size_t *param_len)
{
    const char *p = path, *end = path + len;
    /* Byte-wise: patterns are ASCII and paths are compared exactly (no case folding). */
    while (*pattern) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *seg = p;
            while (p < end && *p != '/')
                p++;
            if (p == seg)
                return false;
            *param = seg;
            *param_len = (size_t)(p - seg);
            pattern += 2;
            continue;
        }
        if (p == end || *p != *pattern)
            return false;
        p++;
        pattern++;
    }
    return p == end;
}

/* Finds the first row whose pattern matches path; with a prefix flag set, only among the rows
 * served under that prefix (path is then the rest after it). */
static const struct route *find_path(const char *path, size_t len, unsigned prefix,
                                     struct route_match *out)
{
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        const struct route *r = &route_table[i];
        if (prefix && !(r->flags & prefix))
            continue;
        out->param = NULL;
        out->param_len = 0;
        if (pattern_match(r->pattern, path, len, &out->param, &out->param_len))
            return r;
    }
    return NULL;
}

enum route_result routes_match(enum http_method method, const char *path, struct route_match *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        len--; /* one trailing slash is tolerated */
    /* "/invites/site-invite..." and "/site-invite..." are one resource: strip and match once.
     * A row written with its prefix ("/roles-management/roles") still matches whole. */
    const struct route *first = NULL;
    for (int i = 0; i < ROUTE_PREFIX_COUNT && !first; i++) {
        size_t plen = strlen(prefixes[i].text);
        if (len > plen && strncmp(path, prefixes[i].text, plen) == 0 && path[plen] == '/')
            first = find_path(path + plen, len - plen, prefixes[i].flag, out);
    }
    if (!first)
        first = find_path(path, len, 0, out);
    if (!first)
        return ROUTE_NO_PATH;
    /* Every row with the same pattern is the same resource; the method picks among them. */
    enum http_method want = method == HTTP_HEAD ? HTTP_GET : method;
    unsigned allowed = 0;
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        const struct route *r = &route_table[i];
        if (strcmp(r->pattern, first->pattern) != 0)
            continue;
        if (r->method == want) {
            out->route = r;
            return ROUTE_FOUND;
        }
        allowed |= 1u << r->method;
        if (r->method == HTTP_GET)
            allowed |= 1u << HTTP_HEAD;
    }
    pthread_once(&allow_once, allow_init);
    out->route = first;
    out->param = NULL;
    out->param_len = 0;
    out->allow = allow_texts[allowed];
    return ROUTE_BAD_METHOD;
}

bool routes_json_depth_ok(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped byte cannot close the string */
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if ((c == '[' || c == '{') && ++depth > max_depth)
            return false;
        else if (c == ']' || c == '}')
            depth--;
    }
    return true;
}

void routes_log_path(const char *path, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char redacted[] = "[redacted]";
    const char *token = strstr(path, INVITE_PAGE_PREFIX);
    size_t keep = token ? (size_t)(token - path) + sizeof INVITE_PAGE_PREFIX - 1 : strlen(path);
    bool console_link = false; /* a console sign-in link's token is cut the same way */
    size_t console_keep = console_log_path_keep(path, &console_link);
    if (console_link && (!token || console_keep < keep)) {
        keep = console_keep;
        token = path + keep;
    }
    size_t n = 0, i = 0;
    /* Leave room for the longest tail: "[redacted]" or "..." and the NUL. */
    size_t room = cap > sizeof redacted ? cap - sizeof redacted : 0;
    for (; i < keep && n + 3 < room; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c > 0x20 && c < 0x7f && c != '%') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    const char *tail = token ? redacted : i < keep ? "..." : "";
    if (cap > n)
        snprintf(out + n, cap - n, "%s", tail);
}

/* ct names media type want in any case, with or without parameters ("; charset=utf-8"). */
static bool is_media_type(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    char c = ct[n];
    return c == '\0' || c == ';' || c == ' ' || c == '\t';
}

/* "application/json", or an empty header (as good as none). */
static bool is_json_media_type(const char *ct)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return !*ct || is_media_type(ct, JSON_MEDIA_TYPE);
}

/* A multipart form's body becomes the urlencoded body of its fields (the request owns both). */
static bool form_from_multipart(struct request *req, const char *ct)
{
    struct buf form;
    /* Percent-encoding at most triples a byte: what fit the body limit fits this. */
    buf_init(&form, 3 * req->body.len + 1);
    enum si_err rc = multipart_to_form(ct, req->body.data, req->body.len, &form);
    if (rc) {
        buf_cleanup(&form);
        request_fail_field(req, "body", RULE_FORMAT, "The body is not a valid multipart form.");
        return false;
    }
    buf_cleanup(&req->body);
    req->body = form;
    return true;
}

/* A form post must say it is one: browsers always do, and anything else is not our form. */
static bool check_form(struct request *req, unsigned flags)
{
    const char *ct = req->content_type ? req->content_type : "";
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if ((flags & ROUTE_MULTIPART) && is_media_type(ct, MULTIPART_MEDIA_TYPE))
        return form_from_multipart(req, ct);
    if (!is_media_type(ct, FORM_MEDIA_TYPE)) {
        request_fail(req, P_UNSUPPORTED_MEDIA_TYPE, "The body must be an HTML form.");
        return false;
    }
    return true;
}

/* Fixed descriptions: jansson's own texts quote input, which must never be echoed. */
static const char *json_error_text(enum json_error_code code)
{
    switch (code) {
    case json_error_invalid_utf8:
        return "The request body is not valid UTF-8.";
    case json_error_duplicate_key:
        return "The request body repeats a key in an object.";
    case json_error_premature_end_of_input:
        return "The request body ends before the JSON value does.";
    case json_error_end_of_input_expected:
        return "The request body has data after the JSON value.";
    case json_error_null_character:
        return "The request body contains a NUL character.";
    default:
        return "The request body is not valid JSON.";
    }
}

/* 415, then JSON parsing into req->json. Duplicate keys are refused: two parsers reading one
 * body differently is how checks get bypassed. */
static bool check_body(struct request *req)
{
    /* A body on GET has no meaning here and is ignored (it was still capped by the limit). */
    if (req->body.len == 0 || req->method == HTTP_GET || req->method == HTTP_HEAD)
        return true;
    if (req->content_type && !is_json_media_type(req->content_type)) {
        request_fail(req, P_UNSUPPORTED_MEDIA_TYPE, NULL);
        return false;
    }
    if (!routes_json_depth_ok(req->body.data, req->body.len, JSON_DEPTH_MAX)) {
        request_fail(req, P_INVALID_JSON, "The request body nests too deeply.");
        return false;
    }
    json_error_t err;
    req->json = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &err);
    if (!req->json) {
        request_fail(req, P_INVALID_JSON, json_error_text(json_error_code(&err)));
        return false;
    }
    if (!json_is_object(req->json)) {
        request_fail(req, P_INVALID_JSON, "The request body must be a JSON object.");
        return false;
    }
    return true;
}

/* The key's site, read with the key into req->site (check_caller; asked is false when the
 * header was malformed, so nothing was read): missing, malformed, unknown and foreign sites get
 * the same 403. check_caller drops the site of a refused caller. */
static bool check_site(struct request *req, bool asked, bool site_found)
{
    if (!req->site_id_header) {
        request_fail(req, P_PERMISSION_DENIED, "The wix-site-id header is required.");
        return false;
    }
    if (!asked || !site_found || strcmp(req->site.account_id, req->principal.account_id) != 0) {
        request_fail(req, P_PERMISSION_DENIED, NULL);
        return false;
    }
    return true;
}

/* A monotonic microsecond clock for the rate limiter (wall-clock jumps must not refill). */
static int64_t now_mono_us(void)
{
    return clock_mono_us();
}

/* Per key, before any store work but the key's lookup (and its site's, read with it): the
 * process's own buckets (a table lookup) or, on a store that shares them across servers, one
 * short store transaction. */
static bool under_key_rate(struct request *req)
{
    const struct app *app = req->app;
    const char *key = req->principal.key_id;
    long retry = 0;
    bool ok = true;
    if (app->key_limit) {
        ok = ratelimit_take(app->key_limit, key, now_mono_us(), &retry);
    } else if (app->key_rate > 0) {
        enum si_err rc = store_key_take(app->store, key, app->key_rate, app->key_burst,
                                        clock_now(app->clock), &ok, &retry);
        if (rc) {
            request_fail_err(req, rc);
            return false;
        }
    }
    if (!ok) {
        req->retry_after_s = retry;
        request_fail(req, P_RESOURCE_EXHAUSTED, "This API key is over its request rate.");
    }
    return ok;
}

static bool check_caller_steps(struct request *req, const struct route *r)
{
    /* A site route's site is read with its key: one store round trip, not two (PostgreSQL). */
    char site_id[SI_ID_LEN];
    bool site_found = false;
    const char *want =
        r->access == ROUTE_SITE && req->site_id_header && id_normalize(req->site_id_header, site_id)
            ? site_id
            : NULL;
    enum si_err rc = auth_authenticate_site(req->app->store, req->authorization, want,
                                            &req->principal, &req->site, &site_found);
    if (rc) {
        request_fail_err(req, rc); /* SI_EUNAUTH is 401; a store failure 500 */
        return false;
    }
    /* A use, even one refused below for its account, rate or permission: it was presented. */
    key_usage_note(req->app->key_usage, req->principal.key_id, clock_now(req->app->clock));
    /* wix-account-id is optional; when sent it must name the key's own account (§2). */
    char account[SI_ID_LEN];
    if (req->account_id_header && (!id_normalize(req->account_id_header, account) ||
                                   strcmp(account, req->principal.account_id) != 0)) {
        request_fail(req, P_PERMISSION_DENIED,
                     "The wix-account-id header does not match the API key's account.");
        return false;
    }
    if (!under_key_rate(req))
        return false;
    if (r->access == ROUTE_SITE && !check_site(req, want != NULL, site_found))
        return false;
    if ((req->principal.permissions & r->permission) != r->permission) {
        char names[PERM_TEXT_MAX], text[PERM_TEXT_MAX + 64];
        perm_format_list(r->permission, names, sizeof names);
        snprintf(text, sizeof text, "The API key lacks the permission %s.", names);
        request_fail(req, P_PERMISSION_DENIED, text);
        return false;
    }
    return true;
}

/* Key, account header, site and permission, for ROUTE_ACCOUNT and ROUTE_SITE rows. A refused
 * caller keeps no site: req->site is only ever a site the caller may use. */
static bool check_caller(struct request *req, const struct route *r)
{
    if (check_caller_steps(req, r))
        return true;
    site_cleanup(&req->site);
    memset(&req->site, 0, sizeof req->site);
    return false;
}

void routes_dispatch(struct request *req)
{
    struct route_match m;
    enum route_result res = routes_match(req->method, req->path, &m);
    if (res == ROUTE_NO_PATH) {
        req->route_name = "unmatched";
        request_fail(req, P_NOT_FOUND, NULL);
        return;
    }
    const struct route *r = m.route;
    req->route_name = r->name;
    if (res == ROUTE_BAD_METHOD) {
        req->allow = m.allow;
        request_fail(req, P_METHOD_NOT_ALLOWED, NULL);
        return;
    }
    /* The raw segment: handlers validate it (an invite ID is a GUID, a token is base64url). */
    if (m.param)
        req->param = xstrndup(m.param, m.param_len);
    if (req->body_too_large) {
        request_fail(req, P_PAYLOAD_TOO_LARGE, NULL);
        return;
    }
    if ((r->flags & ROUTE_FORM_BODY) && !check_form(req, r->flags))
        return;
    if ((r->access != ROUTE_PUBLIC || (r->flags & ROUTE_JSON_BODY)) && !check_body(req))
        return;
    if (r->access != ROUTE_PUBLIC && !check_caller(req, r))
        return;
    /* Idempotency-Key guards every authenticated call that changes something. */
    bool changes = req->method != HTTP_GET && req->method != HTTP_HEAD;
    if (r->access != ROUTE_PUBLIC && changes && !(r->flags & ROUTE_READS_ONLY))
        api_idempotent(req, r->handler);
    else
        r->handler(req);
    if (!req->status && !req->finish) { /* a deferred handler answers in its finish */
        log_error("request %s: handler %s gave no answer", req->request_id, r->name);
        request_fail(req, P_INTERNAL, NULL);
    }
}

/* Liveness: the process answers; nothing else is checked. */
static void health_live(struct request *req)
{
    request_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* Readiness: the database answers. */
static void health_ready(struct request *req)
{
    if (store_ping(req->app->store) != SI_OK) {
        request_fail(req, P_UNAVAILABLE, NULL);
        return;
    }
    request_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}
