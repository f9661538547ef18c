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
/* The invite.created entries of a bulk call: the call's actor and time once, one row per
 * created invite (ID and changes zipped by unnest), in item order like the invites. */
static const struct pg_sql SQL_BULK = {
    PG_AUDIT_BULK,
    "INSERT INTO audit_log (" AUDIT_INSERT_COLS ")"
    " SELECT $1, '', $2, $3, $4, $5, $6, $7, u.id, $8, $9::bigint, u.changes"
    " FROM unnest($10::text[], $11::text[]) WITH ORDINALITY AS u(id, changes, n) ORDER BY u.n"};

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

enum si_err pg_audit_created(struct pg_conn *c, const struct bulk_request *req)
{
    struct buf ids, changes, one;
    size_t created = 0;
    pg_array_init(&ids);
    pg_array_init(&changes);
    buf_init(&one, 0);
    for (size_t i = 0; i < req->n; i++) {
        const struct invite *v = &req->items[i].invite;
        if (req->items[i].outcome != BULK_CREATED)
            continue;
        buf_reset(&one);
        audit_created_changes(v, &one);
        pg_array_add(&ids, v->id);
        pg_array_add(&changes, one.data);
        created++;
    }
    pg_array_end(&ids);
    pg_array_end(&changes);
    enum si_err rc = SI_OK;
    if (created > 0) {
        struct audit_actor who;
        audit_actor_or_system(req->actor, &who);
        struct pg_args a = {0};
        pg_arg(&a, req->site_id);
        pg_arg(&a, audit_action_name(AUDIT_INVITE_CREATED));
        pg_arg(&a, audit_actor_type_name(who.type));
        pg_arg(&a, who.id);
        pg_arg(&a, who.name);
        pg_arg(&a, who.email);
        pg_arg(&a, audit_target_type_name(AUDIT_TARGET_INVITE));
        pg_arg(&a, who.request_id);
        pg_arg_i64(&a, req->now);
        pg_arg(&a, ids.data);
        pg_arg(&a, changes.data);
        rc = pg_exec(c, &SQL_BULK, &a, "write audit entries", NULL);
    }
    buf_cleanup(&ids);
    buf_cleanup(&changes);
    buf_cleanup(&one);
    return rc;
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
    out->items = xcalloc(rows ? (size_t)rows : 1, sizeof *out->items);
    for (int i = 0; i < rows; i++) {
        const char *col[AUDIT_NCOLS];
        for (int k = 0; k < AUDIT_NCOLS; k++)
            col[k] = PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k);
        audit_sql_read(col, &out->items[out->n++]);
    }
    PQclear(r);
    audit_page_trim(out, q->limit);
    return SI_OK;
}
