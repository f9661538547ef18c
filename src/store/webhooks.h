/* The storage of webhooks: endpoints of a site, the events written in the transactions of the
 * changes that cause them, and one delivery per event and subscribed endpoint, which the
 * delivery worker (src/webhook) claims under a lease like the mail outbox. Same threading,
 * error and time rules as store.h. */
#ifndef SI_STORE_WEBHOOKS_H
#define SI_STORE_WEBHOOKS_H

#include "core/webhook.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A sealed signing key as text: base64 of the key sealed with the server secret (common/seal.h). */
#define WEBHOOK_SEALED_TEXT_MAX 128

struct webhook_row {
    char id[SI_ID_LEN];
    char site_id[SI_ID_LEN];
    char url[WEBHOOK_URL_MAX];
    unsigned events; /* WEBHOOK_EVENT_BIT set */
    char description[WEBHOOK_DESCRIPTION_MAX];
    bool enabled;
    char disabled_reason[SI_ERROR_TEXT_MAX];  /* why the worker disabled it; "" otherwise */
    char secret[WEBHOOK_SEALED_TEXT_MAX];     /* sealed current key */
    char old_secret[WEBHOOK_SEALED_TEXT_MAX]; /* sealed previous key during a rotation, or "" */
    si_ms old_secret_until;                   /* the previous key signs until then */
    si_ms failing_since; /* first failure since the last success; 0 when not failing */
    si_ms created, updated;
};

/* One delivery as GET .../deliveries shows it. */
struct webhook_delivery_row {
    int64_t id;
    int64_t event_id;
    enum webhook_event type;
    char status[16]; /* Queued, Delivered, Failed */
    int attempts;
    int last_status; /* HTTP status of the last try; 0 when none or no answer */
    char last_error[SI_ERROR_TEXT_MAX];
    si_ms created, updated;
};

/* A claimed delivery with everything needed to send it. */
struct webhook_job {
    int64_t id;
    int64_t event_id; /* the message ID is "msg_" + this */
    enum webhook_event type;
    char *payload; /* owned: freed by webhook_jobs_free */
    si_ms event_created;
    int attempts; /* tries made before this one */
    struct webhook_row hook;
};

/* The outcome of one try, written by store_webhook_result. */
struct webhook_result {
    int64_t delivery_id;
    const char *webhook_id;
    bool delivered;
    si_ms next_due; /* when !delivered: the next try, or 0 to give up (Failed) */
    int http_status;
    const char *error; /* "" when delivered */
    bool disable;      /* core's verdict: disable the endpoint, with error as the reason */
    si_ms now;
};

/* Outcomes of deliveries, the columns of webhook_counts.by_event. */
enum webhook_outcome { WH_OUT_QUEUED, WH_OUT_DELIVERED, WH_OUT_FAILED, WH_OUT_COUNT };

struct webhook_counts {
    int64_t queued;   /* deliveries still to make, leased ones included */
    int64_t disabled; /* endpoints disabled (by the worker or by PATCH) */
    int64_t by_event[WH_EVENT_COUNT][WH_OUT_COUNT]; /* deliveries by event and outcome */
};

/* The outcome of a delivery's stored status ("Queued", "Delivered", "Failed"). */
enum webhook_outcome webhook_outcome_of(const char *status);

void webhook_jobs_free(struct webhook_job *jobs, size_t n);

/* The doorbell: fn(ctx) is called once a transaction that wrote a webhook event has ended (when
 * its connection goes back to the pool, committed or rolled back), after a test event, and
 * after an endpoint is updated to enabled — so the delivery worker can sleep until there is
 * work instead of polling. fn runs on the writing thread and must only signal (no store call).
 * One listener per process; NULL removes it and waits for a call in progress. Writes by
 * another process (a second server on PostgreSQL, the CLI) ring nothing: the worker's slow
 * poll finds those. */
void webhook_doorbell_set(void (*fn)(void *ctx), void *ctx);

/* The changes below write their audit entry (core: audit_webhook_change; actor NULL: the
 * system) in the change's own transaction. */

/* Stores a new endpoint. SI_ENOTFOUND when the site does not exist. */
enum si_err store_webhook_create(struct store *s, const struct webhook_row *w,
                                 const struct audit_actor *actor) SI_MUST_USE;
/* The site's endpoints, oldest first (at most WEBHOOK_PER_SITE_MAX * 2). *out malloc'ed. */
enum si_err store_webhook_list(struct store *s, const char *site_id, struct webhook_row **out,
                               size_t *n) SI_MUST_USE;
/* One endpoint of one site; SI_ENOTFOUND when absent or another site's. */
enum si_err store_webhook_get(struct store *s, const char *site_id, const char *id,
                              struct webhook_row *out) SI_MUST_USE;
/* Writes every mutable field of w (url, events, description, enabled, reason, secrets,
 * failing_since, updated) on the row (w->site_id, w->id). before is the row the caller loaded
 * and changed into w: the audit entry is their difference (none when nothing it records
 * differs; a new secret is "rotated"). SI_ENOTFOUND when absent. */
enum si_err store_webhook_update(struct store *s, const struct webhook_row *before,
                                 const struct webhook_row *w,
                                 const struct audit_actor *actor) SI_MUST_USE;
/* Deletes the endpoint w (as loaded) and its deliveries in one transaction, at now. SI_ENOTFOUND
 * when absent. */
enum si_err store_webhook_delete(struct store *s, const struct webhook_row *w, si_ms now,
                                 const struct audit_actor *actor) SI_MUST_USE;
/* Queues a webhook.test event with data for the endpoint w only (not its subscribers). */
enum si_err store_webhook_test(struct store *s, const struct webhook_row *w, const char *data,
                               si_ms now, const struct audit_actor *actor) SI_MUST_USE;
/* A page of an endpoint's deliveries, newest first: those with id < before (0: from the
 * newest), at most limit; *has_next when more follow. *out malloc'ed. */
enum si_err store_webhook_deliveries(struct store *s, const char *webhook_id, int64_t before,
                                     int limit, struct webhook_delivery_row **out, size_t *n,
                                     bool *has_next) SI_MUST_USE;

/* Claims up to max due deliveries of enabled endpoints and leases them until now + lease_ms.
 * A delivery is due only when no earlier delivery of the same invite (or contributor) to the
 * same endpoint is still queued, so each endpoint sees an invite's events in order. On
 * PostgreSQL rows are taken with FOR UPDATE SKIP LOCKED: servers on one database never claim
 * one delivery twice. *out malloc'ed (webhook_jobs_free). */
enum si_err store_webhook_claim(struct store *s, si_ms now, si_ms lease_ms, int max,
                                struct webhook_job **out, size_t *n) SI_MUST_USE;
/* Records one try and its effect on the endpoint (failing since, disabled), in one
 * transaction. */
enum si_err store_webhook_result(struct store *s, const struct webhook_result *r) SI_MUST_USE;
/* For /metrics. */
enum si_err store_webhook_counts(struct store *s, struct webhook_counts *out) SI_MUST_USE;
/* The retention sweep, one batch: deletes up to max finished (Delivered or Failed) deliveries
 * whose last try was before `before`, then, if fewer than max went, events created before
 * `before` that have no delivery left, up to max in all; *n gets how many rows went (deliveries
 * and events). An event with a Queued delivery (waiting, retrying, or for a disabled endpoint)
 * is never deleted. Each statement is short (no long write lock): call again while *n == max. */
enum si_err store_webhook_sweep(struct store *s, si_ms before, int max, int64_t *n) SI_MUST_USE;

#endif
