/* The Query Sites rule without a database: filters, both sorts both ways, and cursor pages. */
#include "core/site_query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NSITES 4

/* Four sites: IDs s1..s4, names out of creation order, s3 and s4 created at the same time. */
static void load(struct site s[NSITES])
{
    static const char *names[NSITES] = {"Delta", "alpha", "Bravo", "Charlie"};
    static const si_ms created[NSITES] = {100, 200, 300, 300};
    memset(s, 0, NSITES * sizeof *s);
    for (int i = 0; i < NSITES; i++) {
        snprintf(s[i].id, sizeof s[i].id, "s%d", i + 1);
        snprintf(s[i].name, sizeof s[i].name, "%s", names[i]);
        s[i].created = created[i];
    }
}

/* Runs q and writes the page's IDs as "s1,s2" into out. */
static enum si_err page(struct site s[NSITES], const struct site_query *q, char *out, size_t cap,
                        bool *has_next)
{
    size_t n = NSITES, first = 0, count = 0;
    enum si_err rc = site_query_run(s, &n, q, &first, &count, has_next);
    out[0] = '\0';
    for (size_t i = first; !rc && i < first + count; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i > first ? "," : "", s[i].id);
    return rc;
}

static void test_sorts_with_id_ties(void **state)
{
    (void)state;
    struct site s[NSITES];
    struct site_query q = {.limit = 10};
    char ids[64];
    bool next;
    load(s);
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "s1,s2,s3,s4"); /* createdDate, then ID */
    assert_false(next);
    load(s);
    q.desc = true;
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "s4,s3,s2,s1");
    load(s);
    q.sort = SITE_SORT_DISPLAY_NAME;
    q.desc = false;
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "s3,s4,s1,s2"); /* byte order: capitals first */
}

static void test_filters(void **state)
{
    (void)state;
    struct site s[NSITES];
    struct site_query q = {.limit = 10, .ncond = 1};
    char ids[64];
    bool next;
    q.conds[0] = (struct site_cond){.field = SITE_FIELD_ID, .n = 2, .values = {"s4", "s2"}};
    load(s);
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "s2,s4");
    q.conds[1] = (struct site_cond){.field = SITE_FIELD_NAME, .n = 1, .values = {"Charlie"}};
    q.ncond = 2; /* every condition must hold */
    load(s);
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "s4");
    q.conds[1].values[0] = "charlie"; /* names compare exactly */
    load(s);
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "");
}

static void test_pages_follow_the_last_id(void **state)
{
    (void)state;
    struct site s[NSITES];
    struct site_query q = {.limit = 3, .desc = true};
    char ids[64];
    bool next;
    load(s);
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "s4,s3,s2");
    assert_true(next);
    snprintf(q.after_id, sizeof q.after_id, "%s", "s2");
    load(s);
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_OK);
    assert_string_equal(ids, "s1");
    assert_false(next);
    snprintf(q.after_id, sizeof q.after_id, "%s", "s9"); /* no such site: a foreign cursor */
    load(s);
    assert_int_equal(page(s, &q, ids, sizeof ids, &next), SI_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorts_with_id_ties),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_pages_follow_the_last_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
