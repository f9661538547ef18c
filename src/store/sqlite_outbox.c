/* SQLite operations on the mail outbox: queueing and cancelling an invite's emails, claiming due
 * rows under a lease with everything needed to compose them, recording each try's outcome, and
 * counting the queue. */
#include "sqlite_int.h"
#include "webhook_ops.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_MAX 1000 /* rows claimed per call at most, whatever the caller asks */

/* A new email is due at once; created_ms also anchors the mailer's backoff schedule. */
static const struct sq_sql SQL_OUTBOX_INSERT = {
    SQ_OUTBOX_INSERT, "INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
                      " VALUES (?1, ?2, 'Queued', ?3, ?3)"};
/* Only Queued rows: a row already Sent or Failed is history and stays as it was. */
static const struct sq_sql SQL_CANCEL = {
    SQ_OUTBOX_CANCEL, "UPDATE outbox SET status = 'Cancelled', lease_until_ms = 0"
                      " WHERE invite_id = ?1 AND status = 'Queued'"};
/* Oldest due first; rows of revoked invites are never handed out (revoke also cancels them),
 * nor reminders of invites no longer Pending or expired (issue 10: never after expiry). */
static const struct sq_sql SQL_DUE = {
    SQ_OUTBOX_DUE, "SELECT o.id FROM outbox o JOIN invites i ON i.id = o.invite_id"
                   " WHERE o.status = 'Queued' AND o.due_ms <= ?1 AND o.lease_until_ms <= ?1"
                   " AND i.status <> 'Deleted' AND (o.kind <> 2 OR (i.status = 'Pending'"
                   " AND i.expires_ms > ?1)) ORDER BY o.due_ms, o.id LIMIT ?2"};
static const struct sq_sql SQL_LEASE = {SQ_OUTBOX_LEASE,
                                        "UPDATE outbox SET lease_until_ms = ?2 WHERE id = ?1"};
/* SQ_INVITE_COLS reads o.* as the delivery: here o is the claimed row itself. */
static const struct sq_sql SQL_MSG = {
    SQ_OUTBOX_MSG, "SELECT " SQ_INVITE_COLS ", o.id, o.kind, o.created_ms, s.name, s.language,"
                   " a.name, a.email FROM outbox o JOIN invites i ON i.id = o.invite_id"
                   " JOIN sites s ON s.id = i.site_id"
                   " LEFT JOIN accounts a ON a.id = i.inviter_account_id WHERE o.id = ?1"};
static const struct sq_sql SQL_ROLE_TITLE = {SQ_ROLE_TITLE,
                                             "SELECT title FROM roles WHERE id = ?1"};
/* attempts counts finished tries; a row cancelled while in flight stays Cancelled. */
static const struct sq_sql SQL_SENT = {
    SQ_OUTBOX_SENT, "UPDATE outbox SET status = 'Sent', attempts = attempts + 1, sent_ms = ?2,"
                    " lease_until_ms = 0 WHERE id = ?1"};
static const struct sq_sql SQL_FAILED = {
    SQ_OUTBOX_FAILED,
    "UPDATE outbox SET attempts = attempts + 1, last_error = ?3, lease_until_ms = 0,"
    " due_ms = CASE WHEN status = 'Queued' AND ?2 > 0 THEN ?2 ELSE due_ms END,"
    " status = CASE WHEN status <> 'Queued' THEN status WHEN ?2 > 0 THEN 'Queued'"
    " ELSE 'Failed' END WHERE id = ?1 RETURNING status"};
static const struct sq_sql SQL_COUNTS = {SQ_OUTBOX_COUNTS,
                                         "SELECT status, count(*) FROM outbox GROUP BY status"};
static const struct sq_sql SQL_OLDEST = {
    SQ_OUTBOX_OLDEST, "SELECT coalesce(min(due_ms), 0) FROM outbox WHERE status = 'Queued'"};

/* Only the invite's latest email: requeuing an older one next to a newer resend would mail the
 * link twice. */
static const struct sq_sql SQL_RETRY = {
    SQ_OUTBOX_RETRY,
    "UPDATE outbox SET status = 'Queued', attempts = 0, due_ms = ?1, lease_until_ms = 0"
    " WHERE status = 'Failed' AND id = (SELECT max(o2.id) FROM outbox o2"
    " WHERE o2.invite_id = outbox.invite_id) AND invite_id IN (SELECT i.id FROM invites i"
    " WHERE i.id = outbox.invite_id AND i.status = 'Pending' AND i.expires_ms > ?1)"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

enum si_err sq_outbox_add(struct sq_conn *c, const char *invite_id, enum outbox_kind kind,
                          si_ms now)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_OUTBOX_INSERT, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, invite_id) | sqlite3_bind_int(s, 2, (int)kind) | sqlite3_bind_int64(s, 3, now)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_exec_stmt(c, s, "queue email");
}

enum si_err sq_outbox_cancel(struct sq_conn *c, const char *invite_id)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_CANCEL, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, invite_id)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_exec_stmt(c, s, "cancel emails");
}

/* Collects up to max due row IDs into ids. */
static enum si_err due_ids(struct sq_conn *c, si_ms now, int max, int64_t *ids, size_t *n)
{
    sqlite3_stmt *s;
    *n = 0;
    enum si_err rc = sq_prep(c, &SQL_DUE, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_int64(s, 1, now) | sqlite3_bind_int(s, 2, max)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < (size_t)max)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sq_fail(c, "find due emails");
    sq_done(s);
    return rc;
}

/* Hides a row from other claimers until `until`; a crashed worker's rows come back then. */
static enum si_err lease(struct sq_conn *c, int64_t id, si_ms until)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_LEASE, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int64(s, 2, until))
        return sq_fail(c, "bind");
    return sq_exec_stmt(c, s, "lease email");
}

/* Fills the role titles of m->invite.policies; an unknown role reads as its ID. */
static enum si_err role_titles(struct sq_conn *c, struct outbox_msg *m)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_ROLE_TITLE, &s);
    for (int i = 0; !rc && i < m->invite.policies.n; i++) {
        const char *id = m->invite.policies.ids[i];
        if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
            rc = sq_fail(c, "bind");
            break;
        }
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            sq_col_text(s, 0, m->role_titles[i], sizeof m->role_titles[i]);
        else if (step == SQLITE_DONE)
            snprintf(m->role_titles[i], sizeof m->role_titles[i], "%s", id);
        else
            rc = sq_fail(c, "read role title");
        sq_done(s);
    }
    return rc;
}

/* Reads everything the composer needs for one claimed row, inside the claim transaction. */
static enum si_err load_msg(struct sq_conn *c, int64_t id, struct outbox_msg *m)
{
    outbox_msg_clear(m); /* first: the caller cleans m up when this fails */
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_MSG, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        rc = sq_fail(c, "bind");
    else if (sqlite3_step(s) != SQLITE_ROW)
        rc = sq_fail(c, "read claimed email");
    else {
        sq_read_invite(s, &m->invite);
        int k = SQ_INVITE_NCOLS;
        m->id = sqlite3_column_int64(s, k);
        m->kind = store_outbox_kind(sqlite3_column_int(s, k + 1));
        m->created = sqlite3_column_int64(s, k + 2);
        sq_col_text(s, k + 3, m->site_name, sizeof m->site_name);
        sq_col_text(s, k + 4, m->site_language, sizeof m->site_language);
        sq_col_text(s, k + 5, m->inviter_name, sizeof m->inviter_name);
        sq_col_text(s, k + 6, m->inviter_email, sizeof m->inviter_email);
        m->attempts = m->invite.delivery.attempts;
    }
    sq_done(s);
    if (!rc)
        rc = role_titles(c, m);
    return rc;
}

/* Leases and loads the due rows inside the caller's transaction. */
static enum si_err claim_in_txn(struct sq_conn *c, si_ms now, si_ms lease_ms, int max,
                                struct outbox_msg *msgs, size_t *n)
{
    /* IDs first, then leases, then reads: the due cursor is finished before the rows it walks
     * are updated, which SQLite allows but leaves the visiting order undefined. */
    int64_t *ids = xcalloc((size_t)max, sizeof *ids);
    size_t nids = 0;
    enum si_err rc = due_ids(c, now, max, ids, &nids);
    for (size_t i = 0; !rc && i < nids; i++)
        rc = lease(c, ids[i], now + lease_ms);
    for (size_t i = 0; !rc && i < nids; i++) {
        rc = load_msg(c, ids[i], &msgs[i]);
        if (!rc)
            (*n)++;
        else
            outbox_msg_cleanup(&msgs[i]);
    }
    free(ids);
    return rc;
}

enum si_err sq_outbox_claim(void *be, si_ms now, si_ms lease_ms, int max, struct outbox_msg **out,
                            size_t *n)
{
    struct sq_conn *c = NULL;
    *out = NULL;
    *n = 0;
    if (max <= 0)
        return SI_OK;
    if (max > CLAIM_MAX)
        max = CLAIM_MAX;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    struct outbox_msg *msgs = outbox_msgs_alloc((size_t)max);
    size_t got = 0;
    /* One write transaction: two workers (or processes) never lease the same row. */
    rc = sq_begin(c);
    if (!rc)
        rc = claim_in_txn(c, now, lease_ms, max, msgs, &got);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    sq_return(be, c);
    return store_claim_hand_over(rc, msgs, got, out, n);
}

/* Runs one of the single-row updates; SI_ENOTFOUND when the row does not exist. */
enum si_err sq_outbox_sent(void *be, const int64_t *ids, size_t n, si_ms now)
{
    struct sq_store *st = be;
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t changed = 0;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (!rc)
        rc = sq_prep(c, &SQL_SENT, &s);
    for (size_t i = 0; !rc && i < n; i++) {
        if (sqlite3_bind_int64(s, 1, ids[i]) | sqlite3_bind_int64(s, 2, now))
            rc = sq_fail(c, "bind");
        else if (sqlite3_step(s) != SQLITE_DONE)
            rc = sq_fail(c, "record emails sent");
        else
            changed += sqlite3_changes(c->db);
        sq_done(s);
    }
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    sq_return(st, c);
    return !rc && changed < (int64_t)n ? SI_ENOTFOUND : rc;
}

/* Runs SQL_FAILED on c; *failed: the row is now Failed. SI_ENOTFOUND for an unknown id. */
static enum si_err record_failed(struct sq_conn *c, int64_t id, si_ms due, const char *error,
                                 bool *failed)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_FAILED, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int64(s, 2, due) |
        sqlite3_bind_text(s, 3, error, -1, SQLITE_STATIC)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    /* RETURNING: the whole UPDATE is done by the first step. */
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const unsigned char *status = sqlite3_column_text(s, 0);
        *failed = status && strcmp((const char *)status, "Failed") == 0;
    } else
        rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "record email outcome");
    sq_done(s);
    return rc;
}

enum si_err sq_outbox_failed(void *be, int64_t id, si_ms due, const char *error,
                             const struct invite *gave_up, si_ms now)
{
    struct sq_conn *c = NULL;
    bool failed = false;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (rc)
        goto out;
    rc = record_failed(c, id, due, error ? error : "", &failed);
    if (!rc && failed && gave_up)
        rc = webhook_emit_invite(&sq_webhook_steps, c, WH_INVITE_DELIVERY_FAILED, gave_up, now);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
out:
    sq_return(be, c);
    return rc;
}

/* Reads the per-state counts and the oldest due time of queued rows. */
static enum si_err count_states(struct sq_conn *c, struct outbox_counts *out)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_COUNTS, &s);
    if (rc)
        return rc;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        int64_t k = sqlite3_column_int64(s, 1);
        switch (delivery_status_parse(name)) {
        case DELIVERY_QUEUED:
            out->queued = k;
            break;
        case DELIVERY_SENT:
            out->sent = k;
            break;
        case DELIVERY_FAILED:
            out->failed = k;
            break;
        case DELIVERY_CANCELLED:
            out->cancelled = k;
            break;
        case DELIVERY_NONE:
            break;
        }
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(c, "count emails");
    sq_done(s);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_OLDEST, &s);
    if (rc)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW)
        out->oldest_due = sqlite3_column_int64(s, 0);
    else
        rc = sq_fail(c, "find oldest email");
    sq_done(s);
    return rc;
}

enum si_err sq_outbox_counts(void *be, struct outbox_counts *out)
{
    struct sq_conn *c = NULL;
    memset(out, 0, sizeof *out);
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = count_states(c, out);
    sq_return(be, c);
    return rc;
}

enum si_err sq_outbox_retry(void *be, si_ms now, int64_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    *n = 0;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (!rc)
        rc = sq_prep(c, &SQL_RETRY, &s);
    if (!rc) {
        if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK) {
            sq_done(s);
            rc = sq_fail(c, "bind");
        } else {
            rc = sq_exec_stmt(c, s, "requeue failed emails");
        }
    }
    if (!rc) {
        *n = sqlite3_changes(c->db);
        rc = sq_commit(c);
    } else {
        sq_rollback(c);
    }
    sq_return(be, c);
    return rc;
}
