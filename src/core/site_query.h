/* The rule of Query Sites (docs/API.md §3.3.10): which of an account's sites a query keeps, in
 * which order, and which page of them it answers; decided on the sites a store loaded. */
#ifndef SI_CORE_SITE_QUERY_H
#define SI_CORE_SITE_QUERY_H

#include "common/err.h"
#include "core/invite.h"

#include <stdbool.h>
#include <stddef.h>

#define SITE_QUERY_CONDS_MAX     4
#define SITE_QUERY_VALUES_MAX    100
#define SITE_QUERY_LIMIT_MAX     100 /* Wix: "up to 100 sites per request" */
#define SITE_QUERY_LIMIT_DEFAULT 50

enum site_field { SITE_FIELD_ID, SITE_FIELD_NAME };
enum site_sort { SITE_SORT_CREATED, SITE_SORT_DISPLAY_NAME };

/* One condition: the field equals one of values ($eq is n = 1, $in any n). Values borrowed. */
struct site_cond {
    enum site_field field;
    size_t n;
    const char *values[SITE_QUERY_VALUES_MAX];
};

struct site_query {
    struct site_cond conds[SITE_QUERY_CONDS_MAX]; /* all must hold */
    int ncond;
    enum site_sort sort;
    bool desc;
    int limit;                /* 1..SITE_QUERY_LIMIT_MAX */
    char after_id[SI_ID_LEN]; /* "" = first page; else the last site of the previous page */
};

/* Filters sites[0..*n) in place (moving the matching ones first, by swaps, so every site stays
 * in the array for sites_free with the old count, and setting *n to their count),
 * sorts them by the query's field then by ID (ties never reorder between pages), and picks the
 * page: the limit sites after the site after_id names. *first and *count give the page inside
 * sites, *has_next whether more follow. SI_ENOTFOUND when after_id names no site the query
 * keeps (a cursor from another query). Pure; thread-safe. */
enum si_err site_query_run(struct site *sites, size_t *n, const struct site_query *q, size_t *first,
                           size_t *count, bool *has_next) SI_MUST_USE;

#endif
