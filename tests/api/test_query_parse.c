/* Unit tests of Query Invites parsing and cursors (api/query_parse.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/query_parse.h"
#include "fakes.h"

#include <stdlib.h>
#include <string.h>

#define SITE_A  "2f1c0a52-6a3b-4d6e-9f10-0123456789ab"
#define SITE_B  "9a8b7c6d-0000-4111-8222-333344445555"
#define LAST_ID "7d9e4c1a-1b2c-4d3e-8f40-aabbccddeeff"

static uint8_t secret[SECURE_KEY_LEN];
static struct query_scope scope_a = {.site_id = SITE_A, .secret = secret};

/* Parsed query and violations of one test, released by the teardown. */
static struct invite_query q;
static struct violations vs;
static bool offset_paging;

static int setup(void **state)
{
    (void)state;
    memset(secret, 0x42, sizeof secret);
    memset(&q, 0, sizeof q);
    memset(&vs, 0, sizeof vs);
    offset_paging = false;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    invite_query_cleanup(&q);
    return 0;
}

/* Parses JSON text; returns the parser's result. */
static enum si_err parse_text(const char *text)
{
    json_error_t err;
    json_t *body = json_loads(text, 0, &err);
    if (!body)
        fail_msg("bad test JSON: %s", err.text);
    enum si_err rc = query_parse(body, &scope_a, &q, &offset_paging, &vs);
    json_decref(body);
    return rc;
}

static void expect_violation(const char *field, enum violation_rule rule)
{
    for (int i = 0; i < vs.n && i < VIOLATIONS_MAX; i++)
        if (strcmp(vs.v[i].field, field) == 0) {
            assert_int_equal(vs.v[i].rule, rule);
            return;
        }
    fail_msg("no violation on %s (have %d, first %s)", field, vs.n, vs.n ? vs.v[0].field : "-");
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(query_parse(NULL, &scope_a, &q, &offset_paging, &vs), SI_OK);
    assert_int_equal(q.ncond, 0);
    assert_int_equal(q.sort, SORT_DATE_CREATED);
    assert_true(q.desc);
    assert_int_equal(q.limit, QUERY_LIMIT_DEFAULT);
    assert_false(q.has_after);
    assert_false(offset_paging);
    assert_int_equal(parse_text("{\"query\": {}}"), SI_OK);
    assert_int_equal(vs.n, 0);
}

static void test_every_operator(void **state)
{
    (void)state;
    assert_int_equal(
        parse_text("{\"query\": {\"filter\": {"
                   "\"status\": {\"$in\": [\"Pending\", \"Expired\"], \"$ne\": \"Used\"},"
                   "\"email\": \"Ann@Example.COM\","
                   "\"acceptedByAccountId\": {\"$eq\": \"7D9E4C1A-1B2C-4D3E-8F40-AABBCCDDEEFF\"},"
                   "\"policyIds\": {\"$hasSome\": [\"1000000000000000001\"]},"
                   "\"dateCreated\": {\"$gt\": \"2026-01-01T00:00:00Z\","
                   " \"$gte\": \"2026-01-01T00:00:00.001Z\", \"$lt\": \"2027-01-01T00:00:00Z\","
                   " \"$lte\": \"2027-01-01T00:00:00+01:00\"}}}}"),
        SI_OK);
    assert_int_equal(q.ncond, 9);
    assert_int_equal(q.conds[0].field, QF_STATUS);
    assert_int_equal(q.conds[0].op, QOP_IN);
    assert_int_equal(q.conds[0].n, 2);
    assert_string_equal(q.conds[0].values[1], "Expired");
    assert_int_equal(q.conds[1].op, QOP_NE);
    assert_int_equal(q.conds[2].field, QF_EMAIL);
    assert_int_equal(q.conds[2].op, QOP_EQ);
    assert_string_equal(q.conds[2].values[0], "ann@example.com"); /* the comparison key */
    assert_int_equal(q.conds[3].field, QF_ACCEPTED_BY);
    assert_string_equal(q.conds[3].values[0], LAST_ID); /* normalised to lowercase */
    assert_int_equal(q.conds[4].op, QOP_HAS_SOME);
    assert_int_equal(q.conds[5].op, QOP_GT);
    assert_int_equal(q.conds[5].times[0], (si_ms)1767225600000);
    assert_int_equal(q.conds[6].op, QOP_GTE);
    assert_int_equal(q.conds[6].times[0], (si_ms)1767225600001);
    assert_int_equal(q.conds[7].op, QOP_LT);
    assert_int_equal(q.conds[8].op, QOP_LTE);
    assert_int_equal(q.conds[8].times[0], (si_ms)1798761600000 - 3600000);
}

static void test_policy_forms(void **state)
{
    (void)state;
    /* A bare ID or $in means "has any of"; a bare array or $eq/$ne compare the exact set. */
    assert_int_equal(parse_text("{\"filter\": {\"policyIds\": \"1000000000000000002\","
                                "\"$and\": [{\"policyIds\": {\"$in\": [\"a\", \"b\"]}},"
                                "{\"policyIds\": [\"a\", \"b\"]},"
                                "{\"policyIds\": {\"$ne\": \"c\"}}]}}"),
                     SI_OK);
    assert_int_equal(q.ncond, 4);
    assert_int_equal(q.conds[0].op, QOP_HAS_SOME);
    assert_int_equal(q.conds[0].n, 1);
    assert_string_equal(q.conds[0].values[0], "1000000000000000002");
    assert_int_equal(q.conds[1].op, QOP_HAS_SOME);
    assert_int_equal(q.conds[1].n, 2);
    assert_int_equal(q.conds[2].op, QOP_EQ);
    assert_int_equal(q.conds[2].n, 2);
    assert_int_equal(q.conds[3].op, QOP_NE);
    assert_int_equal(q.conds[3].n, 1);
}

static void test_sort_keys(void **state)
{
    (void)state;
    struct invite inv;
    memset(&inv, 0, sizeof inv);
    snprintf(inv.email, sizeof inv.email, "Ann@Example.com");
    snprintf(inv.email_key, sizeof inv.email_key, "ann@example.com");
    inv.created = 1234;
    inv.status = INVITE_PENDING;
    inv.expires = FAKE_NOW;
    char key[64];
    query_sort_key(SORT_DATE_CREATED, &inv, FAKE_NOW, key, sizeof key);
    assert_string_equal(key, "1234");
    query_sort_key(SORT_EMAIL, &inv, FAKE_NOW, key, sizeof key);
    assert_string_equal(key, "ann@example.com");
    query_sort_key(SORT_STATUS, &inv, FAKE_NOW - 1, key, sizeof key);
    assert_string_equal(key, "Pending");
    query_sort_key(SORT_STATUS, &inv, FAKE_NOW, key, sizeof key); /* lazily expired */
    assert_string_equal(key, "Expired");
}

static void test_and_flattens(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"filter\": {\"$and\": ["
                                "{\"status\": \"Pending\"},"
                                "{\"$and\": [{\"email\": {\"$in\": [\"a@b.co\"]}}]},"
                                "{\"dateCreated\": {\"$lt\": \"2030-01-01T00:00:00Z\"}}]}}}"),
                     SI_OK);
    assert_int_equal(q.ncond, 3);
    assert_int_equal(q.conds[0].field, QF_STATUS);
    assert_int_equal(q.conds[1].field, QF_EMAIL);
    assert_int_equal(q.conds[2].field, QF_DATE_CREATED);
}

static void test_unsupported_logic(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"filter\": {\"$or\": [{\"status\": \"Used\"}],"
                                "\"$not\": {\"status\": \"Used\"}}}}"),
                     SI_EINVAL);
    expect_violation("query.filter.$or", RULE_OTHER);
    expect_violation("query.filter.$not", RULE_OTHER);
    assert_int_equal(vs.n, 2);
}

static void test_unknown_field_and_operator(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"filter\": {\"color\": \"red\","
                                "\"status\": {\"$like\": \"P%\"}, \"email\": {\"$gt\": \"a\"}}}}"),
                     SI_EINVAL);
    expect_violation("query.filter.color", RULE_OTHER);
    expect_violation("query.filter.status.$like", RULE_OTHER);
    expect_violation("query.filter.email.$gt", RULE_OTHER); /* operator not for this field */
    /* A client's key is echoed in the field name with its control characters neutralised. */
    memset(&vs, 0, sizeof vs);
    assert_int_equal(parse_text("{\"filter\": {\"a\\nb\\u0001\": 1}}"), SI_EINVAL);
    expect_violation("filter.a?b?", RULE_OTHER);
}

static void test_bad_values(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"filter\": {"
                                "\"status\": {\"$in\": [\"Pending\", \"Lost\"]},"
                                "\"acceptedByAccountId\": \"not-a-guid\","
                                "\"email\": \"no at sign\","
                                "\"dateCreated\": {\"$gt\": \"yesterday\"},"
                                "\"policyIds\": {\"$hasSome\": []}}}}"),
                     SI_EINVAL);
    expect_violation("query.filter.status.$in[1]", RULE_INVALID_ENUM_VALUE);
    expect_violation("query.filter.acceptedByAccountId", RULE_FORMAT);
    expect_violation("query.filter.email", RULE_FORMAT);
    expect_violation("query.filter.dateCreated.$gt", RULE_FORMAT);
    expect_violation("query.filter.policyIds.$hasSome", RULE_MIN);
    assert_int_equal(vs.n, 5); /* every problem, not just the first */

    struct violations vs2 = {.n = 0};
    struct invite_query q2;
    memset(&q2, 0, sizeof q2);
    json_t *b = json_pack("{s:{s:s}}", "filter", "status", "pending"); /* case matters */
    assert_int_equal(query_parse(b, &scope_a, &q2, &offset_paging, &vs2), SI_EINVAL);
    assert_string_equal(vs2.v[0].field, "filter.status");
    assert_int_equal(vs2.v[0].rule, RULE_INVALID_ENUM_VALUE);
    invite_query_cleanup(&q2);
    json_decref(b);
}

static void test_condition_limits(void **state)
{
    (void)state;
    json_t *and = json_array();
    for (int i = 0; i < QUERY_CONDS_MAX + 1; i++)
        json_array_append_new(and, json_pack("{s:s}", "status", "Pending"));
    json_t *body = json_pack("{s:{s:o}}", "filter", "$and", and);
    assert_int_equal(query_parse(body, &scope_a, &q, &offset_paging, &vs), SI_EINVAL);
    expect_violation("filter.$and[16].status", RULE_MAX_SIZE);
    json_decref(body);

    json_t *many = json_array();
    for (int i = 0; i < QUERY_VALUES_MAX + 1; i++)
        json_array_append_new(many, json_string("Pending"));
    struct violations vs2 = {.n = 0};
    struct invite_query q2;
    memset(&q2, 0, sizeof q2);
    body = json_pack("{s:{s:{s:o}}}", "filter", "status", "$in", many);
    assert_int_equal(query_parse(body, &scope_a, &q2, &offset_paging, &vs2), SI_EINVAL);
    assert_string_equal(vs2.v[0].field, "filter.status.$in");
    assert_int_equal(vs2.v[0].rule, RULE_MAX_SIZE);
    invite_query_cleanup(&q2);
    json_decref(body);
}

static void test_sort(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"sort\": [{\"fieldName\": \"email\"}]}}"), SI_OK);
    assert_int_equal(q.sort, SORT_EMAIL);
    assert_false(q.desc); /* ASC unless told */
    invite_query_cleanup(&q);
    memset(&q, 0, sizeof q);
    assert_int_equal(parse_text("{\"sort\": {\"fieldName\": \"status\", \"order\": \"DESC\"}}"),
                     SI_OK);
    assert_int_equal(q.sort, SORT_STATUS);
    assert_true(q.desc);
    invite_query_cleanup(&q);
    memset(&q, 0, sizeof q);
    assert_int_equal(parse_text("{\"query\": {\"sort\": [{\"fieldName\": \"email\"},"
                                "{\"fieldName\": \"status\"}]}}"),
                     SI_EINVAL);
    expect_violation("query.sort", RULE_MAX_SIZE);
    memset(&vs, 0, sizeof vs);
    assert_int_equal(
        parse_text("{\"query\": {\"sort\": [{\"fieldName\": \"id\", \"order\": \"UP\"}]}}"),
        SI_EINVAL);
    expect_violation("query.sort[0].fieldName", RULE_INVALID_ENUM_VALUE);
    expect_violation("query.sort[0].order", RULE_INVALID_ENUM_VALUE);
}

static void test_limits_and_paging(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"cursorPaging\": {\"limit\": 100}}}"), SI_OK);
    assert_int_equal(q.limit, 100);
    assert_false(offset_paging);
    assert_int_equal(parse_text("{\"query\": {\"paging\": {\"limit\": 1, \"offset\": 20}}}"),
                     SI_OK);
    assert_int_equal(q.limit, 1);
    assert_int_equal(q.offset, 20);
    assert_true(offset_paging);
    assert_int_equal(parse_text("{\"query\": {\"cursorPaging\": {\"limit\": 0}}}"), SI_EINVAL);
    expect_violation("query.cursorPaging.limit", RULE_MIN);
    assert_int_equal(parse_text("{\"query\": {\"paging\": {\"limit\": 101, \"offset\": -1}}}"),
                     SI_EINVAL);
    expect_violation("query.paging.limit", RULE_MAX);
    expect_violation("query.paging.offset", RULE_MIN);
    memset(&vs, 0, sizeof vs);
    assert_int_equal(parse_text("{\"query\": {\"cursorPaging\": {\"limit\": \"10\"}}}"), SI_EINVAL);
    expect_violation("query.cursorPaging.limit", RULE_FORMAT);
    memset(&vs, 0, sizeof vs);
    assert_int_equal(parse_text("{\"query\": {\"cursorPaging\": {}, \"paging\": {}}}"), SI_EINVAL);
    expect_violation("query.paging", RULE_OTHER);
}

/* A last row to build a cursor from. */
static void last_row(struct invite *inv)
{
    memset(inv, 0, sizeof *inv);
    snprintf(inv->id, sizeof inv->id, "%s", LAST_ID);
    snprintf(inv->email, sizeof inv->email, "Zoe@example.com");
    snprintf(inv->email_key, sizeof inv->email_key, "zoe@example.com");
    inv->created = FAKE_NOW;
    inv->status = INVITE_PENDING;
}

/* Parses {"query": {"cursorPaging": {"cursor": c, "limit"?: limit}}} into a fresh q. */
static enum si_err parse_cursor(const char *c, int limit, const struct query_scope *scope)
{
    invite_query_cleanup(&q);
    memset(&q, 0, sizeof q);
    memset(&vs, 0, sizeof vs);
    json_t *cp = json_pack("{s:s}", "cursor", c);
    if (limit)
        json_object_set_new(cp, "limit", json_integer(limit));
    json_t *body =
        json_pack("{s:{s:o, s:{s:s}}}", "query", "cursorPaging", cp, "filter", "status", "Used");
    enum si_err rc = query_parse(body, scope, &q, &offset_paging, &vs);
    json_decref(body);
    return rc;
}

static void test_cursor_round_trip(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"filter\": {\"status\": \"Pending\","
                                "\"dateCreated\": {\"$gte\": \"2026-01-01T00:00:00Z\"}},"
                                "\"sort\": [{\"fieldName\": \"email\", \"order\": \"DESC\"}],"
                                "\"cursorPaging\": {\"limit\": 7}}}"),
                     SI_OK);
    struct invite last;
    last_row(&last);
    char *c = query_cursor_next(&q, &last, FAKE_NOW, &scope_a);
    /* base64url only: safe in a URL and a JSON string without escaping. */
    assert_int_equal(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     strlen(c));
    /* The filter in the body (status Used) is ignored: the cursor carries the query. */
    assert_int_equal(parse_cursor(c, 0, &scope_a), SI_OK);
    assert_int_equal(q.ncond, 2);
    assert_int_equal(q.conds[0].field, QF_STATUS);
    assert_string_equal(q.conds[0].values[0], "Pending");
    assert_int_equal(q.conds[1].field, QF_DATE_CREATED);
    assert_int_equal(q.conds[1].op, QOP_GTE);
    assert_int_equal(q.conds[1].times[0], (si_ms)1767225600000);
    assert_int_equal(q.sort, SORT_EMAIL);
    assert_true(q.desc);
    assert_int_equal(q.limit, 7);
    assert_true(q.has_after);
    assert_string_equal(q.after_key, "zoe@example.com"); /* the store sorts by the key */
    assert_string_equal(q.after_id, LAST_ID);
    /* A limit next to the cursor changes only the page size. */
    assert_int_equal(parse_cursor(c, 3, &scope_a), SI_OK);
    assert_int_equal(q.limit, 3);
    assert_int_equal(q.ncond, 2);
    free(c);
}

static void test_cursor_date_key(void **state)
{
    (void)state;
    assert_int_equal(query_parse(NULL, &scope_a, &q, &offset_paging, &vs), SI_OK);
    struct invite last;
    last_row(&last);
    char *c = query_cursor_next(&q, &last, FAKE_NOW, &scope_a);
    assert_int_equal(parse_cursor(c, 0, &scope_a), SI_OK);
    assert_string_equal(q.after_key, "1795669542123"); /* decimal milliseconds */
    assert_int_equal(q.limit, QUERY_LIMIT_DEFAULT);
    free(c);
}

static void test_cursor_refusals(void **state)
{
    (void)state;
    assert_int_equal(parse_text("{\"query\": {\"filter\": {\"status\": \"Pending\"}}}"), SI_OK);
    struct invite last;
    last_row(&last);
    char *c = query_cursor_next(&q, &last, FAKE_NOW, &scope_a);
    size_t len = strlen(c);
    /* Every single-character change is caught by the tag (or the encoding). */
    for (size_t i = 0; i < len; i += 7) {
        char saved = c[i];
        c[i] = saved == 'A' ? 'B' : 'A';
        assert_int_equal(parse_cursor(c, 0, &scope_a), SI_EINVAL);
        expect_violation("query.cursorPaging.cursor", RULE_FORMAT);
        c[i] = saved;
    }
    /* Another site, or another server secret, does not accept it. */
    struct query_scope scope_b = {.site_id = SITE_B, .secret = secret};
    assert_int_equal(parse_cursor(c, 0, &scope_b), SI_EINVAL);
    uint8_t other_secret[SECURE_KEY_LEN];
    memset(other_secret, 0x43, sizeof other_secret);
    struct query_scope scope_c = {.site_id = SITE_A, .secret = other_secret};
    assert_int_equal(parse_cursor(c, 0, &scope_c), SI_EINVAL);
    /* Truncated, garbage, empty-ish and over-long cursors are refused. */
    c[len / 2] = '\0';
    assert_int_equal(parse_cursor(c, 0, &scope_a), SI_EINVAL);
    assert_int_equal(parse_cursor("!!!", 0, &scope_a), SI_EINVAL);
    assert_int_equal(parse_cursor("", 0, &scope_a), SI_EINVAL);
    char *huge = malloc(QUERY_CURSOR_MAX + 2);
    memset(huge, 'A', QUERY_CURSOR_MAX + 1);
    huge[QUERY_CURSOR_MAX + 1] = '\0';
    assert_int_equal(parse_cursor(huge, 0, &scope_a), SI_EINVAL);
    free(huge);
    free(c);
    /* Still valid for the site it was made for. */
    c = query_cursor_next(&q, &last, FAKE_NOW, &scope_a);
    assert_int_equal(parse_cursor(c, 0, &scope_a), SI_OK);
    free(c);
}

/* A sealed cursor is judged by its JSON once the tag holds: ours decodes, a version, site,
 * limit or condition out of range is refused, and so is anything that is not the cursor shape. */
static void test_sealed_cursor_json(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "{}",
        "[]",
        "{\"v\":2,\"s\":\"" SITE_A "\",\"f\":[],\"o\":0,\"d\":true,\"l\":5,\"k\":\"1\","
        "\"i\":\"" LAST_ID "\"}",
        "{\"v\":1,\"s\":\"" SITE_B "\",\"f\":[],\"o\":0,\"d\":true,\"l\":5,\"k\":\"1\","
        "\"i\":\"" LAST_ID "\"}",
        "{\"v\":1,\"s\":\"" SITE_A "\",\"f\":[],\"o\":0,\"d\":true,\"l\":101,\"k\":\"1\","
        "\"i\":\"" LAST_ID "\"}",
        "{\"v\":1,\"s\":\"" SITE_A "\",\"f\":[[9,0,[]]],\"o\":0,\"d\":true,\"l\":5,"
        "\"k\":\"1\",\"i\":\"" LAST_ID "\"}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *c = query_cursor_seal(refused[i], strlen(refused[i]), &scope_a);
        assert_int_equal(parse_cursor(c, 0, &scope_a), SI_EINVAL);
        free(c);
    }
    const char *ok = "{\"v\":1,\"s\":\"" SITE_A "\",\"f\":[[0,0,[\"Pending\"]]],\"o\":1,"
                     "\"d\":false,\"l\":7,\"k\":\"ada@example.com\",\"i\":\"" LAST_ID "\"}";
    char *c = query_cursor_seal(ok, strlen(ok), &scope_a);
    assert_int_equal(parse_cursor(c, 0, &scope_a), SI_OK);
    assert_int_equal(q.limit, 7);
    assert_int_equal(q.ncond, 1);
    assert_string_equal(q.after_key, "ada@example.com");
    free(c);
}

static void test_large_cursor(void **state)
{
    (void)state;
    /* 100 email values make a cursor of several KiB (b64url_decode once refused past 180 bytes). */
    json_t *in = json_array();
    for (int i = 0; i < QUERY_VALUES_MAX; i++)
        json_array_append_new(in, json_sprintf("person%03d@example.com", i));
    json_t *body = json_pack("{s:{s:{s:o}}}", "filter", "email", "$in", in);
    assert_int_equal(query_parse(body, &scope_a, &q, &offset_paging, &vs), SI_OK);
    json_decref(body);
    struct invite last;
    last_row(&last);
    char *c = query_cursor_next(&q, &last, FAKE_NOW, &scope_a);
    assert_true(strlen(c) > 2000);
    assert_int_equal(parse_cursor(c, 0, &scope_a), SI_OK);
    assert_int_equal(q.ncond, 1);
    assert_int_equal(q.conds[0].n, QUERY_VALUES_MAX);
    assert_string_equal(q.conds[0].values[99], "person099@example.com");
    free(c);
}

static void test_list_args(void **state)
{
    (void)state;
    assert_int_equal(query_parse_args(NULL, NULL, &scope_a, &q, &vs), SI_OK);
    assert_int_equal(q.limit, QUERY_LIMIT_DEFAULT);
    assert_int_equal(query_parse_args("10", NULL, &scope_a, &q, &vs), SI_OK);
    assert_int_equal(q.limit, 10);
    static const char *const bad[] = {"0", "101", "abc", "", "5x", "-3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct violations v2 = {.n = 0};
        assert_int_equal(query_parse_args(bad[i], NULL, &scope_a, &q, &v2), SI_EINVAL);
        assert_string_equal(v2.v[0].field, "limit");
    }
    struct invite last;
    last_row(&last);
    char *c = query_cursor_next(&q, &last, FAKE_NOW, &scope_a);
    invite_query_cleanup(&q);
    memset(&q, 0, sizeof q);
    assert_int_equal(query_parse_args("5", c, &scope_a, &q, &vs), SI_OK);
    assert_true(q.has_after);
    assert_int_equal(q.limit, 5);
    struct violations v3 = {.n = 0};
    c[3] ^= 1;
    invite_query_cleanup(&q);
    memset(&q, 0, sizeof q);
    assert_int_equal(query_parse_args(NULL, c, &scope_a, &q, &v3), SI_EINVAL);
    assert_string_equal(v3.v[0].field, "cursor");
    assert_int_equal(v3.v[0].rule, RULE_FORMAT);
    free(c);
}

static void test_body_shapes(void **state)
{
    (void)state;
    assert_int_equal(parse_text("[]"), SI_EINVAL);
    expect_violation("body", RULE_FORMAT);
    memset(&vs, 0, sizeof vs);
    assert_int_equal(parse_text("{\"query\": 3}"), SI_EINVAL);
    expect_violation("query", RULE_FORMAT);
    memset(&vs, 0, sizeof vs);
    assert_int_equal(parse_text("{\"query\": {\"filter\": []}}"), SI_EINVAL);
    expect_violation("query.filter", RULE_FORMAT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults),          T(test_every_operator),     T(test_policy_forms),
        T(test_and_flattens),      T(test_unsupported_logic),  T(test_unknown_field_and_operator),
        T(test_bad_values),        T(test_condition_limits),   T(test_sort),
        T(test_limits_and_paging), T(test_cursor_round_trip),  T(test_cursor_date_key),
        T(test_cursor_refusals),   T(test_sealed_cursor_json), T(test_large_cursor),
        T(test_list_args),         T(test_body_shapes),        T(test_sort_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
