/* PostgreSQL operations of issue 10's site settings: the settings transaction's steps and
 * queueing the reminders core's rule says are due, claimed and recorded in one statement so that
 * any number of instances queue each reminder once. */
#include "pg_int.h"

#include <string.h>

#define WINDOW_MS ((si_ms)SITE_REMINDER_DAYS_MAX * SI_MS_PER_DAY)

/* The site's settings, locked until the transaction ends: two PATCHes of one site run one
 * after the other, so each entry's "from" is what the other left. NO KEY UPDATE, the lock the
 * UPDATE takes anyway: invite and contributor inserts (their foreign-key check's KEY SHARE)
 * do not wait for it. */
static const struct pg_sql SQL_LOCK = {
    PG_SITE_SETTINGS_LOCK, "SELECT accept_redirect_url, reminder_days, allowed_email_domains"
                           " FROM sites WHERE id = $1 FOR NO KEY UPDATE"};
static const struct pg_sql SQL_SET = {
    PG_SITE_SETTINGS_SET, "UPDATE sites SET accept_redirect_url = $2,"
                          " reminder_days = $3::integer, allowed_email_domains = $4 WHERE id = $1"};
/* A queued reminder whose invite was answered, revoked or has expired since is never sent
 * (revoke and the invitee's answer cancel an invite's queued mail themselves; expiry does not). */
static const struct pg_sql SQL_CANCEL = {
    PG_REMINDERS_CANCEL,
    "UPDATE outbox SET status = 'Cancelled', lease_until_ms = 0 FROM invites i"
    " WHERE i.id = outbox.invite_id AND outbox.kind = 2 AND outbox.status = 'Queued'"
    " AND (i.status <> 'Pending' OR i.expires_ms <= $1::bigint)"};
/* site_settings_reminder_due (core/site_settings.c) as SQL: Pending, never reminded, unexpired,
 * past expires - days, and no email since then; the expiry bound keeps the walk on the status
 * and expiry index. FOR UPDATE SKIP LOCKED: a row another instance is claiming is passed over;
 * once that one commits, READ COMMITTED re-checks the locked row's newest version against the
 * UPDATE's own conditions (reminded_ms = 0, Pending), so a reminder is queued once. The send is
 * counted on the invite, its outbox row and its invite.reminded entry ($4..$7: action, the
 * system's actor type, target type and changes, all core/audit.h's) written by the same
 * statement. */
static const struct pg_sql SQL_QUEUE = {
    PG_REMINDERS_QUEUE,
    "WITH due AS (SELECT i.id FROM invites i JOIN sites s ON s.id = i.site_id"
    " WHERE i.status = 'Pending' AND i.expires_ms > $1::bigint"
    " AND i.expires_ms <= $1::bigint + $3::bigint"
    " AND s.reminder_days > 0 AND i.reminded_ms = 0"
    " AND i.expires_ms - s.reminder_days * 86400000::bigint <= $1::bigint"
    " AND i.last_sent_ms < i.expires_ms - s.reminder_days * 86400000::bigint"
    " LIMIT $2::integer FOR UPDATE OF i SKIP LOCKED),"
    " marked AS (UPDATE invites SET reminded_ms = $1::bigint, last_sent_ms = $1::bigint,"
    " send_count = send_count + 1 FROM due WHERE invites.id = due.id"
    " AND invites.reminded_ms = 0 AND invites.status = 'Pending'"
    " RETURNING invites.id, invites.site_id),"
    " queued AS (INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
    " SELECT id, 2, 'Queued', $1::bigint, $1::bigint FROM marked)"
    " INSERT INTO audit_log (site_id, action, actor_type, target_type, target_id, time_ms,"
    " changes) SELECT site_id, $4, $5, $6, id, $1::bigint, $7 FROM marked"};

enum si_err pg_step_settings_load(void *conn, const char *site_id, struct site_settings *out)
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg(&a, site_id);
    pg_conn_site(conn, site_id); /* the settings and their audit entry are the site's */
    enum si_err rc = pg_exec(conn, &SQL_LOCK, &a, "read site settings", &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 0) {
        rc = SI_ENOTFOUND;
    } else {
        memset(out, 0, sizeof *out);
        pg_col_text(r, 0, 0, out->accept_redirect_url, sizeof out->accept_redirect_url);
        out->reminder_days = (int)pg_col_i64(r, 0, 1);
        pg_col_text(r, 0, 2, out->allowed_domains, sizeof out->allowed_domains);
    }
    PQclear(r);
    return rc;
}

enum si_err pg_step_settings_write(void *conn, const char *site_id, const struct site_settings *set)
{
    struct pg_args a = {0};
    pg_arg(&a, site_id);
    pg_arg(&a, set->accept_redirect_url);
    pg_arg_i64(&a, set->reminder_days);
    pg_arg(&a, set->allowed_domains);
    return pg_exec(conn, &SQL_SET, &a, "set site settings", NULL);
}

enum si_err pg_reminders_queue(void *be, si_ms now, int max, int64_t *n)
{
    struct pg_args cancel = {0}, queue = {0};
    struct pg_conn *c = NULL;
    int64_t stale = 0;
    *n = 0;
    if (max <= 0)
        return SI_OK;
    pg_arg_i64(&cancel, now);
    pg_arg_i64(&queue, now);
    pg_arg_i64(&queue, max);
    pg_arg_i64(&queue, WINDOW_MS);
    pg_arg(&queue, audit_action_name(AUDIT_INVITE_REMINDED));
    pg_arg(&queue, audit_actor_type_name(AUDIT_ACTOR_SYSTEM));
    pg_arg(&queue, audit_target_type_name(AUDIT_TARGET_INVITE));
    pg_arg(&queue, audit_reminded_changes());
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    /* Two statements, each atomic on its own: the cancel touches only rows no claim wants. */
    rc = pg_exec_count(c, &SQL_CANCEL, &cancel, "cancel stale reminders", &stale);
    if (!rc)
        rc = pg_exec_count(c, &SQL_QUEUE, &queue, "queue reminders", n);
    if (rc)
        *n = 0;
    pg_return(be, c);
    return rc;
}
