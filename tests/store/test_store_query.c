/* The store contract suite, part two: Query Invites filters (every field and operator, lazy
 * expiry), sorts, and cursor and offset paging that visit every row exactly once. */
#include "store_suite.h"

#define NINV      10 /* invites in the query fixture */
#define PAGE_SIZE 3  /* small pages so every walk crosses several cursors */
#define MASK_ALL  ((1u << NINV) - 1)

/* The fixture's invites by index, and what was made of them. */
struct qfx {
    struct fx *f;
    char ids[NINV][SI_ID_LEN];
    si_ms created[NINV];
    char acceptor[SI_ID_LEN];
};

static struct qfx Q;

/* Ten invites: user0..user9@example.com with mixed case, created an hour apart (8 and 9 at the
 * same time to test ties), even ones with role ADMIN, odd ones MANAGER+DESIGNER, 9 ADMIN+MANAGER;
 * 2 and 5 lazily expired; 3 Deleted, 4 Used, 6 Declined, 7 stored Expired. */
static int qfx_setup(void **state)
{
    if (fx_setup(state))
        return -1;
    struct fx *f = *state;
    Q.f = f;
    char email[64];
    for (int i = 0; i < NINV; i++) {
        snprintf(email, sizeof email, "%s%d@example.com", i % 2 ? "User" : "user", i);
        Q.created[i] = NOW - (NINV - (i == 9 ? 8 : i)) * HOUR;
        si_ms expires = (i == 2 || i == 5) ? NOW : NOW + DAY;
        const char *pols = i == 9  ? P_ADMIN "," P_MANAGER
                           : i % 2 ? P_MANAGER "," P_DESIGNER
                                   : P_ADMIN;
        fx_create(f, email, Q.created[i], expires, pols, Q.ids[i]);
    }
    fx_id(Q.acceptor);
    fx_set_status(f, Q.ids[3], INVITE_DELETED, OUTBOX_CANCEL);
    struct fx_change x = {
        .write = true, .set_status = true, .status = INVITE_USED, .accepted_by = Q.acceptor};
    assert_int_equal(
        store_invite_change(f->s, f->site.id, Q.ids[4], NOW, NULL, fx_change_fn, &x, NULL), SI_OK);
    fx_set_status(f, Q.ids[6], INVITE_DECLINED, OUTBOX_KEEP);
    fx_set_status(f, Q.ids[7], INVITE_EXPIRED, OUTBOX_KEEP);
    return 0;
}

static int index_of(const char *id)
{
    for (int i = 0; i < NINV; i++)
        if (strcmp(Q.ids[i], id) == 0)
            return i;
    fail_msg("query returned an unknown invite %s", id);
    return -1;
}

/* Runs a one-condition query and returns the set of fixture indexes it matched. */
static unsigned run(struct invite_query *q)
{
    struct invite_page page;
    q->limit = QUERY_LIMIT_MAX;
    assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, q, NOW, &page), SI_OK);
    unsigned mask = 0;
    for (size_t i = 0; i < page.n; i++)
        mask |= 1u << index_of(page.items[i].id);
    assert_false(page.has_next);
    assert_int_equal(page.total, (int64_t)page.n);
    invite_page_cleanup(&page);
    invite_query_cleanup(q);
    memset(q, 0, sizeof *q);
    return mask;
}

static void cond(struct invite_query *q, enum query_field field, enum query_op op, int n, ...)
{
    va_list ap;
    struct query_cond *c = &q->conds[q->ncond++];
    c->field = field;
    c->op = op;
    c->n = n;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        if (field == QF_DATE_CREATED)
            c->times[i] = va_arg(ap, si_ms);
        else
            c->values[i] = strdup(va_arg(ap, const char *));
    }
    va_end(ap);
}

#define BIT(i) (1u << (i))

static void test_filter_status(void **state)
{
    (void)state;
    struct invite_query q = {0};
    assert_int_equal(run(&q), MASK_ALL);
    cond(&q, QF_STATUS, QOP_EQ, 1, "Pending");
    assert_int_equal(run(&q), BIT(0) | BIT(1) | BIT(8) | BIT(9));
    cond(&q, QF_STATUS, QOP_EQ, 1, "Expired");
    assert_int_equal(run(&q), BIT(2) | BIT(5) | BIT(7));
    cond(&q, QF_STATUS, QOP_NE, 1, "Pending");
    assert_int_equal(run(&q), MASK_ALL & ~(BIT(0) | BIT(1) | BIT(8) | BIT(9)));
    cond(&q, QF_STATUS, QOP_IN, 2, "Used", "Declined");
    assert_int_equal(run(&q), BIT(4) | BIT(6));
    cond(&q, QF_STATUS, QOP_IN, 2, "Deleted", "Expired");
    assert_int_equal(run(&q), BIT(2) | BIT(3) | BIT(5) | BIT(7));
    cond(&q, QF_STATUS, QOP_EQ, 1, "Bogus");
    struct invite_page page;
    assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, NOW, &page), SI_EINVAL);
    invite_query_cleanup(&q);
    /* Earlier, 2 and 5 were still Pending. */
    memset(&q, 0, sizeof q);
    cond(&q, QF_STATUS, QOP_EQ, 1, "Pending");
    q.limit = 100;
    assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, NOW - 1, &page), SI_OK);
    assert_int_equal(page.n, 6);
    invite_page_cleanup(&page);
    invite_query_cleanup(&q);
}

static void test_filter_email_and_acceptor(void **state)
{
    (void)state;
    struct invite_query q = {0};
    cond(&q, QF_EMAIL, QOP_EQ, 1, "USER1@EXAMPLE.COM");
    assert_int_equal(run(&q), BIT(1));
    cond(&q, QF_EMAIL, QOP_NE, 1, "user1@example.com");
    assert_int_equal(run(&q), MASK_ALL & ~BIT(1));
    cond(&q, QF_EMAIL, QOP_IN, 3, "user2@example.com", "User3@Example.com", "x@example.com");
    assert_int_equal(run(&q), BIT(2) | BIT(3));
    cond(&q, QF_EMAIL, QOP_GT, 1, "user5@example.com");
    assert_int_equal(run(&q), BIT(6) | BIT(7) | BIT(8) | BIT(9));
    cond(&q, QF_EMAIL, QOP_LTE, 1, "user1@example.com");
    assert_int_equal(run(&q), BIT(0) | BIT(1));
    cond(&q, QF_EMAIL, QOP_IN, 0);
    assert_int_equal(run(&q), 0);
    cond(&q, QF_ACCEPTED_BY, QOP_EQ, 1, Q.acceptor);
    assert_int_equal(run(&q), BIT(4));
    cond(&q, QF_ACCEPTED_BY, QOP_NE, 1, Q.acceptor);
    assert_int_equal(run(&q), MASK_ALL & ~BIT(4));
}

static void test_filter_policies_and_dates(void **state)
{
    (void)state;
    struct invite_query q = {0};
    const unsigned evens = BIT(0) | BIT(2) | BIT(4) | BIT(6) | BIT(8);
    const unsigned odds = BIT(1) | BIT(3) | BIT(5) | BIT(7);
    cond(&q, QF_POLICY_IDS, QOP_HAS_SOME, 1, P_DESIGNER);
    assert_int_equal(run(&q), odds);
    cond(&q, QF_POLICY_IDS, QOP_HAS_SOME, 1, P_ADMIN);
    assert_int_equal(run(&q), evens | BIT(9));
    cond(&q, QF_POLICY_IDS, QOP_HAS_SOME, 2, P_ADMIN, P_DESIGNER);
    assert_int_equal(run(&q), MASK_ALL);
    cond(&q, QF_POLICY_IDS, QOP_HAS_SOME, 1, "100000000000000000"); /* a prefix is no match */
    assert_int_equal(run(&q), 0);
    cond(&q, QF_POLICY_IDS, QOP_EQ, 1, P_ADMIN);
    assert_int_equal(run(&q), evens);
    cond(&q, QF_POLICY_IDS, QOP_EQ, 3, P_MANAGER, P_ADMIN, P_MANAGER);
    assert_int_equal(run(&q), BIT(9));
    cond(&q, QF_POLICY_IDS, QOP_NE, 1, P_ADMIN);
    assert_int_equal(run(&q), odds | BIT(9));

    cond(&q, QF_DATE_CREATED, QOP_GT, 1, Q.created[5]);
    assert_int_equal(run(&q), BIT(6) | BIT(7) | BIT(8) | BIT(9));
    cond(&q, QF_DATE_CREATED, QOP_LTE, 1, Q.created[2]);
    assert_int_equal(run(&q), BIT(0) | BIT(1) | BIT(2));
    cond(&q, QF_DATE_CREATED, QOP_IN, 2, Q.created[3], Q.created[8]);
    assert_int_equal(run(&q), BIT(3) | BIT(8) | BIT(9));
    cond(&q, QF_DATE_CREATED, QOP_EQ, 1, Q.created[4]);
    assert_int_equal(run(&q), BIT(4));
    cond(&q, QF_DATE_CREATED, QOP_NE, 1, Q.created[4]);
    assert_int_equal(run(&q), MASK_ALL & ~BIT(4));
    cond(&q, QF_DATE_CREATED, QOP_GTE, 1, Q.created[7]);
    cond(&q, QF_DATE_CREATED, QOP_LT, 1, Q.created[8]);
    assert_int_equal(run(&q), BIT(7));

    /* Conditions combine with AND, lazy expiry included. */
    cond(&q, QF_STATUS, QOP_EQ, 1, "Pending");
    cond(&q, QF_POLICY_IDS, QOP_HAS_SOME, 1, P_ADMIN);
    assert_int_equal(run(&q), BIT(0) | BIT(8) | BIT(9));
}

/* The sort key of inv as the API puts it in a cursor. */
static void sort_key(enum sort_field sort, const struct invite *inv, char *out, size_t cap)
{
    if (sort == SORT_DATE_CREATED)
        snprintf(out, cap, "%lld", (long long)inv->created);
    else if (sort == SORT_EMAIL)
        snprintf(out, cap, "%s", inv->email); /* the stored form; the store folds it */
    else
        snprintf(out, cap, "%s", invite_status_name(invite_status_at(inv, NOW)));
}

/* -1, 0, 1 comparing a and b by the sort (ties by ID). */
static int compare(enum sort_field sort, const struct invite *a, const struct invite *b)
{
    int c = 0;
    if (sort == SORT_DATE_CREATED)
        c = (a->created > b->created) - (a->created < b->created);
    else if (sort == SORT_EMAIL)
        c = strcmp(a->email_key, b->email_key);
    else
        c = strcmp(invite_status_name(invite_status_at(a, NOW)),
                   invite_status_name(invite_status_at(b, NOW)));
    return c ? c : strcmp(a->id, b->id);
}

/* Walks every page of a sort with cursors; every row once, in order. */
static void walk(enum sort_field sort, bool desc, const struct query_cond *filter, unsigned want)
{
    struct invite_query q = {.sort = sort, .desc = desc, .limit = PAGE_SIZE};
    struct invite prev = {0};
    unsigned seen = 0;
    int pages = 0;
    char key[SI_EMAIL_MAX + 1];
    for (bool more = true; more; pages++) {
        if (filter) {
            q.ncond = 1;
            q.conds[0] = *filter;
            q.conds[0].values[0] = filter->values[0] ? strdup(filter->values[0]) : NULL;
        }
        struct invite_page page;
        assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, NOW, &page), SI_OK);
        assert_true(page.n <= PAGE_SIZE);
        for (size_t i = 0; i < page.n; i++) {
            int k = index_of(page.items[i].id);
            assert_false(seen & (1u << k));
            seen |= 1u << k;
            if (prev.id[0])
                assert_true(compare(sort, &prev, &page.items[i]) * (desc ? -1 : 1) < 0);
            prev = page.items[i];
            prev.purpose = NULL;
        }
        more = page.has_next;
        if (more) {
            sort_key(sort, &page.items[page.n - 1], key, sizeof key);
            invite_query_cleanup(&q);
            q.has_after = true;
            q.after_key = strdup(key);
            memcpy(q.after_id, page.items[page.n - 1].id, SI_ID_LEN);
        }
        invite_page_cleanup(&page);
    }
    invite_query_cleanup(&q);
    assert_int_equal(seen, want);
    assert_true(pages >= 2 || want == 0);
}

static void test_cursor_walks(void **state)
{
    (void)state;
    for (int sort = SORT_DATE_CREATED; sort <= SORT_STATUS; sort++) {
        walk((enum sort_field)sort, false, NULL, MASK_ALL);
        walk((enum sort_field)sort, true, NULL, MASK_ALL);
    }
    struct query_cond pending = {.field = QF_STATUS, .op = QOP_NE, .n = 1, .values = {"Used"}};
    walk(SORT_STATUS, false, &pending, MASK_ALL & ~BIT(4));
    walk(SORT_EMAIL, true, &pending, MASK_ALL & ~BIT(4));
}

/* Sort by status, read as ranges of the status index (query_sql.c): the whole order against
 * an oracle, at and just before the instant 2 and 5 expire, both directions, every page size,
 * status filters alone and with another condition, ranges left empty, and offset pages. */
struct status_case {
    enum query_op op; /* QOP_EQ, QOP_NE or QOP_IN on status; 0 values = no status condition */
    int n;
    const char *names[2];
    bool admin; /* also policyIds $hasSome Admin */
};

static si_ms oracle_now;
static struct invite oracle_rows[NINV];

static int by_status_at(const void *pa, const void *pb)
{
    const struct invite *a = pa, *b = pb;
    int c = strcmp(invite_status_name(invite_status_at(a, oracle_now)),
                   invite_status_name(invite_status_at(b, oracle_now)));
    return c ? c : strcmp(a->id, b->id);
}

/* Whether fixture row k matches the case at now (the oracle's filter). */
static bool case_matches(const struct status_case *sc, const struct invite *inv, si_ms now)
{
    int k = index_of(inv->id);
    bool hit = false;
    for (int i = 0; i < sc->n; i++)
        hit = hit || strcmp(sc->names[i], invite_status_name(invite_status_at(inv, now))) == 0;
    if (sc->n && (sc->op == QOP_NE ? hit : !hit))
        return false;
    return !sc->admin || k % 2 == 0 || k == 9;
}

static void case_query(const struct status_case *sc, struct invite_query *q)
{
    q->ncond = 0;
    if (sc->n) {
        struct query_cond *c = &q->conds[q->ncond++];
        c->field = QF_STATUS;
        c->op = sc->op;
        c->n = sc->n;
        for (int i = 0; i < sc->n; i++)
            c->values[i] = strdup(sc->names[i]);
    }
    if (sc->admin) {
        struct query_cond *c = &q->conds[q->ncond++];
        c->field = QF_POLICY_IDS;
        c->op = QOP_HAS_SOME;
        c->n = 1;
        c->values[0] = strdup(P_ADMIN);
    }
}

/* The IDs the case should answer at now, in order; returns how many. */
static int oracle(const struct status_case *sc, si_ms now, bool desc, char ids[NINV][SI_ID_LEN])
{
    struct invite sorted[NINV];
    int n = 0;
    oracle_now = now;
    memcpy(sorted, oracle_rows, sizeof sorted);
    qsort(sorted, NINV, sizeof sorted[0], by_status_at);
    for (int i = 0; i < NINV; i++) {
        const struct invite *inv = &sorted[desc ? NINV - 1 - i : i];
        if (case_matches(sc, inv, now))
            memcpy(ids[n++], inv->id, SI_ID_LEN);
    }
    return n;
}

/* Walks the case with cursors of page rows (offset paging when by_offset) and checks the
 * sequence of IDs against the oracle. */
static void status_walk(const struct status_case *sc, si_ms now, bool desc, int page_rows,
                        bool by_offset)
{
    char want[NINV][SI_ID_LEN];
    int nwant = oracle(sc, now, desc, want), got = 0;
    struct invite_query q = {.sort = SORT_STATUS, .desc = desc, .limit = page_rows};
    const char *key = NULL; /* the cursor's status: a name of core's, never freed */
    for (bool more = true; more;) {
        case_query(sc, &q);
        q.after_key = key ? strdup(key) : NULL;
        struct invite_page page;
        assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, now, &page), SI_OK);
        assert_true(page.n <= (size_t)page_rows);
        for (size_t i = 0; i < page.n; i++, got++) {
            assert_true(got < nwant);
            assert_string_equal(page.items[i].id, want[got]);
        }
        more = page.has_next;
        assert_int_equal(more, got < nwant);
        if (more && by_offset)
            q.offset += page_rows;
        else if (more) {
            const struct invite *last = &page.items[page.n - 1];
            q.has_after = true;
            key = invite_status_name(invite_status_at(last, now));
            memcpy(q.after_id, last->id, SI_ID_LEN);
        }
        invite_page_cleanup(&page);
        invite_query_cleanup(&q);
    }
    assert_int_equal(got, nwant);
}

static void test_status_sort_ranges(void **state)
{
    (void)state;
    const struct status_case cases[] = {
        {0},
        {QOP_EQ, 1, {"Pending"}, false},
        {QOP_EQ, 1, {"Expired"}, false},
        {QOP_NE, 1, {"Expired"}, false},
        {QOP_IN, 2, {"Expired", "Declined"}, false},
        {QOP_IN, 2, {"Used", "Declined"}, false}, /* Deleted, Expired, Pending left empty */
        {QOP_EQ, 1, {"Expired"}, true},
        {0, 0, {NULL}, true},
    };
    struct invite_query all = {.limit = QUERY_LIMIT_MAX};
    struct invite_page page;
    assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &all, NOW, &page), SI_OK);
    assert_int_equal(page.n, NINV);
    for (int i = 0; i < NINV; i++) {
        oracle_rows[i] = page.items[i];
        oracle_rows[i].purpose = NULL; /* the page keeps it */
    }
    /* At NOW, 2 and 5 (expiring exactly then) are Expired; a millisecond before, Pending. */
    const si_ms instants[] = {NOW, NOW - 1};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int t = 0; t < 2; t++)
            for (int desc = 0; desc < 2; desc++) {
                for (int rows = 1; rows <= 4; rows++)
                    status_walk(&cases[c], instants[t], desc, rows, false);
                status_walk(&cases[c], instants[t], desc, NINV, false);
                status_walk(&cases[c], instants[t], desc, 3, true);
            }
    invite_page_cleanup(&page);
    /* A cursor whose row has since changed status still continues in order after its key. */
    struct invite_query q = {.sort = SORT_STATUS, .limit = NINV, .has_after = true};
    q.after_key = strdup("Expired");
    memcpy(q.after_id, "00000000-0000-0000-0000-000000000000", SI_ID_LEN);
    assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, NOW, &page), SI_OK);
    assert_int_equal(page.n, 3 + 4 + 1); /* every Expired (IDs sort after zeros), Pending, Used */
    assert_string_equal(invite_status_name(invite_status_at(&page.items[0], NOW)), "Expired");
    invite_page_cleanup(&page);
    invite_query_cleanup(&q);
    /* An empty site answers no row through every range. */
    struct site other;
    fx_site(Q.f, Q.f->acct.id, &other, 10);
    q = (struct invite_query){.sort = SORT_STATUS, .desc = true, .limit = 5};
    assert_int_equal(store_invites_query(Q.f->s, other.id, &q, NOW, &page), SI_OK);
    assert_int_equal(page.n, 0);
    assert_false(page.has_next);
    invite_page_cleanup(&page);
}

static void test_offset_paging(void **state)
{
    (void)state;
    struct invite_query q = {.limit = 4, .sort = SORT_EMAIL};
    struct invite_page page;
    const bool next[] = {true, true, false};
    const size_t count[] = {4, 4, 2};
    for (int p = 0; p < 3; p++) {
        q.offset = 4 * p;
        assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, NOW, &page), SI_OK);
        assert_int_equal(page.n, count[p]);
        assert_int_equal(page.has_next, next[p]);
        assert_string_equal(page.items[0].email_key, p == 0   ? "user0@example.com"
                                                     : p == 1 ? "user4@example.com"
                                                              : "user8@example.com");
        if (!next[p])
            assert_int_equal(page.total, NINV);
        invite_page_cleanup(&page);
    }
    /* A malformed dateCreated cursor key is refused, not misread. */
    q = (struct invite_query){.limit = 4, .has_after = true, .after_key = strdup("12x")};
    assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, NOW, &page), SI_EINVAL);
    invite_query_cleanup(&q);
    /* Another site sees none of these. */
    struct site other;
    fx_site(Q.f, Q.f->acct.id, &other, 10);
    q = (struct invite_query){.limit = 4};
    assert_int_equal(store_invites_query(Q.f->s, other.id, &q, NOW, &page), SI_OK);
    assert_int_equal(page.n, 0);
    assert_int_equal(page.total, 0);
    invite_page_cleanup(&page);
}

static void test_delivery_in_pages(void **state)
{
    (void)state;
    struct invite_query q = {.limit = QUERY_LIMIT_MAX};
    struct invite_page page;
    assert_int_equal(store_invites_query(Q.f->s, Q.f->site.id, &q, NOW, &page), SI_OK);
    assert_int_equal(page.n, NINV);
    for (size_t i = 0; i < page.n; i++) {
        int k = index_of(page.items[i].id);
        enum delivery_status want = k == 3 ? DELIVERY_CANCELLED : DELIVERY_QUEUED;
        assert_int_equal(page.items[i].delivery.status, want);
        assert_string_equal(page.items[i].purpose, "Join us");
    }
    invite_page_cleanup(&page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_status),
        cmocka_unit_test(test_filter_email_and_acceptor),
        cmocka_unit_test(test_filter_policies_and_dates),
        cmocka_unit_test(test_cursor_walks),
        cmocka_unit_test(test_status_sort_ranges),
        cmocka_unit_test(test_offset_paging),
        cmocka_unit_test(test_delivery_in_pages),
    };
    if (secure_init() != SI_OK)
        return 1;
    /* One fixture for the group: the tests only read it. */
    return cmocka_run_group_tests_name("store_query", tests, qfx_setup, fx_teardown);
}
