/* Query Invites on SQLite: the statement from query_sql.c in SQLite's dialect, bound and read
 * into a page. */
#include "sqlite_int.h"

#include "store/query_sql.h"
#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* SQLite's dialect. The unary plus keeps its planner, which has no statistics, off the status
 * index and, when emails are pinned, off the dateCreated walk. */
static const struct query_dialect sqlite_dialect = {
    .placeholder = '?',
    .select = "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM,
    .no = "0",
    .yes = "1",
    .find = "instr",
    .status_col = "+i.status",
    .expires_col = "+i.expires_ms",
    .pinned_created = "+i.created_ms",
    .overdue_id = "+i.id",
    .overdue_select =
        "SELECT " SQ_INVITE_COLS
        " FROM invites i INDEXED BY invites_status_expires_site" SQ_INVITE_LATEST_EMAIL,
};

/* Binds every parameter in order; texts live in the query or the builder until the reset. */
static enum si_err bind_all(struct sq_conn *c, sqlite3_stmt *s, const struct query_sql *b)
{
    for (int i = 0; i < b->np; i++) {
        const struct query_param *p = &b->params[i];
        int rc = p->is_int ? sqlite3_bind_int64(s, i + 1, p->i)
                           : sqlite3_bind_text(s, i + 1, p->text, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return sq_fail(c, "bind query");
    }
    return SI_OK;
}

/* Reads up to limit rows; one more row means there is a next page. */
static enum si_err read_page(struct sq_conn *c, sqlite3_stmt *s, int limit, struct invite_page *out)
{
    int step;
    out->items = xcalloc((size_t)limit, sizeof *out->items);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->n == (size_t)limit) {
            out->has_next = true;
            return SI_OK;
        }
        sq_read_invite(s, &out->items[out->n++]);
    }
    return step == SQLITE_DONE ? SI_OK : sq_fail(c, "run query");
}

enum si_err sq_invites_query(void *be, const char *site_id, const struct invite_query *q, si_ms now,
                             struct invite_page *out)
{
    struct query_sql b;
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int limit = q->limit <= 0 ? QUERY_LIMIT_DEFAULT : q->limit;
    if (limit > QUERY_LIMIT_MAX)
        limit = QUERY_LIMIT_MAX;
    memset(out, 0, sizeof *out);
    out->total = -1;
    enum si_err rc = query_sql_build(&b, &sqlite_dialect, site_id, q, now, limit);
    if (rc)
        goto out;
    rc = sq_borrow(be, &c);
    if (rc)
        goto out;
    rc = sq_prep_dyn(c, b.sql.data, &s);
    if (!rc)
        rc = bind_all(c, s, &b);
    if (!rc)
        rc = read_page(c, s, limit, out);
    /* Cheap to know only when this page reached the end without a cursor in front of it. */
    if (!rc && !out->has_next && !q->has_after)
        out->total = (int64_t)q->offset + (int64_t)out->n;
out:
    sq_done(s);
    sq_return(be, c);
    query_sql_cleanup(&b);
    if (rc)
        invite_page_cleanup(out);
    return rc;
}
