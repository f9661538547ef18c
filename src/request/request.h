/* One HTTP request and its answer, as handlers see it: no libmicrohttpd types in here.
 * Ownership: the http server creates it when a request starts and frees it in libmicrohttpd's
 * completion callback, nowhere else; everything it points to is owned by it.
 * Threads: one request is touched by one thread at a time. */
#ifndef SI_REQUEST_REQUEST_H
#define SI_REQUEST_REQUEST_H

#include "auth/auth.h"
#include "common/buf.h"
#include "core/invite.h"
#include "request/app.h"
#include "request/problem.h"

#include <jansson.h>
#include <stdbool.h>

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OTHER };

#define REQUEST_ARGS_MAX           48 /* room for 20 filter.policyIds and 20 filter.locationIds */
#define REQUEST_BODY_LIMIT_DEFAULT (1024 * 1024)

struct request_arg {
    char *name;
    char *value;
};

struct request;
/* Answers a deferred request once its work is done (see request_defer). */
typedef void (*request_finish_fn)(struct request *req, void *ctx);

struct request {
    struct app *app;
    enum http_method method;
    char *path;                 /* URL-decoded path, without the query string */
    char request_id[SI_ID_LEN]; /* sent back as X-Wix-Request-Id and logged */
    int64_t started_us;         /* monotonic, for latency */

    /* Request headers we use, copied (NULL when absent). */
    char *authorization;     /* never logged */
    char *site_id_header;    /* wix-site-id */
    char *account_id_header; /* wix-account-id */
    char *content_type;
    char *origin;
    char *sec_fetch_site;
    char *idempotency_key;
    char *cookie;          /* the console's session cookie rides here: never logged */
    char *accept_language; /* the console's pages pick their language by it */
    const char *client;    /* the peer's address as text ("?" unknown); borrowed for the request */

    struct request_arg args[REQUEST_ARGS_MAX]; /* query-string arguments, first N kept */
    int nargs;

    struct buf body; /* capped at the configured body limit */
    bool body_too_large;
    json_t *json; /* parsed JSON body, NULL when the body was empty */

    char *param;            /* the {inviteId} or {token} path segment, raw */
    const char *route_name; /* a static name for logs and metrics */

    struct principal principal; /* set for authenticated routes */
    struct site site;           /* set for site-level routes */

    /* The answer. */
    unsigned status; /* 0 = not answered yet */
    char *answer;    /* owned */
    size_t answer_len;
    const char *answer_type; /* static content type */
    long retry_after_s;      /* >= 0 adds Retry-After */
    const char *allow;       /* static, adds Allow (405) */
    bool no_store;           /* adds the invitee-page security headers */
    char *set_cookie;        /* owned; adds Set-Cookie (the console's session) */
    char *location;          /* owned; adds Location (the console's redirects after a post) */

    /* A deferred answer (request_defer): finish runs once the work is done. */
    request_finish_fn finish;
    void *finish_ctx;
    void (*finish_ctx_free)(void *ctx);
    /* Set by the HTTP server: suspends the connection / resumes it from any thread. Without
     * them (a handler called directly) request_wake runs finish at once. */
    void (*on_defer)(struct request *req);
    void (*on_wake)(struct request *req);

    /* Runs once when the answer is final (after a deferred finish); the Idempotency-Key
     * wrapper (api/idempotency.h) records the answer there. Cleared before it runs. */
    void (*on_final)(struct request *req);
    char idem_owner[SI_ID_LEN]; /* the Idempotency-Key claim this request holds, or "" */
    bool idem_replayed;         /* the answer is a recorded one: adds Idempotent-Replayed */
};

/* Value of a query-string argument, or NULL. Borrowed until the request is freed. */
const char *request_arg(const struct request *req, const char *name);

/* Answers with status and a JSON body, which it steals (serialised compactly). */
void request_reply_json(struct request *req, unsigned status, json_t *body);

/* Answers with status and JSON text the handler wrote itself (hot paths); steals text, which
 * must be valid JSON of len bytes. */
void request_reply_json_text(struct request *req, unsigned status, char *text, size_t len);

/* Answers with status and an HTML page, which it steals. */
void request_reply_html(struct request *req, unsigned status, char *html);

/* Answers with a problem of the catalogue; description NULL uses the default message.
 * For 5xx problems the body is {"message": "", "details": {}} whatever is passed. */
void request_fail(struct request *req, enum problem p, const char *description);

/* Answers 400 with a validationError listing every violation. */
void request_fail_validation(struct request *req, const struct violations *vs);

/* Answers a single-field validation failure (a shortcut for one violation). */
void request_fail_field(struct request *req, const char *field, enum violation_rule rule,
                        const char *description);

/* Answers for an internal error code: SI_EUNAUTH 401, SI_EPERM 403, SI_ETOOBIG 413,
 * SI_EBUSY 503, SI_EFULL 503 UNAVAILABLE/STORAGE_FULL with Retry-After 30, SI_ENOTFOUND 404
 * NOT_FOUND, everything else 500 with an empty body. The
 * request ID is the handle a user reports; the cause was logged where it happened. */
void request_fail_err(struct request *req, enum si_err err);

/* For a handler whose work finishes on another thread (store_invites_bulk_async): call this
 * before starting the work, return without answering, and have the work call request_wake
 * when it is done. finish(req, ctx) then runs on an HTTP thread and must answer. The HTTP
 * threads meanwhile serve other connections. ctx_free (may be NULL) releases ctx when the
 * request ends, whether or not finish ran. */
void request_defer(struct request *req, request_finish_fn finish, void *ctx,
                   void (*ctx_free)(void *ctx));
/* Says the deferred work is done; thread-safe, once per request_defer, and may be called
 * before the handler returns. */
void request_wake(struct request *req);
/* Runs the deferred finish (the HTTP server, on resuming the connection); a finish that gave
 * no answer becomes a 500. Then runs on_final, if set. */
void request_finish(struct request *req);

#endif
