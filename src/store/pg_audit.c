/* PostgreSQL audit log: writing entries inside the callers' transactions (changes, answers,
 * bulk creates in one statement, contributors, expiry) and reading a site's pages. */
#include "pg_int.h"

#include "common/xalloc.h"
#include "store/audit_sql.h"

#include <stdlib.h>
#include <string.h>

static const struct pg_sql SQL_INSERT = {
    PG_AUDIT_INSERT, "INSERT INTO audit_log (" AUDIT_INSERT_COLS ")"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::bigint, $12)"};
/* The invite.created entries of bulk calls of one site (one call, or a group commit's several):
 * one batch row per call (store/audit_sql.h), with its call's actor and time, in order. */
static const struct pg_sql SQL_BULK = {
    PG_AUDIT_BULK,
    "INSERT INTO audit_log (" AUDIT_INSERT_COLS ", n)"
    " SELECT $1, '', $2, u.atype, u.aid, u.aname, u.aemail, $3, u.ids, u.rid, u.t, u.changes, u.n"
    " FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
    " $10::text[], $11::bigint[], $12::integer[]) WITH ORDINALITY"
    " AS u(ids, changes, atype, aid, aname, aemail, rid, t, n, k) ORDER BY u.k"};

enum si_err pg_audit_add(struct pg_conn *c, const struct audit_entry *e)
{
    const char *v[AUDIT_INSERT_NCOLS];
    char num[AUDIT_SQL_NUM_MAX];
    audit_sql_values(e, v, num);
    struct pg_args a = {0};
    for (int i = 0; i < AUDIT_INSERT_NCOLS; i++)
        pg_arg(&a, v[i]);
    return pg_exec(c, &SQL_INSERT, &a, "write audit entry", NULL);
}

enum si_err pg_audit_add_step(void *conn, const struct audit_entry *e)
{
    return pg_audit_add(conn, e);
}

#define BULK_AUDIT_ARRAYS 9 /* the unnest columns of SQL_BULK */

/* Adds b as one row of the columns, with who and the call's time, then empties it. */
static void add_row(struct buf col[BULK_AUDIT_ARRAYS], struct audit_batch *b,
                    const struct audit_actor *who, si_ms now)
{
    pg_array_add(&col[0], b->targets.data);
    pg_array_add(&col[1], b->changes.data);
    pg_array_add(&col[2], audit_actor_type_name(who->type));
    pg_array_add(&col[3], who->id);
    pg_array_add(&col[4], who->name);
    pg_array_add(&col[5], who->email);
    pg_array_add(&col[6], who->request_id);
    pg_array_add_i64(&col[7], now);
    pg_array_add_i64(&col[8], b->n);
    audit_batch_cleanup(b);
    audit_batch_init(b);
}

/* Adds the batch rows of req's created invites (none when it created none) to the columns;
 * returns how many rows. */
static size_t add_created_rows(const struct bulk_request *req, struct buf col[BULK_AUDIT_ARRAYS],
                               struct audit_batch *b, struct buf *one)
{
    struct audit_actor who;
    audit_actor_or_system(req->actor, &who);
    size_t rows = 0;
    for (size_t i = 0; i < req->n; i++) {
        const struct invite *v = &req->items[i].invite;
        if (req->items[i].outcome != BULK_CREATED)
            continue;
        buf_reset(one);
        audit_created_changes(v, one);
        audit_batch_add(b, v->id, one->data);
        if (b->n == AUDIT_BATCH_MAX) {
            add_row(col, b, &who, req->now);
            rows++;
        }
    }
    if (b->n > 0) {
        add_row(col, b, &who, req->now);
        rows++;
    }
    return rows;
}

/* The invite.created rows of n calls of one site, as SQL_BULK's columns. */
struct created_rows {
    struct buf col[BULK_AUDIT_ARRAYS];
    size_t n;
};

static void created_rows_build(struct created_rows *rows, const struct bulk_request *const *reqs,
                               size_t n)
{
    struct buf one;
    struct audit_batch b;
    for (int k = 0; k < BULK_AUDIT_ARRAYS; k++)
        pg_array_init(&rows->col[k]);
    buf_init(&one, 0);
    audit_batch_init(&b);
    rows->n = 0;
    for (size_t r = 0; r < n; r++)
        rows->n += add_created_rows(reqs[r], rows->col, &b, &one);
    for (int k = 0; k < BULK_AUDIT_ARRAYS; k++)
        pg_array_end(&rows->col[k]);
    buf_cleanup(&one);
    audit_batch_cleanup(&b);
}

/* SQL_BULK's arguments for rows of site_id; they point into rows. */
static void created_rows_args(const struct created_rows *rows, const char *site_id,
                              struct pg_args *a)
{
    *a = (struct pg_args){0};
    pg_arg(a, site_id);
    pg_arg(a, audit_action_name(AUDIT_INVITE_CREATED));
    pg_arg(a, audit_target_type_name(AUDIT_TARGET_INVITE));
    for (int k = 0; k < BULK_AUDIT_ARRAYS; k++)
        pg_arg(a, rows->col[k].data);
}

static void created_rows_cleanup(struct created_rows *rows)
{
    for (int k = 0; k < BULK_AUDIT_ARRAYS; k++)
        buf_cleanup(&rows->col[k]);
}

enum si_err pg_audit_created_calls(struct pg_conn *c, const struct bulk_request *const *reqs,
                                   size_t n)
{
    struct created_rows rows;
    created_rows_build(&rows, reqs, n);
    enum si_err rc = SI_OK;
    if (rows.n > 0) {
        struct pg_args a;
        created_rows_args(&rows, reqs[0]->site_id, &a);
        rc = pg_exec(c, &SQL_BULK, &a, "write audit entries", NULL);
    }
    created_rows_cleanup(&rows);
    return rc;
}

void pg_audit_created_send(struct pg_pipe *p, const struct bulk_request *const *reqs, size_t n)
{
    struct created_rows rows;
    created_rows_build(&rows, reqs, n);
    if (rows.n > 0) {
        struct pg_args a;
        created_rows_args(&rows, reqs[0]->site_id, &a);
        pg_pipe_send(p, &SQL_BULK, &a, "write audit entries"); /* copies the arguments */
    }
    created_rows_cleanup(&rows);
}

/* Runs q inside the caller's transaction: SI_ENOTFOUND when it changed no row. */
static enum si_err run_admin(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
                             const char *what, struct audit_entry *e)
{
    PGresult *r = NULL;
    enum si_err rc = pg_exec(c, q, a, what, &r);
    if (!rc && PQntuples(r) > 0 && !e->account_id[0])
        pg_col_text(r, 0, 0, e->account_id, sizeof e->account_id);
    if (!rc && PQntuples(r) == 0 && strcmp(PQcmdTuples(r), "0") == 0)
        rc = SI_ENOTFOUND;
    PQclear(r);
    return rc;
}

enum si_err pg_audit_admin_run(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                               const char *what, struct audit_entry *e)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (!rc) {
        rc = run_admin(c, q, a, what, e);
        if (!rc)
            rc = pg_audit_add(c, e);
        if (!rc)
            rc = pg_commit(c);
        else
            pg_rollback(c);
    }
    pg_return(st, c);
    return rc;
}

enum si_err pg_audit_list(void *be, const struct audit_query *q, struct audit_page *out)
{
    struct audit_sql a;
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    audit_sql_build(q, '$', &a);
    enum si_err rc = pg_borrow(be, &c);
    if (!rc)
        rc = pg_exec_dyn(c, a.text.data, a.n, a.values, NULL, "read audit log", &r);
    pg_return(be, c);
    audit_sql_cleanup(&a);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    size_t cap = (size_t)q->limit + 1; /* a row holds at least one entry: limit + 1 rows do */
    out->items = xcalloc(cap, sizeof *out->items);
    for (int i = 0; i < rows && out->n < cap; i++) {
        const char *col[AUDIT_NCOLS];
        for (int k = 0; k < AUDIT_NCOLS; k++)
            col[k] = PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k);
        audit_sql_expand(col, q, out, cap);
    }
    PQclear(r);
    audit_page_trim(out, q->limit);
    return SI_OK;
}
