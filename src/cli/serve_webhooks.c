/* The webhook delivery worker of serve (see serve_webhooks.h). */
#include "serve_webhooks.h"

#include "common/log.h"
#include "webhook/send.h"
#include "webhook/worker.h"

#include <string.h>

enum si_err serve_webhooks_start(const struct settings *s, const struct app *app,
                                 struct webhook_worker **worker)
{
    *worker = NULL;
    if (s->allow_http_webhooks)
        log_warn("--allow-http-webhooks is for development and tests only: webhooks may post "
                 "over plain http:// to loopback and private addresses");
    if (s->webhook_threads == 0) {
        log_warn("webhook threads 0: webhook deliveries stay queued for another server");
        return SI_OK;
    }
    char *ca = NULL;
    size_t ca_len = 0;
    if (s->webhook_ca_file && webhook_ca_bundle(s->webhook_ca_file, &ca, &ca_len)) {
        webhook_global_cleanup();
        return SI_EINVAL; /* logged */
    }
    struct webhook_worker_config cfg = {
        .allow_http = s->allow_http_webhooks,
        .threads = (int)s->webhook_threads,
        .connect_timeout_s = (long)s->webhook_connect_timeout_s,
        .timeout_s = (long)s->webhook_timeout_s,
        .retry_base_ms = (si_ms)s->webhook_retry_ms,
        .give_up_ms = (si_ms)s->webhook_give_up_s * 1000,
        .disable_after_ms = (si_ms)s->webhook_disable_after_s * 1000,
        .poll_ms = WEBHOOK_SLOW_POLL_MS,
        .ca_pem = ca, /* the worker owns it now */
        .ca_len = ca_len,
    };
    memcpy(cfg.server_secret, app->secret, sizeof cfg.server_secret);
    enum si_err rc = webhook_worker_start(&cfg, app->store, app->clock, worker);
    secure_wipe(cfg.server_secret, sizeof cfg.server_secret);
    if (rc)
        webhook_global_cleanup();
    return rc;
}

void serve_webhooks_stop(struct webhook_worker *worker)
{
    if (!worker)
        return;
    webhook_worker_stop(worker);
    webhook_global_cleanup();
}
