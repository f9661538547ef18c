/* The write side beyond the Wix methods: Create One (the bulk path with one email, errors as
 * status codes) and Update (roles and staffId of a pending invite). */
#include "api/api.h"

#include "api/bulk.h"
#include "api/change_call.h"
#include "common/xalloc.h"
#include "api/invite_json.h"
#include "api/validate.h"
#include "core/lifecycle.h"

#include <stdlib.h>
#include <string.h>

/* The email member of Create One; records a violation and returns false when unusable. */
static bool read_email(const json_t *body, const char **email, size_t *len, struct violations *vs)
{
    const json_t *v = body ? json_object_get(body, "email") : NULL;
    if (!v || json_is_null(v)) {
        violations_add(vs, "email", RULE_REQUIRED_FIELD, "an email address is required");
        return false;
    }
    if (!json_is_string(v)) {
        validate_type_error(vs, "email", "a string");
        return false;
    }
    *email = json_string_value(v);
    *len = json_string_length(v);
    return true;
}

/* Answers the outcome of the one prepared email, once the store has decided it. */
static void create_answer(struct request *req, const struct bulk_call *call)
{
    /* An invalid email was answered as a field error before the store was asked. */
    const struct bulk_item *it = &call->items[call->slots[0].item];
    switch (it->outcome) {
    case BULK_CREATED:
    case BULK_EXISTING: /* an existing Pending invite is the answer, unchanged, no email */
        invite_reply(req, &it->invite, call->now, call->f.dry_run);
        return;
    case BULK_ALREADY_CONTRIBUTOR:
        request_fail(req, P_ALREADY_CONTRIBUTOR, NULL);
        return;
    case BULK_LIMIT_REACHED:
        request_fail(req, P_CONTRIBUTOR_LIMIT_REACHED, NULL);
        return;
    }
    request_fail_err(req, SI_EINVAL);
}

void api_invite_create(struct request *req)
{
    struct violations vs = {.n = 0};
    struct bulk_call *call = xcalloc(1, sizeof *call);
    const char *email = NULL;
    size_t len = 0;
    const json_t *body = validate_body_object(req->json, &vs);
    bool have_email = read_email(body, &email, &len, &vs);
    enum si_err rc = bulk_fields_read(req, body, true, call, &vs);
    if (rc)
        goto fail;
    /* Judge the email before answering so a bad address and a bad role come back together. */
    if (have_email) {
        bulk_prepare(req, &email, &len, 1, call);
        if (call->slots[0].fate == FATE_INVALID)
            violations_add(&vs, "email", RULE_FORMAT, "%s",
                           bulk_invalid_description(call->slots[0].verdict));
    }
    if (vs.n) {
        request_fail_validation(req, &vs);
        goto fail;
    }
    bulk_execute_deferred(req, call, create_answer); /* the request owns call now */
    return;
fail:
    if (rc)
        request_fail_err(req, rc);
    bulk_call_cleanup(call);
    free(call);
}

/* The update body: top-level members, or the Wix shape {invite: {...}, fieldMask} whose
 * invite object then supplies them (the mask is implied by which members are present). */
static const json_t *update_source(const json_t *body)
{
    const json_t *inner = body ? json_object_get(body, "invite") : NULL;
    return json_is_object(inner) ? inner : body;
}

/* An update on its way through the store; the context points into the same allocation. */
struct update_call {
    struct change_call base; /* first: freed through it */
    struct update_ctx ctx;
    struct policy_list policies;
    char staff[SI_STAFF_ID_MAX];
};

static void update_answer(struct request *req, struct change_call *call)
{
    if (call->rc == SI_OK)
        invite_reply(req, &call->out, call->now, false);
    else if (call->rc == SI_ENOTFOUND)
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
    else if (call->rc == SI_ESTATE)
        request_fail(req, P_INVITE_NOT_PENDING, NULL);
    else
        request_fail_err(req, call->rc);
}

void api_invite_update(struct request *req)
{
    struct violations vs = {.n = 0};
    struct update_call *up = xcalloc(1, sizeof *up);
    struct role *roles = NULL;
    size_t nroles = 0;
    bool staff_given = false;
    enum si_err rc = SI_OK;
    if (!id_normalize(req->param, up->base.id)) {
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
        goto drop;
    }
    const json_t *src = update_source(validate_body_object(req->json, &vs));
    const json_t *pol = src ? json_object_get(src, "policyIds") : NULL;
    if (validate_policy_ids_need_custom(pol)) {
        rc = store_roles_list(req->app->store, req->principal.account_id, &roles, &nroles);
        if (rc)
            goto drop;
    }
    bool pol_given =
        validate_policy_ids(pol, "policyIds", false, roles, nroles, &up->policies, &vs);
    if (src)
        validate_staff_id(json_object_get(src, "staffId"), "staffId", up->staff, &staff_given, &vs);
    if (!vs.n && !pol_given && !staff_given)
        violations_add(&vs, "policyIds", RULE_REQUIRED_FIELD,
                       "give policyIds or staffId (or both)");
    if (vs.n) {
        request_fail_validation(req, &vs);
        goto drop;
    }
    up->ctx = (struct update_ctx){.policies = pol_given ? &up->policies : NULL,
                                  .staff_id = staff_given ? up->staff : NULL};
    up->base.now = clock_now(req->app->clock);
    free(roles);
    change_execute_deferred(req, &up->base, lifecycle_update, &up->ctx, true, update_answer);
    return;
drop:
    if (rc)
        request_fail_err(req, rc);
    free(roles);
    free(up);
}
