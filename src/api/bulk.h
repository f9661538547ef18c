/* The one path that creates invites, shared by Bulk Invite and Create One: validate the common
 * fields, judge and fold the emails, prepare every new invite, and hand them to the store in
 * one call. Handlers only read the body's members and render the outcome their own way. */
#ifndef SI_API_BULK_H
#define SI_API_BULK_H

#include "core/email.h"
#include "request/request.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The members every created invite of a call shares. */
struct bulk_fields {
    struct policy_list policies;
    struct policy_list locations; /* locationIds, lowercase GUIDs */
    char *purpose;                /* heap or NULL */
    char language[SI_LANG_MAX];
    char staff_id[SI_STAFF_ID_MAX];
    int expires_days; /* 0 = site default */
    bool dry_run;
};

/* What became of one email of the input, in input order. */
enum bulk_fate {
    FATE_INVALID,   /* email_check refused it */
    FATE_ITEM,      /* judged by the store: see items[item].outcome */
    FATE_DUPLICATE, /* same key as an earlier email of the call: neither invited nor failed */
    FATE_DOMAIN,    /* valid, but outside the site's allowedEmailDomains (issue 10) */
};

struct bulk_slot {
    enum bulk_fate fate;
    enum email_verdict verdict; /* FATE_INVALID */
    size_t item;                /* FATE_ITEM, FATE_DUPLICATE: index in items */
};

struct bulk_call;
/* Answers a call once the store has decided it (bulk_execute_deferred). */
typedef void (*bulk_finish_fn)(struct request *req, const struct bulk_call *call);

struct bulk_call {
    struct bulk_fields f;
    struct bulk_slot *slots; /* one per input email */
    size_t nslots;
    struct bulk_item *items; /* one per distinct valid email, first occurrence order */
    size_t nitems;
    si_ms now;
    /* The input emails of Bulk Invite (pointing into the request's JSON), kept for the
     * answer; owned, may be NULL. */
    const char **emails;
    size_t *lens;
    /* The store call in flight (bulk_execute_deferred), and who makes it (the audit log). */
    struct bulk_request br;
    struct audit_actor actor; /* set by the caller (the console's owner), or left zeroed for
                               * the request's API key */
    enum si_err rc;           /* the store's result */
    bulk_finish_fn finish;
    bool finish_errors; /* finish answers a store error too (the console's pages) */
};

/* Reads the shared members of a create body (policyIds, locationIds, invitePurpose,
 * defaultEmailLanguage, expiresInDays, dryRun, and staffId when allow_staff) into call->f, loading
 * the account's custom roles only if a policy ID is not predefined. Violations go to vs; returns
 * SI_OK even when violations were recorded (the caller answers 400 once it has judged the whole
 * body), or a store error. call must be zeroed; release it with bulk_call_cleanup. */
enum si_err bulk_fields_read(struct request *req, const json_t *body, bool allow_staff,
                             struct bulk_call *call, struct violations *vs) SI_MUST_USE;

/* Judges emails[0..n) (lens[i] bytes each; may contain NULs), refuses those outside the site's
 * allowed email domains (core's site_settings_email_allowed, before any store sees them), folds
 * repeats by email key and prepares one complete new invite per distinct valid email (IDs,
 * salts, times, lifetime). */
void bulk_prepare(struct request *req, const char *const *emails, const size_t *lens, size_t n,
                  struct bulk_call *call);

/* Hands the prepared items to the store (store_invites_bulk_async) with the site's seat limit
 * and defers the answer (request_defer): the HTTP thread goes on serving other connections
 * while the call waits for its group commit. Once the store has decided, the mail worker is
 * woken when something was written and finish(req, call) answers; a store error is answered
 * as such without finish, unless call->finish_errors (then finish sees call->rc). call must be
 * heap-allocated (xcalloc) and belongs to the request from here on: it is released
 * (bulk_call_cleanup, then free) when the request ends. */
void bulk_execute_deferred(struct request *req, struct bulk_call *call, bulk_finish_fn finish);

/* A short English reason for a refused email, safe to show (never echoes the input). */
const char *bulk_invalid_description(enum email_verdict v);

/* Releases everything the call owns; the struct may be reused after zeroing. */
void bulk_call_cleanup(struct bulk_call *call);

#endif
