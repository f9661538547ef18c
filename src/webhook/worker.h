/* The webhook delivery worker: threads of their own that claim due deliveries from the store
 * (a lease, in order per invite), sign them (Standard Webhooks), check the endpoint's addresses
 * again and POST to the checked one, then record the outcome, the next try or the endpoint's
 * disabling. It shares nothing with the API and the mail worker but the store. Idle threads
 * sleep until the store's doorbell says an event was committed here, or the slow poll. */
#ifndef SI_WEBHOOK_WORKER_H
#define SI_WEBHOOK_WORKER_H

#include "common/clock.h"
#include "common/err.h"
#include "common/secure.h"
#include "store/webhooks.h"

#define WEBHOOK_THREADS_MAX  16
#define WEBHOOK_SLOW_POLL_MS 1000 /* idle threads look at the queue this often, woken otherwise */

struct webhook_worker_config {
    uint8_t server_secret[SECURE_KEY_LEN]; /* opens the sealed signing keys */
    bool allow_http;                       /* http:// and loopback/private (development) */
    int threads;                           /* 1..WEBHOOK_THREADS_MAX */
    long connect_timeout_s, timeout_s;
    si_ms retry_base_ms;    /* core/webhook.h's base of the schedule; <= 0: default */
    si_ms give_up_ms;       /* <= 0: WEBHOOK_GIVE_UP_MS */
    si_ms disable_after_ms; /* <= 0: WEBHOOK_DISABLE_AFTER_MS */
    si_ms poll_ms; /* the slow poll: longest idle wait between two looks at the queue (an event
                      committed in this process wakes the threads at once) */
    char *ca_pem;  /* NULL, or the trusted PEM bundle (webhook_ca_bundle): the worker
                      owns it from webhook_worker_start on, even when that fails */
    size_t ca_len;
};

struct webhook_worker;

/* Starts cfg->threads threads on store (which must outlive the worker). SI_EIO (logged) when a
 * thread cannot be made. libcurl is set up at the first POST (send.h); a delivery whose POST
 * finds it cannot start fails as any unreachable endpoint does, and is tried again. */
enum si_err webhook_worker_start(const struct webhook_worker_config *cfg, struct store *store,
                                 const struct clock *clock,
                                 struct webhook_worker **out) SI_MUST_USE;
/* Stops and joins the threads: a POST in flight finishes (bounded by the timeout), claimed
 * deliveries not started come back when their lease ends. NULL is accepted. */
void webhook_worker_stop(struct webhook_worker *w);

#endif
