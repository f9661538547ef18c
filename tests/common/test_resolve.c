/* Name resolution: literals, and the tests-only host map (SITEINVITES_TEST_HOSTS) that lets an
 * end-to-end test move a name between a public and a loopback address. */
#include "common/resolve.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_literals_resolve_to_themselves(void **state)
{
    (void)state;
    struct resolved_addr a[RESOLVE_MAX];
    size_t n = 0;
    assert_int_equal(resolve_host("127.0.0.1", a, RESOLVE_MAX, &n), SI_OK);
    assert_int_equal(n, 1);
    assert_false(a[0].v6);
    assert_string_equal(a[0].text, "127.0.0.1");
    assert_int_equal(resolve_host("::1", a, RESOLVE_MAX, &n), SI_OK);
    assert_true(a[0].v6);
    assert_int_equal(a[0].bytes[15], 1);
}

static void test_map_answers_its_names_only(void **state)
{
    (void)state;
    struct resolved_addr a[RESOLVE_MAX];
    size_t n = 0;
    assert_int_equal(resolve_test_hosts_set("hooks.test=93.184.216.34,v6.test=2001:4860::8888"),
                     SI_OK);
    assert_int_equal(resolve_host("HOOKS.test", a, RESOLVE_MAX, &n), SI_OK);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].text, "93.184.216.34");
    assert_int_equal(a[0].bytes[0], 93);
    assert_int_equal(resolve_host("v6.test", a, RESOLVE_MAX, &n), SI_OK);
    assert_true(a[0].v6);
    assert_string_equal(a[0].text, "2001:4860::8888");
    /* The same name moved to loopback: the next lookup says so. */
    assert_int_equal(resolve_test_hosts_set("hooks.test=127.0.0.1"), SI_OK);
    assert_int_equal(resolve_host("hooks.test", a, RESOLVE_MAX, &n), SI_OK);
    assert_string_equal(a[0].text, "127.0.0.1");
    /* A name outside the map goes to the system resolver (.invalid never resolves). */
    assert_int_equal(resolve_host("nothing.invalid", a, RESOLVE_MAX, &n), SI_ENOTFOUND);
    assert_int_equal(n, 0);
    assert_int_equal(resolve_test_hosts_set(NULL), SI_OK);
    assert_int_equal(resolve_host("hooks.test", a, RESOLVE_MAX, &n), SI_ENOTFOUND);
}

static void test_bad_maps_are_refused_and_install_nothing(void **state)
{
    (void)state;
    struct resolved_addr a[RESOLVE_MAX];
    size_t n = 0;
    assert_int_equal(resolve_test_hosts_set("keep.test=10.0.0.1"), SI_OK);
    const char *bad[] = {"noequals",         "=1.2.3.4",        "x.test=", "x.test=not-an-address",
                         "x.test=1.2.3.4,,", "x.test=1.2.3.4/8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(resolve_test_hosts_set(bad[i]), SI_EINVAL);
    char many[RESOLVE_TEST_MAX * 16 + 64] = "";
    for (int i = 0; i <= RESOLVE_TEST_MAX; i++) {
        char one[24];
        snprintf(one, sizeof one, "%sh%d=1.2.3.4", i ? "," : "", i);
        strncat(many, one, sizeof many - strlen(many) - 1);
    }
    assert_int_equal(resolve_test_hosts_set(many), SI_EINVAL);
    assert_int_equal(resolve_host("keep.test", a, RESOLVE_MAX, &n), SI_OK);
    assert_string_equal(a[0].text, "10.0.0.1");
    assert_int_equal(resolve_test_hosts_set(""), SI_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_resolve_to_themselves),
        cmocka_unit_test(test_map_answers_its_names_only),
        cmocka_unit_test(test_bad_maps_are_refused_and_install_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
