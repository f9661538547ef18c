/* SQLite group commit: bulk calls and invite changes queue for one thread, which runs every
 * queued call in one write transaction, so one commit (the dominant cost: WAL writes) serves
 * many callers; a failure reruns the group call by call. */
#include "sqlite_int.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

/* One queued call of a group commit: a bulk call, or a change of one invite. */
enum sq_job_kind { SQ_JOB_BULK, SQ_JOB_CHANGE };

struct sq_job {
    enum sq_job_kind kind;
    struct txn_change change; /* SQ_JOB_CHANGE */
    struct bulk_request *req; /* SQ_JOB_BULK */
    enum si_err rc;
    store_done_fn done; /* called once, on the group thread, with rc */
    void *ctx;
    bool owned; /* allocated by sq_invites_bulk_async: freed after done */
    struct sq_job *next;
};

/* A change's own outcomes (not found, a state the rule refuses, the resend limit) leave
 * nothing written and end only that change; these end the whole group. */
static bool fails_group(enum si_err rc)
{
    return rc == SI_ESTORE || rc == SI_ENOMEM || rc == SI_EIO || rc == SI_EFULL;
}

/* Decides and writes the calls of a group, in order, inside the caller's write transaction.
 * Consecutive bulk calls for one site share a site run (one sweep, one seat count, one counter
 * update): a later call sees the seats the earlier ones took, exactly as if it ran after them.
 * The sweep and the seat count use the first call's now; a row expiring between two calls'
 * "now" (a millisecond or so) is then still counted as a taken seat: never a seat too many.
 * A change ends the site run first (it may free a seat) and runs on the rows as the earlier
 * calls left them. Stops at the first failure that fails the group and returns it; the caller
 * rolls the transaction back. */
static enum si_err run_jobs(struct sq_conn *c, struct sq_job *group)
{
    struct sq_site_run run = {.site_id = NULL};
    enum si_err rc = SI_OK;
    for (struct sq_job *j = group; j && !rc; j = j->next) {
        if (j->kind == SQ_JOB_CHANGE) {
            rc = sq_site_run_end(c, &run);
            run.site_id = NULL;
            if (!rc)
                j->rc = txn_change_body(&sq_txn_steps, c, &j->change);
            if (!rc && fails_group(j->rc))
                rc = j->rc;
            continue;
        }
        struct bulk_request *req = j->req;
        if (!run.site_id || strcmp(run.site_id, req->site_id) != 0) {
            rc = sq_site_run_end(c, &run);
            if (!rc)
                rc = sq_site_run_begin(c, &run, req);
        }
        if (!rc)
            rc = sq_bulk_call(c, req, &run);
        j->rc = rc;
    }
    if (!rc)
        rc = sq_site_run_end(c, &run);
    return rc;
}

/* A change that read its row back must not describe it once its transaction is undone. */
static void undo_outs(struct sq_job *group)
{
    for (struct sq_job *j = group; j; j = j->next) {
        if (j->kind == SQ_JOB_CHANGE && j->change.out && j->rc == SI_OK)
            invite_cleanup(j->change.out);
    }
}

/* Runs the calls of group in one write transaction; commits only if all succeed. */
static enum si_err run_transaction(struct sq_conn *c, struct sq_job *group)
{
    enum si_err rc = sq_begin(c);
    if (!rc)
        rc = run_jobs(c, group);
    if (!rc)
        return sq_commit(c);
    sq_rollback(c);
    return rc;
}

/* Runs a group of calls in one transaction, without savepoints (each costs as much as a small
 * call). Calls almost never fail the group; when one does (a store error), the whole group is
 * rolled back and every call runs again alone, so a failure stays with the call that caused it.
 * A rerun is safe: the rolled-back writes are gone, and items decided as existing find the same
 * stored row again. On success each call keeps its own result (a change may have been refused
 * by its rule). */
static void run_group(struct sq_store *st, struct sq_job *group)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (!rc)
        rc = run_transaction(c, group);
    if (rc)
        undo_outs(group);
    if (rc && c && group->next) {
        for (struct sq_job *j = group; j; j = j->next) {
            struct sq_job *next = j->next;
            j->next = NULL;
            enum si_err alone = run_transaction(c, j);
            if (alone) {
                undo_outs(j);
                j->rc = alone;
            }
            j->next = next;
        }
    } else if (rc) {
        for (struct sq_job *j = group; j; j = j->next)
            j->rc = rc;
    }
    sq_return(st, c);
}

/* Dry runs: every decision made for real (so repeats within the call and seats count the same
 * way), then the writes thrown away; never grouped with real calls. */
static enum si_err bulk_dry_run(struct sq_store *st, struct bulk_request *req)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc)
        return rc;
    struct sq_job job = {.kind = SQ_JOB_BULK, .req = req, .rc = SI_OK, .next = NULL};
    rc = sq_begin(c);
    if (!rc)
        rc = run_jobs(c, &job);
    sq_rollback(c);
    sq_return(st, c);
    return rc;
}

/* The group thread: takes every queued call as one group, runs it in one transaction, hands
 * each call its result, and sleeps while nothing is queued. Under steady concurrent creates,
 * calls queue while a group runs, so one commit (the dominant cost: WAL writes) serves many.
 * A call's done must not block: it only hands the result on. Exits once stop is asked and the
 * queue is empty. */
static void *group_main(void *arg)
{
    pthread_setname_np(pthread_self(), "si-group");
    struct sq_store *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->jobs && !st->group_stop)
            pthread_cond_wait(&st->group_cv, &st->mu);
        struct sq_job *group = st->jobs;
        if (!group)
            break;
        st->jobs = NULL;
        st->jobs_tail = &st->jobs;
        pthread_mutex_unlock(&st->mu);
        run_group(st, group);
        for (struct sq_job *j = group, *next; j; j = next) {
            next = j->next; /* a caller's own job may vanish as soon as done returns */
            bool owned = j->owned;
            j->done(j->ctx, j->rc);
            if (owned)
                free(j);
        }
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Queues a job for the group thread, starting the thread on first use (a CLI process that
 * never invites never starts it). If it cannot start, the job runs here, alone. */
static void enqueue(struct sq_store *st, struct sq_job *job)
{
    pthread_mutex_lock(&st->mu);
    if (!st->group_started && pthread_create(&st->group_thread, NULL, group_main, st) == 0)
        st->group_started = true;
    if (st->group_started) {
        *st->jobs_tail = job;
        st->jobs_tail = &job->next;
        pthread_cond_signal(&st->group_cv);
    }
    bool inline_run = !st->group_started;
    pthread_mutex_unlock(&st->mu);
    if (inline_run) {
        log_error("store: cannot start the group commit thread; running the call alone");
        bool owned = job->owned;
        run_group(st, job);
        job->done(job->ctx, job->rc);
        if (owned)
            free(job);
    }
}

void sq_invite_change_async(void *be, const char *site_id, const char *invite_id, si_ms now,
                            const struct audit_actor *actor, invite_change_fn fn, void *ctx,
                            struct invite *out, store_done_fn done, void *done_ctx)
{
    struct sq_job *job = xmalloc(sizeof *job);
    *job = (struct sq_job){
        .kind = SQ_JOB_CHANGE,
        .change = {.site_id = site_id,
                   .invite_id = invite_id,
                   .now = now,
                   .actor = actor,
                   .fn = fn,
                   .ctx = ctx,
                   .out = out},
        .done = done,
        .ctx = done_ctx,
        .owned = true,
    };
    enqueue(be, job);
}

void sq_invites_bulk_async(void *be, struct bulk_request *req, store_done_fn done, void *ctx)
{
    struct sq_store *st = be;
    if (req->dry_run) {
        done(ctx, bulk_dry_run(st, req));
        return;
    }
    struct sq_job *job = xmalloc(sizeof *job);
    *job =
        (struct sq_job){.kind = SQ_JOB_BULK, .req = req, .done = done, .ctx = ctx, .owned = true};
    enqueue(st, job);
}

static void post_done(void *ctx, enum si_err rc)
{
    (void)rc; /* the caller reads it from its job */
    sem_post(ctx);
}

enum si_err sq_invites_bulk(void *be, struct bulk_request *req)
{
    struct sq_store *st = be;
    if (req->dry_run)
        return bulk_dry_run(st, req);
    sem_t finished;
    sem_init(&finished, 0, 0);
    struct sq_job job = {
        .kind = SQ_JOB_BULK, .req = req, .done = post_done, .ctx = &finished, .owned = false};
    enqueue(st, &job);
    while (sem_wait(&finished) != 0) /* EINTR only */
        ;
    sem_destroy(&finished);
    return job.rc;
}

void sq_group_init(struct sq_store *st)
{
    st->jobs = NULL;
    st->jobs_tail = &st->jobs;
    pthread_cond_init(&st->group_cv, NULL);
}

void sq_group_stop(struct sq_store *st)
{
    pthread_mutex_lock(&st->mu);
    bool started = st->group_started;
    st->group_stop = true;
    pthread_cond_broadcast(&st->group_cv);
    pthread_mutex_unlock(&st->mu);
    if (started)
        pthread_join(st->group_thread, NULL);
    pthread_cond_destroy(&st->group_cv);
}
