/* The invitee's answer: which invite may be answered, which account joins, what is written. */
#include "core/answer.h"

#include <string.h>

/* Copies src into dst[cap], truncating (the field sizes of core's rows match, so it never
 * does in practice). */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

enum si_err answer_open(struct invitee_answer *a)
{
    /* Decided on the row read inside the write transaction: a second accept that waited for
     * the first reads Used here. */
    if (invite_status_at(&a->invite, a->now) != INVITE_PENDING)
        return SI_ESTATE;
    if (a->choice != INVITEE_ACCEPT || a->email)
        return SI_OK;
    /* No verified address passed: the invited one joins. */
    const struct invite *v = &a->invite;
    a->email = v->email;
    a->email_key = v->email_key;
    copy_text(a->new_account.email, sizeof a->new_account.email, v->email);
    if (!a->new_account.name[0])
        copy_text(a->new_account.name, sizeof a->new_account.name, v->email);
    return SI_OK;
}

void answer_join(struct invitee_answer *a, const char *found_id)
{
    struct contributor_row *r = &a->contributor;
    const struct invite *v = &a->invite;
    a->account_created = !found_id;
    copy_text(r->account_id, sizeof r->account_id, found_id ? found_id : a->new_account.id);
    copy_text(r->id, sizeof r->id, a->contributor_id);
    copy_text(r->site_id, sizeof r->site_id, v->site_id);
    /* The contributor's address is the joining account's: the invite's unless the platform
     * passed another verified one. */
    copy_text(r->email, sizeof r->email, a->email);
    copy_text(r->email_key, sizeof r->email_key, a->email_key);
    r->policies = v->policies;
    r->locations = v->locations; /* Wix: the invite's locations become the assignments' */
    r->joined = a->now;
    copy_text(r->invite_id, sizeof r->invite_id, v->id);
    copy_text(r->invited_email, sizeof r->invited_email, v->email);
}

void answer_write_plan(const struct invitee_answer *a, struct answer_write *w)
{
    bool accept = a->choice == INVITEE_ACCEPT;
    w->status = accept ? INVITE_USED : INVITE_DECLINED;
    w->accepted_by = accept ? a->contributor.account_id : "";
    /* Used frees no seat (the contributor takes it); Declined does. Either way the link is
     * spent, so mail still queued for it would only confuse. */
    w->cancel_mail = true;
}
