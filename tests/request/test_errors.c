/* The error body of docs/API.md §4 as request.c renders it: application errors, validation errors
 * with several fields, 5xx bodies, the internal-error mapping, and the catalogue. */
#include "request/problem.h"
#include "request/request.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void request_setup(struct request *req)
{
    memset(req, 0, sizeof *req);
    req->retry_after_s = -1;
    memcpy(req->request_id, "00000000-0000-4000-8000-000000000000", SI_ID_LEN);
}

/* Parses the answer, checks it is exactly {"message", "details"} and frees the text. */
static json_t *answer_json(struct request *req)
{
    assert_non_null(req->answer);
    assert_int_equal(strlen(req->answer), req->answer_len);
    assert_string_equal(req->answer_type, "application/json");
    json_error_t err;
    json_t *body = json_loads(req->answer, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(body);
    assert_int_equal(json_object_size(body), 2);
    assert_true(json_is_string(json_object_get(body, "message")));
    assert_true(json_is_object(json_object_get(body, "details")));
    free(req->answer);
    req->answer = NULL;
    return body;
}

static void test_application_error(void **state)
{
    (void)state;
    struct request req;
    request_setup(&req);
    request_fail(&req, P_INVITE_NOT_FOUND, NULL);
    assert_int_equal(req.status, 404);
    json_t *body = answer_json(&req);
    assert_string_equal(json_string_value(json_object_get(body, "message")),
                        "No such invite in this site.");
    json_t *details = json_object_get(body, "details");
    assert_int_equal(json_object_size(details), 1);
    json_t *app = json_object_get(details, "applicationError");
    /* The standard code a Wix client checks; our cause in description and data.reason. */
    assert_string_equal(json_string_value(json_object_get(app, "code")), "NOT_FOUND");
    assert_string_equal(json_string_value(json_object_get(app, "description")),
                        "No such invite in this site.");
    json_t *data = json_object_get(app, "data");
    assert_true(json_is_object(data));
    assert_int_equal(json_object_size(data), 1);
    assert_string_equal(json_string_value(json_object_get(data, "reason")), "INVITE_NOT_FOUND");
    json_decref(body);
}

static void test_custom_description_and_retry_after(void **state)
{
    (void)state;
    struct request req;
    request_setup(&req);
    request_fail(&req, P_RESOURCE_EXHAUSTED, "Five resends a day.");
    assert_int_equal(req.status, 429);
    assert_true(req.retry_after_s >= 0); /* every 429 carries Retry-After */
    json_t *body = answer_json(&req);
    json_t *app = json_object_get(json_object_get(body, "details"), "applicationError");
    assert_string_equal(json_string_value(json_object_get(app, "code")), "RESOURCE_EXHAUSTED");
    assert_string_equal(json_string_value(json_object_get(app, "description")),
                        "Five resends a day.");
    json_decref(body);
}

static void test_validation_several_fields(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    violations_add(&vs, "emails", RULE_REQUIRED_FIELD, "is required");
    violations_add(&vs, "policyIds[2]", RULE_INVALID_ENUM_VALUE, "unknown role %d", 7);
    violations_add_bound(&vs, "invitePurpose", RULE_MAX_SIZE, 1000, "at most %d characters", 1000);
    violations_add_bound(&vs, "expiresInDays", RULE_MIN, 1, "at least %d", 1);
    struct request req;
    request_setup(&req);
    request_fail_validation(&req, &vs);
    assert_int_equal(req.status, 400);
    json_t *body = answer_json(&req);
    assert_string_equal(json_string_value(json_object_get(body, "message")),
                        "emails: is required (and 3 more)");
    json_t *details = json_object_get(body, "details");
    assert_int_equal(json_object_size(details), 1);
    json_t *list = json_object_get(json_object_get(details, "validationError"), "fieldViolations");
    assert_int_equal(json_array_size(list), 4);
    const char *want[4][4] = {
        {"emails", "is required", "REQUIRED_FIELD", "{}"},
        {"policyIds[2]", "unknown role 7", "INVALID_ENUM_VALUE", "{}"},
        {"invitePurpose", "at most 1000 characters", "MAX_SIZE", "{\"max\":1000}"},
        {"expiresInDays", "at least 1", "MIN", "{\"min\":1}"}};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_array_get(list, i);
        assert_int_equal(json_object_size(v), 5);
        assert_string_equal(json_string_value(json_object_get(v, "field")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(v, "description")), want[i][1]);
        assert_string_equal(json_string_value(json_object_get(v, "violatedRule")), want[i][2]);
        assert_string_equal(json_string_value(json_object_get(v, "ruleName")), want[i][2]);
        char *data = json_dumps(json_object_get(v, "data"), JSON_COMPACT | JSON_ENCODE_ANY);
        assert_string_equal(data, want[i][3]);
        free(data);
    }
    json_decref(body);
}

static void test_violations_cap_and_utf8(void **state)
{
    (void)state;
    struct violations vs = {.n = 0};
    for (int i = 0; i < VIOLATIONS_MAX + 5; i++)
        violations_add(&vs, "emails", RULE_FORMAT, "bad email %d", i);
    assert_int_equal(vs.n, VIOLATIONS_MAX + 5);
    /* A description cut inside a multi-byte character must not break the body. */
    char text[VIOLATION_TEXT_MAX * 2];
    memset(text, 'a', sizeof text);
    for (size_t i = 0; i + 1 < sizeof text; i += 2) /* byte 255 is cut mid-character */
        memcpy(text + i, "\xc3\xa9", 2);
    text[sizeof text - 1] = '\0';
    vs.n = 0;
    violations_add(&vs, "invitePurpose", RULE_MAX_SIZE, "%s", text);
    struct request req;
    request_setup(&req);
    request_fail_validation(&req, &vs);
    json_t *body = answer_json(&req);
    json_t *list = json_object_get(
        json_object_get(json_object_get(body, "details"), "validationError"), "fieldViolations");
    assert_int_equal(json_array_size(list), 1);
    const char *d = json_string_value(json_object_get(json_array_get(list, 0), "description"));
    assert_non_null(d);
    assert_int_equal(strlen(d), VIOLATION_TEXT_MAX - 1); /* kept, non-ASCII replaced */
    json_decref(body);
}

static void test_server_error_is_empty(void **state)
{
    (void)state;
    struct request req;
    request_setup(&req);
    request_fail(&req, P_INTERNAL, "secret backend detail");
    assert_int_equal(req.status, 500);
    assert_string_equal(req.answer, "{\"message\":\"\",\"details\":{}}");
    json_decref(answer_json(&req));

    request_setup(&req);
    request_fail_err(&req, SI_ESTORE);
    assert_int_equal(req.status, 500);
    assert_string_equal(req.answer, "{\"message\":\"\",\"details\":{}}");
    json_decref(answer_json(&req));

    request_setup(&req);
    request_fail_err(&req, SI_EBUSY);
    assert_int_equal(req.status, 503);
    assert_string_equal(req.answer, "{\"message\":\"\",\"details\":{}}");
    json_decref(answer_json(&req));
}

/* A full disk is a 503 that says so (docs/FAULTS.md "Disk full"): the standard body with
 * UNAVAILABLE / STORAGE_FULL and a longer Retry-After than a busy store's. */
static void test_storage_full(void **state)
{
    (void)state;
    struct request req;
    request_setup(&req);
    request_fail_err(&req, SI_EFULL);
    assert_int_equal(req.status, 503);
    assert_int_equal(req.retry_after_s, 30);
    json_t *body = answer_json(&req);
    const char *message = json_string_value(json_object_get(body, "message"));
    assert_non_null(strstr(message, "storage is full"));
    json_t *details = json_object_get(body, "details");
    assert_int_equal(json_object_size(details), 1);
    json_t *app = json_object_get(details, "applicationError");
    assert_string_equal(json_string_value(json_object_get(app, "code")), "UNAVAILABLE");
    assert_string_equal(json_string_value(json_object_get(app, "description")), message);
    assert_string_equal(json_string_value(json_object_get(json_object_get(app, "data"), "reason")),
                        "STORAGE_FULL");
    json_decref(body);
    assert_string_equal(si_err_name(SI_EFULL), "SI_EFULL");
}

static void test_err_mapping(void **state)
{
    (void)state;
    struct {
        enum si_err err;
        unsigned status;
        const char *code;
    } cases[] = {
        {SI_EUNAUTH, 401, "UNAUTHENTICATED"},
        {SI_EPERM, 403, "PERMISSION_DENIED"},
        {SI_ETOOBIG, 413, "PAYLOAD_TOO_LARGE"},
        {SI_ENOTFOUND, 404, "NOT_FOUND"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct request req;
        request_setup(&req);
        request_fail_err(&req, cases[i].err);
        assert_int_equal(req.status, cases[i].status);
        json_t *body = answer_json(&req);
        json_t *app = json_object_get(json_object_get(body, "details"), "applicationError");
        assert_string_equal(json_string_value(json_object_get(app, "code")), cases[i].code);
        json_decref(body);
    }
    struct request req;
    request_setup(&req);
    request_fail_err(&req, SI_EINVAL);
    assert_int_equal(req.status, 400);
    json_t *body = answer_json(&req);
    assert_non_null(json_object_get(json_object_get(body, "details"), "validationError"));
    json_decref(body);
}

static void test_first_answer_stands(void **state)
{
    (void)state;
    struct request req;
    request_setup(&req);
    request_reply_json(&req, 200, json_pack("{s:i}", "n", 1));
    request_fail(&req, P_NOT_FOUND, NULL);
    assert_int_equal(req.status, 200);
    assert_string_equal(req.answer, "{\"n\":1}");
    free(req.answer);
}

static void test_catalogue(void **state)
{
    (void)state;
    assert_int_equal(problem_status(P_INVALID_JSON), 400);
    assert_string_equal(problem_code(P_METHOD_NOT_ALLOWED), "METHOD_NOT_ALLOWED");
    assert_int_equal(problem_status(P_INVITE_NOT_REVOCABLE), 428);
    assert_int_equal(problem_status(P_UNAVAILABLE), 503);
    assert_string_equal(problem_message(P_INTERNAL), "");
    assert_string_equal(problem_code(P_INVALID_JSON), "INVALID_ARGUMENT");
    assert_string_equal(problem_reason(P_INVALID_JSON), "INVALID_JSON");
    assert_string_equal(problem_code(P_CONTRIBUTOR_LIMIT_REACHED), "FAILED_PRECONDITION");
    assert_string_equal(problem_reason(P_CONTRIBUTOR_LIMIT_REACHED), "CONTRIBUTOR_LIMIT_REACHED");
    /* Every problem a client sees answers Wix's standard code for its status (docs/API.md §4):
     * no custom code can slip into the catalogue. */
    static const struct {
        unsigned status;
        const char *code;
    } standard[] = {{400, "INVALID_ARGUMENT"},    {401, "UNAUTHENTICATED"},
                    {403, "PERMISSION_DENIED"},   {404, "NOT_FOUND"},
                    {405, "METHOD_NOT_ALLOWED"},  {409, "ALREADY_EXISTS"},
                    {413, "PAYLOAD_TOO_LARGE"},   {415, "UNSUPPORTED_MEDIA_TYPE"},
                    {428, "FAILED_PRECONDITION"}, {429, "RESOURCE_EXHAUSTED"}};
    for (int p = 0; p < (int)PROBLEMS_N; p++) {
        unsigned status = problem_status((enum problem)p);
        if (status >= 500)
            continue;
        bool found = false;
        for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
            if (standard[i].status == status) {
                assert_string_equal(problem_code((enum problem)p), standard[i].code);
                found = true;
            }
        assert_true(found);
        assert_true(problem_reason((enum problem)p)[0] != '\0');
    }
    const char *arg_names[] = {"cursor", "limit"};
    struct request req;
    request_setup(&req);
    req.args[0].name = (char *)arg_names[0];
    req.args[0].value = (char *)"abc";
    req.args[1].name = (char *)arg_names[1];
    req.args[1].value = (char *)"5";
    req.nargs = 2;
    assert_string_equal(request_arg(&req, "limit"), "5");
    assert_null(request_arg(&req, "offset"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_application_error),
        cmocka_unit_test(test_custom_description_and_retry_after),
        cmocka_unit_test(test_validation_several_fields),
        cmocka_unit_test(test_violations_cap_and_utf8),
        cmocka_unit_test(test_server_error_is_empty),
        cmocka_unit_test(test_err_mapping),
        cmocka_unit_test(test_storage_full),
        cmocka_unit_test(test_first_answer_stands),
        cmocka_unit_test(test_catalogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
