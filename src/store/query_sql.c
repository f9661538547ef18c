/* The Query Invites statement, written once for both backends: turns a struct invite_query
 * into one SELECT whose every value is a bound parameter (query_sql.h). */
#include "store/query_sql.h"

#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Appends SQL text; values never go through here, only through the *_param helpers. */
static void put(struct query_sql *b, const char *s)
{
    if (!b->err)
        b->err = buf_puts(&b->sql, s);
}

/* The parameter holding now (the second one, see query_sql_build). */
static void put_now(struct query_sql *b)
{
    if (!b->err)
        b->err = buf_printf(&b->sql, "%c2", b->d->placeholder);
}

/* The status a reader sees: Pending past its expiry is Expired. */
static void put_effective_status(struct query_sql *b)
{
    put(b, "(CASE WHEN i.status = 'Pending' AND i.expires_ms <= ");
    put_now(b);
    put(b, " THEN 'Expired' ELSE i.status END)");
}

static struct query_param *new_param(struct query_sql *b)
{
    if (b->np == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->params = xrealloc(b->params, (size_t)b->cap * sizeof *b->params);
    }
    struct query_param *p = &b->params[b->np++];
    memset(p, 0, sizeof *p);
    if (!b->err)
        b->err = buf_printf(&b->sql, "%c%d", b->d->placeholder, b->np);
    return p;
}

/* Appends a placeholder for text v; lower = ASCII-lowercase a copy first (emails, IDs). */
static void text_param(struct query_sql *b, const char *v, bool lower)
{
    struct query_param *p = new_param(b);
    p->text = v ? v : "";
    if (lower) {
        p->owned = xstrdup(p->text);
        for (char *c = p->owned; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        p->text = p->owned;
    }
}

/* Appends a placeholder for an integer (times, counts). */
static void int_param(struct query_sql *b, int64_t v)
{
    struct query_param *p = new_param(b);
    p->is_int = true;
    p->i = v;
}

/* ",id," so that a substring search on ",a,b," matches whole IDs only. */
static void policy_param(struct query_sql *b, const char *id)
{
    struct query_param *p = new_param(b);
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
static enum si_err status_eq(struct query_sql *b, const char *name)
{
    enum invite_status st;
    if (!name || !invite_status_parse(name, &st))
        return SI_EINVAL;
    /* The dialect's status and expiry columns: SQLite writes them with a unary plus to keep
     * its planner (no statistics) off the status index; walking the sort order and filtering
     * gives the first page at once when matches are common. */
    const struct query_dialect *d = b->d;
    if (st == INVITE_PENDING) {
        put(b, "(");
        put(b, d->status_col);
        put(b, " = 'Pending' AND ");
        put(b, d->expires_col);
        put(b, " > ");
        put_now(b);
        put(b, ")");
    } else if (st == INVITE_EXPIRED) {
        put(b, "(");
        put(b, d->status_col);
        put(b, " = 'Expired' OR (");
        put(b, d->status_col);
        put(b, " = 'Pending' AND ");
        put(b, d->expires_col);
        put(b, " <= ");
        put_now(b);
        put(b, "))");
    } else {
        put(b, d->status_col);
        put(b, " = ");
        text_param(b, name, false);
    }
    return SI_OK;
}

/* A status condition; every status test goes through status_eq to honour lazy expiry. */
static enum si_err status_cond(struct query_sql *b, const struct query_cond *c)
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
        put_effective_status(b);
        put(b, op);
        text_param(b, c->values[0], false);
        return SI_OK;
    }
    put(b, "(");
    put(b, b->d->no);
    for (int i = 0; !rc && i < c->n; i++) {
        put(b, " OR ");
        rc = status_eq(b, c->values[i]);
    }
    put(b, ")");
    return rc;
}

/* email_key and accepted_by: plain text columns, compared lowercased. */
static enum si_err text_cond(struct query_sql *b, const char *col, const struct query_cond *c)
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
        put(b, b->d->no);
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
static enum si_err date_cond(struct query_sql *b, const struct query_cond *c)
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
    if (c->n)
        put(b, "i.created_ms IN (");
    else {
        put(b, "(");
        put(b, b->d->no);
    }
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
static enum si_err policy_cond(struct query_sql *b, const struct query_cond *c)
{
    if (c->op == QOP_HAS_SOME || c->op == QOP_IN) {
        put(b, "(");
        put(b, b->d->no);
        for (int i = 0; i < c->n; i++) {
            put(b, " OR ");
            put(b, b->d->find);
            put(b, "(i.policy_ids, ");
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
    put(b, c->op == QOP_NE ? "NOT (" : "(");
    put(b, b->d->yes);
    for (int i = 0; i < c->n; i++) {
        if (seen_before(c, i))
            continue;
        distinct++;
        put(b, " AND ");
        put(b, b->d->find);
        put(b, "(i.policy_ids, ");
        policy_param(b, c->values[i]);
        put(b, ") > 0");
    }
    put(b, " AND length(i.policy_ids) - length(replace(i.policy_ids, ',', '')) = ");
    int_param(b, distinct + 1);
    put(b, ")");
    return SI_OK;
}

/* Appends one condition, ANDed to the rest. SI_EINVAL for a shape the field cannot take. */
static enum si_err add_cond(struct query_sql *b, const struct query_cond *c)
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

/* The sort column. by_email: the filter pins emails ($eq/$in), so the email index finds the
 * few rows faster than walking the dateCreated index; SQLite's "+" stops that walk looking
 * attractive to a planner without statistics (pinned_created). */
static void put_sort_key(struct query_sql *b, enum sort_field f, bool by_email)
{
    switch (f) {
    case SORT_EMAIL:
        put(b, "i.email_key");
        return;
    case SORT_STATUS:
        put_effective_status(b);
        return;
    case SORT_DATE_CREATED:
        break;
    }
    put(b, by_email ? b->d->pinned_created : "i.created_ms");
}

/* Whether a condition narrows the query to given email addresses. */
static bool pins_email(const struct invite_query *q)
{
    for (int i = 0; i < q->ncond && i < QUERY_CONDS_MAX; i++) {
        const struct query_cond *c = &q->conds[i];
        if (c->field == QF_EMAIL && (c->op == QOP_EQ || c->op == QOP_IN || c->op == QOP_HAS_SOME))
            return true;
    }
    return false;
}

/* Rows strictly after (key, id). Written as "key >= k AND (key > k OR id > i)" rather than an
 * OR at the top so the (site_id, key, id) index gives a range scan. */
static enum si_err add_keyset(struct query_sql *b, const struct invite_query *q)
{
    bool pinned = pins_email(q);
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
        put_sort_key(b, q->sort, pinned);
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

/* Sorting by status. The status a reader sees depends on now, so no index orders by it; but it
 * is the stored status except for Pending, which splits at now. The order is therefore a
 * concatenation of ranges, each one index range of invites_site_status_id (site_id, status, id,
 * expires_ms) in ID order: read at most the page's rows from each range in sort order, and the
 * statement costs the page, not the site (150 ms at 100,000 invites as one sort, issue 13). */
struct status_range {
    enum invite_status stored;
    int expiry; /* 0 any; -1 expires_ms <= now (shown Expired); 1 expires_ms > now */
    enum invite_status shown;
    int rank; /* the shown name's place in byte order, the API's sort order */
};

/* In the wire names' byte order: Declined < Deleted < Expired < Pending < Used. Expired is two
 * ranges (stored Expired, and Pending past its expiry that no sweep has stored yet), merged by
 * the outer ORDER BY. */
static const struct status_range status_ranges[] = {
    {INVITE_DECLINED, 0, INVITE_DECLINED, 0}, {INVITE_DELETED, 0, INVITE_DELETED, 1},
    {INVITE_EXPIRED, 0, INVITE_EXPIRED, 2},   {INVITE_PENDING, -1, INVITE_EXPIRED, 2},
    {INVITE_PENDING, 1, INVITE_PENDING, 3},   {INVITE_USED, 0, INVITE_USED, 4},
};

#define STATUS_RANGES (int)(sizeof status_ranges / sizeof status_ranges[0])

/* Whether the query's status conditions can hold for invites shown as name. Only what is
 * certain prunes a range: ordering operators are left to the SQL, which still carries every
 * condition. */
static bool status_allowed(const struct invite_query *q, const char *name)
{
    for (int i = 0; i < q->ncond && i < QUERY_CONDS_MAX; i++) {
        const struct query_cond *c = &q->conds[i];
        if (c->field != QF_STATUS || c->n < 1 || c->n > QUERY_VALUES_MAX)
            continue;
        bool hit = false;
        for (int k = 0; k < c->n; k++)
            hit = hit || (c->values[k] && strcmp(c->values[k], name) == 0);
        if ((c->op == QOP_EQ || c->op == QOP_IN || c->op == QOP_HAS_SOME) && !hit)
            return false;
        if (c->op == QOP_NE && c->n == 1 && hit)
            return false;
    }
    return true;
}

/* Takes the text appended since mark back out of the statement: text written once, pasted into
 * each range. Its placeholders keep their numbers, which both dialects let a statement reuse. */
static char *cut_since(struct query_sql *b, size_t mark)
{
    if (b->err || b->sql.len < mark)
        return xstrdup("");
    char *s = xstrndup(b->sql.data + mark, b->sql.len - mark);
    b->sql.len = mark;
    if (b->sql.data)
        b->sql.data[mark] = '\0';
    return s;
}

/* A reference to parameter n, already made. */
static void put_ref(struct query_sql *b, int n)
{
    if (!b->err)
        b->err = buf_printf(&b->sql, "%c%d", b->d->placeholder, n);
}

/* One range's subquery: its rows in ID order, at most take of them (parameter n_take). */
static void put_range(struct query_sql *b, const struct status_range *r, const char *where,
                      bool at_cursor, int n_after, int n_take, bool desc)
{
    if (!b->err)
        b->err = buf_printf(&b->sql, "SELECT r.*, %d AS si_rank FROM (", r->rank);
    put(b, r->expiry < 0 ? b->d->overdue_select : b->d->select);
    put(b, where);
    put(b, " AND i.status = '");
    put(b, invite_status_name(r->stored)); /* a constant of ours, not a value */
    put(b, "'");
    if (r->expiry) {
        /* Overdue Pending rows are few (the sweep stores them Expired): the expiry index finds
         * them. The live ones are walked in ID order, skipping the overdue by the index's
         * expires_ms (the dialect's column keeps SQLite on the ID-ordered index). */
        put(b, r->expiry < 0 ? " AND i.expires_ms <= " : " AND ");
        if (r->expiry > 0) {
            put(b, b->d->expires_col);
            put(b, " > ");
        }
        put_now(b);
    }
    if (at_cursor) {
        put(b, desc ? " AND i.id < " : " AND i.id > ");
        put_ref(b, n_after);
    }
    put(b, " ORDER BY ");
    put(b, r->expiry < 0 ? b->d->overdue_id : "i.id");
    put(b, desc ? " DESC LIMIT " : " ASC LIMIT ");
    put_ref(b, n_take);
    put(b, ") AS r");
}

/* The status sort as ranges (see status_ranges): the ranges at or after the cursor that the
 * status filter allows, each cut to the rows a page can use, then ordered by (range, ID). */
static enum si_err build_by_status(struct query_sql *b, const char *site_id,
                                   const struct invite_query *q, si_ms now, int limit)
{
    enum si_err rc = SI_OK;
    put(b, " WHERE i.site_id = ");
    text_param(b, site_id, false);
    put(b, " AND ");
    int_param(b, now); /* parameter 2 (put_now) */
    put(b, " IS NOT NULL");
    for (int i = 0; !rc && i < q->ncond; i++)
        rc = add_cond(b, &q->conds[i]);
    char *where = cut_since(b, 0);
    int n_after = 0;
    if (!rc && q->has_after) {
        if (!q->after_key)
            rc = SI_EINVAL;
        else {
            text_param(b, q->after_id, true);
            n_after = b->np;
        }
    }
    int64_t take = (int64_t)q->offset + limit + 1; /* what the page can use of one range */
    int_param(b, take);
    int n_take = b->np;
    free(cut_since(b, 0));
    int ranges = 0;
    for (int k = 0; !rc && k < STATUS_RANGES; k++) {
        const struct status_range *r = &status_ranges[q->desc ? STATUS_RANGES - 1 - k : k];
        const char *name = invite_status_name(r->shown);
        int past = q->has_after ? strcmp(name, q->after_key) * (q->desc ? -1 : 1) : 1;
        if (past < 0 || !status_allowed(q, name))
            continue;
        put(b, ranges++ ? " UNION ALL " : "");
        put_range(b, r, where, past == 0, n_after, n_take, q->desc);
    }
    if (!rc && !ranges) { /* nothing can match: an empty range keeps one statement shape */
        put(b, "SELECT r.*, 0 AS si_rank FROM (");
        put(b, b->d->select);
        put(b, where);
        put(b, " AND ");
        put(b, b->d->no);
        put(b, ") AS r");
    }
    free(where);
    const char *dir = q->desc ? " DESC" : " ASC";
    put(b, " ORDER BY si_rank");
    put(b, dir);
    put(b, ", id");
    put(b, dir);
    put(b, " LIMIT ");
    int_param(b, limit + 1);
    put(b, " OFFSET ");
    int_param(b, q->offset);
    return rc ? rc : b->err;
}

enum si_err query_sql_build(struct query_sql *b, const struct query_dialect *d, const char *site_id,
                            const struct invite_query *q, si_ms now, int limit)
{
    enum si_err rc = SI_OK;
    memset(b, 0, sizeof *b);
    b->d = d;
    if (q->ncond < 0 || q->ncond > QUERY_CONDS_MAX || q->offset < 0)
        return SI_EINVAL;
    /* With emails pinned the few rows are found by the email index and sorted. */
    if (q->sort == SORT_STATUS && !pins_email(q)) {
        buf_init(&b->sql, QUERY_SQL_TEXT_MAX * (STATUS_RANGES + 1));
        return build_by_status(b, site_id, q, now, limit);
    }
    buf_init(&b->sql, QUERY_SQL_TEXT_MAX);
    put(b, d->select);
    put(b, " WHERE i.site_id = ");
    text_param(b, site_id, false);
    put(b, " AND ");
    int_param(b, now); /* parameter 2, used by the lazy-expiry expressions (put_now) */
    put(b, " IS NOT NULL");
    for (int i = 0; !rc && i < q->ncond; i++)
        rc = add_cond(b, &q->conds[i]);
    if (!rc && q->has_after)
        rc = add_keyset(b, q);
    const char *dir = q->desc ? " DESC" : " ASC";
    put(b, " ORDER BY ");
    put_sort_key(b, q->sort, pins_email(q));
    put(b, dir);
    put(b, ", i.id");
    put(b, dir);
    put(b, " LIMIT ");
    int_param(b, limit + 1); /* one more than asked tells whether a next page exists */
    put(b, " OFFSET ");
    int_param(b, q->offset);
    return rc ? rc : b->err;
}

void query_sql_cleanup(struct query_sql *b)
{
    for (int i = 0; i < b->np; i++)
        free(b->params[i].owned);
    free(b->params);
    buf_cleanup(&b->sql);
    b->params = NULL;
    b->np = b->cap = 0;
}
