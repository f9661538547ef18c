/* PostgreSQL-only store tests: several store handles on one database (each its own pool of server
 * connections, as several `serve` processes have) claiming the outbox, inviting against one seat
 * limit, answering one invite and migrating at the same time; reconnecting after the server
 * dropped a connection; every index key in the C collation; and the time of a 1,000-address bulk
 * call. */
#include "store_suite.h"
#include "core/roles.h"

#include "pg_sql.h"
#include <pthread.h>
#include <time.h>

#define HANDLES     2   /* store handles on the one database ("processes") */
#define CLAIM_ROWS  300 /* emails queued before the claim race */
#define CLAIM_BATCH 7   /* rows per claim call: small, so the claimers interleave a lot */
#define LEASE       ((si_ms)60000)
#define SEAT_LIMIT  50
#define PER_CALL    30 /* addresses per bulk call in the seat race */
#define CALLERS     4  /* bulk callers in the seat race, spread over the handles */

/* A second handle on the fixture's database. */
static struct store *second(struct fx *f)
{
    struct store *s = NULL;
    assert_int_equal(store_open(f->url, &s), SI_OK);
    return s;
}

/* ---- outbox claim --------------------------------------------------------------------------- */

struct claimer {
    struct store *s;
    int64_t ids[CLAIM_ROWS];
    size_t n;
    int errors;
};

static void *claim_all(void *arg)
{
    struct claimer *c = arg;
    for (;;) {
        struct outbox_msg *m = NULL;
        size_t n = 0;
        if (store_outbox_claim(c->s, NOW, LEASE, CLAIM_BATCH, &m, &n) != SI_OK) {
            c->errors++;
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            if (c->n < CLAIM_ROWS)
                c->ids[c->n] = m[i].id;
            c->n++;
            outbox_msg_cleanup(&m[i]);
        }
        free(m);
        if (n == 0)
            return NULL;
    }
}

static void make_invites(struct fx *f, int n, const char *tag)
{
    struct bulk_item *it = calloc((size_t)n, sizeof *it);
    char email[80];
    for (int i = 0; i < n; i++) {
        snprintf(email, sizeof email, "%s%d@example.com", tag, i);
        fx_invite(&it[i].invite, f, email, NOW, NOW + DAY, P_ADMIN);
    }
    assert_int_equal(fx_bulk(f, it, (size_t)n, NOW, 100000, false), SI_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(it[i].outcome, BULK_CREATED);
    fx_items_cleanup(it, (size_t)n);
    free(it);
}

/* Two handles claim until the queue is empty: every email exactly once, none twice. */
static void test_claim_across_handles(void **state)
{
    struct fx *f = *state;
    make_invites(f, CLAIM_ROWS, "c");
    static struct claimer c[HANDLES];
    pthread_t t[HANDLES];
    memset(c, 0, sizeof c);
    c[0].s = f->s;
    c[1].s = second(f);
    for (int i = 0; i < HANDLES; i++)
        assert_int_equal(pthread_create(&t[i], NULL, claim_all, &c[i]), 0);
    for (int i = 0; i < HANDLES; i++)
        pthread_join(t[i], NULL);
    size_t total = 0;
    for (int i = 0; i < HANDLES; i++) {
        assert_int_equal(c[i].errors, 0);
        total += c[i].n;
    }
    assert_int_equal(total, CLAIM_ROWS);
    /* No ID in both lists, none twice in one. */
    for (int i = 0; i < HANDLES; i++)
        for (size_t a = 0; a < c[i].n; a++)
            for (int j = i; j < HANDLES; j++)
                for (size_t b = (j == i ? a + 1 : 0); b < c[j].n; b++)
                    assert_true(c[i].ids[a] != c[j].ids[b]);
    store_close(c[1].s);
}

/* ---- seats and pending emails across handles --------------------------------------------- */

struct inviter {
    struct fx *f;
    struct store *s;
    const char *tag; /* addresses: <tag><i>@example.com */
    int created, existing, refused, errors;
};

static void *invite_batch(void *arg)
{
    struct inviter *w = arg;
    struct bulk_item it[PER_CALL];
    char email[80];
    for (int i = 0; i < PER_CALL; i++) {
        snprintf(email, sizeof email, "%s%d@example.com", w->tag, i);
        fx_invite(&it[i].invite, w->f, email, NOW, NOW + DAY, P_ADMIN);
    }
    struct bulk_request req = {.site_id = w->f->site.id,
                               .contributor_limit = SEAT_LIMIT,
                               .now = NOW,
                               .items = it,
                               .n = PER_CALL};
    if (store_invites_bulk(w->s, &req) != SI_OK)
        w->errors++;
    for (int i = 0; i < PER_CALL; i++) {
        w->created += it[i].outcome == BULK_CREATED;
        w->existing += it[i].outcome == BULK_EXISTING;
        w->refused += it[i].outcome == BULK_LIMIT_REACHED;
        invite_cleanup(&it[i].invite);
    }
    return NULL;
}

/* Runs CALLERS bulk calls at once over two handles; tags[i] names caller i's addresses. */
static void race_bulk(struct fx *f, const char *const tags[CALLERS], struct inviter w[CALLERS])
{
    struct store *s2 = second(f);
    pthread_t t[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        w[i] = (struct inviter){.f = f, .s = i % 2 ? s2 : f->s, .tag = tags[i]};
        assert_int_equal(pthread_create(&t[i], NULL, invite_batch, &w[i]), 0);
    }
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].errors, 0);
    }
    store_close(s2);
}

/* 120 distinct addresses against 50 seats: exactly 50 created, whoever wins. */
static void test_seat_limit_across_handles(void **state)
{
    struct fx *f = *state;
    static const char *const tags[CALLERS] = {"a", "b", "c", "d"};
    struct inviter w[CALLERS];
    race_bulk(f, tags, w);
    int created = 0, refused = 0;
    for (int i = 0; i < CALLERS; i++) {
        created += w[i].created;
        refused += w[i].refused;
    }
    assert_int_equal(created, SEAT_LIMIT);
    assert_int_equal(refused, CALLERS * PER_CALL - SEAT_LIMIT);
    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, SEAT_LIMIT);
}

/* The same 30 addresses from four callers: each invited once, the others see it existing. */
static void test_same_addresses_across_handles(void **state)
{
    struct fx *f = *state;
    static const char *const tags[CALLERS] = {"same", "same", "same", "same"};
    struct inviter w[CALLERS];
    race_bulk(f, tags, w);
    int created = 0, existing = 0;
    for (int i = 0; i < CALLERS; i++) {
        created += w[i].created;
        existing += w[i].existing;
    }
    assert_int_equal(created, PER_CALL);
    assert_int_equal(existing, (CALLERS - 1) * PER_CALL);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, PER_CALL); /* one email per address, not four */
}

/* ---- the invitee's answer ----------------------------------------------------------------- */

struct answerer {
    struct store *s;
    const struct token_ref *link;
    enum si_err rc;
};

static void *answer_one(void *arg)
{
    struct answerer *x = arg;
    struct invitee_answer a = {.choice = INVITEE_ACCEPT, .now = NOW};
    fx_id(a.new_account.id);
    a.new_account.created = NOW;
    fx_id(a.contributor_id);
    x->rc = store_invite_answer(x->s, x->link, &a);
    invite_cleanup(&a.invite);
    return NULL;
}

/* Two accepts of one link at once, from two handles: one wins, the other finds it Used. */
static void test_answer_race(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    fx_create(f, "zed@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, id);
    struct invite inv;
    assert_int_equal(store_invite_get(f->s, f->site.id, id, &inv), SI_OK);
    struct token_ref link;
    token_ref_of_invite(&inv, &link);
    struct answerer x[HANDLES] = {{.s = f->s, .link = &link}, {.s = second(f), .link = &link}};
    pthread_t t[HANDLES];
    for (int i = 0; i < HANDLES; i++)
        assert_int_equal(pthread_create(&t[i], NULL, answer_one, &x[i]), 0);
    for (int i = 0; i < HANDLES; i++)
        pthread_join(t[i], NULL);
    assert_true((x[0].rc == SI_OK && x[1].rc == SI_ESTATE) ||
                (x[0].rc == SI_ESTATE && x[1].rc == SI_OK));
    struct contributor_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_contributors_list(f->s, f->site.id, 10, &rows, &n), SI_OK);
    assert_int_equal(n, 1);
    free(rows);
    store_close(x[1].s);
    invite_cleanup(&inv);
}

/* ---- migration, reconnection, speed ------------------------------------------------------- */

struct migrator {
    struct store *s;
    int applied;
    enum si_err rc;
};

static void *migrate_one(void *arg)
{
    struct migrator *m = arg;
    m->rc = store_migrate(m->s, &m->applied);
    return NULL;
}

/* Two handles migrate a new database at once: one applies every step, the other none. */
static void test_concurrent_migrate(void **state)
{
    (void)state;
    char *url = store_fixture_url();
    struct migrator m[HANDLES] = {{0}};
    pthread_t t[HANDLES];
    for (int i = 0; i < HANDLES; i++)
        assert_int_equal(store_open(url, &m[i].s), SI_OK);
    for (int i = 0; i < HANDLES; i++)
        assert_int_equal(pthread_create(&t[i], NULL, migrate_one, &m[i]), 0);
    for (int i = 0; i < HANDLES; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(m[0].rc, SI_OK);
    assert_int_equal(m[1].rc, SI_OK);
    assert_true(m[0].applied > 0 || m[1].applied > 0);
    assert_true(m[0].applied == 0 || m[1].applied == 0);
    struct role *roles = NULL;
    size_t n = 0;
    char acct[SI_ID_LEN];
    fx_id(acct);
    assert_int_equal(store_roles_list(m[0].s, acct, &roles, &n), SI_OK);
    size_t npre = 0;
    roles_predefined(&npre);
    assert_int_equal(n, npre); /* seeded once */
    free(roles);
    for (int i = 0; i < HANDLES; i++)
        store_close(m[i].s);
    store_fixture_remove(url);
    free(url);
}

/* The server ends every session of the database; the store reconnects on the next borrow. */
static void test_reconnect(void **state)
{
    struct fx *f = *state;
    assert_int_equal(store_ping(f->s), SI_OK);
    /* The name is the fixture's si_t_<hex>: nothing in it needs quoting. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE datname = '%s' AND pid <> pg_backend_pid()",
             strrchr(f->url, '/') + 1);
    assert_true(pg_sql_long(getenv(STORE_FIXTURE_ENV), sql) >= 1);
    /* The first call may fail on the dead session (logged, SI_ESTORE); the next one resets it. */
    if (store_ping(f->s) != SI_OK)
        print_message("the first call after the kill failed, as it may\n");
    assert_int_equal(store_ping(f->s), SI_OK);
    char id[SI_ID_LEN];
    fx_create(f, "after@example.com", NOW, NOW + DAY, P_ADMIN, id);
}

/* Every text key of every index compares bytewise (COLLATE "C"), as SQLite's BINARY does: a key
 * in the cluster's default collation compared with a C one has no collation and can use neither
 * index, and on an en_US.UTF-8 cluster each comparison is a strcoll (schema version 19). The
 * fixture's cluster is C, where the two sort alike, so the catalog is what can tell. One read
 * gives the C keys' count (the query does see the keys) and the indexes with a default one. */
static void test_index_keys_collate_c(void **state)
{
    struct fx *f = *state;
    PGresult *r =
        pg_sql_query(f->url, "SELECT count(*) FILTER (WHERE k.coll = '\"C\"'::regcollation),"
                             " coalesce(string_agg(ic.relname, ' ' ORDER BY ic.relname)"
                             " FILTER (WHERE k.coll = '\"default\"'::regcollation), '')"
                             " FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid"
                             " JOIN pg_class t ON t.oid = x.indrelid"
                             " JOIN pg_namespace n ON n.oid = t.relnamespace"
                             " CROSS JOIN LATERAL unnest(x.indcollation::oid[]) AS k(coll)"
                             " WHERE n.nspname = 'public'");
    assert_true(strtol(PQgetvalue(r, 0, 0), NULL, 10) > 10);
    if (PQgetvalue(r, 0, 1)[0])
        print_message("indexes with a key in the default collation: %s\n", PQgetvalue(r, 0, 1));
    assert_string_equal(PQgetvalue(r, 0, 1), "");
    PQclear(r);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 1,000 new addresses in one call; prints the time (the figure docs/STORAGE.md quotes). */
static void test_bulk_thousand_time(void **state)
{
    struct fx *f = *state;
    struct bulk_item *it = calloc(SI_BULK_MAX, sizeof *it);
    char email[64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < SI_BULK_MAX; i++) {
            snprintf(email, sizeof email, "r%d-user%d@example.com", round, i);
            fx_invite(&it[i].invite, f, email, NOW, NOW + DAY, P_ADMIN "," P_MANAGER);
        }
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(fx_bulk(f, it, SI_BULK_MAX, NOW, 5000, false), SI_OK);
        double ms = ms_since(&t0);
        for (int i = 0; i < SI_BULK_MAX; i++)
            assert_int_equal(it[i].outcome, BULK_CREATED);
        print_message("bulk of %d new invites (round %d): %.1f ms\n", SI_BULK_MAX, round + 1, ms);
        fx_items_cleanup(it, SI_BULK_MAX);
    }
    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 2 * SI_BULK_MAX);
    free(it);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const char *url = getenv(STORE_FIXTURE_ENV);
    if (!url || strncmp(url, "postgres", strlen("postgres")) != 0) {
        fprintf(stderr, "test_multi: set %s to a postgres:// URL\n", STORE_FIXTURE_ENV);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        T(test_claim_across_handles),
        T(test_seat_limit_across_handles),
        T(test_same_addresses_across_handles),
        T(test_answer_race),
        cmocka_unit_test(test_concurrent_migrate),
        T(test_reconnect),
        T(test_index_keys_collate_c),
        T(test_bulk_thousand_time),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "pg_multi");
}
