/* SQLite operations of issue 10's site settings: writing a site's settings and queueing the
 * reminders core's rule says are due. */
#include "sqlite_int.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* A NULL parameter keeps the stored value (struct site_settings_patch). */
static const struct sq_sql SQL_SET = {
    SQ_SITE_SETTINGS_SET,
    "UPDATE sites SET accept_redirect_url = coalesce(?2, accept_redirect_url),"
    " reminder_days = coalesce(?3, reminder_days),"
    " allowed_email_domains = coalesce(?4, allowed_email_domains) WHERE id = ?1"};
/* A queued reminder whose invite was answered, revoked or has expired since is never sent
 * (revoke and the invitee's answer cancel an invite's queued mail themselves; expiry does not). */
static const struct sq_sql SQL_CANCEL = {
    SQ_REMINDERS_CANCEL,
    "UPDATE outbox SET status = 'Cancelled', lease_until_ms = 0 WHERE kind = 2"
    " AND status = 'Queued' AND invite_id IN (SELECT id FROM invites"
    " WHERE id = outbox.invite_id AND (status <> 'Pending' OR expires_ms <= ?1))"};
/* site_settings_reminder_due (core/site_settings.c) as SQL: Pending, never reminded, unexpired,
 * past expires - days, and no email since then. The expiry bound (days are at most 89) keeps
 * the walk on the status and expiry index. Marks each invite reminded and counts the send. */
static const struct sq_sql SQL_DUE = {
    SQ_REMINDERS_DUE,
    "UPDATE invites SET reminded_ms = ?1, last_sent_ms = ?1, send_count = send_count + 1"
    " WHERE rowid IN (SELECT i.rowid FROM invites i JOIN sites s ON s.id = i.site_id"
    " WHERE i.status = 'Pending' AND i.expires_ms > ?1 AND i.expires_ms <= ?1 + ?3"
    " AND s.reminder_days > 0 AND i.reminded_ms = 0"
    " AND i.expires_ms - s.reminder_days * 86400000 <= ?1"
    " AND i.last_sent_ms < i.expires_ms - s.reminder_days * 86400000 LIMIT ?2)"
    " RETURNING id"};

#define WINDOW_MS ((si_ms)SITE_REMINDER_DAYS_MAX * SI_MS_PER_DAY)

/* Binds text or NULL. */
static int bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

enum si_err sq_site_settings_set(void *be, const char *site_id, const struct site_settings_patch *p)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_SET, &s);
    if (!rc) {
        int b = sqlite3_bind_text(s, 1, site_id, -1, SQLITE_STATIC);
        b |= bind_opt(s, 2, p->accept_redirect_url);
        b |= p->reminder_days < 0 ? sqlite3_bind_null(s, 3)
                                  : sqlite3_bind_int(s, 3, p->reminder_days);
        b |= bind_opt(s, 4, p->allowed_domains);
        if (b) {
            sq_done(s);
            rc = sq_fail(c, "bind");
        } else {
            rc = sq_write_stmt(c, s, "set site settings");
        }
    }
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = SI_ENOTFOUND;
    sq_return(be, c);
    return rc;
}

/* Marks the due invites and collects their IDs (heap, *n of them). */
static enum si_err mark_due(struct sq_conn *c, si_ms now, int max, char (**ids)[SI_ID_LEN],
                            size_t *n)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_DUE, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_int64(s, 1, now) | sqlite3_bind_int(s, 2, max) |
        sqlite3_bind_int64(s, 3, WINDOW_MS)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    *ids = xcalloc((size_t)max, sizeof **ids);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < (size_t)max)
        sq_col_text(s, 0, (*ids)[(*n)++], SI_ID_LEN);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sq_fail(c, "mark reminders");
    sq_done(s);
    return rc;
}

/* The whole sweep inside the caller's write transaction. */
static enum si_err queue_in_txn(struct sq_conn *c, si_ms now, int max, int64_t *n)
{
    sqlite3_stmt *s;
    char(*ids)[SI_ID_LEN] = NULL;
    size_t got = 0;
    enum si_err rc = sq_prep(c, &SQL_CANCEL, &s);
    if (!rc) {
        if (sqlite3_bind_int64(s, 1, now)) {
            sq_done(s);
            rc = sq_fail(c, "bind");
        } else {
            rc = sq_write_in_txn(c, s, "cancel stale reminders");
        }
    }
    if (!rc)
        rc = mark_due(c, now, max, &ids, &got);
    for (size_t i = 0; !rc && i < got; i++)
        rc = sq_outbox_add(c, ids[i], OUTBOX_REMINDER, now);
    if (!rc)
        *n = (int64_t)got;
    free(ids);
    return rc;
}

enum si_err sq_reminders_queue(void *be, si_ms now, int max, int64_t *n)
{
    struct sq_conn *c = NULL;
    *n = 0;
    if (max <= 0)
        return SI_OK;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (!rc) {
        rc = queue_in_txn(c, now, max, n);
        if (!rc)
            rc = sq_commit(c);
        else
            sq_rollback(c);
    }
    if (rc)
        *n = 0;
    sq_return(be, c);
    return rc;
}
