/* The store contract suite, Idempotency-Key records: a claim is exclusive, a finished answer is
 * replayed, another body is refused, only the owner records or releases, an abandoned claim is
 * taken over after its lease, and expired records are void and swept. Runs on SQLite and, from
 * tests/pg, on PostgreSQL. */
#include "store_suite.h"

#define BODY "{\"ok\":true}"

/* A claim of key for the fixture's account at time t, with fingerprint byte fp. */
static struct idem_claim claim_at(const struct fx *f, const char *key, uint8_t fp, si_ms t)
{
    struct idem_claim c = {.account_id = f->acct.id, .key = key, .now = t};
    memset(c.fingerprint, fp, sizeof c.fingerprint);
    fx_id(c.owner);
    c.lease_until = t + IDEM_LEASE_MS;
    c.expires = t + IDEM_TTL_MS;
    return c;
}

/* Claims and returns the verdict; a replay's body is checked against want_body. */
static enum idem_verdict do_claim(struct fx *f, const struct idem_claim *c, bool write,
                                  const char *want_body)
{
    struct idem_outcome out;
    enum si_err rc = write ? store_idem_claim(f->s, c, &out) : store_idem_peek(f->s, c, &out);
    assert_int_equal(rc, SI_OK);
    if (out.verdict == IDEM_REPLAY) {
        assert_int_equal(out.status, 201);
        assert_int_equal(out.len, strlen(want_body));
        assert_string_equal(out.body, want_body);
    } else {
        assert_null(out.body);
    }
    free(out.body);
    return out.verdict;
}

static void test_claim_run_replay(void **state)
{
    struct fx *f = *state;
    struct idem_claim first = claim_at(f, "k1", 1, NOW);
    struct idem_claim twin = claim_at(f, "k1", 1, NOW + 10);
    struct idem_claim other = claim_at(f, "k1", 2, NOW + 20);
    assert_int_equal(do_claim(f, &first, false, NULL), IDEM_RUN); /* a look writes nothing */
    assert_int_equal(do_claim(f, &first, true, NULL), IDEM_RUN);
    assert_int_equal(do_claim(f, &twin, true, NULL), IDEM_IN_USE);
    assert_int_equal(do_claim(f, &twin, false, NULL), IDEM_IN_USE);
    assert_int_equal(do_claim(f, &other, true, NULL), IDEM_REUSED);
    /* Only the owner records. */
    assert_int_equal(store_idem_done(f->s, &twin, 201, BODY, strlen(BODY)), SI_ENOTFOUND);
    assert_int_equal(store_idem_done(f->s, &first, 201, BODY, strlen(BODY)), SI_OK);
    assert_int_equal(do_claim(f, &twin, true, BODY), IDEM_REPLAY);
    assert_int_equal(do_claim(f, &twin, false, BODY), IDEM_REPLAY);
    assert_int_equal(do_claim(f, &other, true, NULL), IDEM_REUSED);
    /* A finished record is not released. */
    assert_int_equal(store_idem_release(f->s, &first), SI_OK);
    assert_int_equal(do_claim(f, &twin, true, BODY), IDEM_REPLAY);
}

static void test_keys_per_account_and_release(void **state)
{
    struct fx *f = *state;
    struct idem_claim mine = claim_at(f, "shared", 1, NOW);
    assert_int_equal(do_claim(f, &mine, true, NULL), IDEM_RUN);
    struct fx other = *f;
    fx_account(&other, &other.acct, "Bea");
    struct idem_claim theirs = claim_at(&other, "shared", 2, NOW);
    assert_int_equal(do_claim(f, &theirs, true, NULL), IDEM_RUN);
    /* A failed answer gives the key back: the next claim runs. */
    struct idem_claim stranger = claim_at(f, "shared", 1, NOW);
    assert_int_equal(store_idem_release(f->s, &stranger), SI_OK); /* not its claim: no-op */
    assert_int_equal(do_claim(f, &stranger, true, NULL), IDEM_IN_USE);
    assert_int_equal(store_idem_release(f->s, &mine), SI_OK);
    assert_int_equal(do_claim(f, &stranger, true, NULL), IDEM_RUN);
}

static void test_lease_takeover(void **state)
{
    struct fx *f = *state;
    struct idem_claim dead = claim_at(f, "k2", 1, NOW);
    assert_int_equal(do_claim(f, &dead, true, NULL), IDEM_RUN);
    struct idem_claim retry = claim_at(f, "k2", 1, NOW + IDEM_LEASE_MS);
    assert_int_equal(do_claim(f, &retry, true, NULL), IDEM_RUN);
    /* The one that lost its lease cannot overwrite the new claim's answer. */
    assert_int_equal(store_idem_done(f->s, &dead, 201, "{}", 2), SI_ENOTFOUND);
    assert_int_equal(store_idem_done(f->s, &retry, 201, BODY, strlen(BODY)), SI_OK);
    struct idem_claim later = claim_at(f, "k2", 1, NOW + 2 * IDEM_LEASE_MS);
    assert_int_equal(do_claim(f, &later, true, BODY), IDEM_REPLAY);
}

static void test_expiry_and_sweep(void **state)
{
    struct fx *f = *state;
    struct idem_claim c = claim_at(f, "k3", 1, NOW);
    assert_int_equal(do_claim(f, &c, true, NULL), IDEM_RUN);
    assert_int_equal(store_idem_done(f->s, &c, 201, BODY, strlen(BODY)), SI_OK);
    struct idem_claim young = claim_at(f, "k4", 1, NOW + HOUR);
    assert_int_equal(do_claim(f, &young, true, NULL), IDEM_RUN);
    int64_t n = -1;
    assert_int_equal(store_idem_sweep(f->s, NOW + IDEM_TTL_MS - 1, 10, &n), SI_OK);
    assert_int_equal(n, 0);
    /* Void once expired, even before the sweep: another body under the key runs. */
    struct idem_claim after = claim_at(f, "k3", 2, NOW + IDEM_TTL_MS);
    assert_int_equal(do_claim(f, &after, false, NULL), IDEM_RUN);
    assert_int_equal(store_idem_sweep(f->s, NOW + IDEM_TTL_MS, 10, &n), SI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(do_claim(f, &young, false, NULL), IDEM_IN_USE); /* k4 stays */
    assert_int_equal(do_claim(f, &after, true, NULL), IDEM_RUN);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_claim_run_replay),
        T(test_keys_per_account_and_release),
        T(test_lease_takeover),
        T(test_expiry_and_sweep),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_idem");
}
