/* The SQL of Query Invites, shared by the SQLite and PostgreSQL backends: the filters, keyset
 * and offset paging and the sort of a struct invite_query, as one SELECT whose every value is
 * a numbered parameter. Each backend binds the parameters and reads the rows its own way. */
#ifndef SI_STORE_QUERY_SQL_H
#define SI_STORE_QUERY_SQL_H

#include "common/buf.h"
#include "store/store.h"

#define QUERY_SQL_TEXT_MAX 65536 /* generated SQL; 16 conditions of 100 values fit easily */

/* What differs between the two SQL dialects. */
struct query_dialect {
    char placeholder;           /* '?' (SQLite ?N) or '$' (PostgreSQL $N) */
    const char *select;         /* "SELECT <invite columns> FROM <invites and joins>", alias i */
    const char *no, *yes;       /* boolean literals: "0" / "1" or "FALSE" / "TRUE" */
    const char *find;           /* substring position, 0 when absent: instr or strpos */
    const char *status_col;     /* i.status as written in filters ("+i.status" on SQLite) */
    const char *expires_col;    /* i.expires_ms as written in status filters */
    const char *pinned_created; /* the dateCreated sort column when emails are pinned */
    const char *overdue_id;     /* the ID order of overdue Pending rows, sorted not walked */
    const char *overdue_select; /* select, reading overdue Pending rows by the expiry index */
};

/* A bound value: text (owned when it had to be made) or an integer. */
struct query_param {
    bool is_int;
    int64_t i;
    const char *text;
    char *owned;
};

/* The statement: its text and its parameters, numbered from 1. */
struct query_sql {
    const struct query_dialect *d;
    struct buf sql;
    struct query_param *params;
    int np, cap;
    enum si_err err; /* sticky: the first failure while appending */
};

/* Builds the statement for the rows of site_id matching q at time now, limit + 1 rows (one
 * more tells whether a next page exists). SI_EINVAL for a query shape the fields cannot take.
 * Texts of params point into q or into the builder, so q must outlive the statement's use.
 * Release with query_sql_cleanup whatever the result. */
enum si_err query_sql_build(struct query_sql *b, const struct query_dialect *d, const char *site_id,
                            const struct invite_query *q, si_ms now, int limit) SI_MUST_USE;
void query_sql_cleanup(struct query_sql *b);

#endif
