/* The rule of the invitee's answer: whether an invite may be accepted or declined, which account
 * joins, and what the store writes; decided from the rows a store loaded in its transaction. */
#ifndef SI_CORE_ANSWER_H
#define SI_CORE_ANSWER_H

#include "common/err.h"
#include "core/invite.h"

#include <stdbool.h>

struct audit_actor;

enum invitee_choice { INVITEE_ACCEPT, INVITEE_DECLINE };

/* One accept or decline of the invite behind an accept link. */
struct invitee_answer {
    enum invitee_choice choice;
    si_ms now;
    /* Accept only: the account that joins is the oldest account whose email matches email_key
     * (ASCII case-folded); when none exists, new_account (id, name, email, created) is made. */
    const char *email;     /* the joining address, stored form; NULL = the invite's */
    const char *email_key; /* and its comparison key */
    struct account new_account;
    char contributor_id[SI_ID_LEN]; /* the new contributor row's ID */
    /* The request's actor, for its request ID (may be NULL); the audit entry's actor is the
     * invitee (core/audit.h). */
    const struct audit_actor *actor;
    /* out */
    struct invite invite;               /* the row after the call; on SI_ESTATE the row as found */
    struct contributor_row contributor; /* accept: the contributor made */
    bool account_created;               /* accept: new_account was inserted */
};

/* What a store writes on the answered invite's row, in the answer's transaction. */
struct answer_write {
    enum invite_status status; /* INVITE_USED or INVITE_DECLINED */
    const char *accepted_by;   /* the joining account's ID, "" on decline; borrowed from a */
    bool cancel_mail;          /* cancel the invite's emails not yet handed to a server */
};

/* Decides whether the invite a store loaded into a->invite (under the transaction's lock, so
 * concurrent answers are decided one after another) may be answered at a->now: SI_ESTATE unless
 * it is Pending and unexpired. For an accept it also settles the joining address: the one the
 * caller passed, else the invite's (a->email and a->email_key then borrow a->invite's, and
 * new_account gets its email and, when unnamed, its name). */
enum si_err answer_open(struct invitee_answer *a) SI_MUST_USE;

/* Accept only, after answer_open: the joining account is found_id (the oldest account with
 * a->email_key, as the store found it; NULL when there is none), else a->new_account, which the
 * store must then insert (a->account_created is set). Fills a->contributor: the row to insert,
 * with the invite's roles, locations and address, joined at a->now. */
void answer_join(struct invitee_answer *a, const char *found_id);

/* The row change of the answer: Used with the joining account (after answer_join) or Declined,
 * written only on a row still Pending and unexpired at a->now (a compare-and-set), and its
 * queued emails cancelled. */
void answer_write_plan(const struct invitee_answer *a, struct answer_write *w);

#endif
