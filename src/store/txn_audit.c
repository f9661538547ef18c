/* The audit entries of the change and answer transactions, for both backends. */
#include "txn_audit.h"

#include "core/audit.h"

enum si_err txn_audit_change(const struct txn_steps *s, void *conn, const struct invite *before,
                             const struct invite_change *ch, const struct txn_change *a)
{
    struct audit_entry e;
    if (!audit_invite_change(before, ch, a->actor, a->now, &e))
        return SI_OK; /* nothing written, nothing to record */
    enum si_err rc = s->audit_add(conn, &e);
    audit_entry_cleanup(&e);
    return rc;
}

enum si_err txn_audit_answer(const struct txn_steps *s, void *conn, const struct invitee_answer *a)
{
    struct audit_entry e;
    bool accepted = a->choice == INVITEE_ACCEPT;
    audit_invite_answered(&a->invite, accepted, accepted ? a->contributor.account_id : NULL,
                          a->actor, a->now, &e);
    enum si_err rc = s->audit_add(conn, &e);
    audit_entry_cleanup(&e);
    return rc;
}
