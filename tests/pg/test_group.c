/* PostgreSQL's group commit (store/pg_group.c) when a group fails, told apart by where: calls
 * queued behind a held site lock run as one group whose audit entries and COMMIT go in one
 * round trip (pg_pipe_commit). A call whose audit entry fails makes the group fail before
 * COMMIT: each call then runs again alone, so only that one fails. A failure at COMMIT itself
 * (a deferred trigger) leaves the outcome unknown: nothing is run again and every call of the
 * group reports the failure, with nothing of theirs stored. */
#include "store_suite.h"

#include "pg_sql.h"
#include <pthread.h>
#include <time.h>

#define CALLS    5
#define PER_CALL 3
#define WAIT_MS  20000

struct waiter {
    pthread_mutex_t mu;
    int done;
    enum si_err rc[CALLS];
};

struct call {
    struct waiter *w;
    int i;
    struct bulk_item it[PER_CALL];
    struct audit_actor actor;
    struct bulk_request req;
};

static void call_done(void *ctx, enum si_err rc)
{
    struct call *c = ctx;
    pthread_mutex_lock(&c->w->mu);
    c->w->rc[c->i] = rc;
    c->w->done++;
    pthread_mutex_unlock(&c->w->mu);
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Polls until a session of the database waits for a lock (the lane, on the held site row). Each
 * poll is a transaction of its own on a connection of its own: inside one transaction
 * pg_stat_activity keeps showing what it showed first. */
static void wait_for_lock_wait(const char *url)
{
    PGconn *db = pg_sql_open(url, NULL);
    const char *waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type ="
                          " 'Lock' AND datname = current_database()";
    for (int waited = 0; pg_sql_long_on(db, waiting) == 0; waited += 10) {
        assert_true(waited < WAIT_MS);
        pause_ms(10);
    }
    PQfinish(db);
}

/* Runs CALLS calls of site f->site: call 0 alone, then 1 .. CALLS-1 as one group. Another
 * session holds the site's row lock; call 0 is queued and taken by the lane, which then waits
 * on the lock; the others queue behind it; the lock is released and all are waited for. Call
 * i's actor is named names[i]. */
static void run_group(struct fx *f, const char *const names[CALLS], const char *tag,
                      struct call calls[CALLS], struct waiter *w)
{
    char lock[200];
    snprintf(lock, sizeof lock, "BEGIN; SELECT 1 FROM sites WHERE id = '%s' FOR UPDATE",
             f->site.id);
    PGconn *holder = pg_sql_open(f->url, lock);
    for (int i = 0; i < CALLS; i++) {
        struct call *c = &calls[i];
        c->w = w;
        c->i = i;
        for (int k = 0; k < PER_CALL; k++) {
            char email[80];
            snprintf(email, sizeof email, "%s-%d-%d@example.com", tag, i, k);
            fx_invite(&c->it[k].invite, f, email, NOW, NOW + DAY, P_ADMIN);
        }
        memset(&c->actor, 0, sizeof c->actor);
        c->actor.type = AUDIT_ACTOR_API_KEY;
        snprintf(c->actor.name, sizeof c->actor.name, "%s", names[i]);
        c->req = (struct bulk_request){.site_id = f->site.id,
                                       .contributor_limit = 1000,
                                       .now = NOW,
                                       .actor = &c->actor,
                                       .items = c->it,
                                       .n = PER_CALL};
        store_invites_bulk_async(f->s, &c->req, call_done, c);
        if (i == 0)
            wait_for_lock_wait(f->url);
    }
    PQclear(pg_sql_query_on(holder, "COMMIT"));
    PQfinish(holder);
    pthread_mutex_lock(&w->mu);
    for (int waited = 0; w->done < CALLS; waited += 10) {
        assert_true(waited < WAIT_MS);
        pthread_mutex_unlock(&w->mu);
        pause_ms(10);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
}

static bool stored(struct fx *f, const struct call *c)
{
    struct invite got;
    enum si_err rc = store_invite_get(f->s, f->site.id, c->it[0].invite.id, &got);
    if (rc == SI_OK)
        invite_cleanup(&got);
    return rc == SI_OK;
}

static void cleanup(struct call calls[CALLS])
{
    for (int i = 0; i < CALLS; i++)
        fx_items_cleanup(calls[i].it, PER_CALL);
}

static void test_failed_audit_runs_calls_alone(void **state)
{
    struct fx *f = *state;
    pg_sql_run(f->url, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                       " $$BEGIN RAISE EXCEPTION 'refused'; END$$;"
                       "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW"
                       " WHEN (NEW.actor_name = 'refused') EXECUTE FUNCTION refuse()");
    const char *const names[CALLS] = {"a", "b", "refused", "d", "e"};
    struct call calls[CALLS];
    struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    run_group(f, names, "audit", calls, &w);
    for (int i = 0; i < CALLS; i++) {
        if (i == 2) {
            assert_int_not_equal(w.rc[i], SI_OK);
            assert_false(stored(f, &calls[i]));
        } else {
            assert_int_equal(w.rc[i], SI_OK);
            assert_true(stored(f, &calls[i]));
            assert_int_equal(calls[i].it[0].outcome, BULK_CREATED);
        }
    }
    cleanup(calls);
}

static void test_failed_commit_runs_nothing_again(void **state)
{
    struct fx *f = *state;
    pg_sql_run(f->url, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                       " $$BEGIN RAISE EXCEPTION 'refused at commit'; END$$;"
                       "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON audit_log"
                       " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                       " WHEN (NEW.actor_name = 'at-commit') EXECUTE FUNCTION refuse()");
    const char *const names[CALLS] = {"a", "b", "at-commit", "d", "e"};
    struct call calls[CALLS];
    struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    run_group(f, names, "commit", calls, &w);
    assert_int_equal(w.rc[0], SI_OK); /* alone, before the others queued */
    assert_true(stored(f, &calls[0]));
    for (int i = 1; i < CALLS; i++) {
        assert_int_not_equal(w.rc[i], SI_OK);
        assert_false(stored(f, &calls[i]));
    }
    cleanup(calls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_audit_runs_calls_alone, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_runs_nothing_again, fx_setup,
                                        fx_teardown),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "pg_group");
}
