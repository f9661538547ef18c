/* Query Sites (docs/API.md §3.3.10): the key's account's sites in Wix's Site shape, with Wix's
 * query body (filter on id and name, sort on createdDate and displayName, cursor paging). An
 * account-level call: the router has checked the key, wix-account-id and site-users.read. */
#include "api/sites.h"

#include "api/api.h"

#include "api/validate.h"
#include "common/secure.h"
#include "common/xalloc.h"
#include "core/site_query.h"

#include <stdlib.h>
#include <string.h>

#define SITES_LOAD_MAX    10000 /* sites of one account a query considers */
#define SITES_CONTRIB_MAX 10000 /* contributor IDs listed per site */
#define SITES_CURSOR_MAX  8192  /* bytes of cursor text accepted */
#define SITES_CURSOR_JSON (SITES_CURSOR_MAX * 3 / 4 + 4)
#define FIELD_FILTER      "query.filter"
#define FIELD_SORT        "query.sort"
#define FIELD_LIMIT       "query.cursorPaging.limit"
#define FIELD_CURSOR      "query.cursorPaging.cursor"

/* One filter member ("id": "x", {"$eq": "x"} or {"$in": ["x", ...]}) into c. */
static void read_cond(const char *key, const json_t *v, struct site_cond *c, struct violations *vs)
{
    char field[VIOLATION_FIELD_MAX];
    validate_field_name(field, FIELD_FILTER ".%s", key);
    c->field = strcmp(key, "id") == 0 ? SITE_FIELD_ID : SITE_FIELD_NAME;
    c->n = 0;
    const json_t *in = NULL;
    if (json_is_object(v) && json_object_size(v) == 1 && json_object_get(v, "$eq"))
        v = json_object_get(v, "$eq");
    else if (json_is_object(v) && json_object_size(v) == 1 && json_object_get(v, "$in"))
        in = json_object_get(v, "$in");
    if (!in && json_is_string(v)) {
        c->values[c->n++] = json_string_value(v);
        return;
    }
    if (!in || !json_is_array(in) || json_array_size(in) > SITE_QUERY_VALUES_MAX) {
        violations_add(vs, field, RULE_OTHER,
                       "supports a string, {\"$eq\": s} or {\"$in\": [s]}"
                       " of at most %d strings",
                       SITE_QUERY_VALUES_MAX);
        return;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(in, i, e)
    {
        if (!json_is_string(e)) {
            violations_add(vs, field, RULE_FORMAT, "$in holds strings only");
            return;
        }
        c->values[c->n++] = json_string_value(e);
    }
}

static void read_filter(const json_t *f, struct site_query *q, struct violations *vs)
{
    if (!f || json_is_null(f))
        return;
    if (!json_is_object(f)) {
        validate_type_error(vs, FIELD_FILTER, "an object");
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)f, key, v)
    {
        if ((strcmp(key, "id") != 0 && strcmp(key, "name") != 0) ||
            q->ncond == SITE_QUERY_CONDS_MAX) {
            char field[VIOLATION_FIELD_MAX];
            validate_field_name(field, FIELD_FILTER ".%s", key);
            violations_add(vs, field, RULE_OTHER, "filters on id and name only");
            continue;
        }
        read_cond(key, v, &q->conds[q->ncond++], vs);
    }
}

static void read_sort(const json_t *s, struct site_query *q, struct violations *vs)
{
    q->sort = SITE_SORT_CREATED;
    q->desc = false;
    if (!s || json_is_null(s) || (json_is_array(s) && json_array_size(s) == 0))
        return;
    const json_t *e = json_is_array(s) && json_array_size(s) == 1 ? json_array_get(s, 0) : NULL;
    const json_t *name = e ? json_object_get(e, "fieldName") : NULL;
    const json_t *order = e ? json_object_get(e, "order") : NULL;
    const char *n = json_is_string(name) ? json_string_value(name) : "";
    const char *o = json_is_string(order) ? json_string_value(order) : "ASC";
    if ((strcmp(n, "createdDate") != 0 && strcmp(n, "displayName") != 0) ||
        (order && !json_is_string(order)) || (strcmp(o, "ASC") != 0 && strcmp(o, "DESC") != 0)) {
        violations_add(vs, FIELD_SORT, RULE_OTHER,
                       "one {fieldName: createdDate|displayName, order: ASC|DESC}");
        return;
    }
    q->sort = strcmp(n, "createdDate") == 0 ? SITE_SORT_CREATED : SITE_SORT_DISPLAY_NAME;
    q->desc = strcmp(o, "DESC") == 0;
}

/* A cursor is base64url of {"query": {"filter", "sort"}, "after": "<site id>"}: the next page
 * repeats the query it came from. It is not signed: it can only name the caller's own sites.
 * Returns the decoded JSON (caller decrefs) or NULL with a violation. */
static json_t *read_cursor(const json_t *c, struct violations *vs)
{
    size_t len = json_is_string(c) ? json_string_length(c) : 0, n = 0;
    char *raw = xmalloc(SITES_CURSOR_JSON);
    json_t *j = NULL;
    if (len && len <= SITES_CURSOR_MAX &&
        b64url_decode(json_string_value(c), len, raw, SITES_CURSOR_JSON, &n) == SI_OK)
        j = json_loadb(raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    const json_t *after = j ? json_object_get(j, "after") : NULL;
    if (!json_is_object(j) || !json_is_string(after) || !id_valid(json_string_value(after))) {
        json_decref(j);
        violations_add(vs, FIELD_CURSOR, RULE_FORMAT, "is not a cursor of this call");
        return NULL;
    }
    return j;
}

char *sites_cursor_new(const json_t *query, const char *after)
{
    json_t *j = json_pack("{s:O?, s:s}", "query", query, "after", after);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t n = strlen(text);
    char *out = xmalloc(b64url_len(n) + 1);
    b64url_encode(out, text, n);
    free(text);
    return out;
}

void sites_query_read(const json_t *body, struct site_query *q, json_t **source,
                      struct violations *vs)
{
    const json_t *query = body ? json_object_get(body, "query") : NULL;
    if (query && !json_is_object(query)) {
        validate_type_error(vs, "query", "an object");
        query = NULL;
    }
    const json_t *paging = query ? json_object_get(query, "cursorPaging") : NULL;
    const json_t *limit = paging ? json_object_get(paging, "limit") : NULL;
    const json_t *cur = paging ? json_object_get(paging, "cursor") : NULL;
    q->limit = SITE_QUERY_LIMIT_DEFAULT;
    if (limit && !json_is_null(limit)) {
        if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
            json_integer_value(limit) > SITE_QUERY_LIMIT_MAX)
            violations_add(vs, FIELD_LIMIT, RULE_MAX, "an integer from 1 to %d",
                           SITE_QUERY_LIMIT_MAX);
        else
            q->limit = (int)json_integer_value(limit);
    }
    json_t *from_cursor = NULL;
    if (cur && !json_is_null(cur)) {
        from_cursor = read_cursor(cur, vs);
        if (!from_cursor)
            return;
        memcpy(q->after_id, json_string_value(json_object_get(from_cursor, "after")), SI_ID_LEN);
        query = json_object_get(from_cursor, "query");
    }
    read_filter(query ? json_object_get(query, "filter") : NULL, q, vs);
    read_sort(query ? json_object_get(query, "sort") : NULL, q, vs);
    *source = json_object();
    if (query && json_object_get(query, "filter"))
        json_object_set(*source, "filter", json_object_get(query, "filter"));
    if (query && json_object_get(query, "sort"))
        json_object_set(*source, "sort", json_object_get(query, "sort"));
    /* q's values point into the cursor's filter object, which source now holds too. */
    json_decref(from_cursor);
}

/* Wix's Site: the fields we hold (docs/API.md §3.3.10); contributorAccountIds from the store. */
static enum si_err site_json(struct request *req, const struct site *s, json_t **out)
{
    struct contributor_row *rows = NULL;
    size_t n = 0;
    enum si_err rc = store_contributors_list(req->app->store, s->id, SITES_CONTRIB_MAX, &rows, &n);
    if (rc)
        return rc;
    char created[SI_TIME_TEXT_LEN];
    time_format(s->created, created);
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ids, json_string(rows[i].account_id));
    free(rows);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", s->id, "name", s->name, "displayName",
                     s->name, "createdDate", created, "ownerAccountId", s->account_id,
                     "contributorAccountIds", ids);
    return SI_OK;
}

void api_sites_query(struct request *req)
{
    struct violations vs = {.n = 0};
    struct site_query q;
    memset(&q, 0, sizeof q);
    struct site *sites = NULL;
    size_t n = 0, loaded = 0, first = 0, count = 0;
    bool has_next = false;
    json_t *source = NULL, *list = NULL;
    sites_query_read(validate_body_object(req->json, &vs), &q, &source, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        goto out;
    }
    enum si_err rc =
        store_account_sites(req->app->store, req->principal.account_id, SITES_LOAD_MAX, &sites, &n);
    loaded = n; /* site_query_run keeps every site in the array, the kept ones first */
    if (!rc)
        rc = site_query_run(sites, &n, &q, &first, &count, &has_next);
    if (rc == SI_ENOTFOUND) {
        request_fail_field(req, FIELD_CURSOR, RULE_FORMAT, "is not a cursor of this call");
        goto out;
    }
    list = json_array();
    for (size_t i = first; !rc && i < first + count; i++) {
        json_t *one = NULL;
        rc = site_json(req, &sites[i], &one);
        if (!rc)
            json_array_append_new(list, one);
    }
    if (rc) {
        request_fail_err(req, rc);
        goto out;
    }
    json_t *cursors = json_object();
    if (has_next) {
        char *next = sites_cursor_new(source, sites[first + count - 1].id);
        json_object_set_new(cursors, "next", json_string(next));
        free(next);
    }
    json_t *meta = json_pack("{s:I, s:o, s:b}", "count", (json_int_t)count, "cursors", cursors,
                             "hasNext", has_next);
    request_reply_json(req, 200, json_pack("{s:O, s:o}", "sites", list, "metadata", meta));
out:
    json_decref(list);
    json_decref(source);
    sites_free(sites, loaded);
}
