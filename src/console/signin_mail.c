/* "Email me a link" on the console's sign-in page: an owner address in, a one-time sign-in link
 * queued for the mail worker when it is an account's, and the same answer in about the same time
 * whether it is or not; rate-limited per address and per client. */
#include "console/console_int.h"

#include "api/invitee_flow.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/seal.h"
#include "common/secure.h"
#include "core/console.h"
#include "core/email.h"
#include "request/ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LIMIT_KEY_BYTES 16 /* of a keyed hash: a bucket's name, hex, within SI_ID_LEN */
#define US_PER_MS       1000

_Static_assert(CONSOLE_TOKEN_TEXT + SEAL_OVERHEAD == CONSOLE_MAIL_SEALED_LEN,
               "the store keeps a sealed link token of exactly this size");
_Static_assert(2 * LIMIT_KEY_BYTES < SI_ID_LEN, "a bucket's name fits the limiter's key");

static int64_t mono_us(void)
{
    return clock_mono_us();
}

/* Waits until CONSOLE_MAIL_FLOOR_MS after the request began: a known address (a write and a
 * wake-up) and an unknown one (a read) then answer at the same moment. */
static void wait_floor(const struct request *req)
{
    int64_t until = req->started_us + (int64_t)CONSOLE_MAIL_FLOOR_MS * US_PER_MS;
    for (int64_t left = until - mono_us(); left > 0; left = until - mono_us()) {
        struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = (left % 1000000) * 1000};
        if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
            break;
    }
}

/* Takes a token of kind's bucket for what (an address key or a client address). The bucket is
 * named by a keyed hash, so the table holds no address in clear. */
static bool limit_take(const struct request *req, struct ratelimit *rl, const char *kind,
                       const char *what, long *retry)
{
    uint8_t mac[LIMIT_KEY_BYTES];
    char msg[SI_EMAIL_MAX + 32], key[2 * LIMIT_KEY_BYTES + 1];
    static const char hex[] = "0123456789abcdef";
    if (!rl)
        return true;
    int n = snprintf(msg, sizeof msg, "%s:%s", kind, what);
    secure_hash(mac, msg, n > 0 ? (size_t)n : 0, req->app->secret, SECURE_KEY_LEN);
    for (size_t i = 0; i < LIMIT_KEY_BYTES; i++) {
        key[2 * i] = hex[mac[i] >> 4];
        key[2 * i + 1] = hex[mac[i] & 15];
    }
    key[2 * LIMIT_KEY_BYTES] = '\0';
    return ratelimit_take(rl, key, mono_us(), retry);
}

/* The sign-in page again with a notice (400: not an address; 429: asked too often). */
static void reply_form(struct request *req, unsigned status, const char *lang,
                       enum console_page notice, const char *typed)
{
    char action[CONSOLE_PATH_MAX], extra[512];
    struct console_values v = {.v = {NULL}};
    snprintf(action, sizeof action, "%s/console/signin", page_base_path(req->app->base_url));
    console_fragment_text(lang, notice, &v, extra, sizeof extra);
    v.v[CV_ACTION] = action;
    v.v[CV_EXTRA] = extra;
    v.v[CV_VALUE] = typed;
    console_reply(req, status, lang, CP_SIGNIN, &v);
}

/* Makes a link for the owner of key (if any) and queues its mail in lang. */
static enum si_err queue_link(struct request *req, const char *key, const char *lang, bool *queued)
{
    char token[CONSOLE_TOKEN_TEXT + 1];
    uint8_t hash[32];
    struct console_mail m;
    memset(&m, 0, sizeof m);
    si_ms now = clock_now(req->app->clock);
    /* Made and sealed whatever the address: the same work either way. */
    console_token_new(req->app->rng, token, hash);
    seal_close(m.sealed, (const uint8_t *)token, CONSOLE_TOKEN_TEXT, req->app->secret);
    secure_wipe(token, sizeof token);
    snprintf(m.lang, sizeof m.lang, "%s", lang);
    m.expires = now + (si_ms)CONSOLE_LINK_TTL_DEFAULT_S * 1000;
    enum si_err rc = store_console_mail_queue(req->app->store, key, hash, &m, now, queued);
    if (!rc && *queued) {
        log_info("request %s: console: a sign-in link for account %s is queued", req->request_id,
                 m.account_id);
        app_mail_wake(req->app);
    }
    secure_wipe(&m, sizeof m);
    secure_wipe(hash, sizeof hash);
    return rc;
}

void console_signin_email(struct request *req)
{
    const char *lang = console_lang(req);
    char typed[SI_EMAIL_MAX + 2] = "", email[SI_EMAIL_MAX + 1], key[SI_EMAIL_MAX + 1];
    long retry = 0;
    bool queued = false;
    /* Another site must not make a visitor's browser mail links about. */
    if (!page_same_origin(req)) {
        struct console_values v = {.v = {NULL}};
        log_warn("request %s: console form refused: cross-site", req->request_id);
        console_reply(req, 403, lang, CP_FORBIDDEN, &v);
        return;
    }
    bool got = console_form_field(req, "email", typed, sizeof typed);
    if (!got || email_check(typed, strlen(typed), email, key) != EMAIL_OK) {
        reply_form(req, 400, lang, CP_NOTICE_SIGNIN_INVALID, got ? typed : "");
        return;
    }
    /* Both buckets are asked before anything is looked up: a refusal says nothing of the
     * address either. */
    if (!limit_take(req, req->app->signin_by_client, "client", req->client ? req->client : "?",
                    &retry) ||
        !limit_take(req, req->app->signin_by_address, "address", key, &retry)) {
        req->retry_after_s = retry;
        reply_form(req, 429, lang, CP_NOTICE_SIGNIN_LIMITED, email);
        return;
    }
    enum si_err rc = queue_link(req, key, lang, &queued);
    wait_floor(req);
    if (rc) {
        console_fail(req, lang, "sign-in mail", rc);
        return;
    }
    char home[CONSOLE_PATH_MAX];
    snprintf(home, sizeof home, "%s/console/signin", page_base_path(req->app->base_url));
    struct console_values v = {.v = {NULL}};
    v.v[CV_VALUE] = email;
    v.v[CV_HREF] = home;
    console_reply(req, 200, lang, CP_SIGNIN_SENT, &v);
}
