/* The audit log's SQL, shared by both backends: the columns of an entry and the text of a page
 * read (core/audit.h, store.h's struct audit_query). Internal to src/store. */
#ifndef SI_STORE_AUDIT_SQL_H
#define SI_STORE_AUDIT_SQL_H

#include "common/buf.h"
#include "store/store.h"

/* The columns a page read returns, in this order (read them with AUDIT_COL_*). */
#define AUDIT_COLS                                                                                 \
    "id, site_id, account_id, action, actor_type, actor_id, actor_name, actor_email,"              \
    " target_type, target_id, request_id, time_ms, changes, n"
enum audit_col {
    AUDIT_COL_ID,
    AUDIT_COL_SITE,
    AUDIT_COL_ACCOUNT,
    AUDIT_COL_ACTION,
    AUDIT_COL_ACTOR_TYPE,
    AUDIT_COL_ACTOR_ID,
    AUDIT_COL_ACTOR_NAME,
    AUDIT_COL_ACTOR_EMAIL,
    AUDIT_COL_TARGET_TYPE,
    AUDIT_COL_TARGET_ID,
    AUDIT_COL_REQUEST_ID,
    AUDIT_COL_TIME,
    AUDIT_COL_CHANGES,
    AUDIT_COL_N, /* entries the row holds: 1, or a batch row's count (below) */
    AUDIT_NCOLS
};
/* The insert's columns, bound from 1 (SQLite ?N, PostgreSQL $N) in this order. */
#define AUDIT_INSERT_COLS                                                                          \
    "site_id, account_id, action, actor_type, actor_id, actor_name, actor_email, target_type,"     \
    " target_id, request_id, time_ms, changes"
#define AUDIT_INSERT_NCOLS 12

#define AUDIT_SQL_PARAMS_MAX 10
#define AUDIT_SQL_NUM_MAX    24

/* The text parameters of a page read; numbers are formatted into num. */
struct audit_sql {
    struct buf text; /* the statement, NUL-terminated */
    int n;
    const char *values[AUDIT_SQL_PARAMS_MAX];
    char num[AUDIT_SQL_PARAMS_MAX][AUDIT_SQL_NUM_MAX];
    bool number[AUDIT_SQL_PARAMS_MAX]; /* values[i] is a number's text (SQLite binds it so) */
};

/* Builds the read of one page of q (limit + 1 rows, so a caller can tell has_next), with
 * parameters written as '?N' (SQLite) or '$N' (PostgreSQL, mark '$'). Free with
 * audit_sql_cleanup. The values borrow q's strings. */
void audit_sql_build(const struct audit_query *q, char mark, struct audit_sql *out);
void audit_sql_cleanup(struct audit_sql *a);

/* The insert of one entry's values as text (NULL never), in AUDIT_INSERT_COLS order; numbers
 * go to num. For the backends' prepared insert. */
void audit_sql_values(const struct audit_entry *e, const char *v[AUDIT_INSERT_NCOLS],
                      char num[AUDIT_SQL_NUM_MAX]);

/* A batch row (schema: SQLite 17, PostgreSQL 18): the entries of one call that share all but
 * their target and changes, a bulk call's invite.created, stored as one row instead of one per
 * invite. target_id holds the n targets' IDs back to back (each a GUID, SI_ID_LEN - 1
 * characters), changes their changes joined by '\n' (compact JSON never holds a raw newline),
 * n the count. The row's id is its last entry's: the entries are ids id - n + 1 .. id, all of
 * the row's time, so rows ordered by (time_ms, id) give entries in (time, id) order and a cursor
 * may point inside a row. Each store keeps the ranges apart: SQLite gives a batch row the id
 * max(id) + n, PostgreSQL's sequence steps by AUDIT_ID_STEP. Readers see the same entries as
 * for n separate rows. */
#define AUDIT_BATCH_MAX 1000 /* entries a row may hold; at most AUDIT_ID_STEP */
#define AUDIT_ID_STEP   1024 /* PostgreSQL: the id sequence's increment */

struct audit_batch {
    struct buf targets, changes;
    int64_t n;
};

void audit_batch_init(struct audit_batch *b);
/* Adds one entry: target_id must be a stored GUID (id_valid), changes compact JSON. */
void audit_batch_add(struct audit_batch *b, const char *target_id, const char *changes);
void audit_batch_cleanup(struct audit_batch *b);

/* The insert's values (AUDIT_INSERT_COLS order) of a batch row: e's shared fields (its
 * target_id and changes are not used), b's targets and changes. */
void audit_sql_batch_values(const struct audit_entry *e, const struct audit_batch *b,
                            const char *v[AUDIT_INSERT_NCOLS], char num[AUDIT_SQL_NUM_MAX]);

/* Fills e (which must own nothing) from one row's column texts (AUDIT_COLS order; NULL reads
 * as ""). e->changes is heap. For a row of one entry (n 1). */
void audit_sql_read(const char *const col[AUDIT_NCOLS], struct audit_entry *e);

/* Appends to p (items room for cap) the entries of one row that come after q's cursor, while
 * p holds fewer than cap: one for a plain row, up to n for a batch row. */
void audit_sql_expand(const char *const col[AUDIT_NCOLS], const struct audit_query *q,
                      struct audit_page *p, size_t cap);

/* Ends a page read of limit + 1 rows: an extra row is dropped and only sets has_next. */
void audit_page_trim(struct audit_page *p, int limit);

#endif
