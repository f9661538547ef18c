/* Idempotency-Key around a handler: claim, run and record, replay, refuse, or wait. */
#include "api/idempotency.h"

#include "api/idem_wait.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "core/idempotency.h"

#include <stdlib.h>
#include <string.h>

#define KEY_FIELD "Idempotency-Key"

/* The method's name in a fingerprint; only the methods a key applies to are named. */
static const char *method_text(enum http_method m)
{
    switch (m) {
    case HTTP_POST:
        return "POST";
    case HTTP_PUT:
        return "PUT";
    case HTTP_PATCH:
        return "PATCH";
    case HTTP_DELETE:
        return "DELETE";
    default:
        return "OTHER";
    }
}

/* The claim of req: its account, key, fingerprint, a fresh owner and the times. */
static void claim_init(struct request *req, struct idem_claim *c)
{
    const struct app *app = req->app;
    memset(c, 0, sizeof *c);
    c->account_id = req->principal.account_id;
    c->key = req->idempotency_key;
    idem_fingerprint(method_text(req->method), req->path, req->site.id, req->body.data,
                     req->body.len, c->fingerprint);
    id_new(app->rng, c->owner);
    c->now = clock_now(app->clock);
    c->lease_until = c->now + IDEM_LEASE_MS;
    c->expires = c->now + idem_ttl(app->idem_ttl_ms);
}

/* The claim req holds, for recording or releasing it (times are not needed then). */
static void held_claim(const struct request *req, struct idem_claim *c)
{
    memset(c, 0, sizeof *c);
    c->account_id = req->principal.account_id;
    c->key = req->idempotency_key;
    memcpy(c->owner, req->idem_owner, sizeof c->owner);
}

/* Answers the recorded answer again, with its accept links restored. */
static void replay(struct request *req, const struct idem_outcome *out)
{
    struct buf b;
    buf_init(&b, 0);
    if (idem_unseal(req->app->secret, out->body, out->len, &b) != SI_OK) {
        buf_cleanup(&b);
        log_error("request %s: a recorded idempotent answer cannot be restored", req->request_id);
        request_fail(req, P_INTERNAL, NULL);
        return;
    }
    size_t len = b.len;
    request_reply_json_text(req, out->status, buf_take(&b), len);
    req->idem_replayed = true;
}

/* on_final of a request that ran under its claim: keep the answer or give the key back. */
static void record_answer(struct request *req)
{
    struct idem_claim c;
    held_claim(req, &c);
    enum si_err rc = SI_EINVAL;
    if (idem_keeps(req->status)) {
        struct buf sealed;
        buf_init(&sealed, 0);
        const char *text = req->answer ? req->answer : "";
        rc = idem_seal(req->app->secret, text, req->answer ? req->answer_len : 0, &sealed);
        if (!rc)
            rc = store_idem_done(req->app->store, &c, req->status, sealed.data ? sealed.data : "",
                                 sealed.len);
        buf_cleanup(&sealed);
        if (rc == SI_ENOTFOUND)
            log_warn("request %s: its Idempotency-Key claim was taken over after its lease",
                     req->request_id);
    }
    /* Not kept (or not recordable): a retry with the key runs again. */
    if (rc && rc != SI_ENOTFOUND && store_idem_release(req->app->store, &c) != SI_OK)
        log_warn("request %s: its Idempotency-Key stays claimed until its lease ends",
                 req->request_id);
    idem_waiter_poke(req->app->idem_waiter);
}

/* Runs the handler under the claim; the answer is recorded once final (a deferred answer in
 * request_finish, an inline one here). */
static void run_claimed(struct request *req, void (*handler)(struct request *),
                        const struct idem_claim *c)
{
    memcpy(req->idem_owner, c->owner, sizeof req->idem_owner);
    req->on_final = record_answer;
    handler(req);
    if (!req->finish && req->on_final) {
        req->on_final = NULL;
        record_answer(req);
    }
}

/* The deferred answer of a twin that waited. */
static void wait_finish(struct request *req, void *ctx)
{
    struct idem_wait *e = ctx;
    if (e->rc) {
        request_fail_err(req, e->rc);
        return;
    }
    if (e->out.verdict == IDEM_REPLAY) {
        replay(req, &e->out);
    } else if (e->out.verdict == IDEM_REUSED) {
        request_fail(req, P_IDEMPOTENCY_KEY_REUSED, NULL);
    } else { /* still running, or released by a failure: the client retries */
        req->retry_after_s = 1;
        request_fail(req, P_IDEMPOTENCY_KEY_IN_USE, NULL);
    }
}

static void wait_free(void *ctx)
{
    struct idem_wait *e = ctx;
    free(e->out.body);
    free(e);
}

/* The same request is running: wait for it off the HTTP threads, or answer 409 at once when
 * no waiter runs (a handler called without serve). */
static void wait_for_twin(struct request *req, const struct idem_claim *c)
{
    if (!req->app->idem_waiter) {
        req->retry_after_s = 1;
        request_fail(req, P_IDEMPOTENCY_KEY_IN_USE, NULL);
        return;
    }
    struct idem_wait *e = xcalloc(1, sizeof *e);
    e->req = req;
    e->claim = *c;
    e->deadline_ms = idem_wait_now_ms() + IDEM_WAIT_MS;
    request_defer(req, wait_finish, e, wait_free);
    idem_waiter_add(req->app->idem_waiter, e); /* the request owns e; the waiter borrows it */
}

void api_idempotent(struct request *req, void (*handler)(struct request *req))
{
    if (!req->idempotency_key) {
        handler(req);
        return;
    }
    if (!idem_key_valid(req->idempotency_key)) {
        request_fail_field(req, KEY_FIELD, RULE_FORMAT,
                           "must be 1 to 255 printable ASCII characters");
        return;
    }
    struct idem_claim c;
    struct idem_outcome out;
    claim_init(req, &c);
    enum si_err rc = store_idem_claim(req->app->store, &c, &out);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    switch (out.verdict) {
    case IDEM_RUN:
        run_claimed(req, handler, &c);
        break;
    case IDEM_REPLAY:
        replay(req, &out);
        break;
    case IDEM_REUSED:
        request_fail(req, P_IDEMPOTENCY_KEY_REUSED, NULL);
        break;
    case IDEM_IN_USE:
        wait_for_twin(req, &c);
        break;
    }
    free(out.body);
}
