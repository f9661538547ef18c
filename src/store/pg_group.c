/* PostgreSQL group commit of bulk calls. Create One is a bulk call of one item, and every create
 * of a site takes the site row's lock and holds it through its statements and its own WAL flush,
 * so concurrent creates of one site ran one after another, one flush each (docs/SCALING.md,
 * "PostgreSQL write path"). Here asynchronous calls queue on a lane (a thread) chosen by their
 * site; the lane takes everything queued at once and, per site, runs the calls in one
 * transaction: consecutive calls merged into one call of all their items (one lock, one seat
 * count, one pending lookup, one insert of invites and one of emails), then each call's own
 * webhook events and audit entries, then one commit for all. A failure before the commit rolls
 * the site's transaction back and runs each call again alone, so it stays with the call that
 * caused it. */
#include "pg_int.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Lanes: calls of one site always share one, so they keep their order; different sites' can
 * commit side by side. Each lane holds one pooled connection while it runs (of PG_POOL_MAX). */
#define PG_GROUP_LANES 4
/* Items of one merged call: a lookup and an insert of this many rows stay one statement each. */
#define PG_GROUP_ITEMS_MAX 1000

struct pg_job {
    struct bulk_request *req;
    enum si_err rc;
    store_done_fn done;
    void *ctx;
    struct pg_job *next;
};

struct pg_lane {
    struct pg_group *g;
    pthread_t thread;
    bool started;
    pthread_cond_t cv;
    struct pg_job *jobs, **tail;
};

struct pg_group {
    struct pg_store *st;
    pthread_mutex_t mu;
    bool stop;
    struct pg_lane lanes[PG_GROUP_LANES];
};

/* Copies of the items of the jobs first .. end (exclusive) in queue order, as one call: the
 * request fields but the items are the first call's (same site and seats; its now differs from
 * the others' by the queueing time, milliseconds, as in SQLite's group, sqlite_group.c). */
static struct bulk_item *merge_items(struct pg_job *first, struct pg_job *end,
                                     struct bulk_request *merged)
{
    size_t total = 0;
    for (struct pg_job *j = first; j != end; j = j->next)
        total += j->req->n;
    struct bulk_item *items = xcalloc(total ? total : 1, sizeof *items);
    size_t k = 0;
    for (struct pg_job *j = first; j != end; j = j->next)
        for (size_t i = 0; i < j->req->n; i++, k++)
            invite_copy(&items[k].invite, &j->req->items[i].invite);
    *merged = *first->req;
    merged->items = items;
    merged->n = total;
    return items;
}

/* Ends a merged call: on success each call of first .. end takes its decided items; on failure
 * the copies go and each call keeps its items as they came, so a rerun alone cannot meet an
 * item that took the row of another call's (rolled back) new invite. Frees items. */
static void unmerge_items(struct pg_job *first, struct pg_job *end, struct bulk_item *items,
                          bool decided)
{
    size_t k = 0;
    for (struct pg_job *j = first; j != end; j = j->next) {
        for (size_t i = 0; i < j->req->n; i++, k++) {
            struct bulk_item *own = &j->req->items[i];
            if (!decided) {
                invite_cleanup(&items[k].invite);
                continue;
            }
            invite_cleanup(&own->invite);
            *own = items[k]; /* the decided item, its memory now the call's */
        }
    }
    free(items);
}

/* Runs the jobs first .. end (exclusive, at least one, one site) as one call of all their items,
 * on copies (merge_items, unmerge_items). */
static enum si_err run_merged(struct pg_conn *c, struct pg_job *first, struct pg_job *end,
                              bool begin)
{
    if (first->next == end)
        return pg_bulk_decide_write(c, first->req, begin);
    struct bulk_request merged;
    struct bulk_item *items = merge_items(first, end, &merged);
    enum si_err rc = pg_bulk_decide_write(c, &merged, begin);
    unmerge_items(first, end, items, !rc);
    return rc;
}

/* The end of the run of jobs from first that merge into one call: same seat limit, at most
 * PG_GROUP_ITEMS_MAX items (a call bigger than that runs unmerged). */
static struct pg_job *merge_end(struct pg_job *first)
{
    size_t total = first->req->n;
    struct pg_job *j = first->next;
    while (j && j->req->contributor_limit == first->req->contributor_limit &&
           total + j->req->n <= PG_GROUP_ITEMS_MAX) {
        total += j->req->n;
        j = j->next;
    }
    return j;
}

/* The calls of the jobs first .. end (NULL: the last job) as an array the caller frees. */
static const struct bulk_request **calls_of(struct pg_job *first, struct pg_job *end, size_t *n)
{
    *n = 0;
    for (struct pg_job *j = first; j != end; j = j->next)
        (*n)++;
    const struct bulk_request **reqs = xcalloc(*n, sizeof *reqs);
    *n = 0;
    for (struct pg_job *j = first; j != end; j = j->next)
        reqs[(*n)++] = j->req;
    return reqs;
}

/* The webhook events and audit entries of the jobs first .. end, in one statement each. */
static enum si_err record(struct pg_conn *c, struct pg_job *first, struct pg_job *end)
{
    size_t n;
    const struct bulk_request **reqs = calls_of(first, end, &n);
    enum si_err rc = pg_bulk_record(c, reqs, n);
    free(reqs);
    return rc;
}

/* The last merged call of a site's jobs, first .. the end of the list: decided on copies of its
 * calls' items, then written with the calls' audit entries and COMMIT in one round trip
 * (pg_bulk_write_commit) from views of those copies, one per call. The calls get their decided
 * items only once that committed: after a failure each has its items as they came, for a rerun
 * alone. Rolls back on failure. */
static enum si_err run_last(struct pg_conn *c, struct pg_job *first, bool begin, bool *committing)
{
    struct bulk_request merged;
    struct bulk_item *items = merge_items(first, NULL, &merged);
    size_t ncalls = 0;
    for (struct pg_job *j = first; j; j = j->next)
        ncalls++;
    struct bulk_request *views = xcalloc(ncalls, sizeof *views);
    const struct bulk_request **reqs = xcalloc(ncalls, sizeof *reqs);
    size_t k = 0, r = 0;
    for (struct pg_job *j = first; j; j = j->next, r++) {
        views[r] = *j->req;
        views[r].items = items + k;
        reqs[r] = &views[r];
        k += j->req->n;
    }
    *committing = false;
    enum si_err rc = pg_bulk_decide(c, &merged, begin);
    if (rc)
        pg_rollback(c);
    else
        rc = pg_bulk_write_commit(c, reqs, ncalls, committing);
    unmerge_items(first, NULL, items, !rc);
    free(reqs);
    free(views);
    return rc;
}

/* One site's jobs in one transaction. *committing tells whether a failure came from the commit
 * itself (its outcome then unknown: not rerun, as a lone call's is not). The last merged call's
 * rows and audit entries travel with the COMMIT (run_last). */
static enum si_err run_site(struct pg_conn *c, struct pg_job *jobs, bool *committing)
{
    *committing = false;
    enum si_err rc = SI_OK;
    pg_conn_site(c, jobs->req->site_id);
    /* The first merged call's first round trip begins the transaction. */
    for (struct pg_job *j = jobs, *end; j && !rc; j = end) {
        end = merge_end(j);
        if (!end)
            return run_last(c, j, j == jobs, committing);
        rc = run_merged(c, j, end, j == jobs);
        if (!rc)
            rc = record(c, j, end);
    }
    pg_rollback(c); /* reached only after a failure: the last merged call returns above */
    return rc;
}

/* Runs one site's jobs (in queue order) and sets each one's rc. */
static void run_site_jobs(struct pg_store *st, struct pg_job *jobs)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(st, &c);
    bool committing = false;
    if (!rc && !jobs->next)
        rc = pg_bulk_run(c, jobs->req);
    else if (!rc)
        rc = run_site(c, jobs, &committing);
    if (rc && c && jobs->next && !committing) {
        for (struct pg_job *j = jobs; j; j = j->next)
            j->rc = pg_bulk_run(c, j->req);
    } else {
        for (struct pg_job *j = jobs; j; j = j->next)
            j->rc = rc;
    }
    pg_return(st, c);
}

/* Splits jobs by site (each site's in queue order) and runs each site's in turn. */
static void run_jobs(struct pg_store *st, struct pg_job *jobs)
{
    while (jobs) {
        struct pg_job *mine = NULL, **mine_tail = &mine, *rest = NULL, **rest_tail = &rest;
        const char *site = jobs->req->site_id;
        for (struct pg_job *j = jobs, *next; j; j = next) {
            next = j->next;
            j->next = NULL;
            struct pg_job ***tail = strcmp(j->req->site_id, site) == 0 ? &mine_tail : &rest_tail;
            **tail = j;
            *tail = &j->next;
        }
        run_site_jobs(st, mine);
        /* mine is done; hand its results back before the next site's run */
        for (struct pg_job *j = mine, *next; j; j = next) {
            next = j->next;
            j->done(j->ctx, j->rc);
            free(j);
        }
        jobs = rest;
    }
}

/* A lane: takes everything queued as one batch, runs it, sleeps while nothing is queued; exits
 * once stop is asked and its queue is empty. done must not block: it hands the result on. */
static void *lane_main(void *arg)
{
    pthread_setname_np(pthread_self(), "si-pg-lane");
    struct pg_lane *ln = arg;
    struct pg_group *g = ln->g;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!ln->jobs && !g->stop)
            pthread_cond_wait(&ln->cv, &g->mu);
        struct pg_job *jobs = ln->jobs;
        if (!jobs)
            break;
        ln->jobs = NULL;
        ln->tail = &ln->jobs;
        pthread_mutex_unlock(&g->mu);
        run_jobs(g->st, jobs);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* FNV-1a of the site ID: which lane its calls queue on. */
static struct pg_lane *lane_of(struct pg_group *g, const char *site_id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)site_id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return &g->lanes[h % PG_GROUP_LANES];
}

struct pg_group *pg_group_new(struct pg_store *st)
{
    struct pg_group *g = xcalloc(1, sizeof *g);
    g->st = st;
    pthread_mutex_init(&g->mu, NULL);
    for (int i = 0; i < PG_GROUP_LANES; i++) {
        g->lanes[i].g = g;
        g->lanes[i].tail = &g->lanes[i].jobs;
        pthread_cond_init(&g->lanes[i].cv, NULL);
    }
    return g;
}

void pg_group_free(struct pg_group *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    for (int i = 0; i < PG_GROUP_LANES; i++)
        pthread_cond_signal(&g->lanes[i].cv);
    pthread_mutex_unlock(&g->mu);
    for (int i = 0; i < PG_GROUP_LANES; i++) {
        if (g->lanes[i].started)
            pthread_join(g->lanes[i].thread, NULL);
        pthread_cond_destroy(&g->lanes[i].cv);
    }
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void pg_invites_bulk_async(void *be, struct bulk_request *req, store_done_fn done, void *ctx)
{
    struct pg_store *st = be;
    struct pg_group *g = st->group;
    if (!g || req->dry_run) { /* a dry run writes nothing: no commit to share */
        done(ctx, pg_invites_bulk(be, req));
        return;
    }
    struct pg_job *job = xmalloc(sizeof *job);
    *job = (struct pg_job){.req = req, .done = done, .ctx = ctx};
    struct pg_lane *ln = lane_of(g, req->site_id);
    pthread_mutex_lock(&g->mu);
    /* Started on first use: a CLI process that never invites never starts one. */
    if (!ln->started && !g->stop && pthread_create(&ln->thread, NULL, lane_main, ln) == 0)
        ln->started = true;
    bool stopping = g->stop, queued = ln->started && !stopping;
    if (queued) {
        *ln->tail = job;
        ln->tail = &job->next;
        pthread_cond_signal(&ln->cv);
    }
    pthread_mutex_unlock(&g->mu);
    if (!queued) {
        if (!stopping)
            log_error("store: cannot start a group commit thread; running the call alone");
        free(job);
        done(ctx, pg_invites_bulk(be, req));
    }
}
