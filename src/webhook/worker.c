/* The webhook delivery threads (see worker.h). */
#include "worker.h"

#include "common/log.h"
#include "common/seal.h"
#include "common/xalloc.h"
#include "core/webhook.h"
#include "core/webhook_addr.h"
#include "send.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLAIM_BATCH 8 /* deliveries one thread claims at once */
#define SEALED_MAX  (WEBHOOK_KEY_LEN + SEAL_OVERHEAD)

struct webhook_worker {
    struct webhook_worker_config cfg;
    struct store *store;
    const struct clock *clock;
    pthread_t threads[WEBHOOK_THREADS_MAX];
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;         /* under lock */
    uint64_t wake_gen; /* under lock: bumped by the store's doorbell */
    si_ms next_retry;  /* under lock: earliest retry this worker scheduled, 0 = none */
    atomic_bool stopping;
};

/* The key sealed in text (base64) into key. SI_EINVAL when it does not open with our secret. */
static enum si_err open_key(const struct webhook_worker *w, const char *text,
                            uint8_t key[WEBHOOK_KEY_LEN])
{
    uint8_t sealed[SEALED_MAX + 8];
    size_t n = 0;
    enum si_err rc = b64_decode(text, strlen(text), sealed, sizeof sealed, &n);
    if (!rc && n != SEALED_MAX)
        rc = SI_EINVAL;
    if (!rc)
        rc = seal_open(key, sealed, n, w->cfg.server_secret);
    return rc;
}

/* The webhook-signature value: the current key's, and the previous key's during a rotation. */
static enum si_err sign(const struct webhook_worker *w, const struct webhook_job *j,
                        const char *msg_id, int64_t ts, si_ms now, char sig[WEBHOOK_SIGNATURE_MAX])
{
    uint8_t key[WEBHOOK_KEY_LEN];
    size_t len = strlen(j->payload);
    sig[0] = '\0';
    enum si_err rc = open_key(w, j->hook.secret, key);
    if (!rc)
        rc = webhook_sign(sig, WEBHOOK_SIGNATURE_MAX, key, sizeof key, msg_id, ts, j->payload, len);
    if (!rc && j->hook.old_secret[0] && j->hook.old_secret_until > now &&
        !open_key(w, j->hook.old_secret, key))
        rc = webhook_sign(sig, WEBHOOK_SIGNATURE_MAX, key, sizeof key, msg_id, ts, j->payload, len);
    secure_wipe(key, sizeof key);
    return rc;
}

/* Resolves the endpoint's host again and picks the address to connect to: every address must
 * pass (core/webhook_addr.h), or the try fails with the reason in error. */
static bool pick_address(const struct webhook_worker *w, const struct webhook_url *u,
                         struct resolved_addr *out, char error[SEND_ERROR_MAX])
{
    struct resolved_addr addrs[RESOLVE_MAX];
    size_t n = 0, which = 0;
    enum addr_class refused;
    if (resolve_host(u->host, addrs, RESOLVE_MAX, &n)) {
        snprintf(error, SEND_ERROR_MAX, "the host name does not resolve");
        return false;
    }
    if (!webhook_addrs_allowed(addrs, n, w->cfg.allow_http, &refused, &which)) {
        snprintf(error, SEND_ERROR_MAX, "refused: the host resolves to a %s address (%s)",
                 addr_class_name(refused), addrs[which].text);
        return false;
    }
    *out = addrs[0];
    return true;
}

/* One try of job j; fills res's outcome fields. */
static void attempt(struct webhook_worker *w, struct sender *s, const struct webhook_job *j,
                    si_ms now, int *status, char error[SEND_ERROR_MAX])
{
    struct webhook_url u;
    struct resolved_addr addr;
    char msg_id[WEBHOOK_MSG_ID_MAX], sig[WEBHOOK_SIGNATURE_MAX];
    snprintf(msg_id, sizeof msg_id, "msg_%lld", (long long)j->event_id);
    int64_t ts = now / 1000;
    *status = 0;
    if (webhook_url_parse(j->hook.url, w->cfg.allow_http, &u)) {
        snprintf(error, SEND_ERROR_MAX, "refused: the URL is not allowed");
        return;
    }
    if (sign(w, j, msg_id, ts, now, sig)) {
        snprintf(error, SEND_ERROR_MAX,
                 "the signing secret does not open with this server's "
                 "secret");
        return;
    }
    if (!pick_address(w, &u, &addr, error))
        return;
    struct send_request r = {.url = j->hook.url,
                             .parsed = &u,
                             .addr = &addr,
                             .msg_id = msg_id,
                             .signature = sig,
                             .ts_s = ts,
                             .body = j->payload,
                             .len = strlen(j->payload),
                             .allow_http = w->cfg.allow_http,
                             .connect_timeout_s = w->cfg.connect_timeout_s,
                             .timeout_s = w->cfg.timeout_s,
                             .ca_pem = w->cfg.ca_pem,
                             .ca_len = w->cfg.ca_len};
    if (!sender_post(s, &r, status, error))
        error[0] = '\0';
}

/* Remembers a retry this worker scheduled, so the idle wait ends when it falls due. */
static void note_retry(struct webhook_worker *w, si_ms due)
{
    pthread_mutex_lock(&w->lock);
    if (!w->next_retry || due < w->next_retry)
        w->next_retry = due;
    pthread_mutex_unlock(&w->lock);
}

/* Sends j and records the outcome: delivered, the next try, or given up; and whether the
 * endpoint has now failed long enough to be disabled (core decides both). */
static void deliver(struct webhook_worker *w, struct sender *s, const struct webhook_job *j)
{
    char error[SEND_ERROR_MAX] = "";
    int status = 0;
    attempt(w, s, j, clock_now(w->clock), &status, error);
    si_ms now = clock_now(w->clock);
    uint32_t rnd;
    random_fill(&random_system, &rnd, sizeof rnd);
    bool ok = error[0] == '\0';
    si_ms failing_since = j->hook.failing_since ? j->hook.failing_since : now;
    struct webhook_result r = {
        .delivery_id = j->id,
        .webhook_id = j->hook.id,
        .delivered = ok,
        .http_status = status,
        .error = error,
        .now = now,
        .next_due = ok ? 0
                       : webhook_next_due(now, j->event_created, j->attempts + 1,
                                          w->cfg.retry_base_ms, w->cfg.give_up_ms, rnd),
        .disable = !ok && webhook_should_disable(failing_since, now, w->cfg.disable_after_ms)};
    char reason[SI_ERROR_TEXT_MAX];
    if (r.disable) {
        snprintf(reason, sizeof reason, "failing since %lld s: %s",
                 (long long)((now - failing_since) / 1000), error);
        r.error = reason;
        log_warn("webhooks: endpoint %s disabled after failing since %lld ms ago: %s", j->hook.id,
                 (long long)(now - failing_since), error);
    }
    if (store_webhook_result(w->store, &r))
        log_warn("webhooks: could not record delivery %lld; it is tried again after its lease",
                 (long long)j->id);
    else if (r.next_due)
        note_retry(w, r.next_due);
}

/* One claim and its deliveries; returns how many were claimed. */
static size_t round_once(struct webhook_worker *w, struct sender *s)
{
    struct webhook_job *jobs = NULL;
    size_t n = 0;
    /* The lease covers the whole batch at the longest timeout, with room to record. */
    si_ms lease = (si_ms)CLAIM_BATCH * (w->cfg.timeout_s + 5) * 1000;
    if (store_webhook_claim(w->store, clock_now(w->clock), lease, CLAIM_BATCH, &jobs, &n))
        return 0;
    for (size_t i = 0; i < n && !atomic_load(&w->stopping); i++)
        deliver(w, s, &jobs[i]);
    webhook_jobs_free(jobs, n);
    return n;
}

/* The store's doorbell (store/webhooks.h): an event was committed in this process. */
static void wake(void *ctx)
{
    struct webhook_worker *w = ctx;
    pthread_mutex_lock(&w->lock);
    w->wake_gen++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Waits until the doorbell rang since seen, stop, a retry this worker scheduled is due, or
 * poll_ms passed (the slow poll: for rows another process wrote). With w->lock held. */
static void idle(struct webhook_worker *w, uint64_t seen)
{
    si_ms wait = w->cfg.poll_ms > 0 ? w->cfg.poll_ms : WEBHOOK_SLOW_POLL_MS;
    if (w->next_retry) {
        si_ms until = w->next_retry - clock_now(w->clock);
        if (until < wait)
            wait = until > 0 ? until : 0;
    }
    struct timespec ts = clock_deadline_after(wait);
    while (!w->stop && w->wake_gen == seen && wait > 0 &&
           clock_cond_wait(&w->cond, &w->lock, &ts) != ETIMEDOUT) {
    }
    if (w->next_retry && w->next_retry <= clock_now(w->clock))
        w->next_retry = 0; /* due: the next claim takes it */
}

static void *run(void *arg)
{
    pthread_setname_np(pthread_self(), "si-webhook");
    struct webhook_worker *w = arg;
    struct sender *s = sender_new();
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        uint64_t seen = w->wake_gen; /* a ring from now on means: look again */
        pthread_mutex_unlock(&w->lock);
        size_t n = round_once(w, s);
        pthread_mutex_lock(&w->lock);
        /* Sleep only after a round found nothing: a delivery just made may have released the
         * next one of its invite (order per invite), and a full batch may have more behind. */
        if (n == 0 && !w->stop)
            idle(w, seen);
    }
    pthread_mutex_unlock(&w->lock);
    sender_free(s);
    return NULL;
}

enum si_err webhook_worker_start(const struct webhook_worker_config *cfg, struct store *store,
                                 const struct clock *clock, struct webhook_worker **out)
{
    struct webhook_worker *w = xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    if (w->cfg.threads < 1 || w->cfg.threads > WEBHOOK_THREADS_MAX)
        w->cfg.threads = 1;
    w->store = store;
    w->clock = clock;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    atomic_init(&w->stopping, false);
    for (int i = 0; i < w->cfg.threads; i++) {
        if (pthread_create(&w->threads[i], NULL, run, w) != 0) {
            log_error("webhooks: cannot start a delivery thread");
            webhook_worker_stop(w);
            return SI_EIO;
        }
        w->started++;
    }
    webhook_doorbell_set(wake, w);
    *out = w;
    return SI_OK;
}

void webhook_worker_stop(struct webhook_worker *w)
{
    if (!w)
        return;
    webhook_doorbell_set(NULL, NULL); /* no ring reaches w from now on */
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    atomic_store(&w->stopping, true);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->started; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    secure_wipe(w->cfg.server_secret, sizeof w->cfg.server_secret);
    free(w->cfg.ca_pem); /* every sender using it is gone with its thread */
    free(w);
}
