/* The invite lifecycle (docs/API.md §3.4): resend, revoke and update decided on the stored row. */
#include "core/lifecycle.h"

#include <string.h>

#define MS_PER_S 1000

enum si_err lifecycle_resend(struct invite_change *c, void *ctx, si_ms now)
{
    struct resend_ctx *rc = ctx;
    if (!rc || rc->lifetime_ms <= 0)
        return SI_EINVAL;
    enum invite_status st = invite_status_at(&c->inv, now);
    if (st != INVITE_PENDING && st != INVITE_EXPIRED)
        return SI_ESTATE;
    if (rc->language && strlen(rc->language) >= sizeof c->inv.language)
        return SI_EINVAL;
    /* The contract (docs/API.md §3.4) allows 5 *resends* per invite in any 24 hours, while the
     * store counts every email queued in the window. The first email is queued in the transaction
     * that creates the invite, so it is in the window exactly when the invite was created in it:
     * subtract it then. A new invite may thus send 1 + 5 emails in its first day, an older one 5.
     */
    int resends = c->sends_in_window;
    if (c->inv.created > change_window_start(now) && resends > 0)
        resends--;
    if (resends >= SI_RESENDS_PER_DAY) {
        /* A slot frees when the oldest email leaves the window. When that email is the first
         * one, the next resend may have to wait a little longer; the client then gets another
         * 429 with the exact wait, which is the price of not storing email kinds per window. */
        si_ms wait = c->oldest_send_in_window + CHANGE_WINDOW_MS - now;
        rc->retry_after_s = wait > 0 ? (wait + MS_PER_S - 1) / MS_PER_S : 1;
        return SI_ELIMIT;
    }
    c->inv.status = INVITE_PENDING;
    c->inv.expires = now + rc->lifetime_ms;
    c->inv.updated = now;
    c->inv.last_sent = now;
    c->inv.send_count++;
    if (rc->language)
        memcpy(c->inv.language, rc->language, strlen(rc->language) + 1);
    /* The new email is now the latest one; the store re-reads it after commit anyway. */
    c->inv.delivery.status = DELIVERY_QUEUED;
    c->inv.delivery.attempts = 0;
    c->inv.delivery.last_error[0] = '\0';
    c->outbox = OUTBOX_ENQUEUE;
    c->write = true;
    return SI_OK;
}

enum si_err lifecycle_revoke(struct invite_change *c, void *ctx, si_ms now)
{
    (void)ctx;
    switch (invite_status_at(&c->inv, now)) {
    case INVITE_DELETED:
        return SI_OK; /* idempotent: nothing to write, no email to cancel */
    case INVITE_USED:
    case INVITE_DECLINED:
        return SI_ESTATE;
    case INVITE_PENDING:
    case INVITE_EXPIRED:
        break;
    }
    c->inv.status = INVITE_DELETED;
    c->inv.updated = now;
    if (c->inv.delivery.status == DELIVERY_QUEUED)
        c->inv.delivery.status = DELIVERY_CANCELLED;
    c->outbox = OUTBOX_CANCEL;
    c->write = true;
    return SI_OK;
}

enum si_err lifecycle_update(struct invite_change *c, void *ctx, si_ms now)
{
    const struct update_ctx *u = ctx;
    if (!u)
        return SI_EINVAL;
    if (invite_status_at(&c->inv, now) != INVITE_PENDING)
        return SI_ESTATE;
    /* Validate everything before touching the row, so a refusal leaves it as loaded. */
    if (u->policies && (u->policies->n < 1 || u->policies->n > SI_POLICIES_MAX))
        return SI_EINVAL;
    if (u->staff_id && strlen(u->staff_id) >= sizeof c->inv.staff_id)
        return SI_EINVAL;
    if (u->policies)
        c->inv.policies = *u->policies;
    if (u->staff_id)
        memcpy(c->inv.staff_id, u->staff_id, strlen(u->staff_id) + 1);
    c->inv.updated = now;
    c->outbox = OUTBOX_KEEP; /* the roles in a queued email are read when it is composed */
    c->write = true;
    return SI_OK;
}

static int clamp_days(int days)
{
    if (days < SI_LIFETIME_DAYS_MIN)
        return SI_LIFETIME_DAYS_MIN;
    return days > SI_LIFETIME_DAYS_MAX ? SI_LIFETIME_DAYS_MAX : days;
}

si_ms lifecycle_lifetime_ms(int call_days, int site_days, int64_t override_s)
{
    if (override_s > 0)
        return (si_ms)override_s * MS_PER_S;
    /* The API validates 1..90; clamping here keeps a bad stored site row from minting a link
     * that lives for years. */
    int days = SI_LIFETIME_DAYS_DEFAULT;
    if (call_days > 0)
        days = clamp_days(call_days);
    else if (site_days > 0)
        days = clamp_days(site_days);
    return (si_ms)days * SI_MS_PER_DAY;
}
