/* PostgreSQL operations of issue 10's site settings: writing a site's settings and queueing the
 * reminders core's rule says are due, claimed in one statement so that any number of instances
 * queue each reminder once. */
#include "pg_int.h"

#include <string.h>

#define WINDOW_MS ((si_ms)SITE_REMINDER_DAYS_MAX * SI_MS_PER_DAY)

/* A NULL parameter keeps the stored value (struct site_settings_patch). */
static const struct pg_sql SQL_SET = {
    PG_SITE_SETTINGS_SET,
    "UPDATE sites SET accept_redirect_url = coalesce($2, accept_redirect_url),"
    " reminder_days = coalesce($3::integer, reminder_days),"
    " allowed_email_domains = coalesce($4, allowed_email_domains) WHERE id = $1"};
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
 * counted on the invite and its outbox row written by the same statement. */
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
    " AND invites.reminded_ms = 0 AND invites.status = 'Pending' RETURNING invites.id)"
    " INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
    " SELECT id, 2, 'Queued', $1::bigint, $1::bigint FROM marked"};

enum si_err pg_site_settings_set(void *be, const char *site_id, const struct site_settings_patch *p)
{
    struct pg_args a = {0};
    struct pg_conn *c = NULL;
    int64_t changed = 0;
    pg_arg(&a, site_id);
    pg_arg(&a, p->accept_redirect_url);
    if (p->reminder_days < 0)
        pg_arg(&a, NULL);
    else
        pg_arg_i64(&a, p->reminder_days);
    pg_arg(&a, p->allowed_domains);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec_count(c, &SQL_SET, &a, "set site settings", &changed);
    pg_return(be, c);
    return !rc && changed == 0 ? SI_ENOTFOUND : rc;
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
