/* The change and answer transactions of both backends: load, ask core, write, read back. */
#include "txn.h"

#include "txn_audit.h"
#include "webhook_ops.h"

#include <string.h>

/* Stores what the decision function chose, then applies its outbox effect. */
static enum si_err write_back(const struct txn_steps *s, void *conn, const struct invite_change *ch,
                              si_ms now)
{
    enum si_err rc = s->invite_update(conn, &ch->inv);
    if (rc)
        return rc;
    switch (ch->outbox) {
    case OUTBOX_ENQUEUE:
        return s->outbox_add(conn, ch->inv.id, OUTBOX_RESEND, now);
    case OUTBOX_CANCEL:
        return s->outbox_cancel(conn, ch->inv.id);
    case OUTBOX_KEEP:
        break;
    }
    return SI_OK;
}

enum si_err txn_change_body(const struct txn_steps *s, void *conn, const struct txn_change *a)
{
    struct invite_change ch = {.outbox = OUTBOX_KEEP};
    /* Locked: a concurrent change, answer or revoke of this invite waits for our commit and
     * then decides on the row we wrote. */
    enum si_err rc = s->invite_load(conn, a->site_id, a->invite_id, true, &ch.inv);
    if (!rc)
        rc = s->send_window(conn, ch.inv.id, change_window_start(a->now), &ch);
    struct invite before = {.purpose = NULL}; /* the row as loaded, for the audit entry */
    if (!rc)
        invite_copy(&before, &ch.inv);
    if (!rc)
        rc = a->fn(&ch, a->ctx, a->now);
    if (!rc && ch.write)
        rc = write_back(s, conn, &ch, a->now);
    if (!rc)
        rc = txn_audit_change(s, conn, &before, &ch, a);
    if (!rc && ch.write)
        rc = webhook_emit_invite(s->events, conn, webhook_change_event(&ch), &ch.inv, a->now);
    invite_cleanup(&before);
    /* Read back inside the transaction so out is exactly what was committed. */
    if (!rc && a->out)
        rc = s->invite_load(conn, a->site_id, a->invite_id, false, a->out);
    invite_cleanup(&ch.inv);
    return rc;
}

enum si_err txn_change_run(const struct txn_steps *s, void *conn, const struct txn_change *a)
{
    enum si_err rc = s->begin(conn);
    if (rc)
        return rc;
    rc = txn_change_body(s, conn, a);
    bool filled = !rc && a->out;
    if (!rc)
        rc = s->commit(conn);
    else
        s->rollback(conn);
    if (rc && filled)
        invite_cleanup(a->out); /* the commit failed: out must not describe an unwritten row */
    return rc;
}

/* The accept's writes: the joining account (found, or inserted as core decided) and the
 * contributor row core filled. */
static enum si_err join(const struct txn_steps *s, void *conn, struct invitee_answer *a)
{
    char found[SI_ID_LEN];
    bool has = false;
    enum si_err rc = s->account_find(conn, a->email_key, found, &has);
    if (rc)
        return rc;
    answer_join(a, has ? found : NULL);
    if (a->account_created)
        rc = s->account_insert(conn, &a->new_account);
    if (!rc)
        rc = s->contributor_insert(conn, &a->contributor);
    return rc;
}

/* The status change itself: SI_ESTATE when the compare-and-set matched no row. */
static enum si_err write_answer(const struct txn_steps *s, void *conn, struct invitee_answer *a)
{
    struct answer_write w;
    bool changed = false;
    answer_write_plan(a, &w);
    enum si_err rc = s->answer_set(conn, a->invite.id, &w, a->now, &changed);
    if (!rc && !changed)
        rc = SI_ESTATE;
    if (!rc && w.cancel_mail)
        rc = s->outbox_cancel(conn, a->invite.id);
    return rc;
}

/* Replaces a->invite by the row as it now stands, so the caller sees what is committed. */
static enum si_err read_back(const struct txn_steps *s, void *conn, const struct token_ref *ref,
                             struct invitee_answer *a)
{
    struct invite after = {.purpose = NULL};
    enum si_err rc = s->invite_by_link(conn, ref, &after);
    if (!rc) {
        invite_cleanup(&a->invite);
        a->invite = after;
    }
    return rc;
}

static enum webhook_event answer_event(const struct invitee_answer *a)
{
    return a->choice == INVITEE_ACCEPT ? WH_INVITE_ACCEPTED : WH_INVITE_DECLINED;
}

enum si_err txn_answer_run(const struct txn_steps *s, void *conn, const struct token_ref *ref,
                           struct invitee_answer *a)
{
    memset(&a->invite, 0, sizeof a->invite);
    memset(&a->contributor, 0, sizeof a->contributor);
    a->account_created = false;
    enum si_err rc = s->begin(conn);
    if (rc)
        return rc;
    rc = s->invite_by_link(conn, ref, &a->invite);
    if (!rc)
        rc = answer_open(a);
    if (!rc && a->choice == INVITEE_ACCEPT)
        rc = join(s, conn, a);
    if (!rc)
        rc = write_answer(s, conn, a);
    if (!rc)
        rc = txn_audit_answer(s, conn, a);
    if (!rc)
        rc = read_back(s, conn, ref, a);
    if (!rc)
        rc = webhook_emit_invite(s->events, conn, answer_event(a), &a->invite, a->now);
    if (!rc)
        rc = s->commit(conn);
    else
        s->rollback(conn);
    if (rc && rc != SI_ESTATE) {
        invite_cleanup(&a->invite); /* nothing was written: describe nothing */
        memset(&a->invite, 0, sizeof a->invite);
    }
    if (rc)
        a->account_created = false;
    return rc;
}
