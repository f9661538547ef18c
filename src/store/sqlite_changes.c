/* SQLite steps of the shared change and answer transactions (txn.c): the SQL of writing back a
 * changed invite, its resend window, the joining account and contributor, and the answer's
 * compare-and-set, all run on the writer (store.c runs them through txn.c). */
#include "sqlite_int.h"
#include "webhook_ops.h"

#include "store/txn.h"

#include <string.h>

/* The fields a decision function may change; id, site, email, salt and created never do. */
static const struct sq_sql SQL_UPDATE = {
    SQ_INVITE_UPDATE, "UPDATE invites SET status = ?2, policy_ids = ?3, staff_id = ?4,"
                      " expires_ms = ?5, updated_ms = ?6, send_count = ?7, last_sent_ms = ?8,"
                      " language = ?9, accepted_by = ?10 WHERE id = ?1"};
/* Emails queued for an invite after now - 24 h: the resend limit's input. No upper bound: a
 * concurrent call whose clock read a later now may have queued one before this call got the
 * write lock, and it counts (else two racing resends could both take the last one). */
static const struct sq_sql SQL_OUTBOX_WINDOW = {
    SQ_OUTBOX_WINDOW, "SELECT count(*), coalesce(min(created_ms), 0) FROM outbox"
                      " WHERE invite_id = ?1 AND created_ms > ?2"};
/* The compare-and-set: only a Pending, unexpired row changes. The write transaction already
 * serialises answers in this process; the WHERE clause keeps the rule true for any writer. */
static const struct sq_sql SQL_CAS = {
    SQ_ANSWER_CAS, "UPDATE invites SET status = ?2, accepted_by = ?3, updated_ms = ?4"
                   " WHERE id = ?1 AND status = 'Pending' AND expires_ms > ?4"};
/* lower() folds ASCII only, like core's email key; the expression index accounts_email backs
 * it. The oldest account wins if an address was registered twice. */
static const struct sq_sql SQL_ACCOUNT_BY_EMAIL = {
    SQ_ACCOUNT_BY_EMAIL,
    "SELECT id FROM accounts WHERE lower(email) = ?1 ORDER BY created_ms, id LIMIT 1"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

/* Write transactions take the writer connection. */
static enum si_err sq_txn_borrow(void *be, void **conn)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(be, &c);
    *conn = c;
    return rc;
}

static void sq_txn_return(void *be, void *conn)
{
    sq_return(be, conn);
}

static enum si_err sq_step_begin(void *c)
{
    return sq_begin(c);
}

static enum si_err sq_step_commit(void *c)
{
    return sq_commit(c);
}

static void sq_step_rollback(void *c)
{
    sq_rollback(c);
}

/* lock is moot: the transaction is IMMEDIATE on the one writer, so nobody else writes until it
 * ends and two changes of an invite are decided one after the other on fresh rows. */
static enum si_err sq_step_load(void *c, const char *site_id, const char *id, bool lock,
                                struct invite *out)
{
    (void)lock;
    return sq_invite_load(c, site_id, id, out);
}

static enum si_err sq_step_by_link(void *c, const struct token_ref *ref, struct invite *out)
{
    return sq_invite_load_by_link(c, ref, out);
}

static enum si_err sq_step_window(void *conn, const char *invite_id, si_ms since,
                                  struct invite_change *ch)
{
    struct sq_conn *c = conn;
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_OUTBOX_WINDOW, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, invite_id) | sqlite3_bind_int64(s, 2, since))
        rc = sq_fail(c, "bind");
    else if (sqlite3_step(s) == SQLITE_ROW) {
        ch->sends_in_window = sqlite3_column_int(s, 0);
        ch->oldest_send_in_window = sqlite3_column_int64(s, 1);
    } else
        rc = sq_fail(c, "count recent emails");
    sq_done(s);
    return rc;
}

static enum si_err sq_step_update(void *conn, const struct invite *v)
{
    struct sq_conn *c = conn;
    char policies[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(&v->policies, policies);
    sqlite3_stmt *s;
    if (!rc)
        rc = sq_prep(c, &SQL_UPDATE, &s);
    if (rc)
        return rc;
    int b = TEXT(s, 1, v->id) | TEXT(s, 2, invite_status_name(v->status)) | TEXT(s, 3, policies);
    b |= TEXT(s, 4, v->staff_id) | sqlite3_bind_int64(s, 5, v->expires);
    b |= sqlite3_bind_int64(s, 6, v->updated) | sqlite3_bind_int(s, 7, v->send_count);
    b |= sqlite3_bind_int64(s, 8, v->last_sent) | TEXT(s, 9, v->language);
    b |= TEXT(s, 10, v->accepted_by_account_id);
    if (b) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_exec_stmt(c, s, "update invite");
}

static enum si_err sq_step_outbox_add(void *c, const char *invite_id, enum outbox_kind kind,
                                      si_ms now)
{
    return sq_outbox_add(c, invite_id, kind, now);
}

static enum si_err sq_step_outbox_cancel(void *c, const char *invite_id)
{
    return sq_outbox_cancel(c, invite_id);
}

static enum si_err sq_step_account_find(void *conn, const char *email_key, char id[SI_ID_LEN],
                                        bool *found)
{
    struct sq_conn *c = conn;
    sqlite3_stmt *s;
    enum si_err rc =
        sq_step_row(c, &SQL_ACCOUNT_BY_EMAIL, email_key, NULL, "find account by email", &s);
    *found = rc == SI_OK;
    if (*found)
        sq_col_text(s, 0, id, SI_ID_LEN);
    sq_done(s);
    return rc == SI_ENOTFOUND ? SI_OK : rc;
}

static enum si_err sq_step_account_insert(void *conn, const struct account *a)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_bind_account_insert(conn, a, &s);
    return rc ? rc : sq_write_in_txn(conn, s, "create account");
}

static enum si_err sq_step_contributor_insert(void *conn, const struct contributor_row *r)
{
    struct contributor_text t;
    sqlite3_stmt *s;
    enum si_err rc = sq_bind_contributor_insert(conn, r, &t, &s);
    return rc ? rc : sq_write_in_txn(conn, s, "add contributor");
}

static enum si_err sq_step_answer_set(void *conn, const char *invite_id,
                                      const struct answer_write *w, si_ms now, bool *changed)
{
    struct sq_conn *c = conn;
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_CAS, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, invite_id) | TEXT(s, 2, invite_status_name(w->status)) |
        TEXT(s, 3, w->accepted_by) | sqlite3_bind_int64(s, 4, now)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    rc = sq_exec_stmt(c, s, "answer invite");
    *changed = !rc && sqlite3_changes(c->db) == 1;
    return rc;
}

const struct txn_steps sq_txn_steps = {
    .borrow = sq_txn_borrow,
    .give_back = sq_txn_return,
    .begin = sq_step_begin,
    .commit = sq_step_commit,
    .rollback = sq_step_rollback,
    .invite_load = sq_step_load,
    .invite_by_link = sq_step_by_link,
    .send_window = sq_step_window,
    .invite_update = sq_step_update,
    .outbox_add = sq_step_outbox_add,
    .outbox_cancel = sq_step_outbox_cancel,
    .account_find = sq_step_account_find,
    .account_insert = sq_step_account_insert,
    .contributor_insert = sq_step_contributor_insert,
    .answer_set = sq_step_answer_set,
    .site_settings_load = sq_step_settings_load,
    .site_settings_write = sq_step_settings_write,
    .audit_add = sq_audit_add_step,
    .events = &sq_webhook_steps,
};
