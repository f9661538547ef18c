/* The store's read routing (--db-read, store/pg_read.c) in process, under the sanitizers: a
 * "standby" URL that names the primary itself (not in recovery: it has every write) serves the
 * site reads and the counters say so; one that names no server costs nothing but fallbacks;
 * the WAL position parser. The real standby, its lag and its stop are
 * tests/faults/test_pg_read.py's. */
#include "store_suite.h"

#include "store/pg_int.h"

#define DEAD_URL "postgres://postgres@127.0.0.1:1/none?connect_timeout=2"

static void test_reads_go_to_the_read_pool(void **state)
{
    struct fx *f = *state;
    struct store_read_stats st;
    assert_false(store_read_stats(f->s, &st)); /* nothing routed before store_read_replicas */
    assert_int_equal(store_read_replicas(f->s, f->url, 1000), SI_OK);
    assert_int_equal(store_read_replicas(f->s, f->url, 1000), SI_ECONFIG); /* once only */
    char id[SI_ID_LEN];
    fx_create(f, "read@example.com", NOW, NOW + DAY, P_ADMIN, id); /* a tracked commit */
    struct invite v;
    assert_int_equal(store_invite_get(f->s, f->site.id, id, &v), SI_OK);
    assert_string_equal(v.email, "read@example.com");
    invite_cleanup(&v);
    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 1);
    struct contributor_row *rows = NULL;
    size_t n = 9;
    assert_int_equal(store_contributors_list(f->s, f->site.id, 10, &rows, &n), SI_OK);
    assert_int_equal(n, 0);
    free(rows);
    /* A missing invite is asked again of the primary: still not found, counted as behind. */
    assert_int_equal(store_invite_get(f->s, f->site.id, "01a241c4-8916-79e8-9842-f33724561c0d", &v),
                     SI_ENOTFOUND);
    assert_true(store_read_stats(f->s, &st));
    assert_int_equal(st.standby, 3);
    assert_int_equal(st.primary, 1);
    assert_int_equal(st.behind, 1);
    assert_int_equal(st.lagging + st.unavailable, 0);
}

static void test_dead_read_pool_falls_back(void **state)
{
    struct fx *f = *state;
    assert_int_equal(store_read_replicas(f->s, DEAD_URL, 1000), SI_OK); /* a warning, no error */
    char id[SI_ID_LEN];
    fx_create(f, "dead@example.com", NOW, NOW + DAY, P_ADMIN, id);
    for (int i = 0; i < 5; i++) {
        struct invite v;
        assert_int_equal(store_invite_get(f->s, f->site.id, id, &v), SI_OK);
        invite_cleanup(&v);
    }
    struct store_read_stats st;
    assert_true(store_read_stats(f->s, &st));
    assert_int_equal(st.standby, 0);
    assert_int_equal(st.primary, 5);
    assert_int_equal(st.unavailable, 5); /* skipped for a second after the failed connect */
}

static void test_lsn_parse(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_true(pg_lsn_parse("0/0", &v));
    assert_true(v == 0);
    assert_true(pg_lsn_parse("16/B374D848", &v));
    assert_true(v == ((uint64_t)0x16 << 32 | 0xB374D848u));
    assert_true(pg_lsn_parse("FFFFFFFF/ffffffff", &v));
    assert_true(v == UINT64_MAX);
    const char *bad[] = {"", "/", "1/", "/1", "1", "1/2/3", "G/0", "123456789/0", "1/ 2", "-1/0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(pg_lsn_parse(bad[i], &v));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reads_go_to_the_read_pool),
        T(test_dead_read_pool_falls_back),
        cmocka_unit_test(test_lsn_parse),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "pg_read");
}
