/* Preparing and running an invite creation: the code Bulk Invite and Create One share. */
#include "bulk.h"

#include "api/audit.h"
#include "api/validate.h"
#include "common/xalloc.h"
#include "core/lifecycle.h"
#include "core/site_settings.h"
#include "core/token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Open-addressing set of item indexes keyed by email_key, so folding repeats stays linear. */
struct key_set {
    uint32_t *slots; /* item index + 1; 0 = empty */
    size_t mask;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void key_set_init(struct key_set *ks, size_t n)
{
    size_t cap = 8;
    while (cap < 2 * n) /* at most half full: probes stay short */
        cap *= 2;
    ks->slots = xcalloc(cap, sizeof *ks->slots);
    ks->mask = cap - 1;
}

/* Finds the item with this key, or records idx for it; returns the index holding the key. */
static size_t key_set_add(struct key_set *ks, const struct bulk_item *items, size_t idx)
{
    const char *key = items[idx].invite.email_key;
    for (size_t i = key_hash(key) & ks->mask;; i = (i + 1) & ks->mask) {
        if (!ks->slots[i]) {
            ks->slots[i] = (uint32_t)idx + 1;
            return idx;
        }
        size_t at = ks->slots[i] - 1;
        if (strcmp(items[at].invite.email_key, key) == 0)
            return at;
    }
}

enum si_err bulk_fields_read(struct request *req, const json_t *body, bool allow_staff,
                             struct bulk_call *call, struct violations *vs)
{
    const json_t *pol = body ? json_object_get(body, "policyIds") : NULL;
    struct role *roles = NULL;
    size_t nroles = 0;
    struct bulk_fields *f = &call->f;
    /* Predefined roles need no query: the store is asked only for custom role IDs. */
    if (validate_policy_ids_need_custom(pol)) {
        enum si_err rc =
            store_roles_list(req->app->store, req->principal.account_id, &roles, &nroles);
        if (rc)
            return rc;
    }
    validate_policy_ids(pol, "policyIds", true, roles, nroles, &f->policies, vs);
    free(roles);
    if (!body)
        return SI_OK;
    validate_purpose(json_object_get(body, "invitePurpose"), "invitePurpose", &f->purpose, vs);
    validate_language(json_object_get(body, "defaultEmailLanguage"), "defaultEmailLanguage",
                      f->language, vs);
    validate_expires_days(json_object_get(body, "expiresInDays"), "expiresInDays", &f->expires_days,
                          vs);
    validate_bool(json_object_get(body, "dryRun"), "dryRun", &f->dry_run, vs);
    validate_location_ids(json_object_get(body, "locationIds"), "locationIds", &f->locations, vs);
    if (allow_staff) {
        bool present;
        validate_staff_id(json_object_get(body, "staffId"), "staffId", f->staff_id, &present, vs);
    }
    return SI_OK;
}

/* Fills every member of a new invite except the email, which email_check already wrote. */
static void prepare_invite(struct request *req, const struct bulk_fields *f,
                           const struct random_source *rng, si_ms now, si_ms lifetime,
                           struct invite *inv)
{
    /* Time-ordered: a bulk call's rows land at the end of the primary-key index. */
    id_new_at(rng, now, inv->id);
    /* No salt: the accept link names the ID (core/token.h), found by the primary key. */
    inv->has_salt = false;
    memset(inv->token_salt, 0, sizeof inv->token_salt);
    memcpy(inv->site_id, req->site.id, SI_ID_LEN);
    memcpy(inv->inviter_account_id, req->principal.account_id, SI_ID_LEN);
    policy_list_copy(&inv->policies, &f->policies);
    policy_list_copy(&inv->locations, &f->locations);
    inv->status = INVITE_PENDING;
    inv->accepted_by_account_id[0] = '\0';
    inv->created = inv->updated = inv->last_sent = now;
    inv->expires = now + lifetime;
    memcpy(inv->staff_id, f->staff_id, sizeof inv->staff_id);
    /* Each item owns its copy: the store may swap an item for the stored row (BULK_EXISTING). */
    inv->purpose = f->purpose ? xstrdup(f->purpose) : NULL;
    memcpy(inv->language, f->language, sizeof inv->language);
    inv->send_count = 1;
    inv->delivery.status = DELIVERY_QUEUED;
    inv->delivery.attempts = 0;
    inv->delivery.last_error[0] = '\0';
}

void bulk_prepare(struct request *req, const char *const *emails, const size_t *lens, size_t n,
                  struct bulk_call *call)
{
    const struct app *app = req->app;
    call->now = clock_now(app->clock);
    si_ms lifetime = lifecycle_lifetime_ms(call->f.expires_days, req->site.lifetime_days,
                                           app->lifetime_override_s);
    /* One allocation each for the whole call: 1,000 emails must cost well under 15 ms. The
     * items are not zeroed (2.7 MB for 1,000, half of this function's work): email_check and
     * prepare_invite write every member of an item that is used, and the rest stay unread. */
    call->slots = xcalloc(n ? n : 1, sizeof *call->slots);
    call->items = xmalloc((n ? n : 1) * sizeof *call->items);
    call->nslots = n;
    struct key_set ks;
    key_set_init(&ks, n);
    /* Every email takes an ID: draw their randomness once for the whole call. */
    struct random_batch rb;
    random_batch_init(&rb, app->rng, (n ? n : 1) * SI_ID_BYTES);
    for (size_t i = 0; i < n; i++) {
        struct bulk_slot *slot = &call->slots[i];
        struct invite *inv = &call->items[call->nitems].invite;
        /* email_check writes straight into the next free item; a refused or repeated email
         * leaves it free for the next one. */
        slot->verdict = email_check(emails[i], lens[i], inv->email, inv->email_key);
        if (slot->verdict != EMAIL_OK) {
            slot->fate = FATE_INVALID;
            continue;
        }
        /* Like an invalid address, each repeat of a refused one is a failure of its own. */
        if (!site_settings_email_allowed(site_settings_of(&req->site), inv->email)) {
            slot->fate = FATE_DOMAIN;
            continue;
        }
        slot->item = key_set_add(&ks, call->items, call->nitems);
        if (slot->item != call->nitems) {
            slot->fate = FATE_DUPLICATE;
            continue;
        }
        slot->fate = FATE_ITEM;
        prepare_invite(req, &call->f, &rb.source, call->now, lifetime, inv);
        call->items[call->nitems].outcome = BULK_CREATED; /* until the store decides */
        call->nitems++;
    }
    random_batch_cleanup(&rb);
    free(ks.slots);
}

/* Runs on the store's thread: records the result and wakes the request, nothing more. */
static void store_done(void *ctx, enum si_err rc)
{
    struct request *req = ctx;
    struct bulk_call *call = req->finish_ctx;
    call->rc = rc;
    request_wake(req);
}

/* Runs on an HTTP thread once the store has decided. */
static void finish_call(struct request *req, void *ctx)
{
    struct bulk_call *call = ctx;
    if (call->rc && !call->finish_errors) {
        request_fail_err(req, call->rc);
        return;
    }
    /* One wake for the whole call, and none when only existing invites came back. */
    for (size_t i = 0; !call->rc && !call->f.dry_run && i < call->nitems; i++) {
        if (call->items[i].outcome == BULK_CREATED) {
            app_mail_wake(req->app);
            break;
        }
    }
    call->finish(req, call);
}

static void free_call(void *ctx)
{
    bulk_call_cleanup(ctx);
    free(ctx);
}

void bulk_execute_deferred(struct request *req, struct bulk_call *call, bulk_finish_fn finish)
{
    call->finish = finish;
    call->rc = SI_OK;
    request_defer(req, finish_call, call, free_call);
    if (call->nitems == 0) { /* every email was refused: nothing to ask the store */
        request_wake(req);
        return;
    }
    /* The seat limit is the one read with the site by the router; the store counts seats in
     * use inside its transaction, so concurrent calls cannot both take the last seat. */
    call->br = (struct bulk_request){
        .site_id = req->site.id,
        .contributor_limit = req->site.contributor_limit,
        .now = call->now,
        .dry_run = call->f.dry_run,
        /* An actor the caller set (the console's owner) stays; else the request's API key. */
        .actor = call->actor.type != AUDIT_ACTOR_NONE ? &call->actor
                                                      : api_audit_actor(req, &call->actor),
        .items = call->items,
        .n = call->nitems,
    };
    store_invites_bulk_async(req->app->store, &call->br, store_done, req);
}

const char *bulk_invalid_description(enum email_verdict v)
{
    switch (v) {
    case EMAIL_EMPTY:
        return "The email address is empty.";
    case EMAIL_TOO_LONG:
        return "The email address is too long.";
    case EMAIL_NO_AT:
        return "The email address has no @.";
    case EMAIL_BAD_LOCAL:
        return "The part before the @ is not valid.";
    case EMAIL_BAD_DOMAIN:
        return "The domain is not valid.";
    case EMAIL_CONTROL_CHAR:
        return "The email address contains spaces or control characters.";
    case EMAIL_BAD_UTF8:
        return "The email address is not valid UTF-8.";
    case EMAIL_OK:
        break;
    }
    return "The email address is not valid.";
}

void bulk_call_cleanup(struct bulk_call *call)
{
    for (size_t i = 0; i < call->nitems; i++)
        invite_cleanup(&call->items[i].invite);
    free(call->items);
    free(call->slots);
    free(call->f.purpose);
    free(call->emails);
    free(call->lens);
    call->items = NULL;
    call->slots = NULL;
    call->f.purpose = NULL;
    call->emails = NULL;
    call->lens = NULL;
    call->nitems = call->nslots = 0;
}
