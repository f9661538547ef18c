/* The store contract suite, webhook retention (store_webhook_sweep): finished deliveries and the
 * events left without one go after the cutoff, in batches of at most max rows; an event with a
 * Queued delivery stays, and its delivery is still claimed with its payload. Times are fixed
 * (the store never reads the clock; the expiry sweep passes the service clock's now). */
#include "store_suite.h"

#include "store/webhooks.h"

#define LEASE ((si_ms)60000)

/* An enabled endpoint of the fixture's site subscribed to invite.created. */
static void hook(struct fx *f, struct webhook_row *w)
{
    memset(w, 0, sizeof *w);
    w->events = WEBHOOK_EVENT_BIT(WH_INVITE_CREATED);
    w->enabled = true;
    w->created = w->updated = NOW;
    fx_id(w->id);
    snprintf(w->site_id, sizeof w->site_id, "%s", f->site.id);
    snprintf(w->url, sizeof w->url, "https://hooks.example.com/%.8s", w->id);
    snprintf(w->secret, sizeof w->secret, "sealed");
    assert_int_equal(store_webhook_create(f->s, w, NULL), SI_OK);
}

/* n invites created at t, one event each. */
static void invites(struct fx *f, int n, si_ms t)
{
    char id[SI_ID_LEN], email[64];
    for (int i = 0; i < n; i++) {
        snprintf(email, sizeof email, "p%d.%lld@example.com", i, (long long)t);
        fx_create(f, email, t, t + 30 * DAY, P_ADMIN, id);
    }
}

/* Claims every due delivery at t and records it: delivered, or failed for good. Returns how
 * many it recorded; only those of endpoint only_hook when that is not NULL (others stay
 * leased until t + LEASE, then due again). */
static size_t finish(struct fx *f, si_ms t, bool delivered, const char *only_hook)
{
    struct webhook_job *jobs = NULL;
    size_t n = 0, done = 0;
    assert_int_equal(store_webhook_claim(f->s, t, LEASE, 100, &jobs, &n), SI_OK);
    for (size_t i = 0; i < n; i++) {
        if (only_hook && strcmp(jobs[i].hook.id, only_hook) != 0)
            continue;
        struct webhook_result r = {.delivery_id = jobs[i].id,
                                   .webhook_id = jobs[i].hook.id,
                                   .delivered = delivered,
                                   .http_status = delivered ? 200 : 500,
                                   .error = delivered ? "" : "HTTP 500",
                                   .now = t};
        assert_int_equal(store_webhook_result(f->s, &r), SI_OK);
        done++;
    }
    webhook_jobs_free(jobs, n);
    return done;
}

static int64_t sweep(struct fx *f, si_ms before, int max)
{
    int64_t n = -1;
    assert_int_equal(store_webhook_sweep(f->s, before, max, &n), SI_OK);
    return n;
}

static int64_t outcome(struct fx *f, enum webhook_outcome o)
{
    struct webhook_counts wc;
    assert_int_equal(store_webhook_counts(f->s, &wc), SI_OK);
    return wc.by_event[WH_INVITE_CREATED][o];
}

/* Delivered and Failed deliveries older than the cutoff go with their events; newer ones and
 * their events stay until their own time comes. */
static void test_sweep_deletes_old_history(void **state)
{
    struct fx *f = *state;
    struct webhook_row w;
    hook(f, &w);
    invites(f, 3, NOW);
    assert_int_equal(finish(f, NOW + 1000, true, NULL), 3);
    invites(f, 2, NOW + 10 * DAY);
    assert_int_equal(finish(f, NOW + 10 * DAY + 1000, false, NULL), 2);
    assert_int_equal(outcome(f, WH_OUT_DELIVERED), 3);
    assert_int_equal(outcome(f, WH_OUT_FAILED), 2);

    /* Before anything is old enough: nothing. The cutoff is strict. */
    assert_int_equal(sweep(f, NOW, 1000), 0);
    assert_int_equal(sweep(f, NOW + 1000, 1000), 0);
    /* The first three deliveries and their three events. */
    assert_int_equal(sweep(f, NOW + 5 * DAY, 1000), 6);
    assert_int_equal(outcome(f, WH_OUT_DELIVERED), 0);
    assert_int_equal(outcome(f, WH_OUT_FAILED), 2);
    assert_int_equal(sweep(f, NOW + 5 * DAY, 1000), 0);
    struct webhook_delivery_row *d = NULL;
    size_t n = 0;
    bool more = true;
    assert_int_equal(store_webhook_deliveries(f->s, w.id, 0, 50, &d, &n, &more), SI_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(d[i].status, "Failed");
    free(d);
    /* Then the failed ones. */
    assert_int_equal(sweep(f, NOW + 11 * DAY, 1000), 4);
    assert_int_equal(outcome(f, WH_OUT_FAILED), 0);
}

/* An event with a Queued delivery is never deleted, however old: one endpoint's delivery was
 * made, the other's waits (its endpoint disabled, say). The made one goes, the event and the
 * queued one stay, and the queued one is still claimed with the event's payload. */
static void test_sweep_keeps_queued(void **state)
{
    struct fx *f = *state;
    struct webhook_row a, b;
    hook(f, &a);
    hook(f, &b);
    invites(f, 2, NOW);
    assert_int_equal(finish(f, NOW + 1000, true, a.id), 2);
    assert_int_equal(outcome(f, WH_OUT_QUEUED), 2);
    assert_int_equal(sweep(f, NOW + 365 * DAY, 1000), 2);
    assert_int_equal(sweep(f, NOW + 365 * DAY, 1000), 0);
    assert_int_equal(outcome(f, WH_OUT_DELIVERED), 0);
    assert_int_equal(outcome(f, WH_OUT_QUEUED), 2);

    struct webhook_job *jobs = NULL;
    size_t n = 0;
    assert_int_equal(store_webhook_claim(f->s, NOW + 365 * DAY, LEASE, 100, &jobs, &n), SI_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(jobs[i].hook.id, b.id);
        assert_non_null(strstr(jobs[i].payload, "\"invite.created\""));
    }
    webhook_jobs_free(jobs, n);
    /* Once those are made too, the events can go. */
    assert_int_equal(finish(f, NOW + 365 * DAY + 2 * LEASE, true, NULL), 2);
    assert_int_equal(sweep(f, NOW + 366 * DAY, 1000), 4);
}

/* A batch never takes more than max rows, deliveries first; repeating it ends the work. */
static void test_sweep_batches(void **state)
{
    struct fx *f = *state;
    struct webhook_row w;
    hook(f, &w);
    invites(f, 5, NOW);
    assert_int_equal(finish(f, NOW + 1000, true, NULL), 5);
    assert_int_equal(sweep(f, NOW + DAY, 2), 2);
    assert_int_equal(outcome(f, WH_OUT_DELIVERED), 3);
    assert_int_equal(sweep(f, NOW + DAY, 2), 2);
    /* One delivery left, then one of the events: still max rows in all. */
    assert_int_equal(sweep(f, NOW + DAY, 2), 2);
    assert_int_equal(outcome(f, WH_OUT_DELIVERED), 0);
    assert_int_equal(sweep(f, NOW + DAY, 2), 2);
    assert_int_equal(sweep(f, NOW + DAY, 2), 2);
    assert_int_equal(sweep(f, NOW + DAY, 2), 0);
}

/* A deleted endpoint's deliveries went with it; its events are swept by age alone. */
static void test_sweep_orphan_events(void **state)
{
    struct fx *f = *state;
    struct webhook_row w;
    hook(f, &w);
    invites(f, 3, NOW);
    assert_int_equal(store_webhook_delete(f->s, &w, NOW, NULL), SI_OK);
    assert_int_equal(sweep(f, NOW, 1000), 0);
    assert_int_equal(sweep(f, NOW + 1, 1000), 3);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sweep_deletes_old_history),
        T(test_sweep_keeps_queued),
        T(test_sweep_batches),
        T(test_sweep_orphan_events),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_webhooks");
}
