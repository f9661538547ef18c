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

/* ---- Oracle: many invites made, changed and swept, the stats checked against a model ---- */

#define ORACLE_MAX 400

struct model {
    int n;
    char ids[ORACLE_MAX][SI_ID_LEN];
    struct invite inv[ORACLE_MAX]; /* created, expires, updated and stored status only */
};

static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Bulks of 1 to 25 invites, each created at its own moment of the last 40 days and expiring 1 h
 * to 45 days later (some before NOW). */
static void oracle_create(struct fx *f, struct model *m, uint32_t *rnd)
{
    while (m->n < ORACLE_MAX - 25) {
        struct bulk_item items[25];
        size_t k = 1 + next_rand(rnd) % 25;
        si_ms last = 0;
        for (size_t i = 0; i < k; i++) {
            char email[64];
            snprintf(email, sizeof email, "o%d@x.test", m->n + (int)i);
            si_ms created = NOW - (si_ms)(next_rand(rnd) % (40 * DAY));
            si_ms expires = created + HOUR + (si_ms)(next_rand(rnd) % (45 * DAY));
            fx_invite(&items[i].invite, f, email, created, expires, P_MANAGER);
            last = created > last ? created : last;
        }
        assert_int_equal(fx_bulk(f, items, k, last, 100000, false), SI_OK);
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(items[i].outcome, BULK_CREATED);
            memcpy(m->ids[m->n], items[i].invite.id, SI_ID_LEN);
            m->inv[m->n].created = items[i].invite.created;
            m->inv[m->n].expires = items[i].invite.expires;
            m->inv[m->n].status = INVITE_PENDING;
            m->n++;
        }
        fx_items_cleanup(items, k);
    }
}

/* 150 changes of stored status, any to any (the store keeps no rules of its own). */
static void oracle_change(struct fx *f, struct model *m, uint32_t *rnd)
{
    static const enum invite_status to[] = {INVITE_USED, INVITE_DECLINED, INVITE_DELETED,
                                            INVITE_PENDING};
    for (int i = 0; i < 150; i++) {
        int j = (int)(next_rand(rnd) % (uint32_t)m->n);
        enum invite_status st = to[next_rand(rnd) % 4];
        fx_set_status(f, m->ids[j], st, OUTBOX_KEEP);
        m->inv[j].status = st;
        m->inv[j].updated = NOW;
    }
}

/* What store_site_stats must say at now, from the model. */
static void oracle_expect(const struct model *m, si_ms now, struct site_stats *want)
{
    memset(want, 0, sizeof *want);
    want->first_day = (now / DAY - (SITE_STATS_DAYS - 1)) * DAY;
    si_ms mid[ORACLE_MAX];
    int k = 0;
    for (int i = 0; i < m->n; i++) {
        enum invite_status st = invite_status_at(&m->inv[i], now);
        want->counts[st]++;
        si_ms d = (m->inv[i].created - want->first_day) / DAY;
        if (m->inv[i].created < want->first_day || d >= SITE_STATS_DAYS)
            continue;
        want->days[d][st]++;
        if (st == INVITE_USED)
            mid[k++] = m->inv[i].updated - m->inv[i].created;
    }
    want->accepted = k;
    for (int i = 1; i < k; i++) /* insertion sort: k is small */
        for (int j = i; j > 0 && mid[j - 1] > mid[j]; j--) {
            si_ms t = mid[j];
            mid[j] = mid[j - 1];
            mid[j - 1] = t;
        }
    /* The middle one, or the mean of the two middle ones rounded down. */
    want->median_accept_ms = k == 0       ? -1
                             : k % 2 == 1 ? mid[k / 2]
                                          : mid[k / 2 - 1] + (mid[k / 2] - mid[k / 2 - 1]) / 2;
}

static void oracle_check(struct fx *f, const struct model *m, si_ms now)
{
    struct site_stats got, want;
    int64_t counts[SITE_COUNTS_LEN] = {0};
    oracle_expect(m, now, &want);
    assert_int_equal(store_site_stats(f->s, f->site.id, now, &got), SI_OK);
    assert_int_equal(store_site_counts(f->s, f->site.id, now, counts), SI_OK);
    for (int s = 0; s < SITE_COUNTS_LEN; s++) {
        assert_int_equal(got.counts[s], want.counts[s]);
        assert_int_equal(counts[s], want.counts[s]);
        for (int d = 0; d < SITE_STATS_DAYS; d++)
            assert_int_equal(got.days[d][s], want.days[d][s]);
    }
    assert_int_equal(got.accepted, want.accepted);
    assert_int_equal(got.median_accept_ms, want.median_accept_ms);
    /* Seats: the site has no contributors, so its Pending invites as readers see them. */
    int64_t seats = -1;
    assert_int_equal(store_seats_used(f->s, f->site.id, now, &seats), SI_OK);
    assert_int_equal(seats, want.counts[INVITE_PENDING]);
}

/* PostgreSQL keeps per-day summary rows by trigger (migration 17) and SQLite aggregates the rows
 * themselves: both must agree with the model after bulks, changes, the expiry sweep and the
 * fold of PostgreSQL's deltas, at NOW and later. */
static void test_oracle_after_bulks_changes_sweep(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    uint32_t rnd = 0x9e3779b9u;
    oracle_create(f, m, &rnd);
    oracle_check(f, m, NOW);
    oracle_change(f, m, &rnd);
    oracle_check(f, m, NOW);
    int64_t swept = 0;
    assert_int_equal(store_invites_expire(f->s, NOW, 1000, &swept), SI_OK);
    assert_true(swept > 0); /* the model has Pending rows past their expiry */
    oracle_check(f, m, NOW);
    oracle_check(f, m, NOW + 20 * DAY);
    /* The fold turns PostgreSQL's deltas into one row per key (SQLite has none): the sums stay,
     * and new deltas on top of folded rows add up too. */
    const char *url = getenv(STORE_FIXTURE_ENV);
    bool pg = url && strncmp(url, "postgres", 8) == 0;
    int64_t folded = -1;
    assert_int_equal(store_counts_fold(f->s, 1000, &folded), SI_OK);
    if (pg)
        assert_true(folded > 0);
    else
        assert_int_equal(folded, 0);
    oracle_check(f, m, NOW);
    oracle_change(f, m, &rnd);
    oracle_check(f, m, NOW);
    assert_int_equal(store_counts_fold(f->s, 3, &folded), SI_OK); /* a partial fold */
    assert_true(folded <= 3);
    oracle_check(f, m, NOW + 20 * DAY);
    /* Folding in batches until a batch is not full (the sweeper's loop) leaves nothing. */
    do
        assert_int_equal(store_counts_fold(f->s, 3, &folded), SI_OK);
    while (folded == 3);
    assert_int_equal(store_counts_fold(f->s, 1000, &folded), SI_OK);
    assert_int_equal(folded, 0);
    oracle_check(f, m, NOW);
    free(m);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty_site),
        T(test_days_statuses_median),
        T(test_oracle_after_bulks_changes_sweep),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_stats");
}
