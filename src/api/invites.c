/* The Wix-compatible invite methods: Bulk Invite, Resend Invite and Revoke Invite. */
#include "api/api.h"

#include "api/bulk.h"
#include "api/change_call.h"
#include "api/invite_json.h"
#include "common/jsonw.h"
#include "api/validate.h"
#include "common/xalloc.h"
#include "core/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_ALREADY_CONTRIBUTOR "This email already belongs to a contributor of the site."
#define DESC_LIMIT_REACHED       "The site has no contributor seat left."

/* emails[]: 1..SI_BULK_MAX strings. Fills parallel arrays of borrowed pointers and lengths
 * (heap, caller frees) and records violations; *n is 0 when the member is unusable. */
static void read_emails(const json_t *body, const char ***emails, size_t **lens, size_t *n,
                        struct violations *vs)
{
    const json_t *a = body ? json_object_get(body, "emails") : NULL;
    *n = 0;
    if (!a || json_is_null(a) || (json_is_array(a) && json_array_size(a) == 0)) {
        violations_add(vs, "emails", RULE_REQUIRED_FIELD, "at least one email is required");
        return;
    }
    if (!json_is_array(a)) {
        validate_type_error(vs, "emails", "an array of strings");
        return;
    }
    size_t count = json_array_size(a);
    if (count > SI_BULK_MAX) {
        violations_add_bound(vs, "emails", RULE_MAX_SIZE, SI_BULK_MAX, "at most %d emails per call",
                             SI_BULK_MAX);
        return;
    }
    *emails = xcalloc(count, sizeof **emails);
    *lens = xcalloc(count, sizeof **lens);
    for (size_t i = 0; i < count; i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_string(e)) {
            char field[VIOLATION_FIELD_MAX];
            validate_field_name(field, "emails[%zu]", i);
            validate_type_error(vs, field, "a string");
            continue;
        }
        (*emails)[i] = json_string_value(e);
        (*lens)[i] = json_string_length(e);
    }
    *n = count;
}

/* {"email":..,"code":..,"description":..}; the email is the input as given, escaped. */
static void write_failure(struct buf *b, const char *email, size_t len, const char *code,
                          const char *desc)
{
    buf_xappend(b, "{", 1);
    jw_key(b, "email");
    jw_string(b, email, len);
    jw_member_str(b, "code", code);
    jw_member_str(b, "description", desc);
    buf_xappend(b, "}", 1);
}

/* Why slot s failed, or NULL when it produced an invite (created or existing). */
static const char *slot_failure(const struct bulk_call *call, const struct bulk_slot *s,
                                const char **desc)
{
    if (s->fate == FATE_INVALID) {
        *desc = bulk_invalid_description(s->verdict);
        return "INVALID_EMAIL";
    }
    const struct bulk_item *it = &call->items[s->item];
    if (it->outcome == BULK_ALREADY_CONTRIBUTOR) {
        *desc = DESC_ALREADY_CONTRIBUTOR;
        return "ALREADY_CONTRIBUTOR";
    }
    if (it->outcome == BULK_LIMIT_REACHED) {
        *desc = DESC_LIMIT_REACHED;
        return "CONTRIBUTOR_LIMIT_REACHED";
    }
    return NULL;
}

/* {invites, failedEmails, failures} in input order, written as text in one pass per list: a
 * 1,000-email answer as jansson objects cost more than the database work behind it. A repeat
 * of an email was answered by its first occurrence; listing it again would double it. */
static void write_bulk_answer(struct buf *b, const struct request *req,
                              const struct bulk_call *call, const char *const *emails,
                              const size_t *lens)
{
    const char *desc;
    buf_xputs(b, "{\"invites\":[");
    bool first = true;
    for (size_t i = 0; i < call->nslots; i++) {
        const struct bulk_slot *s = &call->slots[i];
        if (s->fate == FATE_DUPLICATE || slot_failure(call, s, &desc))
            continue;
        if (!first)
            buf_xappend(b, ",", 1);
        first = false;
        if (call->f.dry_run) /* nothing was stored: no ID, no link */
            invite_json_write_preview(b, req->app, &call->items[s->item].invite, call->now);
        else
            invite_json_write(b, req->app, &call->items[s->item].invite, call->now);
    }
    for (int list = 0; list < 2; list++) {
        buf_xputs(b, list == 0 ? "],\"failedEmails\":[" : "],\"failures\":[");
        first = true;
        for (size_t i = 0; i < call->nslots; i++) {
            const struct bulk_slot *s = &call->slots[i];
            const char *code;
            if (s->fate == FATE_DUPLICATE || !(code = slot_failure(call, s, &desc)))
                continue;
            if (!first)
                buf_xappend(b, ",", 1);
            first = false;
            if (list == 0)
                jw_string(b, emails[i], lens[i]);
            else
                write_failure(b, emails[i], lens[i], code, desc);
        }
    }
    buf_xputs(b, "]}");
}

/* Answers Bulk Invite once the store has decided every item. */
static void bulk_answer(struct request *req, const struct bulk_call *call)
{
    struct buf answer;
    buf_init(&answer, 0);
    write_bulk_answer(&answer, req, call, call->emails, call->lens);
    size_t len = answer.len;
    request_reply_json_text(req, 200, buf_take(&answer), len);
}

void api_invites_bulk(struct request *req)
{
    struct violations vs = {.n = 0};
    struct bulk_call *call = xcalloc(1, sizeof *call);
    size_t n = 0;
    const json_t *body = validate_body_object(req->json, &vs);
    enum si_err rc = bulk_fields_read(req, body, false, call, &vs);
    if (rc)
        goto fail;
    read_emails(body, &call->emails, &call->lens, &n, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        goto fail;
    }
    /* Emails are judged only once the body is valid: a 400 never half-runs the call. */
    bulk_prepare(req, call->emails, call->lens, n, call);
    bulk_execute_deferred(req, call, bulk_answer); /* the request owns call now */
    return;
fail:
    if (rc)
        request_fail_err(req, rc);
    bulk_call_cleanup(call);
    free(call);
}

/* The path's invite ID, normalised; false (after answering 404) when it is not a GUID: a
 * malformed ID is simply an invite that does not exist. */
static bool path_invite_id(struct request *req, char id[SI_ID_LEN])
{
    if (id_normalize(req->param, id))
        return true;
    request_fail(req, P_INVITE_NOT_FOUND, NULL);
    return false;
}

/* An optional body member inviteId must name the same invite as the path. */
static void check_body_invite_id(const json_t *body, const char *id, struct violations *vs)
{
    const json_t *v = body ? json_object_get(body, "inviteId") : NULL;
    char other[SI_ID_LEN];
    if (!v || json_is_null(v))
        return;
    if (!json_is_string(v) || !id_normalize(json_string_value(v), other) || strcmp(other, id) != 0)
        violations_add(vs, "inviteId", RULE_OTHER, "must match the invite ID of the path");
}

/* A resend on its way through the store. */
struct resend_call {
    struct change_call base; /* first: freed through it */
    struct resend_ctx ctx;
    char language[SI_LANG_MAX];
};

static void resend_answer(struct request *req, struct change_call *call)
{
    struct resend_call *rs = (struct resend_call *)call;
    switch (call->rc) {
    case SI_OK:
        app_mail_wake(req->app);
        invite_reply(req, &call->out, call->now, false);
        break;
    case SI_ENOTFOUND:
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
        break;
    case SI_ESTATE:
        request_fail(req, P_INVITE_NOT_RESENDABLE, NULL);
        break;
    case SI_ELIMIT: /* lifecycle_resend says when the oldest email leaves the 24 h window */
        req->retry_after_s = rs->ctx.retry_after_s > 0 ? (long)rs->ctx.retry_after_s : 1;
        request_fail(req, P_RESOURCE_EXHAUSTED, "This invite was resent too often; retry later.");
        break;
    default:
        request_fail_err(req, call->rc);
        break;
    }
}

void api_invite_resend(struct request *req)
{
    struct violations vs = {.n = 0};
    struct resend_call *rs = xcalloc(1, sizeof *rs);
    if (!path_invite_id(req, rs->base.id))
        goto drop;
    const json_t *body = validate_body_object(req->json, &vs);
    check_body_invite_id(body, rs->base.id, &vs);
    if (body)
        validate_language(json_object_get(body, "defaultEmailLanguage"), "defaultEmailLanguage",
                          rs->language, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        goto drop;
    }
    rs->ctx = (struct resend_ctx){
        .lifetime_ms =
            lifecycle_lifetime_ms(0, req->site.lifetime_days, req->app->lifetime_override_s),
        .language = rs->language[0] ? rs->language : NULL,
        .retry_after_s = 0,
    };
    rs->base.now = clock_now(req->app->clock);
    change_execute_deferred(req, &rs->base, lifecycle_resend, &rs->ctx, true, resend_answer);
    return;
drop:
    free(rs);
}

static void revoke_answer(struct request *req, struct change_call *call)
{
    switch (call->rc) {
    case SI_OK:
        request_reply_json(req, 200, json_object());
        break;
    case SI_ENOTFOUND:
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
        break;
    case SI_ESTATE:
        request_fail(req, P_INVITE_NOT_REVOCABLE, NULL);
        break;
    default:
        request_fail_err(req, call->rc);
        break;
    }
}

void api_invite_revoke(struct request *req)
{
    struct violations vs = {.n = 0};
    struct change_call *call = xcalloc(1, sizeof *call);
    if (!path_invite_id(req, call->id)) {
        free(call);
        return;
    }
    const json_t *body = validate_body_object(req->json, &vs);
    check_body_invite_id(body, call->id, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        free(call);
        return;
    }
    call->now = clock_now(req->app->clock);
    /* No mail wake: revoking only cancels queued rows, which the worker skips anyway. */
    change_execute_deferred(req, call, lifecycle_revoke, NULL, false, revoke_answer);
}
