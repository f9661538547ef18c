/* The periodic expiry sweep: a thread that wakes every interval, stores Expired and queues the
 * reminders that fell due (issue 10). */
#include "api/expiry.h"

#include "common/log.h"
#include "store/webhooks.h"
#include "common/xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct expiry_sweeper {
    struct store *store;
    const struct clock *clock;
    si_ms interval_ms;
    si_ms webhook_retention_ms; /* webhook history older than this goes */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled by expiry_stop */
    bool stopping;
};

/* A store write of up to max rows due at now (expire, queue reminders). */
typedef enum si_err (*batch_op)(struct store *s, si_ms now, int max, int64_t *n);

/* Runs op in batches until a batch is not full; *n (may be NULL) gets the total. Batches keep
 * each write transaction short, so requests never wait long behind a sweep. */
static enum si_err drain(batch_op op, struct store *store, si_ms now, int64_t *n)
{
    int64_t total = 0, batch = 0;
    enum si_err rc;
    do {
        rc = op(store, now, EXPIRY_BATCH, &batch);
        total += batch;
    } while (!rc && batch == EXPIRY_BATCH);
    if (n)
        *n = total;
    return rc;
}

/* drain(op), then the sweeps of records that have simply run out. */
static enum si_err in_batches(batch_op op, struct store *store, si_ms now, int64_t *n)
{
    enum si_err rc = drain(op, store, now, n);
    /* Expired Idempotency-Key records go in the same sweep (a void record is already ignored:
     * this only frees the space). */
    if (!rc)
        rc = drain(store_idem_sweep, store, now, NULL);
    int64_t batch;
    /* And the console's dead sign-in links and sessions (core/console.h says which). */
    for (batch = EXPIRY_BATCH; !rc && batch >= EXPIRY_BATCH;)
        rc = store_console_sweep(store, now, EXPIRY_BATCH, &batch);
    return rc;
}

static enum si_err fold_batch(struct store *store, si_ms now, int max, int64_t *n)
{
    (void)now; /* deltas have no time: every one is folded */
    return store_counts_fold(store, max, n);
}

enum si_err expiry_fold_counts(struct store *store, int64_t *n)
{
    return drain(fold_batch, store, 0, n);
}

enum si_err expiry_sweep(struct store *store, si_ms now, int64_t *n)
{
    return in_batches(store_invites_expire, store, now, n);
}

enum si_err expiry_reminders(struct store *store, si_ms now, int64_t *n)
{
    return in_batches(store_reminders_queue, store, now, n);
}

enum si_err expiry_webhooks(struct store *store, si_ms before, int64_t *n)
{
    return drain(store_webhook_sweep, store, before, n);
}

/* The sweeps of one interval: expiry, reminders, webhook history. Failures are logged; the next
 * interval tries again. */
static void sweep_all(struct expiry_sweeper *s)
{
    int64_t n = 0;
    enum si_err rc = expiry_sweep(s->store, clock_now(s->clock), &n);
    if (rc)
        log_warn("expiry: sweep failed (%s); trying again later", si_err_name(rc));
    else if (n)
        log_info("expiry: stored Expired on %lld invites", (long long)n);
    /* The mailer's own poll picks the reminders up (within a second by default). */
    rc = expiry_reminders(s->store, clock_now(s->clock), &n);
    if (rc)
        log_warn("reminders: queueing failed (%s); trying again later", si_err_name(rc));
    else if (n)
        log_info("reminders: queued %lld reminder emails", (long long)n);
    rc = expiry_webhooks(s->store, clock_now(s->clock) - s->webhook_retention_ms, &n);
    if (rc)
        log_warn("webhooks: retention sweep failed (%s); trying again later", si_err_name(rc));
    else if (n)
        log_info("webhooks: deleted %lld old deliveries and events", (long long)n);
}

/* The work of every tick: the per-day counts' deltas folded, since every seat check sums the
 * deltas of its site, and the statistics of a young invites table kept current. */
static void every_tick(struct store *store)
{
    int64_t n = 0;
    enum si_err rc = expiry_fold_counts(store, &n);
    if (rc)
        log_warn("counts: folding the per-day deltas failed (%s); trying again later",
                 si_err_name(rc));
    bool analyzed = false;
    rc = store_stats_refresh(store, &analyzed);
    if (rc)
        log_warn("statistics: refreshing the invites table's failed (%s); trying again later",
                 si_err_name(rc));
    else if (analyzed)
        log_info("statistics: invites doubled in size since its last analysis; analyzed it");
}

/* Sweeps every interval; ticks every EXPIRY_FOLD_INTERVAL_MS (or every interval, if shorter). */
static void *run(void *arg)
{
    pthread_setname_np(pthread_self(), "si-expiry");
    struct expiry_sweeper *s = arg;
    si_ms tick =
        s->interval_ms < EXPIRY_FOLD_INTERVAL_MS ? s->interval_ms : EXPIRY_FOLD_INTERVAL_MS;
    si_ms ticks_per_sweep = s->interval_ms / tick;
    pthread_mutex_lock(&s->mu);
    for (si_ms t = 0; !s->stopping; t++) {
        pthread_mutex_unlock(&s->mu);
        if (t % ticks_per_sweep == 0)
            sweep_all(s);
        every_tick(s->store);
        pthread_mutex_lock(&s->mu);
        struct timespec until = clock_deadline_after(tick);
        while (!s->stopping && clock_cond_wait(&s->cv, &s->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

enum si_err expiry_start(struct store *store, const struct clock *clock, si_ms interval_ms,
                         si_ms webhook_retention_ms, struct expiry_sweeper **out)
{
    *out = NULL;
    if (interval_ms <= 0 || webhook_retention_ms <= 0)
        return SI_EINVAL;
    struct expiry_sweeper *s = xcalloc(1, sizeof *s);
    s->store = store;
    s->clock = clock;
    s->interval_ms = interval_ms;
    s->webhook_retention_ms = webhook_retention_ms;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL); /* timed waits pick the monotonic clock themselves */
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        log_error("expiry: cannot start the sweep thread");
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return SI_EIO;
    }
    *out = s;
    return SI_OK;
}

void expiry_stop(struct expiry_sweeper *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
