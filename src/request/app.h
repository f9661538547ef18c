/* The application context every handler sees: store, clock, randomness, secrets, settings. */
#ifndef SI_REQUEST_APP_H
#define SI_REQUEST_APP_H

#include "common/clock.h"
#include "common/secure.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#define SI_BASE_URL_MAX 512

struct ratelimit;
struct idem_waiter;

struct app {
    struct store *store;
    const struct clock *clock;
    const struct random_source *rng;
    uint8_t secret[SECURE_KEY_LEN]; /* server secret for accept-link tags; never logged */
    char base_url[SI_BASE_URL_MAX]; /* e.g. "http://127.0.0.1:8080", no trailing slash */
    int64_t lifetime_override_s;    /* test-only invite lifetime in seconds; 0 = off */
    void (*mail_wake)(void *ctx);   /* tells the mail worker new rows are due; may be NULL */
    void *mail_wake_ctx;
    struct key_usage *key_usage; /* records keys' last use (auth/key_usage.h); NULL = off */
    struct ratelimit *key_limit; /* per-key token buckets (request/ratelimit.h); NULL = off */
    /* > 0 with key_limit NULL: per-key buckets in the store, shared by every server on it
     * (store_key_take), at key_rate per second with bursts of key_burst. */
    double key_rate, key_burst;
    bool webhooks_allow_http; /* serve --allow-http-webhooks: http:// and loopback endpoints */
    /* Idempotency-Key (api/idempotency.h): the thread twins wait on (NULL: a twin of a running
     * request is answered 409 IDEMPOTENCY_KEY_IN_USE at once), and a test-only record lifetime
     * in milliseconds (0 = 24 hours). */
    struct idem_waiter *idem_waiter;
    int64_t idem_ttl_ms;
    /* The console's sessions (docs/CONSOLE.md): idle timeout and absolute lifetime in seconds;
     * 0 takes core/console.h's defaults (handlers called without serve). */
    int64_t console_idle_s, console_life_s;
    /* "Email me a link" (console/signin_mail.c): buckets per address and per client address,
     * in this process; NULL = no limit (handlers called without serve). */
    struct ratelimit *signin_by_address, *signin_by_client;
};

/* Tells the mail worker that something was queued (no-op without a worker). Thread-safe. */
static inline void app_mail_wake(const struct app *app)
{
    if (app->mail_wake)
        app->mail_wake(app->mail_wake_ctx);
}

#endif
