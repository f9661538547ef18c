/* The invitee's API methods: parse-token, accept and decline. No API key is needed: the accept
 * link's token is the credential. docs/INVITEE.md has the choices. */
#include "api/api.h"

#include "api/invitee_flow.h"
#include "api/validate.h"
#include "auth/key_usage.h"
#include "core/email.h"
#include "core/site_settings.h"

#include <string.h>

/* Public answers describe the invite to the token holder without the inviter's internals. */
static json_t *answer_json(const struct invite *inv, si_ms now)
{
    json_t *o = json_object();
    json_object_set_new(o, "inviteId", json_string(inv->id));
    json_object_set_new(o, "siteId", json_string(inv->site_id));
    json_object_set_new(o, "status", json_string(invite_status_name(invite_status_at(inv, now))));
    if (inv->accepted_by_account_id[0] && inv->status == INVITE_USED)
        json_object_set_new(o, "acceptedByAccountId", json_string(inv->accepted_by_account_id));
    return o;
}

/* inviteToken: a required string. Its shape is judged by the token code: a malformed token is
 * "not found", never a validation error, so nothing tells a forged token from an unknown one. */
static const char *read_token(struct request *req, struct violations *vs)
{
    const json_t *body = validate_body_object(req->json, vs);
    const json_t *t = body ? json_object_get(body, "inviteToken") : NULL;
    if (!t || json_is_null(t)) {
        violations_add(vs, "inviteToken", RULE_REQUIRED_FIELD, "is required");
        return NULL;
    }
    if (!json_is_string(t)) {
        validate_type_error(vs, "inviteToken", "a string");
        return NULL;
    }
    return json_string_value(t);
}

/* 428 saying why an invite can no longer be answered. */
static void fail_not_pending(struct request *req, const struct invite *inv)
{
    static const char *const why[] = {
        [INVITE_PENDING] = "This invite is not pending.",
        [INVITE_USED] = "This invite was already accepted.",
        [INVITE_DELETED] = "This invite was revoked.",
        [INVITE_DECLINED] = "This invite was declined.",
        [INVITE_EXPIRED] = "This invite has expired.",
    };
    enum invite_status st = invite_status_at(inv, clock_now(req->app->clock));
    request_fail(req, P_INVITE_NOT_PENDING, why[st]);
}

void api_invitee_parse_token(struct request *req)
{
    struct violations vs = {.n = 0};
    const char *token = read_token(req, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    struct invite inv;
    enum si_err rc = invitee_find(req->app, token, &inv, NULL);
    if (rc == SI_ENOTFOUND)
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
    else if (rc)
        request_fail_err(req, rc);
    else
        request_reply_json(req, 200, answer_json(&inv, clock_now(req->app->clock)));
    invite_cleanup(&inv);
}

/* Whether the caller may name another joining address: only the platform, with an API key of
 * the invite's site's account that may manage contributors. The invitee's own browser never
 * holds such a key, so an invitee cannot redirect an invite to an address of their choosing. */
static bool platform_may_verify(struct request *req, const struct invite *inv)
{
    struct principal p;
    struct site site = {.settings = NULL};
    bool may = req->authorization && !auth_authenticate(req->app->store, req->authorization, &p) &&
               !store_site_get(req->app->store, inv->site_id, &site) &&
               strcmp(site.account_id, p.account_id) == 0 && (p.permissions & PERM_CONTRIBUTORS);
    site_cleanup(&site);
    if (may)
        key_usage_note(req->app->key_usage, p.key_id, clock_now(req->app->clock));
    return may;
}

/* email: optional; when present a valid address. Fills stored form and key. */
static bool read_email(struct request *req, char *email, char *key, struct violations *vs)
{
    const json_t *e = req->json ? json_object_get(req->json, "email") : NULL;
    if (!e || json_is_null(e))
        return false;
    if (!json_is_string(e)) {
        validate_type_error(vs, "email", "a string");
        return false;
    }
    if (email_check(json_string_value(e), json_string_length(e), email, key) != EMAIL_OK) {
        violations_add(vs, "email", RULE_FORMAT, "must be a valid email address");
        return false;
    }
    return true;
}

/* Adds acceptRedirectUrl, the site's setting composed for this invite (issue 10), when the site
 * has one; without it the answer stays byte for byte as before. A site that cannot be read now
 * leaves it out: the accept itself is committed and is the answer. */
static void add_redirect(struct request *req, const struct invite *inv, json_t *o)
{
    struct site site;
    char url[SITE_REDIRECT_COMPOSED_MAX];
    if (store_site_get(req->app->store, inv->site_id, &site) == SI_OK &&
        site_settings_redirect_compose(site_settings_of(&site)->accept_redirect_url, inv->id,
                                       inv->site_id, url))
        json_object_set_new(o, "acceptRedirectUrl", json_string(url));
    site_cleanup(&site);
}

static void answer_result(struct request *req, enum si_err rc, struct invitee_answer *a)
{
    si_ms now = clock_now(req->app->clock);
    switch (rc) {
    case SI_OK: {
        json_t *o = answer_json(&a->invite, now);
        if (a->choice == INVITEE_ACCEPT) {
            json_object_set_new(o, "contributor", contributor_json(&a->contributor));
            add_redirect(req, &a->invite, o);
        }
        request_reply_json(req, 200, o);
        break;
    }
    case SI_ENOTFOUND:
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
        break;
    case SI_ESTATE:
        fail_not_pending(req, &a->invite);
        break;
    case SI_EEXIST:
        request_fail(req, P_ALREADY_CONTRIBUTOR,
                     "The joining account already is a contributor of the site.");
        break;
    default:
        request_fail_err(req, rc);
        break;
    }
}

void api_invitee_accept(struct request *req)
{
    struct violations vs = {.n = 0};
    char email[SI_EMAIL_MAX + 1], key[SI_EMAIL_MAX + 1];
    const char *token = read_token(req, &vs);
    bool has_email = read_email(req, email, key, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    struct invitee_answer a;
    memset(&a, 0, sizeof a);
    if (has_email) {
        /* Another address than the invited one needs the platform's word (see above). */
        struct invite inv;
        enum si_err rc = invitee_find(req->app, token, &inv, NULL);
        bool other = !rc && strcmp(inv.email_key, key) != 0;
        bool denied = other && !platform_may_verify(req, &inv);
        invite_cleanup(&inv);
        if (rc || denied) {
            if (rc == SI_ENOTFOUND)
                request_fail(req, P_INVITE_NOT_FOUND, NULL);
            else if (rc)
                request_fail_err(req, rc);
            else
                request_fail(req, P_PERMISSION_DENIED,
                             "Only the platform, with an API key of the site's account that may "
                             "manage contributors, may accept for another email address.");
            return;
        }
        has_email = other;
    }
    enum si_err rc = invitee_answer(req, token, INVITEE_ACCEPT, has_email ? email : NULL,
                                    has_email ? key : NULL, &a);
    answer_result(req, rc, &a);
    invite_cleanup(&a.invite);
}

void api_invitee_decline(struct request *req)
{
    struct violations vs = {.n = 0};
    const char *token = read_token(req, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    struct invitee_answer a;
    enum si_err rc = invitee_answer(req, token, INVITEE_DECLINE, NULL, NULL, &a);
    answer_result(req, rc, &a);
    invite_cleanup(&a.invite);
}
