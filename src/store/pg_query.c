/* Query Invites on PostgreSQL: the statement from query_sql.c in PostgreSQL's dialect ($n
 * parameters), run with typed parameters and read into a page. */
#include "pg_int.h"

#include "store/query_sql.h"
#include "common/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OID_INT8 20 /* pg_type OIDs of the parameters we pass */
#define OID_TEXT 25

/* PostgreSQL's dialect: with statistics its planner picks between walking the sort order and
 * the partial pending index by itself, so columns are written plainly. Identifier and key
 * columns are COLLATE "C": text sorts bytewise, as strcmp and the SQLite backend order them. */
static const struct query_dialect pg_dialect = {
    .placeholder = '$',
    .select = "SELECT " PG_INVITE_COLS PG_INVITE_FROM,
    .no = "FALSE",
    .yes = "TRUE",
    .find = "strpos",
    .status_col = "i.status",
    .expires_col = "i.expires_ms",
    .pinned_created = "i.created_ms",
    .overdue_id = "i.id",
    .overdue_select = "SELECT " PG_INVITE_COLS PG_INVITE_FROM,
};

/* Reads up to limit rows; one more row means there is a next page. */
static void read_page(const PGresult *r, int limit, struct invite_page *out)
{
    int rows = PQntuples(r);
    out->items = xcalloc((size_t)limit, sizeof *out->items);
    for (int i = 0; i < rows; i++) {
        if (out->n == (size_t)limit) {
            out->has_next = true;
            return;
        }
        pg_read_invite(r, i, &out->items[out->n++]);
    }
}

/* Runs the built statement with every parameter typed (bigint or text), so generated shapes
 * such as "$2 IS NOT NULL" need no casts. */
static enum si_err run(struct pg_conn *c, const struct query_sql *b, PGresult **r)
{
    const char **values = xcalloc((size_t)b->np + 1, sizeof *values);
    Oid *types = xcalloc((size_t)b->np + 1, sizeof *types);
    char(*nums)[24] = xcalloc((size_t)b->np + 1, sizeof *nums);
    for (int i = 0; i < b->np; i++) {
        const struct query_param *p = &b->params[i];
        if (p->is_int) {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, p->i);
            values[i] = nums[i];
            types[i] = OID_INT8;
        } else {
            values[i] = p->text;
            types[i] = OID_TEXT;
        }
    }
    enum si_err rc = pg_exec_dyn(c, b->sql.data, b->np, values, types, "run query", r);
    free(values);
    free(types);
    free(nums);
    return rc;
}

enum si_err pg_invites_query(void *be, const char *site_id, const struct invite_query *q, si_ms now,
                             struct invite_page *out)
{
    struct query_sql b;
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    int limit = q->limit <= 0 ? QUERY_LIMIT_DEFAULT : q->limit;
    if (limit > QUERY_LIMIT_MAX)
        limit = QUERY_LIMIT_MAX;
    memset(out, 0, sizeof *out);
    out->total = -1;
    enum si_err rc = query_sql_build(&b, &pg_dialect, site_id, q, now, limit);
    if (rc)
        goto out;
    rc = pg_borrow(be, &c);
    if (rc)
        goto out;
    rc = run(c, &b, &r);
    pg_return(be, c);
    if (rc)
        goto out;
    read_page(r, limit, out);
    /* Cheap to know only when this page reached the end without a cursor in front of it. */
    if (!out->has_next && !q->has_after)
        out->total = (int64_t)q->offset + (int64_t)out->n;
out:
    PQclear(r);
    query_sql_cleanup(&b);
    if (rc)
        invite_page_cleanup(out);
    return rc;
}
