/* Query Sites' body and cursor (api/sites.c), apart from the handler so they can be driven
 * without a request (the fuzz target does). */
#ifndef SI_API_SITES_H
#define SI_API_SITES_H

#include "core/site_query.h"
#include "request/problem.h"

#include <jansson.h>

/* Reads a Query Sites body (NULL: no body) into q, which the caller zeroed: filter, sort and
 * cursorPaging, or the query a cursor repeats. Every problem goes to vs. When vs stays empty,
 * *source is a new reference to the {filter, sort} object the query came from (for the next
 * cursor); q's values point into it or into body, so both must outlive q. The caller decrefs
 * *source (it may be NULL after a bad cursor). Thread-safe. */
void sites_query_read(const json_t *body, struct site_query *q, json_t **source,
                      struct violations *vs);

/* The cursor of the page after the site after: base64url of {"query": query, "after": id}
 * (unsigned: it can only name the caller's own sites). Returns a heap string the caller frees. */
char *sites_cursor_new(const json_t *query, const char *after);

#endif
