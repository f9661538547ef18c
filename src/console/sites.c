/* The console's sites page (GET /console): the account's sites with their seats and how many
 * invites are pending, accepted and expired. */
#include "console/console_int.h"

#include "api/invitee_flow.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITES_MAX 1000 /* sites shown; an account with more is a platform, not an owner */
#define NUM_TEXT  24

/* By name, then ID: a stable order an owner can scan. */
static int by_name(const void *a, const void *b)
{
    const struct site *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->id, y->id);
}

/* Appends one row of the sites table. */
static enum si_err site_row(struct request *req, const struct console_ctx *cx,
                            const struct site *site, si_ms now, struct buf *rows)
{
    int64_t used = 0, counts[SITE_COUNTS_LEN];
    enum si_err rc = store_seats_used(req->app->store, site->id, now, &used);
    if (!rc)
        rc = store_site_counts(req->app->store, site->id, now, counts);
    if (rc)
        return rc;
    char url[CONSOLE_PATH_MAX], n_used[NUM_TEXT], n_limit[NUM_TEXT], n_pending[NUM_TEXT],
        n_accepted[NUM_TEXT], n_expired[NUM_TEXT];
    snprintf(url, sizeof url, "%s/console/sites/%s", page_base_path(req->app->base_url), site->id);
    snprintf(n_used, sizeof n_used, "%lld", (long long)used);
    snprintf(n_limit, sizeof n_limit, "%d", site->contributor_limit);
    snprintf(n_pending, sizeof n_pending, "%lld", (long long)counts[INVITE_PENDING]);
    snprintf(n_accepted, sizeof n_accepted, "%lld", (long long)counts[INVITE_USED]);
    snprintf(n_expired, sizeof n_expired, "%lld", (long long)counts[INVITE_EXPIRED]);
    struct console_values v = {.v = {NULL}};
    v.v[CV_SITE_URL] = url;
    v.v[CV_SITE_NAME] = site->name;
    v.v[CV_SITE_ID] = site->id;
    v.v[CV_SEATS_USED] = n_used;
    v.v[CV_SEATS_LIMIT] = n_limit;
    v.v[CV_PENDING] = n_pending;
    v.v[CV_ACCEPTED] = n_accepted;
    v.v[CV_EXPIRED] = n_expired;
    return console_fragment(cx->lang, CP_SITE_ROW, &v, rows);
}

void console_sites_page(struct request *req)
{
    struct console_ctx cx;
    struct site *sites = NULL;
    size_t n = 0;
    struct buf rows;
    buf_init(&rows, 0);
    if (!console_session_load(req, &cx))
        return;
    si_ms now = clock_now(req->app->clock);
    enum si_err rc = store_account_sites(req->app->store, cx.account.id, SITES_MAX, &sites, &n);
    if (n > 1)
        qsort(sites, n, sizeof *sites, by_name);
    for (size_t i = 0; !rc && i < n; i++)
        rc = site_row(req, &cx, &sites[i], now, &rows);
    if (rc) {
        console_fail(req, cx.lang, "sites", rc);
    } else {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        v.v[CV_ACCOUNT_NAME] = cx.account.name;
        v.v[CV_ROWS] = rows.data;
        console_reply(req, 200, cx.lang, CP_SITES, &v);
    }
    sites_free(sites, n);
    buf_cleanup(&rows);
    console_ctx_cleanup(&cx);
}
