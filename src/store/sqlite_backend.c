/* The SQLite backend as the store sees it: its table of operations, opening and closing it, and
 * the two operations too small for a file of their own (ping, is-empty). */
#include "sqlite_int.h"
#include "webhook_ops.h"

static const struct sq_sql SQL_PING = {SQ_PING, "SELECT 1"};
static const struct sq_sql SQL_IS_EMPTY = {SQ_IS_EMPTY,
                                           "SELECT NOT EXISTS (SELECT 1 FROM accounts)"};

/* store_ping: a trivial query on a reader. */
static enum si_err sq_ping(void *be)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_PING, &s);
    if (rc)
        goto out;
    if (sqlite3_step(s) != SQLITE_ROW)
        rc = sq_fail(c, "ping");
out:
    sq_done(s);
    sq_return(be, c);
    return rc;
}

/* store_is_empty: no account yet. */
static enum si_err sq_is_empty(void *be, bool *empty)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_IS_EMPTY, &s);
    if (rc)
        goto out;
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = sq_fail(c, "is empty");
        goto out;
    }
    *empty = sqlite3_column_int(s, 0) != 0;
out:
    sq_done(s);
    sq_return(be, c);
    return rc;
}

/* store_close: the group thread first (its last calls still need the writer and the
 * checkpointer), then the frame. No operation may be running. */
static void sq_close(void *be)
{
    struct sq_store *st = be;
    if (!st)
        return;
    sq_group_stop(st);
    sq_store_close(st);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .migrate = sq_migrate,
    .backup = sq_backup,
    .schema_version = sq_schema_version,
    .ping = sq_ping,
    .is_empty = sq_is_empty,
    .account_create = sq_account_create,
    .account_get = sq_account_get,
    .site_create = sq_site_create,
    .site_get = sq_site_get,
    .account_sites = sq_account_sites,
    .key_create = sq_key_create,
    .key_lookup = sq_key_lookup,
    .auth_epoch = sq_auth_epoch,
    .key_revoke = sq_key_revoke,
    .account_keys = sq_account_keys,
    .keys_used = sq_keys_used,
    .console_link_create = sq_console_link_create,
    .console_link_get = sq_console_link_get,
    .console_signin = sq_console_signin,
    .console_session_get = sq_console_session_get,
    .console_session_touch = sq_console_session_touch,
    .console_session_end = sq_console_session_end,
    .console_sweep = sq_console_sweep,
    .console_mail_queue = sq_console_mail_queue,
    .console_mail_claim = sq_console_mail_claim,
    .console_mail_done = sq_console_mail_done,
    .site_counts = sq_site_counts,
    .site_stats = sq_site_stats,
    .roles_list = sq_roles_list,
    .role_create = sq_role_create,
    .contributor_add = sq_contributor_add,
    .invites_bulk = sq_invites_bulk,
    .invites_bulk_async = sq_invites_bulk_async,
    .invite_change_async = sq_invite_change_async,
    .invite_get = sq_invite_get,
    .invite_by_link = sq_invite_by_link,
    .invites_query = sq_invites_query,
    .seats_used = sq_seats_used,
    .outbox_claim = sq_outbox_claim,
    .outbox_sent = sq_outbox_sent,
    .outbox_failed = sq_outbox_failed,
    .outbox_counts = sq_outbox_counts,
    .outbox_retry = sq_outbox_retry,
    .contributors_list = sq_contributors_list,
    .contributor_change = sq_contributor_change,
    .invites_expire = sq_invites_expire,
    .idem_claim = sq_idem_claim,
    .idem_done = sq_idem_done,
    .idem_release = sq_idem_release,
    .idem_sweep = sq_idem_sweep,
    .reminders_queue = sq_reminders_queue,
    .audit_list = sq_audit_list,
    .txn = &sq_txn_steps,
    .webhooks = &sq_webhook_ops,
};

enum si_err store_sqlite_open(const char *path, const struct store_ops **ops, void **be)
{
    struct sq_store *st = NULL;
    enum si_err rc = sq_store_open(path, &st);
    if (rc)
        return rc;
    sq_group_init(st);
    *ops = &sqlite_ops;
    *be = st;
    return SI_OK;
}
