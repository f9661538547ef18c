/* SQLite only: the WAL stays bounded under steady writes while readers keep snapshots open,
 * and the page size of new and older files.
 * PASSIVE checkpoints alone never let the log start over then, and it grew by gigabytes under
 * load; the checkpointer's RESTART past 32 MiB must keep the file near that size. */
#include "store_suite.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>

#define CALLS        40 /* bulk calls of ITEMS new invites: several times the bound in WAL */
#define ITEMS        1000
#define READERS      4  /* threads reading invites all the while */
#define WAL_BOUND_MB 96 /* 32 MiB restart point + what is written while the restart waits */

struct readers {
    struct fx *f;
    char id[SI_ID_LEN];
    atomic_bool stop;
    atomic_long reads;
};

static void *read_loop(void *arg)
{
    struct readers *r = arg;
    while (!atomic_load(&r->stop)) {
        struct invite got;
        if (store_invite_get(r->f->s, r->f->site.id, r->id, &got) == SI_OK) {
            invite_cleanup(&got);
            atomic_fetch_add(&r->reads, 1);
        }
    }
    return NULL;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void test_wal_stays_bounded(void **state)
{
    struct fx *f = *state;
    assert_true(strncmp(f->url, "sqlite:", 7) == 0); /* this suite is about SQLite's WAL */
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", f->url + 7);

    struct readers r = {.f = f};
    fx_create(f, "reader@example.com", NOW, NOW + DAY, P_ADMIN, r.id);
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, read_loop, &r), 0);

    long long largest = 0;
    static struct bulk_item items[ITEMS];
    char email[64];
    for (int call = 0; call < CALLS; call++) {
        for (int i = 0; i < ITEMS; i++) {
            snprintf(email, sizeof email, "w%d.%d@example.com", call, i);
            fx_invite(&items[i].invite, f, email, NOW, NOW + DAY, P_ADMIN);
        }
        assert_int_equal(fx_bulk(f, items, ITEMS, NOW, CALLS * ITEMS + 10, false), SI_OK);
        fx_items_cleanup(items, ITEMS);
        long long size = file_size(wal);
        if (size > largest)
            largest = size;
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);

    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, CALLS * ITEMS + 1);
    assert_true(atomic_load(&r.reads) > 0);
    print_message("WAL: largest %lld bytes over %d calls of %d invites, %ld reads\n", largest,
                  CALLS, ITEMS, atomic_load(&r.reads));
    assert_true(largest > 0);
    assert_true(largest <= (long long)WAL_BOUND_MB * 1024 * 1024);
}

/* PRAGMA page_size of the file at path, read on a connection of its own. */
static int file_page_size(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int size = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        size = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return size;
}

/* A file the store makes has 8 KiB pages; a file made before keeps its 4 KiB pages, its rows,
 * and takes a bulk call like any other (the checkpointer's limits are in bytes, not frames). */
static void test_page_size_new_and_old(void **state)
{
    struct fx *f = *state;
    assert_true(strncmp(f->url, "sqlite:", 7) == 0);
    assert_int_equal(file_page_size(f->url + 7), 8192);

    char path[512], url[520];
    snprintf(path, sizeof path, "%s.old", f->url + 7);
    snprintf(url, sizeof url, "sqlite:%s", path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;"
                                  "CREATE TABLE kept(a); INSERT INTO kept VALUES (7);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    struct fx old = {.url = url};
    assert_int_equal(store_open(url, &old.s), SI_OK);
    assert_int_equal(store_migrate(old.s, NULL), SI_OK);
    fx_account(&old, &old.acct, "Old");
    fx_site(&old, old.acct.id, &old.site, 100);
    static struct bulk_item items[ITEMS];
    char email[64];
    for (int i = 0; i < ITEMS; i++) {
        snprintf(email, sizeof email, "old%d@example.com", i);
        fx_invite(&items[i].invite, &old, email, NOW, NOW + DAY, P_ADMIN);
    }
    assert_int_equal(fx_bulk(&old, items, ITEMS, NOW, ITEMS, false), SI_OK);
    fx_items_cleanup(items, ITEMS);
    int64_t used = 0;
    assert_int_equal(store_seats_used(old.s, old.site.id, NOW, &used), SI_OK);
    assert_int_equal(used, ITEMS);
    store_close(old.s);
    assert_int_equal(file_page_size(path), 4096);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT a FROM kept", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 7);
    sqlite3_finalize(s);
    sqlite3_close(db);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(url, sizeof url, "%s%s", path, suffixes[i]);
        remove(url);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_stays_bounded, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_page_size_new_and_old, fx_setup, fx_teardown),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_sqlite_wal");
}
