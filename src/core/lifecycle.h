/* The invite lifecycle rules: which call may change which state, and how. Pure functions with
 * the store's invite_change_fn signature, so the decision runs inside the store transaction. */
#ifndef SI_CORE_LIFECYCLE_H
#define SI_CORE_LIFECYCLE_H

#include "core/change.h"

/* Context for lifecycle_resend. */
struct resend_ctx {
    si_ms lifetime_ms;     /* new expiry = now + lifetime_ms */
    const char *language;  /* NULL = keep the invite's language */
    int64_t retry_after_s; /* out: seconds until a resend is allowed again (SI_ELIMIT) */
};

/* Resend: Pending or Expired -> Pending with a renewed expiry and a new email.
 * SI_ESTATE for Used/Deleted/Declined; SI_ELIMIT when SI_RESENDS_PER_DAY resends of this invite
 * were already queued in the last 24 hours, i.e. sends_in_window minus the first email when the
 * invite was created in the window (ctx->retry_after_s says when a slot frees up, >= 1).
 * SI_EINVAL for a NULL ctx, lifetime_ms <= 0 or a language that does not fit. */
enum si_err lifecycle_resend(struct invite_change *c, void *ctx, si_ms now);

/* Revoke: Pending or Expired -> Deleted, cancelling unsent mail; Deleted stays (SI_OK, no
 * write); Used and Declined give SI_ESTATE. ctx is unused. */
enum si_err lifecycle_revoke(struct invite_change *c, void *ctx, si_ms now);

/* Context for lifecycle_update: a NULL member leaves that field unchanged. */
struct update_ctx {
    const struct policy_list *policies;
    const char *staff_id;
};

/* Update roles and/or staffId of a Pending (unexpired) invite; SI_ESTATE otherwise. No email. */
enum si_err lifecycle_update(struct invite_change *c, void *ctx, si_ms now);

/* The lifetime in ms that applies to a new or resent invite: per call (days, 0 = none), else
 * per site (days), else SI_LIFETIME_DAYS_DEFAULT; a test override in seconds wins if > 0. */
si_ms lifecycle_lifetime_ms(int call_days, int site_days, int64_t override_s);

#endif
