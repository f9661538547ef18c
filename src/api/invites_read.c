/* The read side of invites: Get, Query, List and the contributor limit (seats). */
#include "api/api.h"

#include "api/invite_json.h"
#include "api/query_parse.h"

#include <stdlib.h>
#include <string.h>

void api_invite_get(struct request *req)
{
    char id[SI_ID_LEN];
    struct invite inv = {.purpose = NULL};
    /* A malformed ID names no invite: the same 404 as an unknown one, so no format probing. */
    if (!id_normalize(req->param, id)) {
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
        return;
    }
    enum si_err rc = store_invite_get(req->app->store, req->site.id, id, &inv);
    if (rc == SI_ENOTFOUND) {
        request_fail(req, P_INVITE_NOT_FOUND, NULL);
        return;
    }
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    si_ms now = clock_now(req->app->clock);
    invite_reply(req, &inv, now, false);
    invite_cleanup(&inv);
}

/* pagingMetadata of a page: count, cursors {next} (cursor paging), hasNext, and offset/total
 * for offset paging. No prev cursor: clients page forward (see docs/API.md). */
static json_t *paging_json(const struct request *req, const struct invite_query *q,
                           const struct invite_page *page, bool offset_paging, si_ms now)
{
    json_t *m = json_object(), *cursors = json_object();
    json_object_set_new(m, "count", json_integer((json_int_t)page->n));
    if (!offset_paging && page->has_next && page->n > 0) {
        struct query_scope scope = {.site_id = req->site.id, .secret = req->app->secret};
        char *next = query_cursor_next(q, &page->items[page->n - 1], now, &scope);
        json_object_set_new(cursors, "next", json_string(next));
        free(next);
    }
    json_object_set_new(m, "cursors", cursors);
    json_object_set_new(m, "hasNext", json_boolean(page->has_next));
    /* Offset paging echoes where it is; total only when the store could count it cheaply. */
    if (offset_paging) {
        json_object_set_new(m, "offset", json_integer(q->offset));
        if (page->total >= 0)
            json_object_set_new(m, "total", json_integer(page->total));
    }
    return m;
}

/* Runs a parsed query and answers {invites, pagingMetadata}. */
static void run_query(struct request *req, const struct invite_query *q, bool offset_paging)
{
    struct invite_page page;
    memset(&page, 0, sizeof page);
    si_ms now = clock_now(req->app->clock);
    enum si_err rc = store_invites_query(req->app->store, req->site.id, q, now, &page);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    /* Invites as text (the bulk of the answer); the small metadata through jansson. */
    struct buf b;
    buf_init(&b, 0);
    buf_xputs(&b, "{\"invites\":");
    invite_json_write_array(&b, req->app, page.items, page.n, now);
    json_t *paging = paging_json(req, q, &page, offset_paging, now);
    char *meta = json_dumps(paging, JSON_COMPACT);
    json_decref(paging);
    buf_xputs(&b, ",\"pagingMetadata\":");
    buf_xputs(&b, meta ? meta : "{}");
    buf_xappend(&b, "}", 1);
    free(meta);
    size_t len = b.len;
    request_reply_json_text(req, 200, buf_take(&b), len);
    invite_page_cleanup(&page);
}

void api_invites_query(struct request *req)
{
    struct violations vs = {.n = 0};
    struct invite_query q;
    bool offset_paging = false;
    memset(&q, 0, sizeof q);
    struct query_scope scope = {.site_id = req->site.id, .secret = req->app->secret};
    if (query_parse(req->json, &scope, &q, &offset_paging, &vs) != SI_OK)
        request_fail_validation(req, &vs);
    else
        run_query(req, &q, offset_paging);
    invite_query_cleanup(&q);
}

/* List is Query without a body: the same parser (for the cursor), the same store call and the
 * same answer, so a client can follow a List cursor into Query and back. */
void api_invites_list(struct request *req)
{
    struct violations vs = {.n = 0};
    struct invite_query q;
    memset(&q, 0, sizeof q);
    struct query_scope scope = {.site_id = req->site.id, .secret = req->app->secret};
    if (query_parse_args(request_arg(req, "limit"), request_arg(req, "cursor"), &scope, &q, &vs) !=
        SI_OK)
        request_fail_validation(req, &vs);
    else
        run_query(req, &q, false);
    invite_query_cleanup(&q);
}

void api_contributor_limit(struct request *req)
{
    int64_t used = 0;
    si_ms now = clock_now(req->app->clock);
    enum si_err rc = store_seats_used(req->app->store, req->site.id, now, &used);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    /* Over-committed sites (the limit lowered below current use) show 0, never negative. */
    int64_t limit = req->site.contributor_limit;
    int64_t left = limit > used ? limit - used : 0;
    request_reply_json(req, 200,
                       json_pack("{s:{s:I, s:I}}", "contributorLimitation", "contributorLimit",
                                 (json_int_t)limit, "leftInvites", (json_int_t)left));
}
