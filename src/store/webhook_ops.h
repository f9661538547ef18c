/* The webhook part of a backend (store/webhooks.h): its operations table, the two steps the
 * change transactions use to write events, and the one helper that renders an event and writes
 * it, which every state change calls inside its transaction. Internal to src/store. */
#ifndef SI_STORE_WEBHOOK_OPS_H
#define SI_STORE_WEBHOOK_OPS_H

#include "store/store_ops.h"
#include "store/webhooks.h"

/* Every member has the contract of the store_webhook_* function of the same name; be is the
 * backend's state. audit (NULL: none) is the change's audit entry, written in its transaction. */
struct webhook_ops {
    enum si_err (*create)(void *be, const struct webhook_row *w, const struct audit_entry *audit);
    enum si_err (*list)(void *be, const char *site_id, struct webhook_row **out, size_t *n);
    enum si_err (*get)(void *be, const char *site_id, const char *id, struct webhook_row *out);
    enum si_err (*update)(void *be, const struct webhook_row *w, const struct audit_entry *audit);
    enum si_err (*remove)(void *be, const char *site_id, const char *id,
                          const struct audit_entry *audit);
    enum si_err (*test)(void *be, const struct webhook_row *w, const char *payload, si_ms now,
                        const struct audit_entry *audit);
    enum si_err (*deliveries)(void *be, const char *webhook_id, int64_t before, int limit,
                              struct webhook_delivery_row **out, size_t *n, bool *has_next);
    enum si_err (*claim)(void *be, si_ms now, si_ms lease_ms, int max, struct webhook_job **out,
                         size_t *n);
    enum si_err (*result)(void *be, const struct webhook_result *r);
    enum si_err (*counts)(void *be, struct webhook_counts *out);
    /* One statement of store_webhook_sweep: finished deliveries, or (events) the events left
     * without a delivery; *n gets the rows deleted. */
    enum si_err (*sweep)(void *be, bool events, si_ms before, int max, int64_t *n);
};

/* The event steps, on a backend's connection conn inside the caller's transaction. */
struct webhook_steps {
    /* *yes: some enabled endpoint of the site subscribes to the event with bit `bit`. */
    enum si_err (*wanted)(void *conn, const char *site_id, unsigned bit, bool *yes);
    /* Writes the event (payload: its JSON text; order_key: the invite or contributor it is
     * about) and one Queued delivery, due now, per enabled subscribed endpoint of the site. */
    enum si_err (*add)(void *conn, const char *site_id, enum webhook_event e, const char *order_key,
                       const char *payload, si_ms now);
};

extern const struct webhook_ops sq_webhook_ops, pg_webhook_ops;
extern const struct webhook_steps sq_webhook_steps, pg_webhook_steps;

/* The event e about inv, written on conn inside the caller's transaction when an endpoint of
 * the invite's site wants it (nothing is rendered otherwise). ws NULL: the backend has no
 * webhooks, nothing to do. */
enum si_err webhook_emit_invite(const struct webhook_steps *ws, void *conn, enum webhook_event e,
                                const struct invite *inv, si_ms now) SI_MUST_USE;
/* invite.created for every created item of a bulk call (one `wanted` check per call). */
enum si_err webhook_emit_bulk(const struct webhook_steps *ws, void *conn,
                              const struct bulk_request *req) SI_MUST_USE;
/* The same for n calls of one site (a group commit): one `wanted` check for all of them, each
 * event stamped with its own call's now. */
enum si_err webhook_emit_bulk_calls(const struct webhook_steps *ws, void *conn,
                                    const struct bulk_request *const *reqs, size_t n) SI_MUST_USE;
/* The webhook event of contributor change `action` (core: webhook_contributor_event), if any,
 * about row (after the change; removed: before it), rendered by view when an endpoint of the
 * site wants it; inside the caller's transaction. view NULL: nothing to do. */
enum si_err webhook_emit_contributor(const struct webhook_steps *ws, void *conn,
                                     enum audit_action action, const struct contributor_row *row,
                                     const struct contributor_view *view, si_ms now) SI_MUST_USE;

/* Adds one row of the backends' "type, status, count(*)" grouping to c (queued included). */
void webhook_counts_add(struct webhook_counts *c, int64_t type, const char *status, int64_t n);

/* invite.expired for the invites a sweep is about to store Expired (SQLite: called inside the
 * write transaction just before the UPDATE, whose WHERE and LIMIT it repeats: site_id NULL is
 * every site's, else that one's; the writer is exclusive, so both see the same rows). */
enum si_err sq_webhook_expiring(void *conn, const char *site_id, si_ms now, int max) SI_MUST_USE;
/* invite.expired for the invites whose IDs are column 0 of ids (PostgreSQL: the RETURNING of
 * the expiry UPDATE, inside its transaction). */
struct pg_result;
enum si_err pg_webhook_expired(void *conn, const struct pg_result *ids, si_ms now) SI_MUST_USE;

/* Called by a backend's return-to-pool (sq_return, pg_return) for every connection: rings the
 * doorbell (webhooks.h) when this thread wrote an event on conn since. */
void webhook_doorbell_returned(const void *conn);

/* The backend of a store handle (for store/webhooks.c's dispatch). */
const struct store_ops *store_backend(const struct store *s, void **be);

#endif
