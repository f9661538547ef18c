/* PostgreSQL operations on the mail outbox: claiming due rows under a lease (FOR UPDATE SKIP
 * LOCKED, so workers in any number of processes never claim one row twice), loading everything
 * needed to compose them, recording each try's outcome, and counting the queue. */
#include "pg_int.h"
#include "webhook_ops.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLAIM_MAX 1000 /* rows claimed per call at most, whatever the caller asks */
/* Marking handed-over emails sent while the server is unavailable: 120 x 250 ms = 30 s, half
 * the worker's default lease. */
#define MARK_SENT_TRIES    120
#define MARK_SENT_PAUSE_MS 250

/* Picks, leases and reads the claimed emails in one statement. Oldest due first; rows of revoked
 * invites are never handed out, nor reminders of invites no longer Pending or expired (issue 10).
 * SKIP LOCKED: a row another claimer is leasing right now is passed over instead of waited for;
 * once that claimer commits, its lease_until_ms hides the row (READ COMMITTED re-checks a locked
 * row's newest version against the WHERE clause before returning it).
 * due keeps what the pick already read: each row's place (ctid, stable while this transaction
 * holds its lock), so the lease finds it without a step through outbox_pkey, and its invite, so
 * the answer needs no second join of invites. A row whose place moved anyway (another version
 * locked in between) matches no lease row and is simply not handed out this time. Before, the
 * lease found each row again through outbox_pkey and a second statement read the claimed IDs
 * back: ~10 buffers an email more than now, of ~29 (docs/SCALING.md, "The mail worker's claim on
 * PostgreSQL"). */
#define CLAIM_INVITE_COLS PG_INVITE_LEAD_COLS "i.location_ids"
static const struct pg_sql SQL_CLAIM = {
    PG_OUTBOX_CLAIM,
    "WITH due AS (SELECT o.ctid AS row_at, " CLAIM_INVITE_COLS
    " FROM outbox o JOIN invites i ON i.id = o.invite_id"
    " WHERE o.status = 'Queued' AND o.due_ms <= $1::bigint AND o.lease_until_ms <= $1::bigint"
    " AND i.status <> 'Deleted' AND (o.kind <> 2 OR (i.status = 'Pending'"
    " AND i.expires_ms > $1::bigint)) ORDER BY o.due_ms, o.id LIMIT $2::integer"
    " FOR UPDATE OF o SKIP LOCKED),"
    /* PG_INVITE_COLS reads o.* as the delivery: here o is the claimed row itself. The sites and
     * accounts are joined inside the lease, whose rows then carry everything: a join of two CTEs
     * (no statistics) was planned as a nested loop, n x n comparisons. */
    " leased AS (UPDATE outbox o SET lease_until_ms = $3::bigint FROM due i"
    " JOIN sites s ON s.id = i.site_id LEFT JOIN accounts a ON a.id = i.inviter_account_id"
    " WHERE o.ctid = i.row_at RETURNING " PG_INVITE_COLS ", o.id, o.kind, o.created_ms,"
    " s.name, s.language, a.name, a.email, o.due_ms AS claim_due, o.id AS claim_id)"
    " SELECT * FROM leased ORDER BY claim_due, claim_id"};

static const struct pg_sql SQL_ROLE_TITLES = {
    PG_ROLE_TITLES, "SELECT id, title FROM roles WHERE id = ANY($1::text[])"};
/* attempts counts finished tries; a row cancelled while in flight still becomes Sent (it went). */
static const struct pg_sql SQL_SENT = {
    PG_OUTBOX_SENT, "UPDATE outbox SET status = 'Sent', attempts = attempts + 1,"
                    " sent_ms = $2::bigint, lease_until_ms = 0 WHERE id = ANY($1::bigint[])"};
static const struct pg_sql SQL_FAILED = {
    PG_OUTBOX_FAILED,
    "UPDATE outbox SET attempts = attempts + 1, last_error = $3, lease_until_ms = 0,"
    " due_ms = CASE WHEN status = 'Queued' AND $2::bigint > 0 THEN $2::bigint ELSE due_ms END,"
    " status = CASE WHEN status <> 'Queued' THEN status WHEN $2::bigint > 0 THEN 'Queued'"
    " ELSE 'Failed' END WHERE id = $1::bigint RETURNING status"};
static const struct pg_sql SQL_COUNTS = {
    PG_OUTBOX_COUNTS,
    "SELECT count(*) FILTER (WHERE status = 'Queued'), count(*) FILTER (WHERE status = 'Sent'),"
    " count(*) FILTER (WHERE status = 'Failed'), count(*) FILTER (WHERE status = 'Cancelled'),"
    " coalesce(min(due_ms) FILTER (WHERE status = 'Queued'), 0) FROM outbox"};
/* Only the invite's latest email: requeuing an older one next to a newer resend would mail the
 * link twice. */
static const struct pg_sql SQL_RETRY = {
    PG_OUTBOX_RETRY,
    "UPDATE outbox SET status = 'Queued', attempts = 0, due_ms = $1::bigint, lease_until_ms = 0"
    " WHERE status = 'Failed' AND id = (SELECT max(o2.id) FROM outbox o2"
    " WHERE o2.invite_id = outbox.invite_id) AND EXISTS (SELECT 1 FROM invites i"
    " WHERE i.id = outbox.invite_id AND i.status = 'Pending' AND i.expires_ms > $1::bigint)"};

/* Fills the role titles of every message with one query; an unknown role reads as its ID. */
static enum si_err role_titles(struct pg_conn *c, struct outbox_msg *msgs, size_t n)
{
    struct buf ids;
    PGresult *r = NULL;
    pg_array_init(&ids);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < msgs[i].invite.policies.n; k++)
            pg_array_add(&ids, msgs[i].invite.policies.ids[k]);
    pg_array_end(&ids);
    struct pg_args a = {0};
    pg_arg(&a, ids.data);
    enum si_err rc = pg_exec(c, &SQL_ROLE_TITLES, &a, "read role titles", &r);
    buf_cleanup(&ids);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < msgs[i].invite.policies.n; k++) {
            const char *id = msgs[i].invite.policies.ids[k];
            char *title = msgs[i].role_titles[k];
            snprintf(title, SI_NAME_MAX, "%s", id);
            /* At most 20 roles a message and a handful of distinct roles: a scan is enough. */
            for (int row = 0; row < PQntuples(r); row++)
                if (strcmp(PQgetvalue(r, row, 0), id) == 0)
                    pg_col_text(r, row, 1, title, SI_NAME_MAX);
        }
    }
    PQclear(r);
    return SI_OK;
}

/* Fills msgs from the claim's rows (in due order), then their role titles. */
static enum si_err read_msgs(struct pg_conn *c, const PGresult *r, struct outbox_msg *msgs,
                             size_t *n)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct outbox_msg *m = &msgs[(*n)++];
        outbox_msg_clear(m);
        pg_read_invite(r, i, &m->invite);
        int k = PG_INVITE_NCOLS;
        m->id = pg_col_i64(r, i, k);
        m->kind = store_outbox_kind(pg_col_i64(r, i, k + 1));
        m->created = pg_col_i64(r, i, k + 2);
        pg_col_text(r, i, k + 3, m->site_name, sizeof m->site_name);
        pg_col_text(r, i, k + 4, m->site_language, sizeof m->site_language);
        pg_col_text(r, i, k + 5, m->inviter_name, sizeof m->inviter_name);
        pg_col_text(r, i, k + 6, m->inviter_email, sizeof m->inviter_email);
        m->attempts = m->invite.delivery.attempts;
    }
    return role_titles(c, msgs, *n);
}

enum si_err pg_outbox_claim(void *be, si_ms now, si_ms lease_ms, int max, struct outbox_msg **out,
                            size_t *n)
{
    struct pg_conn *c = NULL;
    PGresult *claimed = NULL;
    *out = NULL;
    *n = 0;
    if (max <= 0)
        return SI_OK;
    if (max > CLAIM_MAX)
        max = CLAIM_MAX;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    struct outbox_msg *msgs = outbox_msgs_alloc((size_t)max);
    size_t got = 0;
    /* Lease and read the role titles in one transaction: a failure leaves no row leased without
     * a sender. */
    rc = pg_begin(c);
    if (!rc) {
        struct pg_args a = {0};
        pg_arg_i64(&a, now);
        pg_arg_i64(&a, max);
        pg_arg_i64(&a, now + lease_ms);
        rc = pg_exec(c, &SQL_CLAIM, &a, "claim emails", &claimed);
    }
    if (!rc && PQntuples(claimed) > 0)
        rc = read_msgs(c, claimed, msgs, &got);
    PQclear(claimed);
    if (!rc)
        rc = pg_commit(c);
    else
        pg_rollback(c);
    pg_return(be, c);
    return store_claim_hand_over(rc, msgs, got, out, n);
}

/* Runs one outcome update on a borrowed connection; *changed gets the rows it touched. */
static enum si_err update(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                          int64_t *changed)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = pg_exec_count(c, q, a, "record email outcome", changed);
    pg_return(st, c);
    return rc;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

enum si_err pg_outbox_sent(void *be, const int64_t *ids, size_t n, si_ms now)
{
    if (n == 0)
        return SI_OK;
    /* Distinct IDs, to compare with the rows changed (one statement, one commit). */
    int64_t *sorted = xcalloc(n, sizeof *sorted);
    memcpy(sorted, ids, n * sizeof *ids);
    qsort(sorted, n, sizeof *sorted, cmp_i64);
    struct buf arr;
    int64_t distinct = 0, changed = 0;
    pg_array_init(&arr);
    for (size_t i = 0; i < n; i++) {
        if (i && sorted[i] == sorted[i - 1])
            continue;
        pg_array_add_i64(&arr, sorted[i]);
        distinct++;
    }
    pg_array_end(&arr);
    free(sorted);
    struct pg_args a = {0};
    pg_arg(&a, arr.data);
    pg_arg_i64(&a, now);
    /* The emails are handed over: a mark lost to a restarting server would send them again
     * when the lease ends. The worker still holds the claim (a lease of a minute by default),
     * so try again for a while; the statement sets the same values however often it runs. */
    enum si_err rc = update(be, &SQL_SENT, &a, &changed);
    for (int tries = 0; rc == SI_EBUSY && tries < MARK_SENT_TRIES; tries++) {
        struct timespec pause = {0, MARK_SENT_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
        rc = update(be, &SQL_SENT, &a, &changed);
    }
    if (rc == SI_EBUSY)
        log_error("store: could not mark %" PRId64 " emails sent; they go again after the lease",
                  distinct);
    buf_cleanup(&arr);
    return !rc && changed < distinct ? SI_ENOTFOUND : rc;
}

enum si_err pg_outbox_failed(void *be, int64_t id, si_ms due, const char *error,
                             const struct invite *gave_up, si_ms now)
{
    struct pg_args a = {0};
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    char status[16] = "";
    pg_arg_i64(&a, id);
    pg_arg_i64(&a, due);
    pg_arg(&a, error ? error : "");
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (rc)
        goto out;
    rc = pg_exec(c, &SQL_FAILED, &a, "record email outcome", &r);
    if (!rc && PQntuples(r) == 0)
        rc = SI_ENOTFOUND;
    if (!rc)
        pg_col_text(r, 0, 0, status, sizeof status);
    PQclear(r);
    if (!rc && gave_up && strcmp(status, "Failed") == 0)
        rc = webhook_emit_invite(&pg_webhook_steps, c, WH_INVITE_DELIVERY_FAILED, gave_up, now);
    if (!rc)
        rc = pg_commit(c);
    else
        pg_rollback(c);
out:
    pg_return(be, c);
    return rc;
}

enum si_err pg_outbox_counts(void *be, struct outbox_counts *out)
{
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec(c, &SQL_COUNTS, NULL, "count emails", &r);
    pg_return(be, c);
    if (rc)
        return rc;
    out->queued = pg_col_i64(r, 0, 0);
    out->sent = pg_col_i64(r, 0, 1);
    out->failed = pg_col_i64(r, 0, 2);
    out->cancelled = pg_col_i64(r, 0, 3);
    out->oldest_due = pg_col_i64(r, 0, 4);
    PQclear(r);
    return SI_OK;
}

enum si_err pg_outbox_retry(void *be, si_ms now, int64_t *n)
{
    struct pg_args a = {0};
    *n = 0;
    pg_arg_i64(&a, now);
    /* One statement is one transaction: rows requeue together or not at all. */
    return update(be, &SQL_RETRY, &a, n);
}
