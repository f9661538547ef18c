/* Answers to a request: the problem catalogue, validation violations, and the one place that
 * renders an error into the error body of docs/API.md §4. */
#include "request/request.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE "application/json"
#define HTML_TYPE "text/html; charset=utf-8"

/* The fixed 5xx body: nothing internal leaks, the request ID is the handle. */
static const char server_error_body[] = "{\"message\":\"\",\"details\":{}}";

/* Retry-After used when a handler answers 429 or 503 without choosing one. */
#define RETRY_AFTER_DEFAULT_S 1
/* A full disk is freed by an operator, not in a second: clients wait longer between tries. */
#define RETRY_AFTER_FULL_S 30

static const unsigned problem_statuses[] = {
#define PROBLEM_STATUS(e, status, code, reason, msg) status,
    PROBLEMS(PROBLEM_STATUS)
#undef PROBLEM_STATUS
};
static const char *const problem_codes[] = {
#define PROBLEM_CODE(e, status, code, reason, msg) code,
    PROBLEMS(PROBLEM_CODE)
#undef PROBLEM_CODE
};
static const char *const problem_reasons[] = {
#define PROBLEM_REASON(e, status, code, reason, msg) reason,
    PROBLEMS(PROBLEM_REASON)
#undef PROBLEM_REASON
};
static const char *const problem_messages[] = {
#define PROBLEM_MSG(e, status, code, reason, msg) msg,
    PROBLEMS(PROBLEM_MSG)
#undef PROBLEM_MSG
};
static const char *const rule_names[] = {
#define RULE_NAME(e, name) name,
    VIOLATION_RULES(RULE_NAME)
#undef RULE_NAME
};

#define PROBLEM_COUNT (sizeof problem_statuses / sizeof problem_statuses[0])
#define RULE_COUNT    (sizeof rule_names / sizeof rule_names[0])

unsigned problem_status(enum problem p)
{
    return (unsigned)p < PROBLEM_COUNT ? problem_statuses[p] : 500;
}

const char *problem_code(enum problem p)
{
    return (unsigned)p < PROBLEM_COUNT ? problem_codes[p] : "";
}

const char *problem_reason(enum problem p)
{
    return (unsigned)p < PROBLEM_COUNT ? problem_reasons[p] : "";
}

const char *problem_message(enum problem p)
{
    return (unsigned)p < PROBLEM_COUNT ? problem_messages[p] : "";
}

/* Records one violation from a va_list; the bound is cleared (callers set it). Past the cap we
 * only count, so a message can still say how many were dropped; NULL means not kept. */
/* format(printf, 4, 0): fmt is checked at the callers, so vsnprintf may take it. */
__attribute__((format(printf, 4, 0))) static struct violation *
violation_record(struct violations *vs, const char *field, enum violation_rule rule,
                 const char *fmt, va_list ap)
{
    struct violation *v = NULL;
    if (vs->n < VIOLATIONS_MAX) {
        v = &vs->v[vs->n];
        snprintf(v->field, sizeof v->field, "%s", field ? field : "");
        vsnprintf(v->description, sizeof v->description, fmt, ap);
        v->rule = rule;
        v->has_bound = false;
        v->bound = 0;
    }
    vs->n++;
    return v;
}

void violations_add(struct violations *vs, const char *field, enum violation_rule rule,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    violation_record(vs, field, rule, fmt, ap);
    va_end(ap);
}

void violations_add_bound(struct violations *vs, const char *field, enum violation_rule rule,
                          long long bound, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct violation *v = violation_record(vs, field, rule, fmt, ap);
    va_end(ap);
    if (v) {
        v->has_bound = true;
        v->bound = bound;
    }
}

/* A linear scan: at most REQUEST_ARGS_MAX short names. */
const char *request_arg(const struct request *req, const char *name)
{
    for (int i = 0; i < req->nargs; i++)
        if (strcmp(req->args[i].name, name) == 0)
            return req->args[i].value;
    return NULL;
}

/* Sets the answer unless one exists; takes text (malloc'ed) either way. A second answer is a
 * handler bug: the first one stands and the bug is logged. */
static void set_answer(struct request *req, unsigned status, char *text, size_t len,
                       const char *type)
{
    if (req->status) {
        log_error("request %s: answered twice (%u then %u); keeping the first", req->request_id,
                  req->status, status);
        free(text);
        return;
    }
    req->status = status;
    req->answer = text;
    req->answer_len = len;
    req->answer_type = type;
    if ((status == 429 || status == 503) && req->retry_after_s < 0)
        req->retry_after_s = RETRY_AFTER_DEFAULT_S;
}

static void reply_server_error(struct request *req, unsigned status)
{
    set_answer(req, status, xstrndup(server_error_body, sizeof server_error_body - 1),
               sizeof server_error_body - 1, JSON_TYPE);
}

void request_reply_json(struct request *req, unsigned status, json_t *body)
{
    /* A NULL body means the handler's json_pack failed: out of memory or a bad format. */
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        log_error("request %s: cannot serialise the answer", req->request_id);
        reply_server_error(req, 500);
        return;
    }
    set_answer(req, status, text, strlen(text), JSON_TYPE);
}

void request_reply_json_text(struct request *req, unsigned status, char *text, size_t len)
{
    set_answer(req, status, text, len, JSON_TYPE);
}

void request_reply_html(struct request *req, unsigned status, char *html)
{
    /* Every HTML page gets the strict headers: pages are where tokens and forms live. */
    req->no_store = true;
    set_answer(req, status, html, html ? strlen(html) : 0, HTML_TYPE);
}

/* A JSON string of s; text that is not valid UTF-8 (a description cut mid-character, bytes
 * echoed from a request) has its non-ASCII bytes replaced, so the error body never fails. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* Serialises {"message": message, "details": details} (details stolen) as the answer. */
static void reply_error(struct request *req, unsigned status, const char *message, json_t *details)
{
    json_t *body = json_object();
    json_object_set_new(body, "message", safe_string(message));
    json_object_set_new(body, "details", details);
    request_reply_json(req, status, body);
}

/* The application-error form of §4; 5xx problems without a code collapse into the empty body. */
void request_fail(struct request *req, enum problem p, const char *description)
{
    unsigned status = problem_status(p);
    if (status >= 500 && !problem_code(p)[0]) {
        reply_server_error(req, status);
        return;
    }
    /* The code is a standard one a Wix client checks; the reason says which of ours it was. */
    const char *text = description ? description : problem_message(p);
    json_t *app_err = json_pack("{s:s, s:o, s:{s:s}}", "code", problem_code(p), "description",
                                safe_string(text), "data", "reason", problem_reason(p));
    reply_error(req, status, text, json_pack("{s:o}", "applicationError", app_err));
}

/* The top-level message of a validation error: the first violation, and how many follow. */
static void validation_message(const struct violations *vs, char *out, size_t cap)
{
    if (vs->n <= 0) {
        snprintf(out, cap, "The request is invalid.");
        return;
    }
    const struct violation *v = &vs->v[0];
    if (vs->n == 1)
        snprintf(out, cap, "%s: %s", v->field, v->description);
    else
        snprintf(out, cap, "%s: %s (and %d more)", v->field, v->description, vs->n - 1);
}

void request_fail_validation(struct request *req, const struct violations *vs)
{
    json_t *list = json_array();
    /* Violations past the cap were only counted: the message still says how many. */
    int kept = vs->n < VIOLATIONS_MAX ? vs->n : VIOLATIONS_MAX;
    for (int i = 0; i < kept; i++) {
        const struct violation *v = &vs->v[i];
        const char *rule = (unsigned)v->rule < RULE_COUNT ? rule_names[v->rule] : "OTHER";
        /* Wix's entries also carry ruleName and data (docs/API.md §4): data is {} unless a bound
         * was broken, so clients read the limit without parsing the description. */
        json_t *data = v->has_bound ? json_pack("{s:I}", v->rule == RULE_MIN ? "min" : "max",
                                                (json_int_t)v->bound)
                                    : json_object();
        json_array_append_new(list,
                              json_pack("{s:o, s:o, s:s, s:s, s:o}", "field", safe_string(v->field),
                                        "description", safe_string(v->description), "violatedRule",
                                        rule, "ruleName", rule, "data", data));
    }
    char message[VIOLATION_FIELD_MAX + VIOLATION_TEXT_MAX + 32];
    validation_message(vs, message, sizeof message);
    reply_error(req, 400, message,
                json_pack("{s:{s:o}}", "validationError", "fieldViolations", list));
}

void request_fail_field(struct request *req, const char *field, enum violation_rule rule,
                        const char *description)
{
    struct violations vs = {.n = 0};
    violations_add(&vs, field, rule, "%s", description);
    request_fail_validation(req, &vs);
}

void request_fail_err(struct request *req, enum si_err err)
{
    switch (err) {
    case SI_EUNAUTH:
        request_fail(req, P_UNAUTHENTICATED, NULL);
        return;
    case SI_EPERM:
        request_fail(req, P_PERMISSION_DENIED, NULL);
        return;
    case SI_ETOOBIG:
        request_fail(req, P_PAYLOAD_TOO_LARGE, NULL);
        return;
    case SI_EBUSY:
        request_fail(req, P_UNAVAILABLE, NULL);
        return;
    case SI_EFULL:
        /* Logged where the store met it; nothing was written, so a retry is safe. */
        if (req->retry_after_s < 0)
            req->retry_after_s = RETRY_AFTER_FULL_S;
        request_fail(req, P_STORAGE_FULL, NULL);
        return;
    case SI_ENOTFOUND:
        request_fail(req, P_NOT_FOUND, NULL);
        return;
    case SI_EINVAL:
        /* A handler that has no field to name: still a validationError, as §4 asks for 400. */
        request_fail_field(req, "body", RULE_OTHER, "The request is invalid.");
        return;
    default:
        /* The cause was logged where it happened; this line ties it to the request ID. */
        log_error("request %s: internal error %s", req->request_id, si_err_name(err));
        request_fail(req, P_INTERNAL, NULL);
        return;
    }
}

/* ---- deferred answers ---------------------------------------------------------------------- */

void request_defer(struct request *req, request_finish_fn finish, void *ctx,
                   void (*ctx_free)(void *ctx))
{
    req->finish = finish;
    req->finish_ctx = ctx;
    req->finish_ctx_free = ctx_free;
    if (req->on_defer)
        req->on_defer(req);
}

void request_wake(struct request *req)
{
    if (req->on_wake)
        req->on_wake(req);
    else
        request_finish(req);
}

void request_finish(struct request *req)
{
    request_finish_fn finish = req->finish;
    req->finish = NULL;
    if (finish)
        finish(req, req->finish_ctx);
    if (!req->status) {
        log_error("request %s: deferred answer missing", req->request_id);
        request_fail(req, P_INTERNAL, NULL);
    }
    void (*final)(struct request *) = req->on_final;
    req->on_final = NULL;
    if (final)
        final(req);
}
