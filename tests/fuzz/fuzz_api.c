/* Fuzzes the request JSON validation of the API: the body is parsed as the router parses it
 * (depth scan, then jansson with duplicate keys refused), then the first byte picks an endpoint
 * and the body goes through the validators that endpoint runs on the members it reads
 * (api/validate.c, core/email.c). The answer a client would get is rendered too
 * (request_fail_validation), and checked:
 *   - every violation's field and description are NUL-terminated within their arrays;
 *   - the 400 answer is valid JSON with validationError.fieldViolations, one per kept violation;
 *   - a value a validator accepts obeys its contract: policy and location IDs within their caps,
 *     no repeats, locations lowercase GUIDs, a purpose of valid UTF-8 within its length, a
 *     language tag that lang_tag_valid accepts, expiresInDays within its bounds.
 * Query Sites' body and cursor are read by sites_query_read (api/sites.h). Role titles are
 * judged in roles.c's static code, reached here through the helpers it uses; the query
 * language has its own target (fuzz_query). */
#include "fuzz_support.h"

#include "api/sites.h"
#include "api/validate.h"
#include "common/ids.h"
#include "core/email.h"
#include "core/lang.h"
#include "core/roles.h"
#include "http/routes.h"
#include "request/request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two custom roles of the caller's account, as the store would load them. */
static struct role custom[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(custom[0].id, sizeof custom[0].id, "%s", "0b5f3a4e-6c2d-4e8f-9a1b-2c3d4e5f6a7b");
    snprintf(custom[0].title, sizeof custom[0].title, "%s", "Editor of the blog");
    snprintf(custom[1].id, sizeof custom[1].id, "%s", "1c6a4b5f-7d3e-4f9a-8b2c-3d4e5f6a7b8c");
    snprintf(custom[1].title, sizeof custom[1].title, "%s", "Shop helper");
    return 0;
}

static bool known_role(const char *id)
{
    if (roles_find_predefined(id))
        return true;
    for (size_t i = 0; i < 2; i++)
        if (strcmp(custom[i].id, id) == 0)
            return true;
    return false;
}

/* A policy or location list a validator accepted: within its cap, no repeats. */
static void check_list(const struct policy_list *l, bool guids)
{
    fuzz_check(l->n >= 0 && l->n <= SI_POLICIES_MAX, "an accepted list is within its cap");
    for (int i = 0; i < l->n; i++) {
        fuzz_check(strnlen(l->ids[i], SI_POLICY_ID_MAX) < SI_POLICY_ID_MAX, "IDs end in NUL");
        for (int j = 0; j < i; j++)
            fuzz_check(strcmp(l->ids[i], l->ids[j]) != 0, "an accepted list has no repeats");
        if (guids) {
            char norm[SI_ID_LEN];
            fuzz_check(id_normalize(l->ids[i], norm) && strcmp(norm, l->ids[i]) == 0,
                       "accepted locations are lowercase GUIDs");
        } else {
            fuzz_check(known_role(l->ids[i]), "accepted policy IDs name roles");
        }
    }
}

static void policies(const json_t *body, const char *name, bool required, struct violations *vs)
{
    struct policy_list l = {.n = 0};
    const json_t *v = body ? json_object_get(body, name) : NULL;
    if (validate_policy_ids(v, name, required, custom, 2, &l, vs))
        check_list(&l, false);
}

static void locations(const json_t *body, const char *name, struct violations *vs)
{
    struct policy_list l = {.n = 0};
    if (validate_location_ids(body ? json_object_get(body, name) : NULL, name, &l, vs))
        check_list(&l, true);
}

/* The members Bulk Invite and Create One share (api/bulk.c bulk_fields_read). */
static void create_fields(const json_t *body, bool allow_staff, struct violations *vs)
{
    policies(body, "policyIds", true, vs);
    if (!body)
        return;
    char *purpose = NULL;
    if (validate_purpose(json_object_get(body, "invitePurpose"), "invitePurpose", &purpose, vs) &&
        purpose) {
        size_t chars = 0;
        fuzz_check(validate_utf8_count(purpose, strlen(purpose), &chars) &&
                       chars <= SI_PURPOSE_MAX_CHARS,
                   "an accepted purpose is UTF-8 within its length");
    }
    free(purpose);
    char lang[SI_LANG_MAX] = "";
    if (validate_language(json_object_get(body, "defaultEmailLanguage"), "defaultEmailLanguage",
                          lang, vs) &&
        lang[0])
        fuzz_check(lang_tag_valid(lang), "an accepted language is a language tag");
    int days = 0;
    if (validate_expires_days(json_object_get(body, "expiresInDays"), "expiresInDays", &days, vs))
        fuzz_check(days == 0 ||
                       (days >= VALIDATE_EXPIRES_DAYS_MIN && days <= VALIDATE_EXPIRES_DAYS_MAX),
                   "expiresInDays within its bounds");
    bool dry = false;
    validate_bool(json_object_get(body, "dryRun"), "dryRun", &dry, vs);
    locations(body, "locationIds", vs);
    if (allow_staff) {
        char staff[SI_STAFF_ID_MAX];
        bool present = false;
        validate_staff_id(json_object_get(body, "staffId"), "staffId", staff, &present, vs);
    }
}

/* One email as the create paths judge it. */
static void email(const json_t *v, const char *field, struct violations *vs)
{
    char out[SI_EMAIL_MAX + 1], key[SI_EMAIL_MAX + 1];
    if (!json_is_string(v)) {
        validate_type_error(vs, field, "a string");
        return;
    }
    enum email_verdict verdict = email_check(json_string_value(v), json_string_length(v), out, key);
    if (verdict != EMAIL_OK)
        violations_add(vs, field, RULE_FORMAT, "%s", email_verdict_str(verdict));
}

static void create_one(const json_t *body, struct violations *vs)
{
    email(body ? json_object_get(body, "email") : NULL, "email", vs);
    create_fields(body, true, vs);
}

static void bulk(const json_t *body, struct violations *vs)
{
    const json_t *emails = body ? json_object_get(body, "emails") : NULL;
    size_t i;
    const json_t *e;
    json_array_foreach(emails, i, e)
    {
        char field[VIOLATION_FIELD_MAX];
        validate_field_name(field, "emails[%zu]", i);
        email(e, field, vs);
    }
    create_fields(body, false, vs);
}

/* Update: top-level members or the Wix {invite: {...}, fieldMask} shape. */
static void update(const json_t *body, struct violations *vs)
{
    const json_t *inner = body ? json_object_get(body, "invite") : NULL;
    const json_t *src = json_is_object(inner) ? inner : body;
    policies(src, "policyIds", false, vs);
    char staff[SI_STAFF_ID_MAX];
    bool present = false;
    if (src && validate_staff_id(json_object_get(src, "staffId"), "staffId", staff, &present, vs))
        fuzz_check(!present || strnlen(staff, sizeof staff) < sizeof staff, "staffId ends in NUL");
}

/* Change Role: newRoles [{roleId}] judged as policy IDs. */
static void change_role(const json_t *body, struct violations *vs)
{
    const json_t *a = body ? json_object_get(body, "newRoles") : NULL;
    json_t *ids = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        const json_t *id = json_is_object(e) ? json_object_get(e, "roleId") : NULL;
        if (json_is_string(id))
            json_array_append(ids, (json_t *)id);
    }
    struct policy_list l = {.n = 0};
    if (validate_policy_ids(ids, "newRoles", true, custom, 2, &l, vs))
        check_list(&l, false);
    json_decref(ids);
}

/* Role creation's texts (api/roles.c read_text): UTF-8 counting and control characters. */
static void role_texts(const json_t *body, struct violations *vs)
{
    const char *names[] = {"title", "description"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *v = body ? json_object_get(body, names[i]) : NULL;
        if (!json_is_string(v))
            continue;
        size_t chars = 0, len = json_string_length(v);
        const char *s = json_string_value(v);
        bool ok = validate_utf8_count(s, len, &chars);
        fuzz_check(!ok || chars <= len, "code points never outnumber bytes");
        if (!ok || validate_has_control(s, len, NULL))
            violations_add(vs, names[i], RULE_FORMAT, "must be text without control characters");
    }
}

static bool same_sites_query(const struct site_query *a, const struct site_query *b)
{
    if (a->ncond != b->ncond || a->sort != b->sort || a->desc != b->desc)
        return false;
    for (int i = 0; i < a->ncond; i++) {
        if (a->conds[i].field != b->conds[i].field || a->conds[i].n != b->conds[i].n)
            return false;
        for (size_t j = 0; j < a->conds[i].n; j++)
            if (strcmp(a->conds[i].values[j], b->conds[i].values[j]) != 0)
                return false;
    }
    return true;
}

/* Query Sites (api/sites.c): the body, or the query its unsigned cursor repeats. A query read
 * cleanly fits site_query's caps, its values are still there once the cursor they came from is
 * gone (ASan sees a read of freed memory), and its next page's cursor reads back to the same
 * query. */
static void sites(const json_t *body, struct violations *vs)
{
    static const char after[] = "019a4b2e-9c3d-7e10-8a42-5b6c7d8e9f01";
    struct site_query q, back;
    memset(&q, 0, sizeof q);
    memset(&back, 0, sizeof back);
    json_t *source = NULL, *source2 = NULL;
    int before = vs->n;
    sites_query_read(body, &q, &source, vs);
    if (vs->n == before) {
        fuzz_check(q.limit >= 1 && q.limit <= SITE_QUERY_LIMIT_MAX, "a sites limit in bounds");
        fuzz_check(q.ncond >= 0 && q.ncond <= SITE_QUERY_CONDS_MAX, "sites conditions capped");
        for (int i = 0; i < q.ncond; i++)
            for (size_t j = 0; j < q.conds[i].n; j++)
                fuzz_check(strlen(q.conds[i].values[j]) < SIZE_MAX, "a sites value is there");
        char *cursor = sites_cursor_new(source, after);
        json_t *next = json_pack("{s:{s:{s:s}}}", "query", "cursorPaging", "cursor", cursor);
        struct violations vs2 = {.n = 0};
        sites_query_read(next, &back, &source2, &vs2);
        fuzz_check(vs2.n == 0, "a Query Sites cursor we wrote is accepted");
        fuzz_check(same_sites_query(&q, &back) && strcmp(back.after_id, after) == 0,
                   "a Query Sites cursor repeats its query");
        json_decref(next);
        free(cursor);
    }
    json_decref(source2);
    json_decref(source);
}

/* Every kept violation is a pair of strings, and the 400 answer is the standard body. */
static void check_answer(const struct violations *vs)
{
    int kept = vs->n < VIOLATIONS_MAX ? vs->n : VIOLATIONS_MAX;
    for (int i = 0; i < kept; i++) {
        fuzz_check(strnlen(vs->v[i].field, VIOLATION_FIELD_MAX) < VIOLATION_FIELD_MAX,
                   "a violation's field ends in NUL");
        fuzz_check(strnlen(vs->v[i].description, VIOLATION_TEXT_MAX) < VIOLATION_TEXT_MAX,
                   "a violation's description ends in NUL");
    }
    if (!vs->n)
        return;
    struct request req;
    memset(&req, 0, sizeof req);
    request_fail_validation(&req, vs);
    fuzz_check(req.status == 400 && req.answer, "validation failures answer 400");
    json_t *a = json_loadb(req.answer, req.answer_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *list = json_object_get(
        json_object_get(json_object_get(a, "details"), "validationError"), "fieldViolations");
    fuzz_check(json_is_array(list) && json_array_size(list) == (size_t)kept,
               "the answer lists every kept violation");
    json_decref(a);
    free(req.answer);
}

typedef void (*endpoint_fn)(const json_t *body, struct violations *vs);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const endpoint_fn endpoints[] = {create_one,  bulk,       update,
                                            change_role, role_texts, sites};
    static const size_t nendpoints = sizeof endpoints / sizeof endpoints[0];
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    /* The router's parse: a depth scan first, since jansson has no depth limit. */
    if (!routes_json_depth_ok(text, len, JSON_DEPTH_MAX))
        return 0;
    json_t *json = len ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (len && !json)
        return 0;
    struct violations vs = {.n = 0};
    const json_t *body = validate_body_object(json, &vs);
    unsigned pick = data[0] % (nendpoints + 2);
    if (pick < nendpoints) {
        endpoints[pick](body, &vs);
    } else if (pick == nendpoints) { /* Change Locations: newLocations */
        locations(body, "newLocations", &vs);
    } else { /* Accept, Decline, Parse Token: inviteToken must be a string */
        const json_t *t = body ? json_object_get(body, "inviteToken") : NULL;
        if (t && !json_is_null(t) && !json_is_string(t))
            validate_type_error(&vs, "inviteToken", "a string");
    }
    check_answer(&vs);
    json_decref(json);
    return 0;
}
