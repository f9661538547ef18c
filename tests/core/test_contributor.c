/* Contributor rules without a database: the Query Site Contributors filter and the assignment
 * IDs of Change Role. */
#include "core/contributor.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define SITE    "11111111-1111-4111-8111-111111111111"
#define ACCOUNT "22222222-2222-4222-8222-222222222222"
#define OTHER   "33333333-3333-4333-8333-333333333333"
#define LOC_A   "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define LOC_B   "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define ROLE_1  "6732588207941061632"
#define ROLE_2  "1000000000000000006"

static void add(struct policy_list *l, const char *id)
{
    snprintf(l->ids[l->n++], sizeof l->ids[0], "%s", id);
}

/* A contributor with ROLE_1 and ROLE_2 at LOC_A. */
static void contributor(struct contributor_row *c)
{
    memset(c, 0, sizeof *c);
    add(&c->policies, ROLE_1);
    add(&c->policies, ROLE_2);
    add(&c->locations, LOC_A);
}

static bool match(const struct contributor_row *c, const char *const *pols, size_t np,
                  const char *const *locs, size_t nl)
{
    struct contributor_filter f = {pols, np, locs, nl};
    return contributor_filter_match(c, &f);
}

static void test_filter_at_least_one_of_each(void **state)
{
    (void)state;
    struct contributor_row c;
    contributor(&c);
    const char *one[] = {ROLE_2}, *none[] = {"42", "43"}, *mixed[] = {"42", ROLE_1};
    const char *here[] = {LOC_B, LOC_A}, *elsewhere[] = {LOC_B};
    assert_true(match(&c, NULL, 0, NULL, 0)); /* no filter keeps everyone */
    assert_true(match(&c, one, 1, NULL, 0));
    assert_true(match(&c, mixed, 2, NULL, 0)); /* at least one of the roles */
    assert_false(match(&c, none, 2, NULL, 0));
    assert_true(match(&c, NULL, 0, here, 2)); /* at least one of the locations */
    assert_false(match(&c, NULL, 0, elsewhere, 1));
    assert_true(match(&c, one, 1, here, 2)); /* both parts must hold */
    assert_false(match(&c, one, 1, elsewhere, 1));
    assert_false(match(&c, none, 2, here, 2));
    c.locations.n = 0; /* a contributor without locations fails any location filter */
    assert_false(match(&c, NULL, 0, here, 2));
    assert_true(match(&c, one, 1, NULL, 0));
}

static void test_assignment_ids_are_stable_19_digit_numerals(void **state)
{
    (void)state;
    char a[SI_ASSIGNMENT_ID_LEN], b[SI_ASSIGNMENT_ID_LEN], c[SI_ASSIGNMENT_ID_LEN];
    char d[SI_ASSIGNMENT_ID_LEN], e[SI_ASSIGNMENT_ID_LEN];
    contributor_assignment_id(SITE, ACCOUNT, ROLE_1, a);
    contributor_assignment_id(SITE, ACCOUNT, ROLE_1, b);
    contributor_assignment_id(SITE, ACCOUNT, ROLE_2, c);
    contributor_assignment_id(SITE, OTHER, ROLE_1, d);
    contributor_assignment_id(OTHER, ACCOUNT, ROLE_1, e);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_string_not_equal(a, e);
    const char *all[] = {a, c, d, e};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(strlen(all[i]), 19);
        assert_true(all[i][0] >= '1' && all[i][0] <= '9');
        assert_int_equal(strspn(all[i], "0123456789"), 19);
    }
    /* The separator keeps the parts apart: ("ab", "c") is not ("a", "bc"). */
    char x[SI_ASSIGNMENT_ID_LEN], y[SI_ASSIGNMENT_ID_LEN];
    contributor_assignment_id("s", "ab", "c", x);
    contributor_assignment_id("s", "a", "bc", y);
    assert_string_not_equal(x, y);
    /* Fixed for all time: a stored or logged assignment ID must keep meaning the same one. */
    contributor_assignment_id("", "", "", x);
    assert_string_equal(x, "1640439168010397861");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_at_least_one_of_each),
        cmocka_unit_test(test_assignment_ids_are_stable_19_digit_numerals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
