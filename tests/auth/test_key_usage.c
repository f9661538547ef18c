/* The "last used" recorder (auth/key_usage.c) over a real store: the first use is written at
 * once, later ones within a minute not at all, a queued one at stop, and two servers' writers on
 * one database never move a key's time back. Runs on SQLite, and on PostgreSQL (tests/pg). */
#include "auth/key_usage.h"

#include "../store/store_suite.h"

#include <time.h>

#define WAIT_MS 10000 /* the writer is signalled at once; this only bounds a broken one */

/* A new key of the fixture's account, as auth_key_issue would leave it. */
static void make_key(struct fx *f, struct api_key_row *k, uint8_t hash[32])
{
    memset(k, 0, sizeof *k);
    fx_id(k->id);
    snprintf(k->account_id, sizeof k->account_id, "%s", f->acct.id);
    snprintf(k->name, sizeof k->name, "usage");
    snprintf(k->prefix, sizeof k->prefix, "sik_%.6s", k->id);
    k->permissions = 4;
    k->created = NOW;
    random_fill(&random_system, hash, 32);
    assert_int_equal(store_key_create(f->s, k, hash), SI_OK);
}

static si_ms last_used(struct fx *f, const uint8_t hash[32])
{
    struct api_key_row got;
    assert_int_equal(store_key_lookup(f->s, hash, &got), SI_OK);
    return got.last_used;
}

/* Polls until the key's last use reads want; fails past WAIT_MS. */
static void wait_last_used(struct fx *f, const uint8_t hash[32], si_ms want)
{
    struct timespec pause = {0, 5 * 1000 * 1000};
    for (int waited = 0; last_used(f, hash) != want; waited += 5) {
        assert_true(waited < WAIT_MS);
        nanosleep(&pause, NULL);
    }
}

static void first_use_at_once_then_once_a_minute(void **state)
{
    struct fx *f = *state;
    struct api_key_row k;
    uint8_t hash[32];
    struct key_usage *u = NULL;
    make_key(f, &k, hash);
    assert_int_equal(key_usage_start(f->s, &u), SI_OK);
    key_usage_note(u, k.id, NOW);
    wait_last_used(f, hash, NOW); /* without a stop: the writer took it at once */
    /* Within the minute: not handed over, so even the flush at stop writes nothing newer. */
    key_usage_note(u, k.id, NOW + 1000);
    key_usage_note(u, k.id, NOW + KEY_USAGE_EVERY_MS - 1);
    key_usage_stop(u);
    assert_int_equal(last_used(f, hash), NOW);

    /* A minute on, the next use is written: queued, then flushed by stop at the latest. */
    assert_int_equal(key_usage_start(f->s, &u), SI_OK);
    key_usage_note(u, k.id, NOW + KEY_USAGE_EVERY_MS);
    key_usage_stop(u);
    assert_int_equal(last_used(f, hash), NOW + KEY_USAGE_EVERY_MS);
}

static void minute_counts_from_the_last_write(void **state)
{
    struct fx *f = *state;
    struct api_key_row k;
    uint8_t hash[32];
    struct key_usage *u = NULL;
    make_key(f, &k, hash);
    assert_int_equal(key_usage_start(f->s, &u), SI_OK);
    key_usage_note(u, k.id, NOW);
    wait_last_used(f, hash, NOW);
    key_usage_note(u, k.id, NOW + 30000); /* skipped */
    key_usage_note(u, k.id, NOW + 61000); /* a minute after the write: written */
    wait_last_used(f, hash, NOW + 61000);
    key_usage_note(u, k.id, NOW + 100000); /* 39 s after that write: skipped */
    key_usage_stop(u);
    assert_int_equal(last_used(f, hash), NOW + 61000);
}

/* Two servers on one database: the one that writes last holds the older time; the newer stays. */
static void two_servers_never_go_back(void **state)
{
    struct fx *f = *state;
    struct api_key_row k;
    uint8_t hash[32];
    struct key_usage *a = NULL, *b = NULL;
    make_key(f, &k, hash);
    assert_int_equal(key_usage_start(f->s, &a), SI_OK);
    assert_int_equal(key_usage_start(f->s, &b), SI_OK);
    key_usage_note(a, k.id, NOW + 500);
    key_usage_stop(a);
    key_usage_note(b, k.id, NOW + 200);
    key_usage_stop(b);
    assert_int_equal(last_used(f, hash), NOW + 500);
}

/* Thousands of keys grow the map (and unknown IDs are skipped by the store); the real key among
 * them is still written once. */
static void many_keys(void **state)
{
    struct fx *f = *state;
    struct api_key_row k;
    uint8_t hash[32];
    struct key_usage *u = NULL;
    char other[SI_ID_LEN];
    make_key(f, &k, hash);
    assert_int_equal(key_usage_start(f->s, &u), SI_OK);
    for (int i = 0; i < 3000; i++) {
        fx_id(other);
        key_usage_note(u, other, NOW + i);
    }
    key_usage_note(u, k.id, NOW + 5000);
    key_usage_note(u, k.id, NOW + 6000);
    key_usage_stop(u);
    assert_int_equal(last_used(f, hash), NOW + 5000);
    key_usage_note(NULL, k.id, NOW); /* handlers without serve: nothing */
    key_usage_stop(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(first_use_at_once_then_once_a_minute),
        T(minute_counts_from_the_last_write),
        T(two_servers_never_go_back),
        T(many_keys),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "key_usage");
}
