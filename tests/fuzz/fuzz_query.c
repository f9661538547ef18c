/* Fuzzes the Query Invites language and its cursors (api/query_parse.c). The first byte picks:
 *   0  a Query Invites body, parsed as the router parses bodies, then query_parse;
 *   1  the List Invites arguments "limit<US>cursor" (query_parse_args);
 *   2  any bytes as the JSON inside a cursor, sealed with the server secret, so the decoder
 *      behind the tag is reached (a client cannot forge one; a server of another version could
 *      have written it).
 * Whatever parses must be a query the store can run: limit 1..QUERY_LIMIT_MAX, at most
 * QUERY_CONDS_MAX conditions of at most QUERY_VALUES_MAX values each, known fields, operators
 * and sort. A body that parses must also survive its own cursor: the cursor of its next page
 * decodes to the same filter, sort, order and limit. */
#include "fuzz_support.h"

#include "api/query_parse.h"
#include "common/ids.h"
#include "http/routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE "48a9106a-c068-4e7e-aafc-afcc8c740a6c"

static uint8_t secret[SECURE_KEY_LEN];
static const struct query_scope scope = {.site_id = SITE, .secret = secret};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(0xA5 ^ i);
    return 0;
}

static void check_query(const struct invite_query *q)
{
    fuzz_check(q->limit >= 1 && q->limit <= QUERY_LIMIT_MAX, "limit within 1..QUERY_LIMIT_MAX");
    fuzz_check(q->offset >= 0 && q->offset <= QUERY_OFFSET_MAX, "offset within its bound");
    fuzz_check(q->ncond >= 0 && q->ncond <= QUERY_CONDS_MAX, "conditions within their cap");
    fuzz_check(q->sort >= SORT_DATE_CREATED && q->sort <= SORT_STATUS, "a known sort");
    for (int i = 0; i < q->ncond; i++) {
        const struct query_cond *c = &q->conds[i];
        fuzz_check(c->field >= QF_STATUS && c->field <= QF_DATE_CREATED, "a known field");
        fuzz_check(c->op >= QOP_EQ && c->op <= QOP_HAS_SOME, "a known operator");
        fuzz_check(c->n >= 0 && c->n <= QUERY_VALUES_MAX, "values within their cap");
        for (int j = 0; j < c->n; j++)
            fuzz_check(c->values[j] != NULL, "every counted value is there");
    }
}

static bool same_query(const struct invite_query *a, const struct invite_query *b)
{
    if (a->ncond != b->ncond || a->sort != b->sort || a->desc != b->desc || a->limit != b->limit)
        return false;
    for (int i = 0; i < a->ncond; i++) {
        const struct query_cond *x = &a->conds[i], *y = &b->conds[i];
        if (x->field != y->field || x->op != y->op || x->n != y->n)
            return false;
        for (int j = 0; j < x->n; j++)
            if (x->field == QF_DATE_CREATED ? x->times[j] != y->times[j]
                                            : strcmp(x->values[j], y->values[j]) != 0)
                return false;
    }
    return true;
}

/* The cursor of the page after one ending with a plausible invite decodes to the same query. */
static void round_trip(const struct invite_query *q)
{
    struct invite last;
    memset(&last, 0, sizeof last);
    memcpy(last.id, "019a4b2e-9c3d-7e10-8a42-5b6c7d8e9f01", SI_ID_LEN);
    memcpy(last.site_id, SITE, SI_ID_LEN);
    snprintf(last.email, sizeof last.email, "%s", "Ada@example.com");
    snprintf(last.email_key, sizeof last.email_key, "%s", "ada@example.com");
    last.status = INVITE_PENDING;
    last.created = 1795669542123;
    last.expires = last.created + 86400000;
    char *cursor = query_cursor_next(q, &last, last.created, &scope);
    struct invite_query back;
    memset(&back, 0, sizeof back);
    struct violations vs = {.n = 0};
    fuzz_check(strlen(cursor) <= QUERY_CURSOR_MAX, "a query's cursor fits QUERY_CURSOR_MAX");
    fuzz_check(query_parse_args(NULL, cursor, &scope, &back, &vs) == SI_OK,
               "our own cursor is accepted");
    fuzz_check(same_query(q, &back) && back.has_after && strcmp(back.after_id, last.id) == 0,
               "a cursor carries its query");
    invite_query_cleanup(&back);
    free(cursor);
}

static void body(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    if (!routes_json_depth_ok(text, size, JSON_DEPTH_MAX))
        return;
    json_t *json = size ? json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (size && !json)
        return;
    struct invite_query q;
    memset(&q, 0, sizeof q);
    struct violations vs = {.n = 0};
    bool offset_paging = false;
    enum si_err rc = query_parse(json, &scope, &q, &offset_paging, &vs);
    fuzz_check((rc == SI_OK) == (vs.n == 0), "refused exactly when a violation is recorded");
    if (rc == SI_OK) {
        check_query(&q);
        if (!offset_paging)
            round_trip(&q);
    }
    invite_query_cleanup(&q);
    json_decref(json);
}

static void args(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size};
    char *limit = fuzz_string(&r, NULL);
    char *cursor = fuzz_string(&r, NULL);
    struct invite_query q;
    memset(&q, 0, sizeof q);
    struct violations vs = {.n = 0};
    if (query_parse_args(limit[0] ? limit : NULL, cursor[0] ? cursor : NULL, &scope, &q, &vs) ==
        SI_OK)
        check_query(&q);
    invite_query_cleanup(&q);
    free(limit);
    free(cursor);
}

static void sealed(const uint8_t *data, size_t size)
{
    char *cursor = query_cursor_seal((const char *)data, size, &scope);
    struct invite_query q;
    memset(&q, 0, sizeof q);
    struct violations vs = {.n = 0};
    if (query_parse_args(NULL, cursor, &scope, &q, &vs) == SI_OK)
        check_query(&q);
    invite_query_cleanup(&q);
    free(cursor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        body(data + 1, size - 1);
        break;
    case 1:
        args(data + 1, size - 1);
        break;
    default:
        sealed(data + 1, size - 1);
        break;
    }
    return 0;
}
