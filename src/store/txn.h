/* The write transactions both backends run, written once: changing one invite and answering one
 * invite, and a site's settings. A backend supplies its SQL as a table of steps; the driver runs
 * them in order and asks core (core/change.h, core/answer.h) at the point of decision. Internal to
 * src/store. */
#ifndef SI_STORE_TXN_H
#define SI_STORE_TXN_H

#include "store/store.h"

struct webhook_steps;

/* One SQL step each, on the backend's connection conn, inside the driver's transaction. Errors
 * are the store's: SI_ENOTFOUND is a result, SI_EEXIST a unique violation, SI_ESTORE logged. */
struct txn_steps {
    /* A connection of the backend's state be for one write transaction, and giving it back. */
    enum si_err (*borrow)(void *be, void **conn);
    void (*give_back)(void *be, void *conn);
    enum si_err (*begin)(void *conn);
    enum si_err (*commit)(void *conn); /* rolls back itself when it fails */
    void (*rollback)(void *conn);
    /* One invite of a site with its latest delivery; lock: keep the row locked until the
     * transaction ends (backends whose write transaction excludes every writer may ignore it). */
    enum si_err (*invite_load)(void *conn, const char *site_id, const char *id, bool lock,
                               struct invite *out);
    /* The invite of an accept link's salt, locked the same way. */
    enum si_err (*invite_by_link)(void *conn, const struct token_ref *ref, struct invite *out);
    /* Emails of the invite queued strictly after since: their number and the creation time of
     * the oldest (0 when none) into ch's window facts. */
    enum si_err (*send_window)(void *conn, const char *invite_id, si_ms since,
                               struct invite_change *ch);
    /* Writes back the fields a change may alter (status, roles, staff ID, times, counts,
     * language, accepted_by) of the row v->id. */
    enum si_err (*invite_update)(void *conn, const struct invite *v);
    enum si_err (*outbox_add)(void *conn, const char *invite_id, enum outbox_kind kind, si_ms now);
    /* Cancels the invite's Queued emails. */
    enum si_err (*outbox_cancel)(void *conn, const char *invite_id);
    /* The oldest account whose ASCII-folded email is email_key: *found tells. */
    enum si_err (*account_find)(void *conn, const char *email_key, char id[SI_ID_LEN], bool *found);
    enum si_err (*account_insert)(void *conn, const struct account *a);
    enum si_err (*contributor_insert)(void *conn, const struct contributor_row *r);
    /* The answer's compare-and-set: writes w's status and accepted_by (and updated = now) only
     * on a row still Pending with expires > now; *changed tells whether it matched. */
    enum si_err (*answer_set)(void *conn, const char *invite_id, const struct answer_write *w,
                              si_ms now, bool *changed);
    /* A site's settings, its row locked until the transaction ends (backends whose write
     * transaction excludes every writer may not lock); SI_ENOTFOUND when there is no site. */
    enum si_err (*site_settings_load)(void *conn, const char *site_id, struct site_settings *out);
    /* Writes every setting of the site. */
    enum si_err (*site_settings_write)(void *conn, const char *site_id,
                                       const struct site_settings *set);
    /* Writes one audit entry (core/audit.h); e->id is assigned by the store. */
    enum si_err (*audit_add)(void *conn, const struct audit_entry *e);
    /* The webhook events of a change (store/webhook_ops.h). */
    const struct webhook_steps *events;
};

/* The arguments of one change of one invite (store_invite_change). */
struct txn_change {
    const char *site_id, *invite_id;
    si_ms now;
    const struct audit_actor *actor; /* NULL: the system */
    invite_change_fn fn;
    void *ctx;
    struct invite *out; /* may be NULL */
};

/* Loads the invite (locked) and its resend-window facts, lets a->fn decide, writes what it
 * chose and its outbox effect, and reads the row back into a->out, all inside the caller's
 * transaction. Returns fn's error, SI_ENOTFOUND, or a store error; the caller rolls back on any
 * error. a->out is filled only on SI_OK. */
enum si_err txn_change_body(const struct txn_steps *s, void *conn,
                            const struct txn_change *a) SI_MUST_USE;
/* txn_change_body in a transaction of its own: committed on SI_OK, else rolled back and
 * a->out left unfilled. */
enum si_err txn_change_run(const struct txn_steps *s, void *conn,
                           const struct txn_change *a) SI_MUST_USE;

/* store_invite_answer's whole transaction on conn, with that function's contract. */
enum si_err txn_answer_run(const struct txn_steps *s, void *conn, const struct token_ref *ref,
                           struct invitee_answer *a) SI_MUST_USE;

/* The arguments of store_site_settings_set. */
struct txn_settings {
    const char *site_id;
    const struct site_settings_patch *patch;
    si_ms now;
    const struct audit_actor *actor; /* NULL: the system */
};

/* store_site_settings_set's whole transaction on conn, with that function's contract. */
enum si_err txn_settings_run(const struct txn_steps *s, void *conn,
                             const struct txn_settings *a) SI_MUST_USE;

#endif
