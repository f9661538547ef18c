/* SQLite audit log: writing entries inside the callers' write transactions (changes, answers,
 * bulk creates, contributors, expiry) and reading a site's pages. */
#include "sqlite_int.h"

#include "common/xalloc.h"
#include "store/audit_sql.h"

#include <stdlib.h>
#include <string.h>

static const struct sq_sql SQL_INSERT = {
    SQ_AUDIT_INSERT, "INSERT INTO audit_log (" AUDIT_INSERT_COLS ")"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"};

/* A batch row (store/audit_sql.h) takes the ids after every entry written so far: its own id
 * is the last of its n (?13), and the next row's automatic id follows it. Only the writer
 * inserts, inside its transaction, so max(id) cannot move under it. */
static const struct sq_sql SQL_INSERT_BATCH = {
    SQ_AUDIT_INSERT_BATCH, "INSERT INTO audit_log (id, " AUDIT_INSERT_COLS ", n)"
                           " VALUES ((SELECT coalesce(max(id), 0) FROM audit_log) + ?13,"
                           " ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

/* Prepares q and binds the row's values (and, for a batch row, its count n as ?13). */
static enum si_err insert_row(struct sq_conn *c, const struct sq_sql *q,
                              const char *const v[AUDIT_INSERT_NCOLS], si_ms time, int64_t n)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, q, &s);
    if (rc)
        return rc;
    int b = 0;
    for (int i = 0; i < AUDIT_INSERT_NCOLS; i++)
        b |= i == 10 ? sqlite3_bind_int64(s, i + 1, time) : TEXT(s, i + 1, v[i]);
    if (n > 0)
        b |= sqlite3_bind_int64(s, AUDIT_INSERT_NCOLS + 1, n);
    if (b) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_exec_stmt(c, s, "write audit entry");
}

enum si_err sq_audit_add(struct sq_conn *c, const struct audit_entry *e)
{
    const char *v[AUDIT_INSERT_NCOLS];
    char num[AUDIT_SQL_NUM_MAX];
    audit_sql_values(e, v, num);
    return insert_row(c, &SQL_INSERT, v, e->time, 0);
}

enum si_err sq_audit_add_step(void *conn, const struct audit_entry *e)
{
    return sq_audit_add(conn, e);
}

/* Writes the batch of entries like e (its target and changes aside), then empties it. */
static enum si_err write_batch(struct sq_conn *c, const struct audit_entry *e,
                               struct audit_batch *b)
{
    const char *v[AUDIT_INSERT_NCOLS];
    char num[AUDIT_SQL_NUM_MAX];
    audit_sql_batch_values(e, b, v, num);
    enum si_err rc = insert_row(c, &SQL_INSERT_BATCH, v, e->time, b->n);
    audit_batch_cleanup(b);
    audit_batch_init(b);
    return rc;
}

enum si_err sq_audit_created(struct sq_conn *c, const struct bulk_request *req)
{
    struct audit_batch b;
    struct audit_entry e = {.id = 0};
    struct buf changes;
    enum si_err rc = SI_OK;
    audit_batch_init(&b);
    buf_init(&changes, 0);
    for (size_t i = 0; !rc && i < req->n; i++) {
        const struct invite *v = &req->items[i].invite;
        if (req->items[i].outcome != BULK_CREATED)
            continue;
        if (b.n == 0) /* the shared fields: the call's, the same for each of its invites */
            audit_invite_created_shared(v, req->actor, &e);
        buf_reset(&changes);
        audit_created_changes(v, &changes);
        audit_batch_add(&b, v->id, changes.data);
        if (b.n == AUDIT_BATCH_MAX)
            rc = write_batch(c, &e, &b);
    }
    if (!rc && b.n > 0)
        rc = write_batch(c, &e, &b);
    audit_batch_cleanup(&b);
    buf_cleanup(&changes);
    return rc;
}

/* An expired invite the statement returned: its ID and site. */
struct expired_row {
    char id[SI_ID_LEN];
    char site_id[SI_ID_LEN];
};

enum si_err sq_audit_expired(struct sq_conn *c, sqlite3_stmt *s, si_ms now, int64_t *n)
{
    struct expired_row *rows = NULL;
    size_t got = 0, cap = 0;
    int step;
    *n = 0;
    /* Every row first: the statement's changes are made and returned before its first row. */
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (got == cap) {
            cap = cap ? cap * 2 : SQ_LIST_INITIAL;
            rows = xrealloc(rows, cap * sizeof *rows);
        }
        sq_col_text(s, 0, rows[got].id, sizeof rows[got].id);
        sq_col_text(s, 1, rows[got].site_id, sizeof rows[got].site_id);
        got++;
    }
    enum si_err rc = step == SQLITE_DONE ? SI_OK : sq_fail(c, "expire invites");
    sq_done(s);
    const struct audit_actor system = {.type = AUDIT_ACTOR_SYSTEM};
    for (size_t i = 0; !rc && i < got; i++) {
        struct audit_entry e = {.action = AUDIT_INVITE_EXPIRED,
                                .actor = system,
                                .target_type = AUDIT_TARGET_INVITE,
                                .time = now,
                                .changes = (char *)audit_expired_changes()}; /* only read */
        memcpy(e.site_id, rows[i].site_id, sizeof e.site_id);
        memcpy(e.target_id, rows[i].id, sizeof rows[i].id);
        rc = sq_audit_add(c, &e);
    }
    free(rows);
    if (!rc)
        *n = (int64_t)got;
    return rc;
}

/* Steps s once: a returned row's first column becomes the entry's account when it has none. */
static enum si_err step_admin(struct sq_conn *c, sqlite3_stmt *s, const char *what,
                              struct audit_entry *e)
{
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW && !e->account_id[0])
        sq_col_text(s, 0, e->account_id, sizeof e->account_id);
    while (step == SQLITE_ROW)
        step = sqlite3_step(s);
    enum si_err rc =
        step == SQLITE_DONE ? SI_OK : sq_constraint(c, sqlite3_extended_errcode(c->db), what);
    sq_done(s);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = SI_ENOTFOUND;
    return rc;
}

enum si_err sq_audit_admin_run(struct sq_conn *c, sqlite3_stmt *s, int bind_rc, const char *what,
                               struct audit_entry *e)
{
    if (bind_rc) {
        sq_done(s);
        return sq_fail(c, what);
    }
    enum si_err rc = sq_begin(c);
    if (rc) {
        sq_done(s);
        return rc;
    }
    rc = step_admin(c, s, what, e);
    if (!rc)
        rc = sq_audit_add(c, e);
    if (!rc)
        return sq_commit(c);
    sq_rollback(c);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

static void expand_row(sqlite3_stmt *s, const struct audit_query *q, struct audit_page *p,
                       size_t cap)
{
    const char *col[AUDIT_NCOLS];
    for (int i = 0; i < AUDIT_NCOLS; i++)
        col[i] = (const char *)sqlite3_column_text(s, i);
    audit_sql_expand(col, q, p, cap);
}

/* Binds the page read's parameters: its numbers as integers, the rest as text. */
static int bind_all(sqlite3_stmt *s, const struct audit_sql *a)
{
    int b = 0;
    for (int i = 0; i < a->n; i++) {
        const char *v = a->values[i];
        b |= a->number[i] ? sqlite3_bind_int64(s, i + 1, strtoll(v, NULL, 10)) : TEXT(s, i + 1, v);
    }
    return b;
}

enum si_err sq_audit_list(void *be, const struct audit_query *q, struct audit_page *out)
{
    struct audit_sql a;
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof *out);
    audit_sql_build(q, '?', &a);
    enum si_err rc = sq_borrow(be, &c);
    if (!rc)
        rc = sq_prep_dyn(c, a.text.data, &s);
    if (!rc && bind_all(s, &a))
        rc = sq_fail(c, "bind");
    size_t cap = (size_t)q->limit + 1; /* a row holds at least one entry: limit + 1 rows do */
    out->items = xcalloc(cap, sizeof *out->items);
    int step = SQLITE_DONE;
    while (!rc && out->n < cap && (step = sqlite3_step(s)) == SQLITE_ROW)
        expand_row(s, q, out, cap);
    if (!rc && out->n == cap)
        step = SQLITE_DONE; /* full: the rows left are the next page's */
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(c, "read audit log");
    sq_done(s);
    sq_return(be, c);
    audit_sql_cleanup(&a);
    if (rc)
        audit_page_cleanup(out);
    else
        audit_page_trim(out, q->limit);
    return rc;
}
