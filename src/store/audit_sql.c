/* The audit log's SQL text for both backends: a page read with its filters and keyset position,
 * the insert's values, and the row reader. */
#include "audit_sql.h"

#include "common/ids.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends " AND <cond> <mark>N" with value as the next parameter. */
static void add_param(struct audit_sql *a, char mark, const char *cond, const char *value)
{
    a->values[a->n] = value;
    a->n++;
    buf_xputs(&a->text, cond);
    char p[16];
    int len = snprintf(p, sizeof p, "%c%d", mark, a->n);
    buf_xappend(&a->text, p, (size_t)len);
}

/* The text of a number parameter, kept in the slot it will take. */
static const char *num(struct audit_sql *a, int64_t v)
{
    snprintf(a->num[a->n], sizeof a->num[a->n], "%lld", (long long)v);
    a->number[a->n] = true;
    return a->num[a->n];
}

void audit_sql_build(const struct audit_query *q, char mark, struct audit_sql *a)
{
    memset(a, 0, sizeof *a);
    buf_init(&a->text, 0);
    /* The site's entries and its account's own (keys, roles: site_id ''). */
    buf_xputs(&a->text, "SELECT " AUDIT_COLS " FROM audit_log WHERE (");
    add_param(a, mark, "site_id = ", q->site_id);
    add_param(a, mark, " OR (site_id = '' AND account_id = ", q->account_id ? q->account_id : "");
    buf_xputs(&a->text, "))");
    if (q->has_action)
        add_param(a, mark, " AND action = ", audit_action_name(q->action));
    if (q->has_actor_type)
        add_param(a, mark, " AND actor_type = ", audit_actor_type_name(q->actor_type));
    if (q->actor_id)
        add_param(a, mark, " AND actor_id = ", q->actor_id);
    if (q->since)
        add_param(a, mark, " AND time_ms >= ", num(a, q->since));
    if (q->until)
        add_param(a, mark, " AND time_ms < ", num(a, q->until));
    if (q->has_after) {
        add_param(a, mark, " AND (time_ms > ", num(a, q->after_time));
        add_param(a, mark, " OR (time_ms = ", num(a, q->after_time));
        add_param(a, mark, " AND id > ", num(a, q->after_id));
        buf_xputs(&a->text, "))");
    }
    buf_xputs(&a->text, " ORDER BY time_ms, id");
    add_param(a, mark, " LIMIT ", num(a, (int64_t)q->limit + 1));
}

void audit_page_trim(struct audit_page *p, int limit)
{
    if (p->n > (size_t)limit) {
        p->has_next = true;
        audit_entry_cleanup(&p->items[--p->n]);
    }
}

void audit_sql_cleanup(struct audit_sql *a)
{
    buf_cleanup(&a->text);
}

void audit_sql_values(const struct audit_entry *e, const char *v[AUDIT_INSERT_NCOLS],
                      char num_text[AUDIT_SQL_NUM_MAX])
{
    snprintf(num_text, AUDIT_SQL_NUM_MAX, "%lld", (long long)e->time);
    const char *row[AUDIT_INSERT_NCOLS] = {
        e->site_id,
        e->account_id,
        audit_action_name(e->action),
        audit_actor_type_name(e->actor.type),
        e->actor.id,
        e->actor.name,
        e->actor.email,
        audit_target_type_name(e->target_type),
        e->target_id,
        e->actor.request_id,
        num_text,
        e->changes ? e->changes : "{}",
    };
    memcpy(v, row, sizeof row);
}

/* Copies a column text into a fixed array, truncating. */
static void copy_col(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

void audit_sql_read(const char *const col[AUDIT_NCOLS], struct audit_entry *e)
{
    memset(e, 0, sizeof *e);
    e->id = col[AUDIT_COL_ID] ? strtoll(col[AUDIT_COL_ID], NULL, 10) : 0;
    copy_col(e->site_id, sizeof e->site_id, col[AUDIT_COL_SITE]);
    copy_col(e->account_id, sizeof e->account_id, col[AUDIT_COL_ACCOUNT]);
    if (!audit_action_parse(col[AUDIT_COL_ACTION], &e->action))
        e->action = AUDIT_INVITE_UPDATED; /* a row of a newer binary: shown as an update */
    if (!audit_actor_type_parse(col[AUDIT_COL_ACTOR_TYPE], &e->actor.type))
        e->actor.type = AUDIT_ACTOR_SYSTEM;
    copy_col(e->actor.id, sizeof e->actor.id, col[AUDIT_COL_ACTOR_ID]);
    copy_col(e->actor.name, sizeof e->actor.name, col[AUDIT_COL_ACTOR_NAME]);
    copy_col(e->actor.email, sizeof e->actor.email, col[AUDIT_COL_ACTOR_EMAIL]);
    copy_col(e->actor.request_id, sizeof e->actor.request_id, col[AUDIT_COL_REQUEST_ID]);
    if (!audit_target_type_parse(col[AUDIT_COL_TARGET_TYPE], &e->target_type))
        e->target_type = AUDIT_TARGET_INVITE;
    copy_col(e->target_id, sizeof e->target_id, col[AUDIT_COL_TARGET_ID]);
    e->time = col[AUDIT_COL_TIME] ? strtoll(col[AUDIT_COL_TIME], NULL, 10) : 0;
    e->changes = xstrdup(col[AUDIT_COL_CHANGES] ? col[AUDIT_COL_CHANGES] : "{}");
}

/* ---- batch rows ---------------------------------------------------------------------------- */

#define BATCH_ID_LEN (SI_ID_LEN - 1) /* a target's characters in a batch row's target_id */

void audit_batch_init(struct audit_batch *b)
{
    buf_init(&b->targets, 0);
    buf_init(&b->changes, 0);
    b->n = 0;
}

void audit_batch_add(struct audit_batch *b, const char *target_id, const char *changes)
{
    if (!id_valid(target_id)) /* a programming error: the stores batch invites only */
        fatal("store: audit batch target '%.40s' is not a GUID", target_id);
    buf_xappend(&b->targets, target_id, BATCH_ID_LEN);
    if (b->n > 0)
        buf_xappend(&b->changes, "\n", 1);
    buf_xputs(&b->changes, changes);
    b->n++;
}

void audit_batch_cleanup(struct audit_batch *b)
{
    buf_cleanup(&b->targets);
    buf_cleanup(&b->changes);
    b->n = 0;
}

void audit_sql_batch_values(const struct audit_entry *e, const struct audit_batch *b,
                            const char *v[AUDIT_INSERT_NCOLS], char num[AUDIT_SQL_NUM_MAX])
{
    audit_sql_values(e, v, num);
    v[8] = b->targets.data ? b->targets.data : "";  /* target_id */
    v[11] = b->changes.data ? b->changes.data : ""; /* changes */
}

/* The entries of a batch row after q's cursor, appended to p while it has room. A row whose
 * texts do not hold n entries (written by hand) shows what it holds: a missing target as "",
 * missing changes as {}. */
static void expand_batch(const char *const col[AUDIT_NCOLS], int64_t n, const struct audit_query *q,
                         struct audit_page *p, size_t cap)
{
    const char *targets = col[AUDIT_COL_TARGET_ID] ? col[AUDIT_COL_TARGET_ID] : "";
    const char *changes = col[AUDIT_COL_CHANGES] ? col[AUDIT_COL_CHANGES] : "";
    size_t targets_len = strlen(targets);
    const char *shared[AUDIT_NCOLS];
    memcpy(shared, col, sizeof shared);
    shared[AUDIT_COL_TARGET_ID] = NULL;
    shared[AUDIT_COL_CHANGES] = NULL;
    struct audit_entry row;
    audit_sql_read(shared, &row); /* the shared fields; changes "{}" */
    const char *next = changes;
    for (int64_t k = 0; k < n && p->n < cap; k++) {
        const char *end = next ? strchr(next, '\n') : NULL;
        size_t len = next ? (end ? (size_t)(end - next) : strlen(next)) : 0;
        const char *mine = next;
        next = end ? end + 1 : NULL;
        int64_t id = row.id - n + 1 + k;
        if (q->has_after && row.time == q->after_time && id <= q->after_id)
            continue; /* the previous page's */
        struct audit_entry *e = &p->items[p->n++];
        *e = row;
        e->id = id;
        e->target_id[0] = '\0';
        if ((size_t)(k + 1) * BATCH_ID_LEN <= targets_len) {
            memcpy(e->target_id, targets + (size_t)k * BATCH_ID_LEN, BATCH_ID_LEN);
            e->target_id[BATCH_ID_LEN] = '\0';
        }
        e->changes = mine && len ? xstrndup(mine, len) : xstrdup("{}");
    }
    audit_entry_cleanup(&row);
}

void audit_sql_expand(const char *const col[AUDIT_NCOLS], const struct audit_query *q,
                      struct audit_page *p, size_t cap)
{
    int64_t n = col[AUDIT_COL_N] ? strtoll(col[AUDIT_COL_N], NULL, 10) : 1;
    if (n > 1 && n <= AUDIT_BATCH_MAX)
        expand_batch(col, n, q, p, cap);
    else if (p->n < cap)
        audit_sql_read(col, &p->items[p->n++]);
}
