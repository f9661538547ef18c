/* SQLite operations of issue 10's site settings: the settings transaction's steps and queueing
 * the reminders core's rule says are due, each with its audit entry. */
#include "sqlite_int.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The settings transaction's read and write (store/txn_settings.c): core applies the patch in
 * between, so the write sets every setting. The writer's BEGIN IMMEDIATE already excludes any
 * other write, so the read needs no lock. */
static const struct sq_sql SQL_LOAD = {
    SQ_SITE_SETTINGS_LOAD, "SELECT accept_redirect_url, reminder_days, allowed_email_domains"
                           " FROM sites WHERE id = ?1"};
static const struct sq_sql SQL_SET = {
    SQ_SITE_SETTINGS_SET, "UPDATE sites SET accept_redirect_url = ?2, reminder_days = ?3,"
                          " allowed_email_domains = ?4 WHERE id = ?1"};
/* A queued reminder whose invite was answered, revoked or has expired since is never sent
 * (revoke and the invitee's answer cancel an invite's queued mail themselves; expiry does not). */
static const struct sq_sql SQL_CANCEL = {
    SQ_REMINDERS_CANCEL,
    "UPDATE outbox SET status = 'Cancelled', lease_until_ms = 0 WHERE kind = 2"
    " AND status = 'Queued' AND invite_id IN (SELECT id FROM invites"
    " WHERE id = outbox.invite_id AND (status <> 'Pending' OR expires_ms <= ?1))"};
/* site_settings_reminder_due (core/site_settings.c) as SQL: Pending, never reminded, unexpired,
 * past expires - days, and no email since then. The expiry bound (days are at most 89) keeps
 * the walk on the status and expiry index. Marks each invite reminded and counts the send; the
 * site comes back for the reminder's audit entry. */
static const struct sq_sql SQL_DUE = {
    SQ_REMINDERS_DUE,
    "UPDATE invites SET reminded_ms = ?1, last_sent_ms = ?1, send_count = send_count + 1"
    " WHERE rowid IN (SELECT i.rowid FROM invites i JOIN sites s ON s.id = i.site_id"
    " WHERE i.status = 'Pending' AND i.expires_ms > ?1 AND i.expires_ms <= ?1 + ?3"
    " AND s.reminder_days > 0 AND i.reminded_ms = 0"
    " AND i.expires_ms - s.reminder_days * 86400000 <= ?1"
    " AND i.last_sent_ms < i.expires_ms - s.reminder_days * 86400000 LIMIT ?2)"
    " RETURNING id, site_id"};

#define WINDOW_MS ((si_ms)SITE_REMINDER_DAYS_MAX * SI_MS_PER_DAY)

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

enum si_err sq_step_settings_load(void *conn, const char *site_id, struct site_settings *out)
{
    struct sq_conn *c = conn;
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_LOAD, &s);
    if (rc)
        return rc;
    int step = TEXT(s, 1, site_id) ? SQLITE_ERROR : sqlite3_step(s);
    if (step == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        sq_col_text(s, 0, out->accept_redirect_url, sizeof out->accept_redirect_url);
        out->reminder_days = sqlite3_column_int(s, 1);
        sq_col_text(s, 2, out->allowed_domains, sizeof out->allowed_domains);
    } else {
        rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "read site settings");
    }
    sq_done(s);
    return rc;
}

enum si_err sq_step_settings_write(void *conn, const char *site_id, const struct site_settings *set)
{
    struct sq_conn *c = conn;
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_SET, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, site_id) | TEXT(s, 2, set->accept_redirect_url) |
        sqlite3_bind_int(s, 3, set->reminder_days) | TEXT(s, 4, set->allowed_domains)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_write_in_txn(c, s, "set site settings");
}

/* A reminded invite the statement returned: its ID and site. */
struct due_row {
    char id[SI_ID_LEN];
    char site_id[SI_ID_LEN];
};

/* Marks the due invites and collects them (heap, *n of them). */
static enum si_err mark_due(struct sq_conn *c, si_ms now, int max, struct due_row **rows, size_t *n)
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
    *rows = xcalloc((size_t)max, sizeof **rows);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < (size_t)max) {
        struct due_row *r = &(*rows)[(*n)++];
        sq_col_text(s, 0, r->id, sizeof r->id);
        sq_col_text(s, 1, r->site_id, sizeof r->site_id);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sq_fail(c, "mark reminders");
    sq_done(s);
    return rc;
}

/* The whole sweep inside the caller's write transaction. */
static enum si_err queue_in_txn(struct sq_conn *c, si_ms now, int max, int64_t *n)
{
    sqlite3_stmt *s;
    struct due_row *rows = NULL;
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
        rc = mark_due(c, now, max, &rows, &got);
    for (size_t i = 0; !rc && i < got; i++) {
        struct audit_entry e;
        rc = sq_outbox_add(c, rows[i].id, OUTBOX_REMINDER, now);
        if (rc)
            break;
        audit_invite_reminded(rows[i].site_id, rows[i].id, now, &e);
        rc = sq_audit_add(c, &e);
        audit_entry_cleanup(&e);
    }
    if (!rc)
        *n = (int64_t)got;
    free(rows);
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
