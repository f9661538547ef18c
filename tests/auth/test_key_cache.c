/* The key cache (auth/key_cache.c) and the store epoch it trusts (store_auth_epoch): entries hit
 * only under their epoch and age; only active keys and found sites are kept; settings are
 * copied. Over a real store: on SQLite the epoch is a counter in the file that every change to a
 * key or a site moves in its own transaction, whoever makes it; on PostgreSQL (tests/pg) a
 * change made in this process moves the epoch at once, one made through another
 * connection (another process) once its notification arrives, a key's last-use record not at
 * all, and a lost feed connection comes back with a new epoch. */
#include "auth/auth.h"
#include "auth/key_cache.h"

#include "../store/store_suite.h"

#include "pg_sql.h"
#include <sqlite3.h>
#include <time.h>

#define WAIT_MS 10000 /* notifications take about a millisecond; this only bounds a broken feed */

static void key_row(struct api_key_row *k, const char *account_id, unsigned perms)
{
    memset(k, 0, sizeof *k);
    fx_id(k->id);
    snprintf(k->account_id, sizeof k->account_id, "%s", account_id);
    snprintf(k->name, sizeof k->name, "cache");
    k->permissions = perms;
    k->created = NOW;
}

static void site_row(struct site *s, const char *name)
{
    memset(s, 0, sizeof *s);
    fx_id(s->id);
    fx_id(s->account_id);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->contributor_limit = 7;
}

static void fill_hash(uint8_t hash[32], uint8_t seed)
{
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(seed * 31 + i);
}

/* An empty cache, and a key, a site and a key hash to put in it. */
static void fresh(struct api_key_row *k, unsigned perms, struct site *s, const char *site_name,
                  uint8_t h[32], uint8_t seed)
{
    key_cache_clear();
    key_row(k, "acct", perms);
    site_row(s, site_name);
    fill_hash(h, seed);
}

static void hits_under_its_epoch_only(void **state)
{
    (void)state;
    struct api_key_row k, got;
    struct site s, gs = {0};
    uint8_t h[32];
    fresh(&k, 3, &s, "One", h, 1);
    key_cache_put(h, s.id, 5, 1000, &k, &s, true);
    assert_true(key_cache_get(h, s.id, 5, 1001, &got, &gs));
    assert_string_equal(got.id, k.id);
    assert_int_equal(got.permissions, 3);
    assert_string_equal(gs.name, "One");
    assert_int_equal(gs.contributor_limit, 7);
    assert_false(key_cache_get(h, s.id, 6, 1001, &got, &gs)); /* the epoch moved on */
    assert_false(key_cache_get(h, s.id, 0, 1001, &got, &gs)); /* no feed */
    key_cache_put(h, s.id, 0, 1000, &k, &s, true);            /* not kept either */
    assert_false(key_cache_get(h, s.id, 0, 1001, &got, &gs));
    uint8_t other[32];
    fill_hash(other, 2);
    assert_false(key_cache_get(other, s.id, 5, 1001, &got, &gs));
    char other_site[SI_ID_LEN];
    fx_id(other_site);
    assert_false(key_cache_get(h, other_site, 5, 1001, &got, &gs));
    assert_false(key_cache_get(h, NULL, 5, 1001, &got, &gs)); /* the lookup without a site */
    site_cleanup(&gs);
}

static void ages_out(void **state)
{
    (void)state;
    struct api_key_row k, got;
    struct site s, gs = {0};
    uint8_t h[32];
    fresh(&k, 1, &s, "Unused", h, 3);
    key_cache_put(h, NULL, 9, 50000, &k, NULL, false);
    assert_true(key_cache_get(h, NULL, 9, 50000 + KEY_CACHE_TTL_MS - 1, &got, &gs));
    assert_false(key_cache_get(h, NULL, 9, 50000 + KEY_CACHE_TTL_MS, &got, &gs));
    assert_false(key_cache_get(h, NULL, 9, 49999, &got, &gs)); /* a clock that went back */
}

static void keeps_active_keys_and_found_sites_only(void **state)
{
    (void)state;
    struct api_key_row k, got;
    struct site s, gs = {0};
    uint8_t h[32];
    fresh(&k, 1, &s, "Two", h, 4);
    k.revoked = NOW;
    key_cache_put(h, s.id, 5, 1000, &k, &s, true);
    assert_false(key_cache_get(h, s.id, 5, 1000, &got, &gs));
    k.revoked = 0;
    key_cache_put(h, s.id, 5, 1000, &k, &s, false); /* the site was not found */
    assert_false(key_cache_get(h, s.id, 5, 1000, &got, &gs));
    /* One slot holds one pair: a later pair of the same slot replaces it. */
    key_cache_put(h, s.id, 5, 1000, &k, &s, true);
    size_t replaced = 0;
    for (int tries = 0; tries < 64 * KEY_CACHE_SLOTS && !replaced; tries++) {
        uint8_t o[32];
        random_fill(&random_system, o, sizeof o);
        key_cache_put(o, s.id, 5, 1000, &k, &s, true);
        assert_true(key_cache_get(o, s.id, 5, 1000, &got, &gs));
        site_cleanup(&gs);
        if (!key_cache_get(h, s.id, 5, 1000, &got, &gs))
            replaced++;
        site_cleanup(&gs);
    }
    assert_int_equal(replaced, 1);
}

static void copies_settings(void **state)
{
    (void)state;
    struct api_key_row k, got;
    struct site s, gs = {0};
    uint8_t h[32];
    fresh(&k, 1, &s, "Three", h, 5);
    struct site_settings set = {.reminder_days = 3};
    snprintf(set.allowed_domains, sizeof set.allowed_domains, "example.com");
    site_settings_put(&s, &set);
    key_cache_put(h, s.id, 5, 1000, &k, &s, true);
    s.settings->reminder_days = 9; /* the caller's copy changes after the put */
    site_cleanup(&s);
    assert_true(key_cache_get(h, s.id, 5, 1000, &got, &gs));
    assert_non_null(gs.settings);
    assert_int_equal(gs.settings->reminder_days, 3);
    assert_string_equal(gs.settings->allowed_domains, "example.com");
    gs.settings->reminder_days = 11; /* and a hit's copy is the caller's own */
    site_cleanup(&gs);
    assert_true(key_cache_get(h, s.id, 5, 1000, &got, &gs));
    assert_int_equal(gs.settings->reminder_days, 3);
    site_cleanup(&gs);
    key_cache_clear();
}

/* ---- over a real store ------------------------------------------------------------------- */

static bool is_pg(const struct fx *f)
{
    return strncmp(f->url, "postgres", 8) == 0;
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Polls until the store's epoch is non-zero and not before; returns it. */
static uint64_t wait_epoch_other_than(struct store *s, uint64_t before)
{
    uint64_t e;
    for (int waited = 0; (e = store_auth_epoch(s)) == 0 || e == before; waited += 5) {
        assert_true(waited < WAIT_MS);
        pause_ms(5);
    }
    return e;
}

/* A key of the fixture's account: its text into key_text. */
static void issue_key(struct fx *f, struct api_key_row *k, char key_text[API_KEY_TEXT_LEN + 1])
{
    uint8_t hash[SECURE_HASH_LEN];
    key_row(k, f->acct.id, 4);
    auth_key_issue(&random_system, k, key_text, hash);
    assert_int_equal(store_key_create(f->s, k, hash), SI_OK);
}

static enum si_err authenticate(struct fx *f, const char *key_text)
{
    struct principal p;
    struct site site;
    bool found;
    enum si_err rc = auth_authenticate_site(f->s, key_text, f->site.id, &p, &site, &found);
    if (!rc)
        assert_true(found);
    site_cleanup(&site);
    return rc;
}

/* Runs sql on the SQLite file of url through a connection of its own, as the sqlite3 shell or
 * another process would. */
static void sqlite_other(const char *url, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(url + strlen("sqlite:"), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* SQLite's epoch is schema 19's counter, moved by triggers in the changing transaction: a
 * change is seen by the next request whoever made it, with no feed to wait for. */
static void sqlite_epoch_follows_changes(struct fx *f)
{
    struct api_key_row k1, k2, k3;
    char t1[API_KEY_TEXT_LEN + 1], t2[API_KEY_TEXT_LEN + 1], t3[API_KEY_TEXT_LEN + 1], sql[200];
    uint64_t e = store_auth_epoch(f->s);
    assert_true(e > 0);
    issue_key(f, &k1, t1);
    issue_key(f, &k2, t2);
    issue_key(f, &k3, t3);
    assert_int_equal(store_auth_epoch(f->s), e); /* a new key changes nothing cached */
    assert_int_equal(authenticate(f, t1), SI_OK);
    assert_int_equal(authenticate(f, t2), SI_OK);
    assert_int_equal(authenticate(f, t3), SI_OK);

    /* This process's revoke, another store's (another process) and the shell's. */
    assert_int_equal(store_key_revoke(f->s, k1.id, NOW), SI_OK);
    assert_true(store_auth_epoch(f->s) > e);
    assert_int_equal(authenticate(f, t1), SI_EUNAUTH);
    struct store *other = NULL;
    assert_int_equal(store_open(f->url, &other), SI_OK);
    e = store_auth_epoch(f->s);
    assert_int_not_equal(store_auth_epoch(other), e); /* same file, another store of the process */
    assert_int_equal(store_key_revoke(other, k2.id, NOW), SI_OK);
    assert_true(store_auth_epoch(f->s) > e);
    assert_int_equal(authenticate(f, t2), SI_EUNAUTH);
    e = store_auth_epoch(f->s);
    snprintf(sql, sizeof sql, "UPDATE api_keys SET revoked_ms = 1 WHERE id = '%s'", k3.id);
    sqlite_other(f->url, sql);
    assert_true(store_auth_epoch(f->s) > e);
    assert_int_equal(authenticate(f, t3), SI_EUNAUTH);

    /* A site's settings move it; the columns written on the request path do not (a key's last
     * use, the seat counts), or every write would empty the cache. */
    e = store_auth_epoch(f->s);
    struct site_settings_patch p = {.reminder_days = 5};
    assert_int_equal(store_site_settings_set(other, f->site.id, &p, NOW, NULL), SI_OK);
    assert_true(store_auth_epoch(f->s) > e);
    e = store_auth_epoch(f->s);
    struct key_use use = {.at = NOW + 1};
    snprintf(use.key_id, sizeof use.key_id, "%s", k3.id);
    assert_int_equal(store_keys_used(other, &use, 1), SI_OK);
    snprintf(sql, sizeof sql,
             "UPDATE sites SET seats_pending = seats_pending + 1,"
             " seats_contributors = seats_contributors + 1 WHERE id = '%s'",
             f->site.id);
    sqlite_other(f->url, sql);
    assert_int_equal(store_auth_epoch(f->s), e);
    snprintf(sql, sizeof sql, "UPDATE sites SET name = 'Renamed' WHERE id = '%s'", f->site.id);
    sqlite_other(f->url, sql);
    assert_true(store_auth_epoch(f->s) > e);
    store_close(other);
    key_cache_clear();
}

static void kill_listener(const char *url)
{
    assert_int_equal(pg_sql_long(url, "SELECT count(pg_terminate_backend(pid)) FROM"
                                      " pg_stat_activity WHERE application_name ="
                                      " 'siteinvites-listen' AND datname = current_database()"),
                     1);
}

static void epoch_follows_changes(void **state)
{
    struct fx *f = *state;
    key_cache_clear();
    if (!is_pg(f)) {
        sqlite_epoch_follows_changes(f);
        return;
    }
    uint64_t e = wait_epoch_other_than(f->s, 0); /* the first call started the feed */
    struct api_key_row k1, k2, k3;
    char t1[API_KEY_TEXT_LEN + 1], t2[API_KEY_TEXT_LEN + 1], t3[API_KEY_TEXT_LEN + 1];
    issue_key(f, &k1, t1);
    issue_key(f, &k2, t2);
    issue_key(f, &k3, t3);
    assert_int_equal(authenticate(f, t1), SI_OK);
    assert_int_equal(authenticate(f, t2), SI_OK);
    e = wait_epoch_other_than(f->s, 0); /* creating keys changes nothing cached */

    /* This process's own revoke: the next request already sees it. */
    assert_int_equal(store_key_revoke(f->s, k1.id, NOW), SI_OK);
    assert_int_not_equal(store_auth_epoch(f->s), e);
    assert_int_equal(authenticate(f, t1), SI_EUNAUTH);

    /* Another process's: seen once its notification arrives, well inside the cache's TTL. */
    struct store *other = NULL;
    assert_int_equal(store_open(f->url, &other), SI_OK);
    assert_int_equal(authenticate(f, t2), SI_OK); /* cached under the current epoch */
    e = store_auth_epoch(f->s);
    assert_int_equal(store_key_revoke(other, k2.id, NOW), SI_OK);
    e = wait_epoch_other_than(f->s, e);
    assert_int_equal(authenticate(f, t2), SI_EUNAUTH);

    /* A site settings change elsewhere moves it too; a key's last-use record does not. */
    struct site_settings_patch p = {.reminder_days = 5};
    assert_int_equal(store_site_settings_set(other, f->site.id, &p, NOW, NULL), SI_OK);
    e = wait_epoch_other_than(f->s, e);
    struct key_use use = {.at = NOW};
    snprintf(use.key_id, sizeof use.key_id, "%s", k3.id);
    assert_int_equal(store_keys_used(other, &use, 1), SI_OK);
    pause_ms(500);
    assert_int_equal(store_auth_epoch(f->s), e);
    store_close(other);

    /* A lost feed connection: nothing cached survives it, and the feed comes back. */
    assert_int_equal(authenticate(f, t3), SI_OK);
    kill_listener(f->url);
    wait_epoch_other_than(f->s, e);
    assert_int_equal(authenticate(f, t3), SI_OK);
    key_cache_clear();
}

/* A feed that cannot connect at first (a role allowed one connection, which the pool holds)
 * keeps the cache off, and starts once it can. */
static void feed_starts_late(void **state)
{
    struct fx *f = *state;
    if (!is_pg(f))
        return; /* SQLite has no feed: its epoch is a counter in the file */
    char id[SI_ID_LEN], role[48], sql[160], url[512];
    fx_id(id);
    snprintf(role, sizeof role, "si_cache_%.8s", id);
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN CONNECTION LIMIT 1", role);
    pg_sql_run(f->url, sql);
    const char *at = strstr(f->url, "://postgres@");
    assert_non_null(at);
    snprintf(url, sizeof url, "%.*s://%s@%s", (int)(at - f->url), f->url, role,
             at + strlen("://postgres@"));
    struct store *s = NULL;
    assert_int_equal(store_open(url, &s), SI_OK); /* its one connection */
    assert_int_equal(store_auth_epoch(s), 0);     /* starts the feed, which is refused */
    pause_ms(700);                                /* more than one retry */
    assert_int_equal(store_auth_epoch(s), 0);
    snprintf(sql, sizeof sql, "ALTER ROLE %s CONNECTION LIMIT 5", role);
    pg_sql_run(f->url, sql);
    wait_epoch_other_than(s, 0);
    store_close(s);
    snprintf(sql, sizeof sql, "DROP ROLE %s", role);
    pg_sql_run(f->url, sql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hits_under_its_epoch_only),
        cmocka_unit_test(ages_out),
        cmocka_unit_test(keeps_active_keys_and_found_sites_only),
        cmocka_unit_test(copies_settings),
        cmocka_unit_test_setup_teardown(epoch_follows_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(feed_starts_late, fx_setup, fx_teardown),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "auth_key_cache");
}
