/* Route matching (both prefixes, literal over {id}, trailing slash, 405 Allow lists), the JSON
 * depth pre-scan and the access-log path redaction. */
#include "api/api.h"
#include "auth/auth.h"
#include "http/routes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

struct expect_route {
    enum http_method method;
    const char *path;
    void (*handler)(struct request *req);
    const char *param; /* NULL: the route takes none */
    unsigned permission;
    enum route_access access;
};

static const struct expect_route found[] = {
    {HTTP_POST, "/site-invite/bulk", api_invites_bulk, NULL, PERM_SEND_INVITE, ROUTE_SITE},
    {HTTP_POST, "/invites/site-invite/bulk", api_invites_bulk, NULL, PERM_SEND_INVITE, ROUTE_SITE},
    {HTTP_POST, "/invites/site-invite/abc/resend", api_invite_resend, "abc", PERM_SEND_INVITE,
     ROUTE_SITE},
    {HTTP_POST, "/site-invite/abc/revoke", api_invite_revoke, "abc", PERM_DELETE_INVITE,
     ROUTE_SITE},
    {HTTP_GET, "/invites/site-invite/0f0e-x", api_invite_get, "0f0e-x", PERM_READ, ROUTE_SITE},
    {HTTP_HEAD, "/site-invite/i1", api_invite_get, "i1", PERM_READ, ROUTE_SITE},
    {HTTP_PATCH, "/site-invite/i1", api_invite_update, "i1", PERM_SEND_INVITE, ROUTE_SITE},
    {HTTP_POST, "/site-invite/query", api_invites_query, NULL, PERM_READ, ROUTE_SITE},
    {HTTP_GET, "/invites/site-invite/contributor-limit", api_contributor_limit, NULL, PERM_READ,
     ROUTE_SITE},
    {HTTP_GET, "/site-invite/contributor-limit/", api_contributor_limit, NULL, PERM_READ,
     ROUTE_SITE},
    {HTTP_POST, "/site-invite", api_invite_create, NULL, PERM_SEND_INVITE, ROUTE_SITE},
    {HTTP_POST, "/invites/site-invite/", api_invite_create, NULL, PERM_SEND_INVITE, ROUTE_SITE},
    {HTTP_GET, "/invites/site-invites", api_invites_list, NULL, PERM_READ, ROUTE_SITE},
    {HTTP_GET, "/site-invites/", api_invites_list, NULL, PERM_READ, ROUTE_SITE},
    {HTTP_GET, "/roles-management/roles", api_roles_list, NULL, 0, ROUTE_ACCOUNT},
    {HTTP_POST, "/roles-management/roles", api_roles_create, NULL, 0, ROUTE_ACCOUNT},
    {HTTP_GET, "/invite/tok.en-_1", api_invitee_page, "tok.en-_1", 0, ROUTE_PUBLIC},
    /* The contributor calls in both of the SDK's forms (www.wixapis.com and a custom host). */
    {HTTP_GET, "/roles-management/v2/contributors/query", api_contributors_query, NULL, PERM_READ,
     ROUTE_SITE},
    {HTTP_GET, "/v2/contributors/query", api_contributors_query, NULL, PERM_READ, ROUTE_SITE},
    {HTTP_PUT, "/contributor/change/role", api_contributor_change_role, NULL, PERM_CONTRIBUTORS,
     ROUTE_SITE},
    {HTTP_PUT, "/roles-management/contributor/change/locations", api_contributor_change_locations,
     NULL, PERM_CONTRIBUTORS, ROUTE_SITE},
    {HTTP_DELETE, "/roles-management/contributor/remove", api_contributor_remove, NULL,
     PERM_CONTRIBUTORS, ROUTE_SITE},
    {HTTP_POST, "/contributor/remove/", api_contributor_remove, NULL, PERM_CONTRIBUTORS,
     ROUTE_SITE},
    {HTTP_POST, "/site-list/v2/sites/query", api_sites_query, NULL, PERM_READ, ROUTE_ACCOUNT},
};

static void test_found(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++) {
        const struct expect_route *e = &found[i];
        struct route_match m;
        assert_int_equal(routes_match(e->method, e->path, &m), ROUTE_FOUND);
        assert_ptr_equal(m.route->handler, e->handler);
        assert_int_equal(m.route->permission, e->permission);
        assert_int_equal(m.route->access, e->access);
        if (e->param) {
            assert_non_null(m.param);
            assert_int_equal(m.param_len, strlen(e->param));
            assert_memory_equal(m.param, e->param, m.param_len);
        } else {
            assert_null(m.param);
        }
    }
}

static void test_health_routes_public(void **state)
{
    (void)state;
    const char *paths[] = {"/healthz", "/readyz", "/metrics", "/metrics/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct route_match m;
        assert_int_equal(routes_match(HTTP_GET, paths[i], &m), ROUTE_FOUND);
        assert_int_equal(m.route->access, ROUTE_PUBLIC);
    }
}

static void test_not_found(void **state)
{
    (void)state;
    const char *paths[] = {"/",
                           "",
                           "/invites",
                           "/invites/",
                           "/site-invite//resend",
                           "/site-invite/a/b",
                           "/invites/roles-management/roles",
                           "/invites/healthz",
                           "/roles-management/site-invite/bulk",
                           "/invites/contributor/remove",
                           "/roles-management/healthz",
                           "/roles-management/roles-management/roles",
                           "/invite/",
                           "/invite/a/b",
                           "/site-invite/a//",
                           "/healthzz",
                           "/site-invitesx"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct route_match m;
        enum route_result r = routes_match(HTTP_POST, paths[i], &m);
        assert_int_equal(r, ROUTE_NO_PATH);
    }
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    struct {
        enum http_method method;
        const char *path, *allow;
    } cases[] = {
        {HTTP_GET, "/site-invite/bulk", "POST"},
        {HTTP_GET, "/invites/site-invite/query", "POST"},
        {HTTP_PATCH, "/site-invite/contributor-limit", "GET, HEAD"},
        {HTTP_DELETE, "/site-invite/abc", "GET, HEAD, PATCH"},
        {HTTP_POST, "/site-invite/abc", "GET, HEAD, PATCH"},
        {HTTP_GET, "/site-invite", "POST"},
        {HTTP_PUT, "/roles-management/roles/", "GET, HEAD, POST"},
        {HTTP_OTHER, "/healthz", "GET, HEAD"},
        {HTTP_POST, "/invite/tok", "GET, HEAD"},
        {HTTP_GET, "/site-invite/abc/revoke", "POST"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct route_match m;
        assert_int_equal(routes_match(cases[i].method, cases[i].path, &m), ROUTE_BAD_METHOD);
        assert_non_null(m.route);
        assert_string_equal(m.allow, cases[i].allow);
    }
}

static void test_method_names(void **state)
{
    (void)state;
    assert_int_equal(routes_method("GET"), HTTP_GET);
    assert_int_equal(routes_method("PATCH"), HTTP_PATCH);
    assert_int_equal(routes_method("get"), HTTP_OTHER);
    assert_int_equal(routes_method("OPTIONS"), HTTP_OTHER);
    assert_string_equal(routes_method_name(HTTP_DELETE), "DELETE");
}

static void test_json_depth(void **state)
{
    (void)state;
    char deep[2 * (JSON_DEPTH_MAX + 1) + 1];
    for (int i = 0; i <= JSON_DEPTH_MAX; i++) {
        deep[i] = '[';
        deep[2 * (JSON_DEPTH_MAX + 1) - 1 - i] = ']';
    }
    deep[sizeof deep - 1] = '\0';
    /* JSON_DEPTH_MAX + 1 levels: refused; the inner JSON_DEPTH_MAX levels alone: accepted. */
    assert_false(routes_json_depth_ok(deep, strlen(deep), JSON_DEPTH_MAX));
    assert_true(routes_json_depth_ok(deep + 1, strlen(deep) - 2, JSON_DEPTH_MAX));
    /* Brackets inside strings, escaped quotes included, do not count. */
    const char *s = "{\"a\":\"[[[[\\\"{{{{\",\"b\":[1]}";
    assert_true(routes_json_depth_ok(s, strlen(s), 2));
    assert_false(routes_json_depth_ok(s, strlen(s), 1));
    assert_true(routes_json_depth_ok("", 0, 1));
    assert_false(routes_json_depth_ok("{\"a\":{}}", 8, 1));
}

static void test_log_path(void **state)
{
    (void)state;
    char out[LOG_PATH_MAX];
    routes_log_path("/invite/SECRET-token.abc", out, sizeof out);
    assert_string_equal(out, "/invite/[redacted]");
    routes_log_path("//invite/SECRET", out, sizeof out);
    assert_string_equal(out, "//invite/[redacted]");
    routes_log_path("/site-invite/abc", out, sizeof out);
    assert_string_equal(out, "/site-invite/abc");
    routes_log_path("/a\nb c%", out, sizeof out);
    assert_string_equal(out, "/a%0Ab%20c%25");
    char small[16];
    routes_log_path("/invite/x", small, sizeof small);
    assert_null(strstr(small, "x"));
    char long_path[1000];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    routes_log_path(long_path, out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_string_equal(out + strlen(out) - 3, "...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),        cmocka_unit_test(test_health_routes_public),
        cmocka_unit_test(test_not_found),    cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_method_names), cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_log_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
