/* Query Invites on PostgreSQL: turns a struct invite_query into one SELECT whose every value is
 * a bound parameter ($n), with keyset (cursor) or offset paging, and reads the page. The same
 * shapes as the SQLite backend's builder; texts compare and sort bytewise (COLLATE "C"). */
#include "pg_int.h"

#include "common/buf.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_TEXT_MAX 65536 /* generated SQL; 16 conditions of 100 values fit easily */
#define OID_INT8     20    /* pg_type OIDs of the parameters we pass */
#define OID_TEXT     25

/* The status a reader sees: Pending past its expiry is Expired ($2 is now). */
#define EFFECTIVE_STATUS                                                                           \
    "(CASE WHEN i.status = 'Pending' AND i.expires_ms <= $2 THEN 'Expired' ELSE i.status END)"

/* A bound value: text (owned when we had to make it) or an integer. */
struct param {
    bool is_int;
    int64_t i;
    const char *text;
    char *owned;
};

/* The statement being built: its text and its parameters, numbered from 1. */
struct builder {
    struct buf sql;
    struct param *params;
    int np, cap;
    enum si_err err; /* sticky: the first failure while appending */
};

/* Appends SQL text; values never go through here, only through the *_param helpers. */
static void put(struct builder *b, const char *s)
{
    if (!b->err)
        b->err = buf_puts(&b->sql, s);
}

static struct param *new_param(struct builder *b)
{
    if (b->np == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->params = xrealloc(b->params, (size_t)b->cap * sizeof *b->params);
    }
    struct param *p = &b->params[b->np++];
    memset(p, 0, sizeof *p);
    if (!b->err)
        b->err = buf_printf(&b->sql, "$%d", b->np);
    return p;
}

/* Appends a placeholder for text v; lower = ASCII-lowercase a copy first (emails, IDs). */
static void text_param(struct builder *b, const char *v, bool lower)
{
    struct param *p = new_param(b);
    p->text = v ? v : "";
    if (lower) {
        p->owned = xstrdup(p->text);
        for (char *c = p->owned; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        p->text = p->owned;
    }
}

/* Appends a placeholder for an integer (times, counts). */
static void int_param(struct builder *b, int64_t v)
{
    struct param *p = new_param(b);
    p->is_int = true;
    p->i = v;
}

/* ",id," so that strpos() on ",a,b," matches whole IDs only. */
static void policy_param(struct builder *b, const char *id)
{
    struct param *p = new_param(b);
    p->owned = xasprintf(",%s,", id ? id : "");
    p->text = p->owned;
}

/* The SQL operator of a scalar comparison; NULL for the list operators. */
static const char *compare_op(enum query_op op)
{
    switch (op) {
    case QOP_EQ:
        return " = ";
    case QOP_NE:
        return " <> ";
    case QOP_GT:
        return " > ";
    case QOP_GTE:
        return " >= ";
    case QOP_LT:
        return " < ";
    case QOP_LTE:
        return " <= ";
    case QOP_IN:
    case QOP_HAS_SOME:
        break;
    }
    return NULL;
}

/* One status equality, honouring lazy expiry. */
static enum si_err status_eq(struct builder *b, const char *name)
{
    enum invite_status st;
    if (!name || !invite_status_parse(name, &st))
        return SI_EINVAL;
    /* No index holds "Pending and not yet expired" for every now; with statistics the planner
     * picks between walking the sort order and the partial pending index by itself. */
    if (st == INVITE_PENDING)
        put(b, "(i.status = 'Pending' AND i.expires_ms > $2)");
    else if (st == INVITE_EXPIRED)
        put(b, "(i.status = 'Expired' OR (i.status = 'Pending' AND i.expires_ms <= $2))");
    else {
        put(b, "i.status = ");
        text_param(b, name, false);
    }
    return SI_OK;
}

/* A status condition; every status test goes through status_eq to honour lazy expiry. */
static enum si_err status_cond(struct builder *b, const struct query_cond *c)
{
    enum si_err rc = SI_OK;
    const char *op = compare_op(c->op);
    if (c->op == QOP_EQ || c->op == QOP_NE) {
        if (c->n != 1)
            return SI_EINVAL;
        put(b, c->op == QOP_NE ? "NOT " : "");
        return status_eq(b, c->values[0]);
    }
    if (op) { /* ordering compares the wire names as a reader sees them */
        if (c->n != 1)
            return SI_EINVAL;
        put(b, EFFECTIVE_STATUS);
        put(b, op);
        text_param(b, c->values[0], false);
        return SI_OK;
    }
    put(b, "(FALSE");
    for (int i = 0; !rc && i < c->n; i++) {
        put(b, " OR ");
        rc = status_eq(b, c->values[i]);
    }
    put(b, ")");
    return rc;
}

/* email_key and accepted_by: plain text columns, compared lowercased. */
static enum si_err text_cond(struct builder *b, const char *col, const struct query_cond *c)
{
    const char *op = compare_op(c->op);
    if (op) {
        if (c->n != 1)
            return SI_EINVAL;
        put(b, col);
        put(b, op);
        text_param(b, c->values[0], true);
        return SI_OK;
    }
    if (c->n == 0) {
        put(b, "FALSE");
        return SI_OK;
    }
    put(b, col);
    put(b, " IN (");
    for (int i = 0; i < c->n; i++) {
        put(b, i ? ", " : "");
        text_param(b, c->values[i], true);
    }
    put(b, ")");
    return SI_OK;
}

/* dateCreated: values come from times[] as integers. */
static enum si_err date_cond(struct builder *b, const struct query_cond *c)
{
    const char *op = compare_op(c->op);
    if (op) {
        if (c->n != 1)
            return SI_EINVAL;
        put(b, "i.created_ms");
        put(b, op);
        int_param(b, c->times[0]);
        return SI_OK;
    }
    put(b, c->n ? "i.created_ms IN (" : "(FALSE");
    for (int i = 0; i < c->n; i++) {
        put(b, i ? ", " : "");
        int_param(b, c->times[i]);
    }
    put(b, ")");
    return SI_OK;
}

/* Whether value i repeats an earlier one ($eq compares sets, so repeats must not count). */
static bool seen_before(const struct query_cond *c, int i)
{
    for (int j = 0; j < i; j++)
        if (c->values[j] && c->values[i] && strcmp(c->values[j], c->values[i]) == 0)
            return true;
    return false;
}

/* policyIds: $hasSome/$in = shares any ID; $eq = exactly this set; $ne = not exactly it. */
static enum si_err policy_cond(struct builder *b, const struct query_cond *c)
{
    if (c->op == QOP_HAS_SOME || c->op == QOP_IN) {
        put(b, "(FALSE");
        for (int i = 0; i < c->n; i++) {
            put(b, " OR strpos(i.policy_ids, ");
            policy_param(b, c->values[i]);
            put(b, ") > 0");
        }
        put(b, ")");
        return SI_OK;
    }
    if (c->op != QOP_EQ && c->op != QOP_NE)
        return SI_EINVAL;
    /* Every given ID present, and as many IDs stored (commas = IDs + 1) as distinct given. */
    int distinct = 0;
    put(b, c->op == QOP_NE ? "NOT (TRUE" : "(TRUE");
    for (int i = 0; i < c->n; i++) {
        if (seen_before(c, i))
            continue;
        distinct++;
        put(b, " AND strpos(i.policy_ids, ");
        policy_param(b, c->values[i]);
        put(b, ") > 0");
    }
    put(b, " AND length(i.policy_ids) - length(replace(i.policy_ids, ',', '')) = ");
    int_param(b, distinct + 1);
    put(b, ")");
    return SI_OK;
}

/* Appends one condition, ANDed to the rest. SI_EINVAL for a shape the field cannot take. */
static enum si_err add_cond(struct builder *b, const struct query_cond *c)
{
    if (c->n < 0 || c->n > QUERY_VALUES_MAX)
        return SI_EINVAL;
    put(b, " AND ");
    switch (c->field) {
    case QF_STATUS:
        return status_cond(b, c);
    case QF_EMAIL:
        return text_cond(b, "i.email_key", c);
    case QF_ACCEPTED_BY:
        return text_cond(b, "i.accepted_by", c);
    case QF_POLICY_IDS:
        return policy_cond(b, c);
    case QF_DATE_CREATED:
        return date_cond(b, c);
    }
    return SI_EINVAL;
}

/* The sort column; ties are broken by i.id. Identifier and key columns are COLLATE "C", so
 * text sorts bytewise, as strcmp and the SQLite backend order them. */
static const char *sort_key(enum sort_field f)
{
    switch (f) {
    case SORT_EMAIL:
        return "i.email_key";
    case SORT_STATUS:
        return EFFECTIVE_STATUS;
    case SORT_DATE_CREATED:
        break;
    }
    return "i.created_ms";
}

/* Rows strictly after (key, id). Written as "key >= k AND (key > k OR id > i)" rather than an
 * OR at the top so the (site_id, key, id) index gives a range scan. */
static enum si_err add_keyset(struct builder *b, const struct invite_query *q)
{
    const char *key = sort_key(q->sort);
    const char *ge = q->desc ? " <= " : " >= ", *gt = q->desc ? " < " : " > ";
    int64_t ms = 0;
    if (!q->after_key)
        return SI_EINVAL;
    if (q->sort == SORT_DATE_CREATED) {
        char *end;
        errno = 0;
        ms = strtoll(q->after_key, &end, 10);
        if (errno || end == q->after_key || *end)
            return SI_EINVAL;
    }
    for (int pass = 0; pass < 2; pass++) {
        put(b, pass ? " AND (" : " AND ");
        put(b, key);
        put(b, pass ? gt : ge);
        if (q->sort == SORT_DATE_CREATED)
            int_param(b, ms);
        else
            text_param(b, q->after_key, q->sort == SORT_EMAIL);
    }
    put(b, " OR i.id");
    put(b, gt);
    text_param(b, q->after_id, true);
    put(b, ")");
    return SI_OK;
}

/* The whole statement: site, conditions, keyset, order, limit + 1 and offset. */
static enum si_err build(struct builder *b, const char *site_id, const struct invite_query *q,
                         si_ms now, int limit)
{
    enum si_err rc = SI_OK;
    put(b, "SELECT " PG_INVITE_COLS PG_INVITE_FROM " WHERE i.site_id = ");
    text_param(b, site_id, false);
    put(b, " AND ");
    int_param(b, now); /* $2, used by the lazy-expiry expressions */
    put(b, " IS NOT NULL");
    if (q->ncond < 0 || q->ncond > QUERY_CONDS_MAX || q->offset < 0)
        return SI_EINVAL;
    for (int i = 0; !rc && i < q->ncond; i++)
        rc = add_cond(b, &q->conds[i]);
    if (!rc && q->has_after)
        rc = add_keyset(b, q);
    const char *dir = q->desc ? " DESC" : " ASC";
    put(b, " ORDER BY ");
    put(b, sort_key(q->sort));
    put(b, dir);
    put(b, ", i.id");
    put(b, dir);
    put(b, " LIMIT ");
    int_param(b, limit + 1); /* one more than asked tells whether a next page exists */
    put(b, " OFFSET ");
    int_param(b, q->offset);
    return rc ? rc : b->err;
}

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

static void builder_cleanup(struct builder *b)
{
    for (int i = 0; i < b->np; i++)
        free(b->params[i].owned);
    free(b->params);
    buf_cleanup(&b->sql);
}

/* Runs the built statement with every parameter typed (bigint or text), so generated shapes
 * such as "$2 IS NOT NULL" need no casts. */
static enum si_err run(struct pg_conn *c, const struct builder *b, PGresult **r)
{
    const char **values = xcalloc((size_t)b->np + 1, sizeof *values);
    Oid *types = xcalloc((size_t)b->np + 1, sizeof *types);
    char(*nums)[24] = xcalloc((size_t)b->np + 1, sizeof *nums);
    for (int i = 0; i < b->np; i++) {
        const struct param *p = &b->params[i];
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
    struct builder b = {.err = SI_OK};
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    int limit = q->limit <= 0 ? QUERY_LIMIT_DEFAULT : q->limit;
    if (limit > QUERY_LIMIT_MAX)
        limit = QUERY_LIMIT_MAX;
    memset(out, 0, sizeof *out);
    out->total = -1;
    buf_init(&b.sql, SQL_TEXT_MAX);
    enum si_err rc = build(&b, site_id, q, now, limit);
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
    builder_cleanup(&b);
    if (rc)
        invite_page_cleanup(out);
    return rc;
}
