/* PostgreSQL steps of the shared change and answer transactions (txn.c): the SQL of loading a
 * locked invite, writing back a change, its resend window, the joining account and contributor,
 * and the answer's compare-and-set (store.c runs them through txn.c). */
#include "pg_int.h"
#include "webhook_ops.h"

#include "store/txn.h"

/* The same row, locked until the transaction ends: concurrent changes of one invite (in any
 * process) are decided one after the other, each on the row the previous one wrote. */
static const struct pg_sql SQL_LOCK = {PG_INVITE_LOCK,
                                       "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                       " WHERE i.id = $1 AND i.site_id = $2 FOR UPDATE OF i"};
/* Locked: a second answer of the same invite, in any process, waits here for the first to
 * commit and then reads its outcome (Used or Declined), so it fails with SI_ESTATE instead of
 * racing to add a contributor. */
static const struct pg_sql SQL_LOCK_BY_SALT = {PG_ANSWER_LOAD,
                                               "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                               " WHERE i.token_salt = $1 FOR UPDATE OF i"};
static const struct pg_sql SQL_LOCK_BY_LINK_ID = {
    PG_ANSWER_LOAD_BY_ID, "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                          " WHERE i.id = $1 AND i.token_salt IS NULL FOR UPDATE OF i"};
/* The fields a decision function may change; id, site, email, salt and created never do. */
static const struct pg_sql SQL_UPDATE = {
    PG_INVITE_UPDATE, "UPDATE invites SET status = $2, policy_ids = $3, staff_id = $4,"
                      " expires_ms = $5, updated_ms = $6, send_count = $7, last_sent_ms = $8,"
                      " language = $9, accepted_by = $10 WHERE id = $1"};
/* A new email is due at once; created_ms also anchors the mailer's backoff schedule. */
static const struct pg_sql SQL_OUTBOX_INSERT = {
    PG_OUTBOX_INSERT, "INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
                      " VALUES ($1, $2, 'Queued', $3, $3)"};
/* Emails queued for an invite after now - 24 h: the resend limit's input. No upper bound: a
 * concurrent change whose clock read a later now may have queued one while this one waited for
 * the row lock, and it counts (else two racing resends could both take the last one). */
static const struct pg_sql SQL_OUTBOX_WINDOW = {
    PG_OUTBOX_WINDOW, "SELECT count(*), coalesce(min(created_ms), 0) FROM outbox"
                      " WHERE invite_id = $1 AND created_ms > $2::bigint"};
/* Only Queued rows: a row already Sent or Failed is history and stays as it was. */
static const struct pg_sql SQL_CANCEL = {
    PG_OUTBOX_CANCEL, "UPDATE outbox SET status = 'Cancelled', lease_until_ms = 0"
                      " WHERE invite_id = $1 AND status = 'Queued'"};
/* The compare-and-set: only a Pending, unexpired row changes. The lock above already orders
 * answers; the WHERE clause keeps the rule true for any writer that does not take it. */
static const struct pg_sql SQL_CAS = {
    PG_ANSWER_CAS,
    "UPDATE invites SET status = $2, accepted_by = $3, updated_ms = $4::bigint"
    " WHERE id = $1 AND status = 'Pending' AND expires_ms > $4::bigint RETURNING id"};
/* ASCII folding like core's email key; the expression index accounts_email backs it. The
 * oldest account wins if an address was registered twice. */
static const struct pg_sql SQL_ACCOUNT_BY_EMAIL = {
    PG_ACCOUNT_BY_EMAIL,
    "SELECT id FROM accounts WHERE " PG_ASCII_LOWER("email") " = $1"
                                                             " ORDER BY created_ms, id LIMIT 1"};

/* Write transactions take a pooled connection. */
static enum si_err pg_txn_borrow(void *be, void **conn)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    *conn = c;
    return rc;
}

static void pg_txn_return(void *be, void *conn)
{
    pg_return(be, conn);
}

static enum si_err pg_step_begin(void *c)
{
    return pg_begin(c);
}

static enum si_err pg_step_commit(void *c)
{
    return pg_commit(c);
}

static void pg_step_rollback(void *c)
{
    pg_rollback(c);
}

/* lock: FOR UPDATE, so a concurrent change, answer or revoke of this invite waits for our
 * commit and then re-reads the row (READ COMMITTED re-checks a locked row's newest version). */
static enum si_err pg_step_load(void *c, const char *site_id, const char *id, bool lock,
                                struct invite *out)
{
    struct pg_args a = {0};
    pg_arg(&a, id);
    pg_arg(&a, site_id);
    if (lock)
        pg_conn_site(c, site_id); /* a locked load is a change's: its commit is the site's */
    return lock ? pg_invite_read(c, &SQL_LOCK, &a, out) : pg_invite_load(c, site_id, id, out);
}

static enum si_err pg_step_by_link(void *c, const struct token_ref *ref, struct invite *out)
{
    struct pg_args a = {0};
    pg_args_link(&a, ref);
    enum si_err rc = pg_invite_read(
        c, ref->kind == TOKEN_BY_ID ? &SQL_LOCK_BY_LINK_ID : &SQL_LOCK_BY_SALT, &a, out);
    if (!rc)
        pg_conn_site(c, out->site_id); /* the answer changes the invite's site */
    return rc;
}

static enum si_err pg_step_window(void *c, const char *invite_id, si_ms since,
                                  struct invite_change *ch)
{
    struct pg_args a = {0};
    PGresult *r;
    pg_arg(&a, invite_id);
    pg_arg_i64(&a, since);
    enum si_err rc = pg_exec(c, &SQL_OUTBOX_WINDOW, &a, "count recent emails", &r);
    if (rc)
        return rc;
    ch->sends_in_window = (int)pg_col_i64(r, 0, 0);
    ch->oldest_send_in_window = pg_col_i64(r, 0, 1);
    PQclear(r);
    return SI_OK;
}

static enum si_err pg_step_update(void *c, const struct invite *v)
{
    char policies[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(&v->policies, policies);
    if (rc)
        return rc;
    struct pg_args a = {0};
    pg_arg(&a, v->id);
    pg_arg(&a, invite_status_name(v->status));
    pg_arg(&a, policies);
    pg_arg(&a, v->staff_id);
    pg_arg_i64(&a, v->expires);
    pg_arg_i64(&a, v->updated);
    pg_arg_i64(&a, v->send_count);
    pg_arg_i64(&a, v->last_sent);
    pg_arg(&a, v->language);
    pg_arg(&a, v->accepted_by_account_id);
    return pg_exec(c, &SQL_UPDATE, &a, "update invite", NULL);
}

static enum si_err pg_step_outbox_add(void *c, const char *invite_id, enum outbox_kind kind,
                                      si_ms now)
{
    struct pg_args a = {0};
    pg_arg(&a, invite_id);
    pg_arg_i64(&a, kind);
    pg_arg_i64(&a, now);
    return pg_exec(c, &SQL_OUTBOX_INSERT, &a, "queue email", NULL);
}

static enum si_err pg_step_outbox_cancel(void *c, const char *invite_id)
{
    struct pg_args a = {0};
    pg_arg(&a, invite_id);
    return pg_exec(c, &SQL_CANCEL, &a, "cancel emails", NULL);
}

static enum si_err pg_step_account_find(void *c, const char *email_key, char id[SI_ID_LEN],
                                        bool *found)
{
    struct pg_args a = {0};
    PGresult *r;
    pg_arg(&a, email_key);
    enum si_err rc = pg_exec(c, &SQL_ACCOUNT_BY_EMAIL, &a, "find account by email", &r);
    if (rc)
        return rc;
    *found = PQntuples(r) > 0;
    if (*found)
        pg_col_text(r, 0, 0, id, SI_ID_LEN);
    PQclear(r);
    return SI_OK;
}

static enum si_err pg_step_account_insert(void *c, const struct account *acct)
{
    struct pg_args a = {0};
    pg_args_account(&a, acct);
    return pg_exec(c, &pg_sql_account_insert, &a, "create account", NULL);
}

static enum si_err pg_step_contributor_insert(void *c, const struct contributor_row *row)
{
    struct contributor_text t;
    struct pg_args a = {0};
    enum si_err rc = pg_args_contributor(&a, row, &t);
    return rc ? rc : pg_exec(c, &pg_sql_contributor_insert, &a, "add contributor", NULL);
}

static enum si_err pg_step_answer_set(void *c, const char *invite_id, const struct answer_write *w,
                                      si_ms now, bool *changed)
{
    struct pg_args a = {0};
    int64_t n = 0;
    pg_arg(&a, invite_id);
    pg_arg(&a, invite_status_name(w->status));
    pg_arg(&a, w->accepted_by);
    pg_arg_i64(&a, now);
    enum si_err rc = pg_exec_count(c, &SQL_CAS, &a, "answer invite", &n);
    *changed = !rc && n == 1;
    return rc;
}

const struct txn_steps pg_txn_steps = {
    .borrow = pg_txn_borrow,
    .give_back = pg_txn_return,
    .begin = pg_step_begin,
    .commit = pg_step_commit,
    .rollback = pg_step_rollback,
    .invite_load = pg_step_load,
    .invite_by_link = pg_step_by_link,
    .send_window = pg_step_window,
    .invite_update = pg_step_update,
    .outbox_add = pg_step_outbox_add,
    .outbox_cancel = pg_step_outbox_cancel,
    .account_find = pg_step_account_find,
    .account_insert = pg_step_account_insert,
    .contributor_insert = pg_step_contributor_insert,
    .answer_set = pg_step_answer_set,
    .site_settings_load = pg_step_settings_load,
    .site_settings_write = pg_step_settings_write,
    .audit_add = pg_audit_add_step,
    .events = &pg_webhook_steps,
};
