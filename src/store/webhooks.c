/* The webhook operations' dispatch to the backend, and the one place events are rendered and
 * written inside a change's transaction (webhook_ops.h). */
#include "webhook_ops.h"

#include "common/buf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The doorbell (webhooks.h): who to tell, and the connection of this thread whose transaction
 * wrote an event since it was borrowed. */
static pthread_mutex_t bell_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*bell_fn)(void *ctx); /* under bell_mu */
static void *bell_ctx;             /* under bell_mu */
static _Thread_local const void *bell_pending;

/* The backend's table, or NULL when it has none (then every operation is SI_ESTATE). */
static const struct webhook_ops *ops(struct store *s, void **be)
{
    return store_backend(s, be)->webhooks;
}

#define DISPATCH(call)                                                                             \
    do {                                                                                           \
        void *be = NULL;                                                                           \
        const struct webhook_ops *o = ops(s, &be);                                                 \
        return o ? o->call : SI_ESTATE;                                                            \
    } while (0)

void webhook_doorbell_set(void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&bell_mu);
    bell_fn = fn;
    bell_ctx = ctx;
    pthread_mutex_unlock(&bell_mu);
}

/* Calls the listener, if any; the lock keeps it alive while it runs (webhook_doorbell_set
 * NULL waits for a call in progress). */
static void ring(void)
{
    pthread_mutex_lock(&bell_mu);
    if (bell_fn)
        bell_fn(bell_ctx);
    pthread_mutex_unlock(&bell_mu);
}

void webhook_doorbell_returned(const void *conn)
{
    if (bell_pending && bell_pending == conn) {
        bell_pending = NULL;
        ring();
    }
}

/* The fields of w the audit log records. */
static struct audit_webhook audited(const struct webhook_row *w)
{
    return (struct audit_webhook){.site_id = w->site_id,
                                  .id = w->id,
                                  .url = w->url,
                                  .description = w->description,
                                  .events = w->events,
                                  .enabled = w->enabled};
}

/* The entry of change action of w (before: for an update), or false when it records nothing. */
static bool entry_of(enum audit_action action, const struct webhook_row *before,
                     const struct webhook_row *w, const struct audit_actor *actor, si_ms now,
                     struct audit_entry *e)
{
    struct audit_webhook a = before ? audited(before) : (struct audit_webhook){0}, z = audited(w);
    bool rotated = before && strcmp(before->secret, w->secret) != 0;
    if (action == AUDIT_WEBHOOK_DELETED)
        return audit_webhook_change(action, &z, NULL, false, actor, now, e);
    return audit_webhook_change(action, before ? &a : NULL, &z, rotated, actor, now, e);
}

enum si_err store_webhook_create(struct store *s, const struct webhook_row *w,
                                 const struct audit_actor *actor)
{
    struct audit_entry e;
    (void)entry_of(AUDIT_WEBHOOK_CREATED, NULL, w, actor, w->created, &e);
    void *be = NULL;
    const struct webhook_ops *o = ops(s, &be);
    enum si_err rc = o ? o->create(be, w, &e) : SI_ESTATE;
    audit_entry_cleanup(&e);
    return rc;
}

enum si_err store_webhook_list(struct store *s, const char *site_id, struct webhook_row **out,
                               size_t *n)
{
    *out = NULL;
    *n = 0;
    DISPATCH(list(be, site_id, out, n));
}

enum si_err store_webhook_get(struct store *s, const char *site_id, const char *id,
                              struct webhook_row *out)
{
    DISPATCH(get(be, site_id, id, out));
}

enum si_err store_webhook_update(struct store *s, const struct webhook_row *before,
                                 const struct webhook_row *w, const struct audit_actor *actor)
{
    struct audit_entry e;
    bool audit = entry_of(AUDIT_WEBHOOK_UPDATED, before, w, actor, w->updated, &e);
    void *be = NULL;
    const struct webhook_ops *o = ops(s, &be);
    enum si_err rc = o ? o->update(be, w, audit ? &e : NULL) : SI_ESTATE;
    if (audit)
        audit_entry_cleanup(&e);
    if (!rc && w->enabled)
        ring(); /* its queued deliveries may be due now */
    return rc;
}

enum si_err store_webhook_delete(struct store *s, const struct webhook_row *w, si_ms now,
                                 const struct audit_actor *actor)
{
    struct audit_entry e;
    (void)entry_of(AUDIT_WEBHOOK_DELETED, NULL, w, actor, now, &e);
    void *be = NULL;
    const struct webhook_ops *o = ops(s, &be);
    enum si_err rc = o ? o->remove(be, w->site_id, w->id, &e) : SI_ESTATE;
    audit_entry_cleanup(&e);
    return rc;
}

enum si_err store_webhook_test(struct store *s, const struct webhook_row *w, const char *data,
                               si_ms now, const struct audit_actor *actor)
{
    struct buf b;
    struct audit_entry e;
    buf_init(&b, 0);
    webhook_payload_raw(&b, WH_TEST, data, strlen(data), now);
    (void)entry_of(AUDIT_WEBHOOK_TESTED, NULL, w, actor, now, &e);
    void *be = NULL;
    const struct webhook_ops *o = ops(s, &be);
    enum si_err rc = o ? o->test(be, w, b.data, now, &e) : SI_ESTATE;
    audit_entry_cleanup(&e);
    buf_cleanup(&b);
    if (!rc)
        ring();
    return rc;
}

enum si_err store_webhook_deliveries(struct store *s, const char *webhook_id, int64_t before,
                                     int limit, struct webhook_delivery_row **out, size_t *n,
                                     bool *has_next)
{
    *out = NULL;
    *n = 0;
    *has_next = false;
    DISPATCH(deliveries(be, webhook_id, before, limit, out, n, has_next));
}

enum si_err store_webhook_claim(struct store *s, si_ms now, si_ms lease_ms, int max,
                                struct webhook_job **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DISPATCH(claim(be, now, lease_ms, max, out, n));
}

enum si_err store_webhook_result(struct store *s, const struct webhook_result *r)
{
    DISPATCH(result(be, r));
}

enum si_err store_webhook_counts(struct store *s, struct webhook_counts *out)
{
    memset(out, 0, sizeof *out);
    DISPATCH(counts(be, out));
}

enum si_err store_webhook_sweep(struct store *s, si_ms before, int max, int64_t *n)
{
    int64_t events = 0;
    void *be = NULL;
    const struct webhook_ops *o = ops(s, &be);
    *n = 0;
    if (!o)
        return SI_ESTATE;
    /* Deliveries first: an event goes only once none is left, and never with a queued one. */
    enum si_err rc = o->sweep(be, false, before, max, n);
    if (!rc && *n < max)
        rc = o->sweep(be, true, before, max - (int)*n, &events);
    *n += events;
    return rc;
}

enum webhook_outcome webhook_outcome_of(const char *status)
{
    return strcmp(status, "Delivered") == 0 ? WH_OUT_DELIVERED
           : strcmp(status, "Failed") == 0  ? WH_OUT_FAILED
                                            : WH_OUT_QUEUED;
}

/* Adds one (type, status, count) row of a GROUP BY to c. */
void webhook_counts_add(struct webhook_counts *c, int64_t type, const char *status, int64_t n)
{
    enum webhook_outcome o = webhook_outcome_of(status);
    if (type >= 0 && type < WH_EVENT_COUNT)
        c->by_event[type][o] += n;
    if (o == WH_OUT_QUEUED)
        c->queued += n;
}

void webhook_jobs_free(struct webhook_job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        free(jobs[i].payload);
    free(jobs);
}

/* Writes an event whose payload b holds (a buf is NUL-terminated after any append). */
static enum si_err add(const struct webhook_steps *ws, void *conn, const char *site_id,
                       enum webhook_event e, const char *order_key, const struct buf *b, si_ms now)
{
    /* The bell rings when conn goes back to its pool: the transaction is over by then. */
    bell_pending = conn;
    return ws->add(conn, site_id, e, order_key, b->data, now);
}

enum si_err webhook_emit_invite(const struct webhook_steps *ws, void *conn, enum webhook_event e,
                                const struct invite *inv, si_ms now)
{
    bool yes = false;
    enum si_err rc = ws ? ws->wanted(conn, inv->site_id, WEBHOOK_EVENT_BIT(e), &yes) : SI_OK;
    if (rc || !yes)
        return rc;
    struct buf b;
    buf_init(&b, 0);
    webhook_payload_invite(&b, e, inv, now);
    rc = add(ws, conn, inv->site_id, e, inv->id, &b, now);
    buf_cleanup(&b);
    return rc;
}

enum si_err webhook_emit_bulk_calls(const struct webhook_steps *ws, void *conn,
                                    const struct bulk_request *const *reqs, size_t n)
{
    bool yes = false;
    enum si_err rc = SI_OK;
    if (ws && n > 0 && !reqs[0]->dry_run)
        rc = ws->wanted(conn, reqs[0]->site_id, WEBHOOK_EVENT_BIT(WH_INVITE_CREATED), &yes);
    if (rc || !yes)
        return rc;
    struct buf b;
    buf_init(&b, 0);
    for (size_t r = 0; !rc && r < n; r++) {
        const struct bulk_request *req = reqs[r];
        for (size_t i = 0; !rc && i < req->n; i++) {
            const struct bulk_item *it = &req->items[i];
            if (it->outcome != BULK_CREATED)
                continue;
            buf_reset(&b);
            webhook_payload_invite(&b, WH_INVITE_CREATED, &it->invite, req->now);
            rc = add(ws, conn, req->site_id, WH_INVITE_CREATED, it->invite.id, &b, req->now);
        }
    }
    buf_cleanup(&b);
    return rc;
}

enum si_err webhook_emit_bulk(const struct webhook_steps *ws, void *conn,
                              const struct bulk_request *req)
{
    return webhook_emit_bulk_calls(ws, conn, &req, 1);
}

enum si_err webhook_emit_contributor(const struct webhook_steps *ws, void *conn,
                                     enum audit_action action, const struct contributor_row *row,
                                     const struct contributor_view *view, si_ms now)
{
    enum webhook_event e;
    bool yes = false;
    if (!ws || !view || !webhook_contributor_event(action, &e))
        return SI_OK;
    enum si_err rc = ws->wanted(conn, row->site_id, WEBHOOK_EVENT_BIT(e), &yes);
    if (rc || !yes)
        return rc;
    char *data = view->render(view->ctx, row);
    if (!data)
        return SI_ENOMEM;
    struct buf b;
    buf_init(&b, 0);
    webhook_payload_raw(&b, e, data, strlen(data), now);
    rc = add(ws, conn, row->site_id, e, row->account_id, &b, now);
    buf_cleanup(&b);
    free(data);
    return rc;
}
