/* SQLite operations on webhooks (store/webhooks.h): endpoints, events written inside a change's
 * transaction, deliveries claimed under a lease in order per invite, and their outcomes. The
 * statements are cached by text (sq_prep_dyn), so the fixed statement table stays untouched. */
#include "sqlite_int.h"
#include "webhook_ops.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_MAX 100 /* deliveries claimed per call at most */

#define W_COLS                                                                                     \
    "w.id, w.site_id, w.url, w.events, w.description, w.enabled, w.disabled_reason, w.secret,"     \
    " w.old_secret, w.old_secret_until_ms, w.failing_since_ms, w.created_ms, w.updated_ms"
#define W_NCOLS 13

/* One bound value: text (NULL binds SQL NULL) or an integer. */
struct val {
    const char *s;
    int64_t i;
    bool is_text;
};
#define T(x) ((struct val){.s = (x), .is_text = true})
#define I(x) ((struct val){.i = (int64_t)(x)})

/* Prepares sql on c and binds v[0..n) to ?1..?n. */
static enum si_err prep(struct sq_conn *c, const char *sql, const struct val *v, int n,
                        sqlite3_stmt **out)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_prep_dyn(c, sql, &s);
    if (rc)
        return rc;
    for (int k = 0; k < n; k++) {
        int b = v[k].is_text ? sqlite3_bind_text(s, k + 1, v[k].s, -1, SQLITE_STATIC)
                             : sqlite3_bind_int64(s, k + 1, v[k].i);
        if (b != SQLITE_OK) {
            sq_done(s);
            return sq_fail(c, "bind");
        }
    }
    *out = s;
    return SI_OK;
}

/* Runs a statement without rows inside the caller's transaction; *changed (may be NULL) gets
 * the rows it changed. */
static enum si_err run(struct sq_conn *c, const char *sql, const struct val *v, int n,
                       int64_t *changed, const char *what)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = prep(c, sql, v, n, &s);
    if (!rc)
        rc = sq_write_in_txn(c, s, what);
    if (!rc && changed)
        *changed = sqlite3_changes64(c->db);
    return rc;
}

static void read_hook(sqlite3_stmt *s, int k, struct webhook_row *w)
{
    memset(w, 0, sizeof *w);
    sq_col_text(s, k, w->id, sizeof w->id);
    sq_col_text(s, k + 1, w->site_id, sizeof w->site_id);
    sq_col_text(s, k + 2, w->url, sizeof w->url);
    w->events = (unsigned)sqlite3_column_int64(s, k + 3);
    sq_col_text(s, k + 4, w->description, sizeof w->description);
    w->enabled = sqlite3_column_int(s, k + 5) != 0;
    sq_col_text(s, k + 6, w->disabled_reason, sizeof w->disabled_reason);
    sq_col_text(s, k + 7, w->secret, sizeof w->secret);
    sq_col_text(s, k + 8, w->old_secret, sizeof w->old_secret);
    w->old_secret_until = sqlite3_column_int64(s, k + 9);
    w->failing_since = sqlite3_column_int64(s, k + 10);
    w->created = sqlite3_column_int64(s, k + 11);
    w->updated = sqlite3_column_int64(s, k + 12);
}

/* ---- the event steps, inside a change's transaction ------------------------------------- */

static const char SQL_WANTED[] = "SELECT 1 FROM webhooks WHERE site_id = ?1 AND enabled = 1"
                                 " AND (events & ?2) <> 0 LIMIT 1";
static const char SQL_EVENT[] = "INSERT INTO webhook_events (site_id, type, order_key, payload,"
                                " created_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_FAN_OUT[] =
    "INSERT INTO webhook_deliveries (event_id, webhook_id, order_key, status, due_ms, created_ms,"
    " updated_ms) SELECT ?1, id, ?2, 'Queued', ?3, ?3, ?3 FROM webhooks WHERE site_id = ?4"
    " AND enabled = 1 AND (events & ?5) <> 0";

/* *yes: sql with v[0..n) finds a row. */
static enum si_err exists(struct sq_conn *c, const char *sql, const struct val *v, int n, bool *yes)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = prep(c, sql, v, n, &s);
    if (rc)
        return rc;
    int step = sqlite3_step(s);
    *yes = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sq_fail(c, "find webhooks");
    sq_done(s);
    return rc;
}

static enum si_err step_wanted(void *conn, const char *site_id, unsigned bit, bool *yes)
{
    struct val v[] = {T(site_id), I(bit)};
    return exists(conn, SQL_WANTED, v, 2, yes);
}

static enum si_err step_add(void *conn, const char *site_id, enum webhook_event e,
                            const char *order_key, const char *payload, si_ms now)
{
    struct sq_conn *c = conn;
    struct val ev[] = {T(site_id), I(e), T(order_key), T(payload), I(now)};
    enum si_err rc = run(c, SQL_EVENT, ev, 5, NULL, "write webhook event");
    if (rc)
        return rc;
    struct val d[] = {I(sqlite3_last_insert_rowid(c->db)), T(order_key), I(now), T(site_id),
                      I(WEBHOOK_EVENT_BIT(e))};
    return run(c, SQL_FAN_OUT, d, 5, NULL, "queue webhook deliveries");
}

const struct webhook_steps sq_webhook_steps = {.wanted = step_wanted, .add = step_add};

/* Whether any enabled endpoint of any site wants invite.expired: the sweeper's cheap way out. */
static enum si_err any_expired_wanted(struct sq_conn *c, bool *yes)
{
    struct val v[] = {I(WEBHOOK_EVENT_BIT(WH_INVITE_EXPIRED))};
    return exists(c, "SELECT 1 FROM webhooks WHERE enabled = 1 AND (events & ?1) <> 0 LIMIT 1", v,
                  1, yes);
}

enum si_err sq_webhook_expiring(void *conn, const char *site_id, si_ms now, int max)
{
    struct sq_conn *c = conn;
    bool yes = false;
    enum si_err rc = any_expired_wanted(c, &yes);
    if (rc || !yes)
        return rc;
    /* The WHERE and LIMIT of the sweeps' UPDATEs (sqlite_contributors.c, sqlite_bulk.c). */
    sqlite3_stmt *s = NULL;
    struct val v[] = {I(now), I(max), T(site_id)};
    rc = prep(c,
              "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM " WHERE i.rowid IN (SELECT rowid FROM"
              " invites WHERE status = 'Pending' AND expires_ms <= ?1"
              " AND (?3 IS NULL OR site_id = ?3) LIMIT ?2)",
              v, 3, &s);
    if (rc)
        return rc;
    struct invite *rows = NULL;
    size_t n = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        rows = xrealloc(rows, (n + 1) * sizeof *rows);
        sq_read_invite(s, &rows[n++]);
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(c, "read expiring invites");
    sq_done(s);
    for (size_t i = 0; i < n; i++) {
        rows[i].status = INVITE_EXPIRED;
        rows[i].updated = now;
        if (!rc)
            rc = webhook_emit_invite(&sq_webhook_steps, c, WH_INVITE_EXPIRED, &rows[i], now);
        invite_cleanup(&rows[i]);
    }
    free(rows);
    return rc;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

/* Runs fn(c, ctx) in a write transaction of its own on the writer, with the audit entry (NULL:
 * none) after it. */
static enum si_err in_write(void *be, enum si_err (*fn)(struct sq_conn *c, const void *ctx),
                            const void *ctx, const struct audit_entry *audit)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (!rc)
        rc = fn(c, ctx);
    if (!rc && audit)
        rc = sq_audit_add(c, audit);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    sq_return(be, c);
    return rc;
}

static enum si_err insert_hook(struct sq_conn *c, const void *ctx)
{
    const struct webhook_row *w = ctx;
    struct val v[] = {T(w->id),          T(w->site_id), T(w->url),    I(w->events),
                      T(w->description), I(w->enabled), T(w->secret), I(w->created)};
    return run(c,
               "INSERT INTO webhooks (id, site_id, url, events, description, enabled, secret,"
               " created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
               v, 8, NULL, "insert webhook");
}

static enum si_err sq_wh_create(void *be, const struct webhook_row *w,
                                const struct audit_entry *audit)
{
    return in_write(be, insert_hook, w, audit);
}

/* Reads up to cap rows of endpoints from s into a malloc'ed array. */
static enum si_err read_hooks(struct sq_conn *c, sqlite3_stmt *s, size_t cap,
                              struct webhook_row **out, size_t *n)
{
    struct webhook_row *rows = NULL;
    size_t got = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && got < cap) {
        rows = xrealloc(rows, (got + 1) * sizeof *rows);
        read_hook(s, 0, &rows[got++]);
    }
    enum si_err rc =
        step == SQLITE_ROW || step == SQLITE_DONE ? SI_OK : sq_fail(c, "read webhooks");
    sq_done(s);
    if (rc) {
        free(rows);
        return rc;
    }
    *out = rows;
    *n = got;
    return SI_OK;
}

static enum si_err sq_wh_list(void *be, const char *site_id, struct webhook_row **out, size_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    struct val v[] = {T(site_id)};
    rc = prep(c,
              "SELECT " W_COLS " FROM webhooks w WHERE w.site_id = ?1 ORDER BY w.created_ms, w.id",
              v, 1, &s);
    if (!rc)
        rc = read_hooks(c, s, WEBHOOK_PER_SITE_MAX * 2, out, n);
    sq_return(be, c);
    return rc;
}

static enum si_err sq_wh_get(void *be, const char *site_id, const char *id, struct webhook_row *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    struct webhook_row *rows = NULL;
    size_t n = 0;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    struct val v[] = {T(site_id), T(id)};
    rc = prep(c, "SELECT " W_COLS " FROM webhooks w WHERE w.site_id = ?1 AND w.id = ?2", v, 2, &s);
    if (!rc)
        rc = read_hooks(c, s, 1, &rows, &n);
    sq_return(be, c);
    if (!rc && n == 0)
        rc = SI_ENOTFOUND;
    if (!rc)
        *out = rows[0];
    free(rows);
    return rc;
}

static enum si_err update_hook(struct sq_conn *c, const void *ctx)
{
    const struct webhook_row *w = ctx;
    int64_t changed = 0;
    struct val v[] = {T(w->url),        I(w->events),           T(w->description),
                      I(w->enabled),    T(w->disabled_reason),  T(w->secret),
                      T(w->old_secret), I(w->old_secret_until), I(w->failing_since),
                      I(w->updated),    T(w->site_id),          T(w->id)};
    enum si_err rc =
        run(c,
            "UPDATE webhooks SET url = ?1, events = ?2, description = ?3, enabled = ?4,"
            " disabled_reason = ?5, secret = ?6, old_secret = ?7,"
            " old_secret_until_ms = ?8, failing_since_ms = ?9, updated_ms = ?10"
            " WHERE site_id = ?11 AND id = ?12",
            v, 12, &changed, "update webhook");
    return !rc && changed == 0 ? SI_ENOTFOUND : rc;
}

static enum si_err sq_wh_update(void *be, const struct webhook_row *w,
                                const struct audit_entry *audit)
{
    return in_write(be, update_hook, w, audit);
}

static enum si_err delete_hook(struct sq_conn *c, const void *ctx)
{
    const struct webhook_row *w = ctx;
    int64_t changed = 0;
    struct val v[] = {T(w->site_id), T(w->id)};
    enum si_err rc = run(c, "DELETE FROM webhooks WHERE site_id = ?1 AND id = ?2", v, 2, &changed,
                         "delete webhook");
    if (!rc && changed == 0)
        return SI_ENOTFOUND;
    if (!rc)
        rc = run(c, "DELETE FROM webhook_deliveries WHERE webhook_id = ?1", &v[1], 1, NULL,
                 "delete webhook deliveries");
    return rc;
}

static enum si_err sq_wh_remove(void *be, const char *site_id, const char *id,
                                const struct audit_entry *audit)
{
    struct webhook_row w;
    snprintf(w.site_id, sizeof w.site_id, "%s", site_id);
    snprintf(w.id, sizeof w.id, "%s", id);
    return in_write(be, delete_hook, &w, audit);
}

struct test_args {
    const struct webhook_row *w;
    const char *payload;
    si_ms now;
};

static enum si_err insert_test(struct sq_conn *c, const void *ctx)
{
    const struct test_args *a = ctx;
    char key[SI_ID_LEN + 8];
    snprintf(key, sizeof key, "test:%s", a->w->id);
    struct val ev[] = {T(a->w->site_id), I(WH_TEST), T(key), T(a->payload), I(a->now)};
    enum si_err rc = run(c, SQL_EVENT, ev, 5, NULL, "write webhook event");
    struct val d[] = {I(sqlite3_last_insert_rowid(c->db)), T(a->w->id), T(key), I(a->now)};
    if (!rc)
        rc = run(c,
                 "INSERT INTO webhook_deliveries (event_id, webhook_id, order_key, status, due_ms,"
                 " created_ms, updated_ms) VALUES (?1, ?2, ?3, 'Queued', ?4, ?4, ?4)",
                 d, 4, NULL, "queue webhook test");
    return rc;
}

static enum si_err sq_wh_test(void *be, const struct webhook_row *w, const char *payload, si_ms now,
                              const struct audit_entry *audit)
{
    struct test_args a = {w, payload, now};
    return in_write(be, insert_test, &a, audit);
}

/* ---- deliveries ---------------------------------------------------------------------------- */

static void read_delivery(sqlite3_stmt *s, struct webhook_delivery_row *d)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(s, 0);
    d->event_id = sqlite3_column_int64(s, 1);
    d->type = (enum webhook_event)sqlite3_column_int(s, 2);
    sq_col_text(s, 3, d->status, sizeof d->status);
    d->attempts = sqlite3_column_int(s, 4);
    d->last_status = sqlite3_column_int(s, 5);
    sq_col_text(s, 6, d->last_error, sizeof d->last_error);
    d->created = sqlite3_column_int64(s, 7);
    d->updated = sqlite3_column_int64(s, 8);
}

static enum si_err sq_wh_deliveries(void *be, const char *webhook_id, int64_t before, int limit,
                                    struct webhook_delivery_row **out, size_t *n, bool *has_next)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    struct val v[] = {T(webhook_id), I(before > 0 ? before : INT64_MAX), I(limit + 1)};
    rc = prep(c,
              "SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.last_status, d.last_error,"
              " d.created_ms, d.updated_ms FROM webhook_deliveries d"
              " JOIN webhook_events e ON e.id = d.event_id WHERE d.webhook_id = ?1 AND d.id < ?2"
              " ORDER BY d.id DESC LIMIT ?3",
              v, 3, &s);
    struct webhook_delivery_row *rows = rc ? NULL : xcalloc((size_t)limit + 1, sizeof *rows);
    size_t got = 0;
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW && got < (size_t)limit + 1)
        read_delivery(s, &rows[got++]);
    if (!rc) {
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = sq_fail(c, "read webhook deliveries");
        sq_done(s);
    }
    sq_return(be, c);
    if (rc) {
        free(rows);
        return rc;
    }
    *has_next = got > (size_t)limit;
    *n = *has_next ? (size_t)limit : got;
    *out = rows;
    return SI_OK;
}

/* Due deliveries of enabled endpoints with no earlier delivery of the same invite to the same
 * endpoint still queued (leased ones included): the order per invite. */
static const char SQL_DUE[] =
    "SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
    " WHERE d.status = 'Queued' AND d.due_ms <= ?1 AND d.lease_until_ms <= ?1 AND w.enabled = 1"
    " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.webhook_id = d.webhook_id"
    " AND p.order_key = d.order_key AND p.id < d.id AND p.status = 'Queued')"
    " ORDER BY d.due_ms, d.id LIMIT ?2";
static const char SQL_JOB[] =
    "SELECT d.id, d.event_id, e.type, e.payload, e.created_ms, d.attempts, " W_COLS
    " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
    " JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?1";

/* The IDs of up to max due deliveries, read on c. */
static enum si_err due_ids(struct sq_conn *c, si_ms now, int max, int64_t *ids, size_t *n)
{
    sqlite3_stmt *s = NULL;
    struct val v[] = {I(now), I(max)};
    enum si_err rc = prep(c, SQL_DUE, v, 2, &s);
    if (rc)
        return rc;
    int step;
    *n = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < (size_t)max)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sq_fail(c, "find due webhook deliveries");
    sq_done(s);
    return rc;
}

/* Leases delivery id until `until` and loads it into j. */
static enum si_err lease_one(struct sq_conn *c, int64_t id, si_ms until, struct webhook_job *j)
{
    struct val v[] = {I(until), I(id)};
    enum si_err rc = run(c, "UPDATE webhook_deliveries SET lease_until_ms = ?1 WHERE id = ?2", v, 2,
                         NULL, "lease webhook delivery");
    sqlite3_stmt *s = NULL;
    if (!rc)
        rc = prep(c, SQL_JOB, &v[1], 1, &s);
    if (rc)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW) {
        memset(j, 0, sizeof *j);
        j->id = sqlite3_column_int64(s, 0);
        j->event_id = sqlite3_column_int64(s, 1);
        j->type = (enum webhook_event)sqlite3_column_int(s, 2);
        j->payload = xstrdup((const char *)sqlite3_column_text(s, 3));
        j->event_created = sqlite3_column_int64(s, 4);
        j->attempts = sqlite3_column_int(s, 5);
        read_hook(s, 6, &j->hook);
    } else {
        rc = sq_fail(c, "load webhook delivery");
    }
    sq_done(s);
    return rc;
}

/* Looks on a reader first: the worker polls, and an idle poll must not take the writer from
 * the API. */
static enum si_err sq_wh_claim(void *be, si_ms now, si_ms lease_ms, int max,
                               struct webhook_job **out, size_t *n)
{
    int64_t ids[CLAIM_MAX];
    size_t got = 0, done = 0;
    struct sq_conn *c = NULL;
    if (max > CLAIM_MAX)
        max = CLAIM_MAX;
    enum si_err rc = sq_borrow(be, &c);
    if (!rc)
        rc = due_ids(c, now, max, ids, &got);
    sq_return(be, c);
    if (rc || got == 0)
        return rc;
    rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    struct webhook_job *jobs = xcalloc((size_t)max, sizeof *jobs);
    rc = sq_begin(c);
    /* Again on the writer, inside the transaction: another process may have taken some. */
    if (!rc)
        rc = due_ids(c, now, max, ids, &got);
    for (size_t i = 0; !rc && i < got; i++, done++)
        rc = lease_one(c, ids[i], now + lease_ms, &jobs[i]);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    sq_return(be, c);
    if (rc) {
        webhook_jobs_free(jobs, done);
        return rc;
    }
    *out = jobs;
    *n = done;
    return SI_OK;
}

static enum si_err write_result(struct sq_conn *c, const void *ctx)
{
    const struct webhook_result *r = ctx;
    const char *status = r->delivered ? "Delivered" : r->next_due ? "Queued" : "Failed";
    struct val d[] = {T(status),   I(r->next_due), I(r->http_status),
                      T(r->error), I(r->now),      I(r->delivery_id)};
    enum si_err rc = run(c,
                         "UPDATE webhook_deliveries SET status = ?1, attempts = attempts + 1,"
                         " due_ms = CASE WHEN ?2 > 0 THEN ?2 ELSE due_ms END, lease_until_ms = 0,"
                         " last_status = ?3, last_error = ?4, updated_ms = ?5 WHERE id = ?6",
                         d, 6, NULL, "record webhook delivery");
    struct val w[] = {I(r->delivered), I(r->now), I(r->disable), T(r->error), T(r->webhook_id)};
    if (!rc)
        rc = run(c,
                 "UPDATE webhooks SET failing_since_ms = CASE WHEN ?1 THEN 0"
                 " WHEN failing_since_ms = 0 THEN ?2 ELSE failing_since_ms END,"
                 " enabled = CASE WHEN ?3 THEN 0 ELSE enabled END,"
                 " disabled_reason = CASE WHEN ?3 THEN ?4 ELSE disabled_reason END,"
                 " updated_ms = CASE WHEN ?3 THEN ?2 ELSE updated_ms END WHERE id = ?5",
                 w, 5, NULL, "record webhook state");
    return rc;
}

static enum si_err sq_wh_result(void *be, const struct webhook_result *r)
{
    return in_write(be, write_result, r, NULL);
}

/* Deliveries by event and status. */
static enum si_err count_deliveries(struct sq_conn *c, struct webhook_counts *out)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = prep(c,
                          "SELECT e.type, d.status, count(*) FROM webhook_deliveries d"
                          " JOIN webhook_events e ON e.id = d.event_id GROUP BY e.type, d.status",
                          NULL, 0, &s);
    if (rc)
        return rc;
    int step;
    char status[16];
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        sq_col_text(s, 1, status, sizeof status);
        webhook_counts_add(out, sqlite3_column_int64(s, 0), status, sqlite3_column_int64(s, 2));
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(c, "count webhook deliveries");
    sq_done(s);
    return rc;
}

static enum si_err count_disabled(struct sq_conn *c, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = prep(c, "SELECT count(*) FROM webhooks WHERE enabled = 0", NULL, 0, &s);
    if (rc)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        rc = sq_fail(c, "count webhooks");
    sq_done(s);
    return rc;
}

static enum si_err sq_wh_counts(void *be, struct webhook_counts *out)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (!rc)
        rc = count_deliveries(c, out);
    if (!rc)
        rc = count_disabled(c, &out->disabled);
    sq_return(be, c);
    return rc;
}

/* ---- retention ---------------------------------------------------------------------------- */

/* Finished deliveries by their last try (index webhook_deliveries_done), then events that
 * have no delivery left (webhook_deliveries_event), oldest first. */
static const char SQL_SWEEP_DELIVERIES[] =
    "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries"
    " WHERE status <> 'Queued' AND updated_ms < ?1 ORDER BY updated_ms LIMIT ?2)";
static const char SQL_SWEEP_EVENTS[] =
    "DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e"
    " WHERE e.created_ms < ?1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
    " WHERE d.event_id = e.id) ORDER BY e.created_ms LIMIT ?2)";

/* One statement on the writer in autocommit: its own short transaction. */
static enum si_err sweep_one(void *be, const char *sql, si_ms before, int max, int64_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    struct val v[] = {I(before), I(max)};
    rc = prep(c, sql, v, 2, &s);
    if (!rc)
        rc = sq_write_stmt(c, s, "sweep webhook history");
    if (!rc)
        *n = sqlite3_changes64(c->db);
    sq_return(be, c);
    return rc;
}

static enum si_err sq_wh_sweep(void *be, bool events, si_ms before, int max, int64_t *n)
{
    return sweep_one(be, events ? SQL_SWEEP_EVENTS : SQL_SWEEP_DELIVERIES, before, max, n);
}

const struct webhook_ops sq_webhook_ops = {
    .create = sq_wh_create,
    .list = sq_wh_list,
    .get = sq_wh_get,
    .update = sq_wh_update,
    .remove = sq_wh_remove,
    .test = sq_wh_test,
    .deliveries = sq_wh_deliveries,
    .claim = sq_wh_claim,
    .result = sq_wh_result,
    .counts = sq_wh_counts,
    .sweep = sq_wh_sweep,
};
