/* SQLite operations on the mail outbox: queueing and cancelling an invite's emails, claiming due
 * rows under a lease with everything needed to compose them, recording each try's outcome, and
 * counting the queue. */
#include "sqlite_int.h"
#include "webhook_ops.h"

#include "common/buf.h"
#include "common/jsonw.h"
#include "common/xalloc.h"

#include <stdint.h>
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
/* A claim's rows are named by ?1, a JSON array of outbox IDs: one statement leases them all and
 * one reads them all (CROSS JOIN keeps the array the outer loop: a primary-key step per ID). A
 * statement per row cost ~30,000 instructions an email inside the claim's write transaction,
 * which holds SQLite's writer (bench/README.md, "the mail worker's claim"). */
static const struct sq_sql SQL_LEASE = {
    SQ_OUTBOX_LEASE,
    "UPDATE outbox SET lease_until_ms = ?2 WHERE id IN (SELECT value FROM json_each(?1))"};
/* SQ_INVITE_COLS reads o.* as the delivery: here o is the claimed row itself. No ORDER BY: a
 * sort of the wide rows cost ~6,800 instructions an email; load_msgs puts each row in its
 * place in the claim's order. */
static const struct sq_sql SQL_MSG = {
    SQ_OUTBOX_MSG,
    "SELECT " SQ_INVITE_COLS ", o.id, o.kind, o.created_ms, s.name, s.language, a.name, a.email"
    " FROM json_each(?1) j CROSS JOIN outbox o ON o.id = j.value"
    " JOIN invites i ON i.id = o.invite_id JOIN sites s ON s.id = i.site_id"
    " LEFT JOIN accounts a ON a.id = i.inviter_account_id"};
static const struct sq_sql SQL_ROLE_TITLE = {SQ_ROLE_TITLE,
                                             "SELECT title FROM roles WHERE id = ?1"};
/* attempts counts finished tries; a row cancelled while in flight stays Cancelled. */
static const struct sq_sql SQL_SENT = {
    SQ_OUTBOX_SENT, "UPDATE outbox SET status = 'Sent', attempts = attempts + 1, sent_ms = ?2,"
                    " lease_until_ms = 0 WHERE id IN (SELECT value FROM json_each(?1))"};
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

/* ids as a JSON array of numbers, the form SQL_LEASE, SQL_MSG and SQL_SENT take. */
static void ids_json(const int64_t *ids, size_t n, struct buf *out)
{
    buf_init(out, 0); /* uncapped: the x appends below need it, IDs have up to 19 digits */
    buf_xputs(out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_xputs(out, ",");
        jw_int(out, ids[i]);
    }
    buf_xputs(out, "]");
}

/* Hides the rows from other claimers until `until`; a crashed worker's rows come back then. */
static enum si_err lease(struct sq_conn *c, const struct buf *ids, si_ms until)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_LEASE, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_text(s, 1, ids->data, (int)ids->len, SQLITE_STATIC) |
        sqlite3_bind_int64(s, 2, until)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_exec_stmt(c, s, "lease emails");
}

/* The role titles one claim has read: its emails mostly name the same few roles. */
#define TITLES_KEPT 32
struct titles {
    int n;
    char ids[TITLES_KEPT][SI_POLICY_ID_MAX];
    char titles[TITLES_KEPT][SI_NAME_MAX];
};

/* The title of role id into dst (an unknown role reads as its ID), from t or the store. */
static enum si_err role_title(struct sq_conn *c, struct titles *t, const char *id, char *dst,
                              size_t cap)
{
    for (int k = 0; k < t->n; k++)
        if (strcmp(t->ids[k], id) == 0) {
            snprintf(dst, cap, "%s", t->titles[k]);
            return SI_OK;
        }
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_ROLE_TITLE, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK)
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            sq_col_text(s, 0, dst, cap);
        else if (step == SQLITE_DONE)
            snprintf(dst, cap, "%s", id);
        else
            rc = sq_fail(c, "read role title");
    }
    sq_done(s);
    if (!rc && t->n < TITLES_KEPT) {
        snprintf(t->ids[t->n], sizeof t->ids[t->n], "%s", id);
        snprintf(t->titles[t->n], sizeof t->titles[t->n], "%s", dst);
        t->n++;
    }
    return rc;
}

/* Fills the role titles of m->invite.policies. */
static enum si_err role_titles(struct sq_conn *c, struct titles *t, struct outbox_msg *m)
{
    enum si_err rc = SI_OK;
    for (int i = 0; !rc && i < m->invite.policies.n; i++)
        rc = role_title(c, t, m->invite.policies.ids[i], m->role_titles[i],
                        sizeof m->role_titles[i]);
    return rc;
}

/* One row of SQL_MSG into m, which outbox_msg_clear has emptied. */
static void read_msg(sqlite3_stmt *s, struct outbox_msg *m)
{
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

/* A claimed row's ID and its place in the claim's order. */
struct slot {
    int64_t id;
    size_t pos;
};

static int compare_slots(const void *a, const void *b)
{
    int64_t x = ((const struct slot *)a)->id, y = ((const struct slot *)b)->id;
    return (x > y) - (x < y);
}

/* Where the row of ID id goes in the claim (slots sorted by ID), or SIZE_MAX. */
static size_t place_of(const struct slot *slots, size_t n, int64_t id)
{
    struct slot key = {.id = id};
    const struct slot *hit = bsearch(&key, slots, n, sizeof *slots, compare_slots);
    return hit ? hit->pos : SIZE_MAX;
}

/* Steps SQL_MSG (bound) and puts each row in its place among msgs[0 .. want), all cleared. */
static enum si_err read_rows(struct sq_conn *c, sqlite3_stmt *s, const int64_t *ids, size_t want,
                             struct outbox_msg *msgs)
{
    struct slot *slots = xmalloc(want * sizeof *slots);
    for (size_t i = 0; i < want; i++)
        slots[i] = (struct slot){.id = ids[i], .pos = i};
    qsort(slots, want, sizeof *slots, compare_slots);
    size_t got = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        size_t pos = place_of(slots, want, sqlite3_column_int64(s, SQ_INVITE_NCOLS));
        if (pos == SIZE_MAX || msgs[pos].id) /* not asked for, or twice: cannot happen */
            break;
        read_msg(s, &msgs[pos]);
        got++;
    }
    free(slots);
    /* Every leased row is read once: its invite, site and account rows cannot be missing. */
    return step == SQLITE_DONE && got == want ? SI_OK : sq_fail(c, "read claimed emails");
}

/* Reads everything the composer needs for the claimed rows ids[0 .. want), once their lease
 * is committed, into msgs[0 .. want) in that order; *n becomes want, and the caller cleans up
 * msgs[0 .. *n) whatever the outcome. */
static enum si_err load_msgs(struct sq_conn *c, const struct buf *list, const int64_t *ids,
                             size_t want, struct outbox_msg *msgs, size_t *n)
{
    for (size_t i = 0; i < want; i++)
        outbox_msg_clear(&msgs[i]); /* id 0 marks a place not yet read */
    *n = want;
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_MSG, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_text(s, 1, list->data, (int)list->len, SQLITE_STATIC) != SQLITE_OK)
        rc = sq_fail(c, "bind");
    else
        rc = read_rows(c, s, ids, want, msgs);
    sq_done(s);
    struct titles *t = xmalloc(sizeof *t);
    t->n = 0;
    for (size_t i = 0; !rc && i < *n; i++)
        rc = role_titles(c, t, &msgs[i]);
    free(t);
    return rc;
}

/* Leases the due rows inside the caller's transaction: their IDs into ids (room for max), in
 * due order, and *list (empty when given) as the JSON array SQL_MSG takes. */
static enum si_err lease_in_txn(struct sq_conn *c, si_ms now, si_ms lease_ms, int max, int64_t *ids,
                                size_t *nids, struct buf *list)
{
    /* IDs first, then leases: the due cursor is finished before the rows it walks are
     * updated, which SQLite allows but leaves the visiting order undefined. */
    enum si_err rc = due_ids(c, now, max, ids, nids);
    if (!rc && *nids) {
        ids_json(ids, *nids, list);
        rc = lease(c, list, now + lease_ms);
    }
    return rc;
}

/* Loads the leased rows ids[0 .. nids) on a reader connection into msgs, in that order. */
static enum si_err load_leased(struct sq_store *st, const struct buf *list, const int64_t *ids,
                               size_t nids, struct outbox_msg *msgs, size_t *got)
{
    struct sq_conn *r = NULL;
    enum si_err rc = sq_borrow(st, &r);
    if (rc)
        return rc;
    rc = load_msgs(r, list, ids, nids, msgs, got);
    sq_return(st, r);
    if (rc) {
        for (size_t i = 0; i < *got; i++)
            outbox_msg_cleanup(&msgs[i]);
        *got = 0;
    }
    return rc;
}

/* The write transaction only leases (the rows are then this worker's until the lease ends);
 * the rows are read after its commit, on a reader connection. Reading them inside it held
 * SQLite's writer ~15,000 instructions an email longer, while Bulk Invite calls and creates
 * waited for it. A failed read leaves the rows leased: they come back after the lease, as
 * after a crash. */
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
    int64_t *ids = xmalloc((size_t)max * sizeof *ids);
    size_t nids = 0, got = 0;
    struct buf list;
    buf_init(&list, 0);
    /* One write transaction: two workers (or processes) never lease the same row. */
    rc = sq_begin(c);
    if (!rc)
        rc = lease_in_txn(c, now, lease_ms, max, ids, &nids, &list);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    sq_return(be, c);
    struct outbox_msg *msgs = NULL;
    if (!rc && nids) {
        msgs = outbox_msgs_alloc(nids);
        rc = load_leased(be, &list, ids, nids, msgs, &got);
    }
    buf_cleanup(&list);
    free(ids);
    return store_claim_hand_over(rc, msgs, got, out, n);
}

/* One statement for the whole batch (the IDs are distinct: claimed rows); SI_ENOTFOUND when a
 * row does not exist. */
enum si_err sq_outbox_sent(void *be, const int64_t *ids, size_t n, si_ms now)
{
    struct sq_store *st = be;
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t changed = 0;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc)
        return rc;
    struct buf list;
    ids_json(ids, n, &list);
    rc = sq_begin(c);
    if (!rc)
        rc = sq_prep(c, &SQL_SENT, &s);
    if (!rc) {
        if (sqlite3_bind_text(s, 1, list.data, (int)list.len, SQLITE_STATIC) |
            sqlite3_bind_int64(s, 2, now))
            rc = sq_fail(c, "bind");
        else if (sqlite3_step(s) != SQLITE_DONE)
            rc = sq_fail(c, "record emails sent");
        else
            changed = sqlite3_changes(c->db);
        sq_done(s);
    }
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    sq_return(st, c);
    buf_cleanup(&list);
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
