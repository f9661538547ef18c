/* The store contract suite, the console's chart (store_site_stats): counts as readers see them,
 * invites per UTC day of the last 30 by how each ended, the median time to accept over the
 * window, another site left out, all at fixed times. Runs on SQLite and, from tests/pg, on
 * PostgreSQL. */
#include "store_suite.h"

#define TODAY     ((NOW / DAY) * DAY) /* midnight UTC that starts the window's last day */
#define FIRST_DAY (TODAY - 29 * DAY)

/* An invite created at t (expiring after 30 days), then moved to st at t + after when st is not
 * Pending. */
static void make(struct fx *f, const char *email, si_ms t, enum invite_status st, si_ms after)
{
    char id[SI_ID_LEN];
    fx_create(f, email, t, t + 30 * DAY, P_MANAGER, id);
    if (st == INVITE_PENDING)
        return;
    struct fx_change x = {.write = true, .set_status = true, .status = st};
    assert_int_equal(
        store_invite_change(f->s, f->site.id, id, t + after, NULL, fx_change_fn, &x, NULL), SI_OK);
}

static void test_empty_site(void **state)
{
    struct fx *f = *state;
    struct site_stats st;
    memset(&st, 0x5a, sizeof st);
    assert_int_equal(store_site_stats(f->s, f->site.id, NOW, &st), SI_OK);
    assert_int_equal(st.first_day, FIRST_DAY);
    assert_int_equal(st.accepted, 0);
    assert_int_equal(st.median_accept_ms, -1);
    for (int s = 0; s < SITE_COUNTS_LEN; s++) {
        assert_int_equal(st.counts[s], 0);
        for (int d = 0; d < SITE_STATS_DAYS; d++)
            assert_int_equal(st.days[d][s], 0);
    }
}

static void test_days_statuses_median(void **state)
{
    struct fx *f = *state;
    /* Today: one Pending, one revoked an hour later. */
    make(f, "p@x.test", NOW - HOUR, INVITE_PENDING, 0);
    make(f, "r@x.test", NOW - 2 * HOUR, INVITE_DELETED, HOUR);
    /* Day 20: accepted after 2 h, declined. Day 27: accepted after 5 h and 1 ms. */
    make(f, "a1@x.test", FIRST_DAY + 20 * DAY + HOUR, INVITE_USED, 2 * HOUR);
    make(f, "d@x.test", FIRST_DAY + 20 * DAY + 2 * HOUR, INVITE_DECLINED, HOUR);
    make(f, "a2@x.test", FIRST_DAY + 27 * DAY, INVITE_USED, 5 * HOUR + 1);
    /* The window's first moment: a Pending past its expiry, which readers see Expired. */
    char id[SI_ID_LEN];
    fx_create(f, "e@x.test", FIRST_DAY, NOW - 1, P_MANAGER, id);
    /* Before the window: counted in the totals, not in the days or the median. */
    make(f, "old@x.test", FIRST_DAY - 1, INVITE_USED, 100 * HOUR);
    /* Another site's invites are not this one's. */
    struct fx other = *f;
    fx_site(f, f->acct.id, &other.site, 100);
    make(&other, "z@x.test", NOW - HOUR, INVITE_USED, 1);

    struct site_stats st;
    assert_int_equal(store_site_stats(f->s, f->site.id, NOW, &st), SI_OK);
    assert_int_equal(st.counts[INVITE_PENDING], 1);
    assert_int_equal(st.counts[INVITE_USED], 3);
    assert_int_equal(st.counts[INVITE_DELETED], 1);
    assert_int_equal(st.counts[INVITE_DECLINED], 1);
    assert_int_equal(st.counts[INVITE_EXPIRED], 1);
    assert_int_equal(st.days[29][INVITE_PENDING], 1);
    assert_int_equal(st.days[29][INVITE_DELETED], 1);
    assert_int_equal(st.days[20][INVITE_USED], 1);
    assert_int_equal(st.days[20][INVITE_DECLINED], 1);
    assert_int_equal(st.days[27][INVITE_USED], 1);
    assert_int_equal(st.days[0][INVITE_EXPIRED], 1);
    assert_int_equal(st.days[0][INVITE_PENDING], 0);
    int64_t total = 0;
    for (int d = 0; d < SITE_STATS_DAYS; d++)
        for (int s = 0; s < SITE_COUNTS_LEN; s++)
            total += st.days[d][s];
    assert_int_equal(total, 6);
    /* Two accepted in the window: the mean of 2 h and 5 h + 1 ms, rounded down. */
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.median_accept_ms, 3 * HOUR + HOUR / 2);

    /* A third: the middle one of 2 h, 5 h and 9 h. */
    make(f, "a3@x.test", FIRST_DAY + 5 * DAY, INVITE_USED, 9 * HOUR);
    assert_int_equal(store_site_stats(f->s, f->site.id, NOW, &st), SI_OK);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.median_accept_ms, 5 * HOUR + 1);
    assert_int_equal(st.days[5][INVITE_USED], 1);

    /* A day later (the injectable now moves) the window slides: day 0 left it, everything moved
     * one day to the left. */
    assert_int_equal(store_site_stats(f->s, f->site.id, NOW + DAY, &st), SI_OK);
    assert_int_equal(st.first_day, FIRST_DAY + DAY);
    assert_int_equal(st.days[28][INVITE_PENDING], 1);
    assert_int_equal(st.days[19][INVITE_USED], 1);
    assert_int_equal(st.days[0][INVITE_EXPIRED], 0);
    assert_int_equal(st.counts[INVITE_EXPIRED], 1);
    /* 30 days on, the Pending one is past its expiry: Expired in both the totals and its day. */
    assert_int_equal(store_site_stats(f->s, f->site.id, NOW + 30 * DAY, &st), SI_OK);
    assert_int_equal(st.counts[INVITE_PENDING], 0);
    assert_int_equal(st.counts[INVITE_EXPIRED], 2);
    assert_int_equal(st.days[0][INVITE_EXPIRED] + st.days[1][INVITE_EXPIRED], 0);
    assert_int_equal(st.accepted, 0);
    assert_int_equal(st.median_accept_ms, -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty_site),
        T(test_days_statuses_median),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_stats");
}
