/* PostgreSQL operations on webhooks (store/webhooks.h), as sqlite_webhooks.c: deliveries are
 * claimed with FOR UPDATE SKIP LOCKED so servers sharing the database never send one twice.
 * Statements run unnamed (pg_exec_dyn), so the prepared statement table stays untouched. */
#include "pg_int.h"
#include "webhook_ops.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_MAX 100

#define W_COLS                                                                                     \
    "w.id, w.site_id, w.url, w.events, w.description, w.enabled::int, w.disabled_reason,"          \
    " w.secret, w.old_secret, w.old_secret_until_ms, w.failing_since_ms, w.created_ms,"            \
    " w.updated_ms"

/* Runs sql with a's parameters on c; *res (may be NULL) as pg_exec_dyn. */
static enum si_err exec(struct pg_conn *c, const char *sql, const struct pg_args *a,
                        const char *what, PGresult **res)
{
    return pg_exec_dyn(c, sql, a ? a->n : 0, a ? a->v : NULL, NULL, what, res);
}

/* exec on a connection borrowed for this one statement. */
static enum si_err exec_once(struct pg_store *st, const char *sql, const struct pg_args *a,
                             const char *what, PGresult **res)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = exec(c, sql, a, what, res);
    pg_return(st, c);
    return rc;
}

/* exec in a transaction of its own with the audit entry (NULL: none) after it; *changed (may
 * be NULL) gets the rows the statement changed, and none changed is SI_ENOTFOUND then. */
static enum si_err exec_audited(struct pg_store *st, const char *sql, const struct pg_args *a,
                                const char *what, int64_t *changed, const struct audit_entry *audit)
{
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (rc) {
        pg_return(st, c);
        return rc;
    }
    if (audit)
        pg_conn_site(c, audit->site_id); /* the endpoint and its entry are the site's */
    rc = exec(c, sql, a, what, &r);
    if (!rc && changed && (*changed = strtoll(PQcmdTuples(r), NULL, 10)) == 0)
        rc = SI_ENOTFOUND;
    PQclear(r);
    if (!rc && audit)
        rc = pg_audit_add(c, audit);
    if (!rc)
        rc = pg_commit(c);
    else
        pg_rollback(c);
    pg_return(st, c);
    return rc;
}

/* exec_once, telling how many rows it changed. */
static enum si_err exec_count(struct pg_store *st, const char *sql, const struct pg_args *a,
                              const char *what, int64_t *changed)
{
    PGresult *r = NULL;
    enum si_err rc = exec_once(st, sql, a, what, &r);
    if (!rc)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

static void read_hook(const PGresult *r, int row, int k, struct webhook_row *w)
{
    memset(w, 0, sizeof *w);
    pg_col_text(r, row, k, w->id, sizeof w->id);
    pg_col_text(r, row, k + 1, w->site_id, sizeof w->site_id);
    pg_col_text(r, row, k + 2, w->url, sizeof w->url);
    w->events = (unsigned)pg_col_i64(r, row, k + 3);
    pg_col_text(r, row, k + 4, w->description, sizeof w->description);
    w->enabled = pg_col_i64(r, row, k + 5) != 0;
    pg_col_text(r, row, k + 6, w->disabled_reason, sizeof w->disabled_reason);
    pg_col_text(r, row, k + 7, w->secret, sizeof w->secret);
    pg_col_text(r, row, k + 8, w->old_secret, sizeof w->old_secret);
    w->old_secret_until = pg_col_i64(r, row, k + 9);
    w->failing_since = pg_col_i64(r, row, k + 10);
    w->created = pg_col_i64(r, row, k + 11);
    w->updated = pg_col_i64(r, row, k + 12);
}

/* ---- the event steps, inside a change's transaction ------------------------------------- */

const struct pg_sql pg_sql_webhooks_wanted = {
    PG_WEBHOOKS_WANTED, "SELECT 1 FROM webhooks WHERE site_id = $1 AND enabled"
                        " AND (events & $2::bigint) <> 0 LIMIT 1"};

void pg_hooks_known(struct pg_conn *c, const char *site_id, unsigned bits, const PGresult *r)
{
    snprintf(c->hook_site, sizeof c->hook_site, "%s", site_id);
    c->hook_bits = bits;
    c->hook_yes = PQntuples(r) > 0;
}

static enum si_err step_wanted(void *conn, const char *site_id, unsigned bit, bool *yes)
{
    struct pg_conn *c = conn;
    if (c->hook_site[0] && c->hook_bits == bit && strcmp(c->hook_site, site_id) == 0) {
        *yes = c->hook_yes;
        return SI_OK;
    }
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg(&a, site_id);
    pg_arg_i64(&a, bit);
    enum si_err rc = pg_exec(c, &pg_sql_webhooks_wanted, &a, "find webhooks", &r);
    *yes = !rc && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

/* One statement: the event and its deliveries, so a bulk call of many invites pays one round
 * trip per event. */
static enum si_err step_add(void *conn, const char *site_id, enum webhook_event e,
                            const char *order_key, const char *payload, si_ms now)
{
    struct pg_args a = {0};
    pg_arg(&a, site_id);
    pg_arg_i64(&a, e);
    pg_arg(&a, order_key);
    pg_arg(&a, payload);
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, WEBHOOK_EVENT_BIT(e));
    return exec(conn,
                "WITH ev AS (INSERT INTO webhook_events (site_id, type, order_key, payload,"
                " created_ms) VALUES ($1, $2::int, $3, $4, $5::bigint) RETURNING id)"
                " INSERT INTO webhook_deliveries (event_id, webhook_id, order_key, status, due_ms,"
                " created_ms, updated_ms) SELECT ev.id, w.id, $3, 'Queued', $5::bigint,"
                " $5::bigint, $5::bigint FROM ev, webhooks w WHERE w.site_id = $1 AND w.enabled"
                " AND (w.events & $6::bigint) <> 0",
                &a, "write webhook event", NULL);
}

const struct webhook_steps pg_webhook_steps = {.wanted = step_wanted, .add = step_add};

enum si_err pg_webhook_expired(void *conn, const struct pg_result *ids, si_ms now)
{
    const PGresult *r = (const PGresult *)ids;
    PGresult *any = NULL;
    struct pg_args a = {0};
    pg_arg_i64(&a, WEBHOOK_EVENT_BIT(WH_INVITE_EXPIRED));
    /* The sweeper's cheap way out: no endpoint anywhere wants invite.expired. */
    enum si_err rc = PQntuples(r) == 0 ? SI_OK
                                       : exec(conn,
                                              "SELECT 1 FROM webhooks WHERE enabled AND"
                                              " (events & $1::bigint) <> 0 LIMIT 1",
                                              &a, "find webhooks", &any);
    bool wanted = !rc && any && PQntuples(any) > 0;
    PQclear(any);
    for (int i = 0; wanted && !rc && i < PQntuples(r); i++) {
        struct invite inv = {.purpose = NULL};
        char site[SI_ID_LEN];
        pg_col_text(r, i, 1, site, sizeof site);
        rc = pg_invite_load(conn, site, PQgetvalue(r, i, 0), &inv);
        if (!rc)
            rc = webhook_emit_invite(&pg_webhook_steps, conn, WH_INVITE_EXPIRED, &inv, now);
        invite_cleanup(&inv);
    }
    return rc;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

static enum si_err pg_wh_create(void *be, const struct webhook_row *w,
                                const struct audit_entry *audit)
{
    struct pg_args a = {0};
    pg_arg(&a, w->id);
    pg_arg(&a, w->site_id);
    pg_arg(&a, w->url);
    pg_arg_i64(&a, w->events);
    pg_arg(&a, w->description);
    pg_arg(&a, w->enabled ? "true" : "false");
    pg_arg(&a, w->secret);
    pg_arg_i64(&a, w->created);
    return exec_audited(be,
                        "INSERT INTO webhooks (id, site_id, url, events, description, enabled,"
                        " secret, created_ms, updated_ms) VALUES ($1, $2, $3, $4::bigint, $5,"
                        " $6::boolean, $7, $8::bigint, $8::bigint)",
                        &a, "insert webhook", NULL, audit);
}

/* Runs a read of endpoints (sql with a) into a malloc'ed array of at most cap rows. */
static enum si_err read_hooks(void *be, const char *sql, const struct pg_args *a, size_t cap,
                              struct webhook_row **out, size_t *n)
{
    PGresult *r = NULL;
    enum si_err rc = exec_once(be, sql, a, "read webhooks", &r);
    if (rc)
        return rc;
    size_t got = (size_t)PQntuples(r) < cap ? (size_t)PQntuples(r) : cap;
    struct webhook_row *rows = got ? xcalloc(got, sizeof *rows) : NULL;
    for (size_t i = 0; i < got; i++)
        read_hook(r, (int)i, 0, &rows[i]);
    PQclear(r);
    *out = rows;
    *n = got;
    return SI_OK;
}

static enum si_err pg_wh_list(void *be, const char *site_id, struct webhook_row **out, size_t *n)
{
    struct pg_args a = {0};
    pg_arg(&a, site_id);
    return read_hooks(be,
                      "SELECT " W_COLS " FROM webhooks w WHERE w.site_id = $1"
                      " ORDER BY w.created_ms, w.id",
                      &a, WEBHOOK_PER_SITE_MAX * 2, out, n);
}

static enum si_err pg_wh_get(void *be, const char *site_id, const char *id, struct webhook_row *out)
{
    struct pg_args a = {0};
    struct webhook_row *rows = NULL;
    size_t n = 0;
    pg_arg(&a, site_id);
    pg_arg(&a, id);
    enum si_err rc =
        read_hooks(be, "SELECT " W_COLS " FROM webhooks w WHERE w.site_id = $1 AND w.id = $2", &a,
                   1, &rows, &n);
    if (!rc && n == 0)
        rc = SI_ENOTFOUND;
    if (!rc)
        *out = rows[0];
    free(rows);
    return rc;
}

static enum si_err pg_wh_update(void *be, const struct webhook_row *w,
                                const struct audit_entry *audit)
{
    int64_t changed = 0;
    struct pg_args a = {0};
    pg_arg(&a, w->url);
    pg_arg_i64(&a, w->events);
    pg_arg(&a, w->description);
    pg_arg(&a, w->enabled ? "true" : "false");
    pg_arg(&a, w->disabled_reason);
    pg_arg(&a, w->secret);
    pg_arg(&a, w->old_secret);
    pg_arg_i64(&a, w->old_secret_until);
    pg_arg_i64(&a, w->failing_since);
    pg_arg_i64(&a, w->updated);
    pg_arg(&a, w->site_id);
    pg_arg(&a, w->id);
    return exec_audited(be,
                        "UPDATE webhooks SET url = $1, events = $2::bigint, description = $3,"
                        " enabled = $4::boolean, disabled_reason = $5, secret = $6,"
                        " old_secret = $7, old_secret_until_ms = $8::bigint,"
                        " failing_since_ms = $9::bigint, updated_ms = $10::bigint"
                        " WHERE site_id = $11 AND id = $12",
                        &a, "update webhook", &changed, audit);
}

static enum si_err pg_wh_remove(void *be, const char *site_id, const char *id,
                                const struct audit_entry *audit)
{
    int64_t changed = 0;
    struct pg_args a = {0};
    pg_arg(&a, site_id);
    pg_arg(&a, id);
    /* One statement: the endpoint and its deliveries go together. */
    return exec_audited(
        be,
        "WITH w AS (DELETE FROM webhooks WHERE site_id = $1 AND id = $2 RETURNING id),"
        " d AS (DELETE FROM webhook_deliveries WHERE webhook_id IN (SELECT id FROM w))"
        " SELECT 1 FROM w",
        &a, "delete webhook", &changed, audit);
}

static enum si_err pg_wh_test(void *be, const struct webhook_row *w, const char *payload, si_ms now,
                              const struct audit_entry *audit)
{
    char key[SI_ID_LEN + 8];
    snprintf(key, sizeof key, "test:%s", w->id);
    struct pg_args a = {0};
    pg_arg(&a, w->site_id);
    pg_arg_i64(&a, WH_TEST);
    pg_arg(&a, key);
    pg_arg(&a, payload);
    pg_arg_i64(&a, now);
    pg_arg(&a, w->id);
    return exec_audited(
        be,
        "WITH ev AS (INSERT INTO webhook_events (site_id, type, order_key, payload,"
        " created_ms) VALUES ($1, $2::int, $3, $4, $5::bigint) RETURNING id)"
        " INSERT INTO webhook_deliveries (event_id, webhook_id, order_key, status, due_ms,"
        " created_ms, updated_ms) SELECT ev.id, $6, $3, 'Queued', $5::bigint, $5::bigint,"
        " $5::bigint FROM ev",
        &a, "queue webhook test", NULL, audit);
}

/* ---- deliveries ---------------------------------------------------------------------------- */

static enum si_err pg_wh_deliveries(void *be, const char *webhook_id, int64_t before, int limit,
                                    struct webhook_delivery_row **out, size_t *n, bool *has_next)
{
    PGresult *r = NULL;
    struct pg_args a = {0};
    pg_arg(&a, webhook_id);
    pg_arg_i64(&a, before > 0 ? before : INT64_MAX);
    pg_arg_i64(&a, limit + 1);
    enum si_err rc = exec_once(
        be,
        "SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.last_status, d.last_error,"
        " d.created_ms, d.updated_ms FROM webhook_deliveries d"
        " JOIN webhook_events e ON e.id = d.event_id WHERE d.webhook_id = $1"
        " AND d.id < $2::bigint ORDER BY d.id DESC LIMIT $3::bigint",
        &a, "read webhook deliveries", &r);
    if (rc)
        return rc;
    size_t got = (size_t)PQntuples(r);
    struct webhook_delivery_row *rows = xcalloc(got + 1, sizeof *rows);
    for (size_t i = 0; i < got; i++) {
        struct webhook_delivery_row *d = &rows[i];
        int row = (int)i;
        d->id = pg_col_i64(r, row, 0);
        d->event_id = pg_col_i64(r, row, 1);
        d->type = (enum webhook_event)pg_col_i64(r, row, 2);
        pg_col_text(r, row, 3, d->status, sizeof d->status);
        d->attempts = (int)pg_col_i64(r, row, 4);
        d->last_status = (int)pg_col_i64(r, row, 5);
        pg_col_text(r, row, 6, d->last_error, sizeof d->last_error);
        d->created = pg_col_i64(r, row, 7);
        d->updated = pg_col_i64(r, row, 8);
    }
    PQclear(r);
    *has_next = got > (size_t)limit;
    *n = *has_next ? (size_t)limit : got;
    *out = rows;
    return SI_OK;
}

/* Picks and leases in one statement, as the outbox claim (pg_outbox.c): SKIP LOCKED passes over
 * rows another server is leasing; READ COMMITTED re-checks a locked row's lease after its
 * claimer commits. A delivery waits for every earlier one of its invite and endpoint. */
static const char SQL_CLAIM[] =
    "WITH due AS (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
    " WHERE d.status = 'Queued' AND d.due_ms <= $1::bigint AND d.lease_until_ms <= $1::bigint"
    " AND w.enabled AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p"
    " WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.id < d.id"
    " AND p.status = 'Queued') ORDER BY d.due_ms, d.id LIMIT $2::integer"
    " FOR UPDATE OF d SKIP LOCKED),"
    " leased AS (UPDATE webhook_deliveries SET lease_until_ms = $3::bigint FROM due"
    " WHERE webhook_deliveries.id = due.id RETURNING webhook_deliveries.*)"
    " SELECT l.id, l.event_id, e.type, e.payload, e.created_ms, l.attempts, " W_COLS
    " FROM leased l JOIN webhook_events e ON e.id = l.event_id"
    " JOIN webhooks w ON w.id = l.webhook_id ORDER BY l.due_ms, l.id";

static enum si_err pg_wh_claim(void *be, si_ms now, si_ms lease_ms, int max,
                               struct webhook_job **out, size_t *n)
{
    PGresult *r = NULL;
    struct pg_args a = {0};
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, max < CLAIM_MAX ? max : CLAIM_MAX);
    pg_arg_i64(&a, now + lease_ms);
    enum si_err rc = exec_once(be, SQL_CLAIM, &a, "claim webhook deliveries", &r);
    if (rc)
        return rc;
    size_t got = (size_t)PQntuples(r);
    struct webhook_job *jobs = got ? xcalloc(got, sizeof *jobs) : NULL;
    for (size_t i = 0; i < got; i++) {
        struct webhook_job *j = &jobs[i];
        int row = (int)i;
        j->id = pg_col_i64(r, row, 0);
        j->event_id = pg_col_i64(r, row, 1);
        j->type = (enum webhook_event)pg_col_i64(r, row, 2);
        j->payload = xstrdup(PQgetvalue(r, row, 3));
        j->event_created = pg_col_i64(r, row, 4);
        j->attempts = (int)pg_col_i64(r, row, 5);
        read_hook(r, row, 6, &j->hook);
    }
    PQclear(r);
    *out = jobs;
    *n = got;
    return SI_OK;
}

static enum si_err pg_wh_result(void *be, const struct webhook_result *r)
{
    struct pg_args a = {0};
    pg_arg(&a, r->delivered ? "Delivered" : r->next_due ? "Queued" : "Failed");
    pg_arg_i64(&a, r->next_due);
    pg_arg_i64(&a, r->http_status);
    pg_arg(&a, r->error);
    pg_arg_i64(&a, r->now);
    pg_arg_i64(&a, r->delivery_id);
    pg_arg(&a, r->delivered ? "true" : "false");
    pg_arg(&a, r->disable ? "true" : "false");
    pg_arg(&a, r->webhook_id);
    /* One statement, so the delivery and the endpoint's state change together. */
    enum si_err rc =
        exec_once(be,
                  "WITH d AS (UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,"
                  " due_ms = CASE WHEN $2::bigint > 0 THEN $2::bigint ELSE due_ms END,"
                  " lease_until_ms = 0, last_status = $3::int, last_error = $4,"
                  " updated_ms = $5::bigint WHERE id = $6::bigint)"
                  " UPDATE webhooks SET failing_since_ms = CASE WHEN $7::boolean THEN 0"
                  " WHEN failing_since_ms = 0 THEN $5::bigint ELSE failing_since_ms END,"
                  " enabled = CASE WHEN $8::boolean THEN false ELSE enabled END,"
                  " disabled_reason = CASE WHEN $8::boolean THEN $4 ELSE disabled_reason END,"
                  " updated_ms = CASE WHEN $8::boolean THEN $5::bigint ELSE updated_ms END"
                  " WHERE id = $9",
                  &a, "record webhook delivery", NULL);
    return rc;
}

static enum si_err pg_wh_counts(void *be, struct webhook_counts *out)
{
    PGresult *r = NULL;
    /* The disabled count rides on every row (and one row stands for none). */
    enum si_err rc =
        exec_once(be,
                  "SELECT e.type, d.status, count(d.id), (SELECT count(*) FROM webhooks WHERE NOT"
                  " enabled) FROM (SELECT 1) one LEFT JOIN webhook_deliveries d ON true"
                  " LEFT JOIN webhook_events e ON e.id = d.event_id GROUP BY e.type, d.status",
                  NULL, "count webhooks", &r);
    if (rc)
        return rc;
    char status[16];
    for (int i = 0; i < PQntuples(r); i++) {
        out->disabled = pg_col_i64(r, i, 3);
        if (PQgetisnull(r, i, 0))
            continue;
        pg_col_text(r, i, 1, status, sizeof status);
        webhook_counts_add(out, pg_col_i64(r, i, 0), status, pg_col_i64(r, i, 2));
    }
    PQclear(r);
    return SI_OK;
}

/* ---- retention ---------------------------------------------------------------------------- */

/* As SQLite's: finished deliveries by last try, then events with no delivery left. Each runs
 * alone (autocommit), so its locks last one short statement; two servers sweeping at once
 * delete a row once (the second waits for the first's row lock and then skips it). */
static const char SQL_SWEEP_DELIVERIES[] =
    "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries"
    " WHERE status <> 'Queued' AND updated_ms < $1::bigint ORDER BY updated_ms"
    " LIMIT $2::bigint)";
static const char SQL_SWEEP_EVENTS[] =
    "DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e"
    " WHERE e.created_ms < $1::bigint AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
    " WHERE d.event_id = e.id) ORDER BY e.created_ms LIMIT $2::bigint)";

static enum si_err sweep_one(void *be, const char *sql, si_ms before, int max, int64_t *n)
{
    struct pg_args a = {0};
    pg_arg_i64(&a, before);
    pg_arg_i64(&a, max);
    return exec_count(be, sql, &a, "sweep webhook history", n);
}

static enum si_err pg_wh_sweep(void *be, bool events, si_ms before, int max, int64_t *n)
{
    return sweep_one(be, events ? SQL_SWEEP_EVENTS : SQL_SWEEP_DELIVERIES, before, max, n);
}

const struct webhook_ops pg_webhook_ops = {
    .create = pg_wh_create,
    .list = pg_wh_list,
    .get = pg_wh_get,
    .update = pg_wh_update,
    .remove = pg_wh_remove,
    .test = pg_wh_test,
    .deliveries = pg_wh_deliveries,
    .claim = pg_wh_claim,
    .result = pg_wh_result,
    .counts = pg_wh_counts,
    .sweep = pg_wh_sweep,
};
