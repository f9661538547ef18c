/* Wix query JSON (filter, sort, cursorPaging or paging) to a struct invite_query, and the opaque
 * cursors that carry a query from one page to the next. A cursor is base64url of
 * tag(16) || compact JSON, where the tag is a keyed BLAKE2b of the JSON under the server secret:
 * a client can neither forge nor alter one, and one minted for a site is refused on another. */
#ifndef SI_API_QUERY_PARSE_H
#define SI_API_QUERY_PARSE_H

#include "common/secure.h"
#include "request/problem.h"
#include "store/store.h"

#include <jansson.h>

#define QUERY_CURSOR_MAX    16384 /* bytes of cursor text accepted; longer is malformed */
#define QUERY_AND_DEPTH_MAX 4     /* nesting of $and inside $and */
#define QUERY_OFFSET_MAX    1000000

/* What binds a query to its caller: the site it runs in and the key that signs its cursors.
 * Both are borrowed for the duration of a call. */
struct query_scope {
    const char *site_id;
    const uint8_t *secret; /* SECURE_KEY_LEN bytes */
};

/* Parses a Query Invites body ({query: {...}} or the same members at the top level; body NULL
 * means "no body": every default) into q, which must be zeroed by the caller and is released
 * with invite_query_cleanup whatever the result. With cursorPaging.cursor, filter and sort come
 * from the cursor and only cursorPaging.limit may change the page size. *offset_paging tells
 * whether the body chose paging {limit, offset} (no cursors then) over cursor paging.
 * Returns SI_OK, or SI_EINVAL with every problem recorded in vs (field names as on the wire,
 * e.g. "query.filter.status", "query.cursorPaging.cursor"). Thread-safe. */
enum si_err query_parse(const json_t *body, const struct query_scope *scope, struct invite_query *q,
                        bool *offset_paging, struct violations *vs) SI_MUST_USE;

/* The List Invites form: the query-string values limit and cursor (each NULL when absent).
 * Without a cursor the query is "every invite, default sort". Same contract as query_parse. */
enum si_err query_parse_args(const char *limit, const char *cursor, const struct query_scope *scope,
                             struct invite_query *q, struct violations *vs) SI_MUST_USE;

/* The cursor of the page after the one that ended with last, read at time now: q's filter,
 * sort and limit plus last's sort key and id. Returns a heap string the caller frees. */
char *query_cursor_next(const struct invite_query *q, const struct invite *last, si_ms now,
                        const struct query_scope *scope);

/* Seals len bytes of cursor JSON (what query_cursor_next writes) into cursor text: the tag under
 * the scope's secret, then base64url. query_cursor_next's last step; the fuzz target uses it to
 * reach the decoder behind the tag with any JSON. Returns a heap string the caller frees. */
char *query_cursor_seal(const char *text, size_t len, const struct query_scope *scope);

/* The sort key the store compares for inv under sort, as the store orders rows: dateCreated
 * as decimal milliseconds, email as its case-folded key, status as the wire name of the
 * effective status at now. Written into out (cap bytes). */
void query_sort_key(enum sort_field sort, const struct invite *inv, si_ms now, char *out,
                    size_t cap);

#endif
