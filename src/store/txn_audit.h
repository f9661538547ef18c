/* The audit entries of the shared change and answer transactions (txn.c): core/audit.h decides
 * them, the backend's audit_add step writes them inside the same transaction. Internal to
 * src/store. */
#ifndef SI_STORE_TXN_AUDIT_H
#define SI_STORE_TXN_AUDIT_H

#include "store/txn.h"

/* Writes the entry of a change of one invite (before: the row as loaded; ch: what the decision
 * function chose), when it wrote something. Store errors as the steps'. */
enum si_err txn_audit_change(const struct txn_steps *s, void *conn, const struct invite *before,
                             const struct invite_change *ch,
                             const struct txn_change *a) SI_MUST_USE;

/* Writes the entry of an invitee's answer, after its compare-and-set succeeded: a->invite is
 * the row as found, a->contributor the joined account (accept). */
enum si_err txn_audit_answer(const struct txn_steps *s, void *conn,
                             const struct invitee_answer *a) SI_MUST_USE;

#endif
