/* Query Sites: filter, order and page an account's sites (site_query.h). */
#include "core/site_query.h"

#include <stdlib.h>
#include <string.h>

static const char *field_of(const struct site *s, enum site_field f)
{
    /* One name per site: Wix's name and displayName both carry it (docs/API.md §3.3.10). */
    return f == SITE_FIELD_ID ? s->id : s->name;
}

static bool cond_holds(const struct site *s, const struct site_cond *c)
{
    const char *v = field_of(s, c->field);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(v, c->values[i]) == 0)
            return true;
    return false;
}

static bool keeps(const struct site *s, const struct site_query *q)
{
    for (int i = 0; i < q->ncond; i++)
        if (!cond_holds(s, &q->conds[i]))
            return false;
    return true;
}

static int by_created(const void *a, const void *b)
{
    const struct site *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int by_name(const void *a, const void *b)
{
    const struct site *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->id, y->id);
}

enum si_err site_query_run(struct site *sites, size_t *n, const struct site_query *q, size_t *first,
                           size_t *count, bool *has_next)
{
    size_t kept = 0;
    /* Swapped, not overwritten: the dropped sites stay behind the kept ones, still owned. */
    for (size_t i = 0; i < *n; i++)
        if (keeps(&sites[i], q)) {
            if (kept != i) {
                struct site t = sites[kept];
                sites[kept] = sites[i];
                sites[i] = t;
            }
            kept++;
        }
    *n = kept;
    qsort(sites, kept, sizeof *sites, q->sort == SITE_SORT_CREATED ? by_created : by_name);
    if (q->desc)
        for (size_t i = 0; i < kept / 2; i++) {
            struct site t = sites[i];
            sites[i] = sites[kept - 1 - i];
            sites[kept - 1 - i] = t;
        }
    size_t start = 0;
    if (q->after_id[0]) {
        while (start < kept && strcmp(sites[start].id, q->after_id) != 0)
            start++;
        if (start == kept)
            return SI_ENOTFOUND;
        start++;
    }
    size_t left = kept - start, limit = q->limit > 0 ? (size_t)q->limit : 1;
    *first = start;
    *count = left < limit ? left : limit;
    *has_next = left > *count;
    return SI_OK;
}
