/* The console's site page (GET /console/sites/{id}): seats and counts, the invites table with
 * its status filter, address search, sort and cursor paging (the API's own query and cursors,
 * api/query_parse.h), and per invite Resend and Revoke, which run the API's rules through the
 * same store change (core/lifecycle.c) with the owner as the audit actor. */
#include "console/console_int.h"

#include "api/change_call.h"
#include "api/invitee_flow.h"
#include "api/query_parse.h"
#include "api/role_view.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/template.h"
#include "common/xalloc.h"
#include "core/lifecycle.h"
#include "core/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE  50
#define NUM_TEXT   24
#define WORD_MAX   128
#define ROLES_MAX  (SI_POLICIES_MAX * SI_NAME_MAX)
#define QUERY_TEXT (SI_EMAIL_MAX + 1)

/* (console_int.h) The site of the path, when it is the signed-in account's; else 404 (a
 * foreign site and a missing one look the same). */
bool console_site_load(struct request *req, const struct console_ctx *cx)
{
    char id[SI_ID_LEN];
    enum si_err rc = SI_ENOTFOUND;
    if (req->param && id_normalize(req->param, id))
        rc = store_site_get(req->app->store, id, &req->site);
    if (rc == SI_OK && strcmp(req->site.account_id, cx->account.id) != 0)
        rc = SI_ENOTFOUND;
    if (rc == SI_ENOTFOUND) {
        struct console_values v = {.v = {NULL}};
        site_cleanup(&req->site);
        memset(&req->site, 0, sizeof req->site);
        v.v[CV_NAV] = cx->nav;
        console_reply(req, 404, cx->lang, CP_NOT_FOUND, &v);
        return false;
    }
    if (rc)
        console_fail(req, cx->lang, "site", rc);
    return rc == SI_OK;
}

/* "2026-12-26 06:23 UTC": unambiguous in every language. */
static void when_text(si_ms t, char out[SI_TIME_TEXT_LEN])
{
    char stamp[SI_TIME_TEXT_LEN];
    time_format(t, stamp);
    snprintf(out, SI_TIME_TEXT_LEN, "%.10s %.5s UTC", stamp, stamp + 11);
}

/* The filter, search and sort of the page's query string (every value checked), or the
 * cursor's. false: the query string is not one of ours; q still needs cleanup. */
static bool query_from_args(const struct request *req, struct invite_query *q)
{
    static const char *const sorts[] = {
        [SORT_DATE_CREATED] = "created", [SORT_EMAIL] = "email", [SORT_STATUS] = "status"};
    const char *cursor = request_arg(req, "cursor");
    if (cursor) {
        struct violations vs = {.n = 0};
        struct query_scope scope = {.site_id = req->site.id, .secret = req->app->secret};
        return query_parse_args(NULL, cursor, &scope, q, &vs) == SI_OK;
    }
    q->limit = PAGE_SIZE;
    q->sort = SORT_DATE_CREATED;
    q->desc = true;
    const char *status = request_arg(req, "status"), *email = request_arg(req, "q");
    const char *sort = request_arg(req, "sort");
    enum invite_status st;
    if (status && *status) {
        if (!invite_status_parse(status, &st))
            return false;
        q->conds[q->ncond] = (struct query_cond){.field = QF_STATUS, .op = QOP_EQ, .n = 1};
        q->conds[q->ncond++].values[0] = xstrdup(status);
    }
    if (email && *email) {
        if (strlen(email) > SI_EMAIL_MAX)
            return false;
        q->conds[q->ncond] = (struct query_cond){.field = QF_EMAIL, .op = QOP_EQ, .n = 1};
        q->conds[q->ncond++].values[0] = xstrdup(email);
    }
    /* sort=<field>-<asc|desc>, one select in the page */
    if (sort && *sort) {
        const char *dash = strchr(sort, '-');
        size_t n = dash ? (size_t)(dash - sort) : 0;
        int found = -1;
        for (int i = 0; dash && i <= SORT_STATUS; i++)
            if (strlen(sorts[i]) == n && strncmp(sort, sorts[i], n) == 0)
                found = i;
        if (found < 0 || (strcmp(dash + 1, "asc") != 0 && strcmp(dash + 1, "desc") != 0))
            return false;
        q->sort = (enum sort_field)found;
        q->desc = strcmp(dash + 1, "desc") == 0;
    }
    return true;
}

/* One <option> labelled by fragment id (and " · " fragment id2 unless CP_COUNT), selected when
 * on. */
static enum si_err option(struct buf *b, const char *lang, const char *value, enum console_page id,
                          enum console_page id2, bool on)
{
    struct console_values none = {.v = {NULL}};
    char label[WORD_MAX], label2[WORD_MAX] = "";
    console_fragment_text(lang, id, &none, label, sizeof label);
    if (id2 != CP_COUNT)
        console_fragment_text(lang, id2, &none, label2, sizeof label2);
    enum si_err rc = buf_printf(b, "<option value=\"%s\"%s>", value, on ? " selected" : "");
    if (!rc)
        rc = template_escape(b, label, TEMPLATE_HTML);
    if (!rc && label2[0])
        rc = buf_puts(b, " · ");
    if (!rc)
        rc = template_escape(b, label2, TEMPLATE_HTML);
    return rc ? rc : buf_puts(b, "</option>");
}

/* The status filter's and the sort's options, the current choice selected. */
static enum si_err filter_options(const struct invite_query *q, const char *lang,
                                  struct buf *status_opts, struct buf *sort_opts)
{
    const char *cur = NULL;
    for (int i = 0; i < q->ncond; i++)
        if (q->conds[i].field == QF_STATUS)
            cur = q->conds[i].values[0];
    enum si_err rc = option(status_opts, lang, "", CP_ALL_STATUSES, CP_COUNT, !cur);
    for (int s = INVITE_PENDING; !rc && s <= INVITE_EXPIRED; s++) {
        const char *name = invite_status_name((enum invite_status)s);
        rc = option(status_opts, lang, name, (enum console_page)(CP_STATUS_PENDING + s), CP_COUNT,
                    cur && strcmp(cur, name) == 0);
    }
    static const char *const sorts[] = {"created", "email", "status"};
    for (int s = SORT_DATE_CREATED; !rc && s <= SORT_STATUS; s++)
        for (int desc = 1; !rc && desc >= 0; desc--) {
            char value[32];
            snprintf(value, sizeof value, "%s-%s", sorts[s], desc ? "desc" : "asc");
            rc = option(sort_opts, lang, value, (enum console_page)(CP_SORT_CREATED + s),
                        desc ? CP_ORDER_DESC : CP_ORDER_ASC,
                        q->sort == (enum sort_field)s && q->desc == (desc != 0));
        }
    return rc;
}

/* Everything one table row needs besides the invite. */
struct rows_ctx {
    struct request *req;
    const struct console_ctx *cx;
    struct role *custom;
    size_t ncustom;
    char action[CONSOLE_PATH_MAX]; /* /console/sites/{id} */
    si_ms now;
};

/* The Resend / Revoke forms the invite's state allows (lifecycle: resend Pending or Expired,
 * revoke Pending); the store decides again when one is posted. */
static enum si_err row_actions(const struct rows_ctx *rc_, const struct invite *inv,
                               enum invite_status st, struct buf *out)
{
    struct console_values v = {.v = {NULL}};
    char resend[CONSOLE_PATH_MAX + 8], revoke[CONSOLE_PATH_MAX + 8];
    snprintf(resend, sizeof resend, "%s/resend", rc_->action);
    snprintf(revoke, sizeof revoke, "%s/revoke", rc_->action);
    char link[CONSOLE_PATH_MAX + 8];
    snprintf(link, sizeof link, "%s/link", rc_->action);
    v.v[CV_CSRF] = rc_->cx->csrf;
    v.v[CV_ID] = inv->id;
    v.v[CV_EMAIL] = inv->email;
    enum si_err rc = SI_OK;
    if (st == INVITE_PENDING || st == INVITE_EXPIRED) {
        v.v[CV_ACTION] = resend;
        rc = console_fragment(rc_->cx->lang, CP_INVITE_RESEND, &v, out);
    }
    if (!rc && st == INVITE_PENDING) {
        v.v[CV_ACTION] = revoke;
        rc = console_fragment(rc_->cx->lang, CP_INVITE_REVOKE, &v, out);
    }
    if (!rc && st == INVITE_PENDING) { /* a GET: the roles page, whose form posts */
        char roles[CONSOLE_PATH_MAX + SI_ID_LEN + 16];
        snprintf(roles, sizeof roles, "%s/roles?invite=%s", rc_->action, inv->id);
        v.v[CV_HREF] = roles;
        rc = console_fragment(rc_->cx->lang, CP_INVITE_ROLES_LINK, &v, out);
    }
    if (!rc && st == INVITE_PENDING) { /* the accept link, shown only when asked for */
        v.v[CV_ACTION] = link;
        rc = console_fragment(rc_->cx->lang, CP_INVITE_SHOW_LINK, &v, out);
    }
    return rc;
}

static enum si_err invite_row(const struct rows_ctx *rc_, const struct invite *inv,
                              struct buf *rows)
{
    const char *lang = rc_->cx->lang;
    struct console_values none = {.v = {NULL}}, v = {.v = {NULL}};
    char status[WORD_MAX], delivery[WORD_MAX], roles[ROLES_MAX], sent[NUM_TEXT];
    char created[SI_TIME_TEXT_LEN], expires[SI_TIME_TEXT_LEN];
    enum invite_status st = invite_status_at(inv, rc_->now);
    console_fragment_text(lang, (enum console_page)(CP_STATUS_PENDING + st), &none, status,
                          sizeof status);
    unsigned d = (unsigned)inv->delivery.status <= DELIVERY_CANCELLED ? inv->delivery.status : 0;
    console_fragment_text(lang, (enum console_page)(CP_DELIVERY_NONE + d), &none, delivery,
                          sizeof delivery);
    role_view_titles(&inv->policies, rc_->custom, rc_->ncustom, lang, roles, sizeof roles);
    snprintf(sent, sizeof sent, "%d", inv->send_count);
    when_text(inv->created, created);
    when_text(inv->expires, expires);
    struct buf actions;
    buf_init(&actions, 0);
    enum si_err rc = row_actions(rc_, inv, st, &actions);
    v.v[CV_EMAIL] = inv->email;
    v.v[CV_ROLES] = roles;
    v.v[CV_STATUS] = status;
    v.v[CV_DELIVERY] = delivery;
    v.v[CV_SENT] = sent;
    v.v[CV_CREATED] = created;
    v.v[CV_EXPIRES] = expires;
    v.v[CV_ID] = inv->id;
    v.v[CV_EXTRA] = actions.data;
    if (!rc)
        rc = console_fragment(lang, CP_INVITE_ROW, &v, rows);
    buf_cleanup(&actions);
    return rc;
}

/* The notice a redirect after a change asked for (?done=...), or nothing. */
static enum si_err notice(const struct request *req, const char *lang, struct buf *out)
{
    static const struct {
        const char *name;
        enum console_page page;
    } notices[] = {{"resent", CP_NOTICE_RESENT},
                   {"revoked", CP_NOTICE_REVOKED},
                   {"refused", CP_NOTICE_REFUSED},
                   {"limited", CP_NOTICE_LIMITED},
                   {"roles", CP_NOTICE_ROLES_CHANGED}};
    const char *done = request_arg(req, "done");
    struct console_values none = {.v = {NULL}};
    for (size_t i = 0; done && i < sizeof notices / sizeof notices[0]; i++)
        if (strcmp(done, notices[i].name) == 0)
            return console_fragment(lang, notices[i].page, &none, out);
    return SI_OK;
}

/* The link to the page after this one (the API's sealed cursor), or nothing. */
static enum si_err next_link(const struct rows_ctx *r, const struct invite_query *q,
                             const struct invite_page *page, struct buf *out)
{
    if (!page->has_next || page->n == 0)
        return SI_OK;
    struct query_scope scope = {.site_id = r->req->site.id, .secret = r->req->app->secret};
    char *cursor = query_cursor_next(q, &page->items[page->n - 1], r->now, &scope);
    struct buf href;
    buf_init(&href, 0);
    enum si_err rc = buf_printf(&href, "%s?cursor=%s", r->action, cursor);
    struct console_values v = {.v = {NULL}};
    v.v[CV_HREF] = href.data;
    if (!rc)
        rc = console_fragment(r->cx->lang, CP_NEXT_PAGE, &v, out);
    buf_cleanup(&href);
    free(cursor);
    return rc;
}

/* The counts above the table: seats and the three totals an owner watches, from the chart's
 * snapshot. */
struct site_numbers {
    char used[NUM_TEXT], limit[NUM_TEXT], pending[NUM_TEXT], accepted[NUM_TEXT], expired[NUM_TEXT];
};

static enum si_err site_numbers(struct request *req, si_ms now, const struct site_stats *st,
                                struct site_numbers *n)
{
    int64_t used = 0;
    enum si_err rc = store_seats_used(req->app->store, req->site.id, now, &used);
    if (rc)
        return rc;
    snprintf(n->used, sizeof n->used, "%lld", (long long)used);
    snprintf(n->limit, sizeof n->limit, "%d", req->site.contributor_limit);
    snprintf(n->pending, sizeof n->pending, "%lld", (long long)st->counts[INVITE_PENDING]);
    snprintf(n->accepted, sizeof n->accepted, "%lld", (long long)st->counts[INVITE_USED]);
    snprintf(n->expired, sizeof n->expired, "%lld", (long long)st->counts[INVITE_EXPIRED]);
    return SI_OK;
}

/* Renders the page of a loaded site and query. */
static enum si_err site_render(struct rows_ctx *r, const struct invite_query *q)
{
    struct request *req = r->req;
    struct invite_page page = {0};
    struct site_numbers num;
    struct site_stats *st = xcalloc(1, sizeof *st); /* 6 KiB: not on a worker's stack */
    struct buf rows, status_opts, sort_opts, extra, chart;
    buf_init(&rows, 0);
    buf_init(&status_opts, 0);
    buf_init(&sort_opts, 0);
    buf_init(&extra, 0);
    buf_init(&chart, 0);
    enum si_err rc = store_invites_query(req->app->store, req->site.id, q, r->now, &page);
    if (!rc)
        rc = store_site_stats(req->app->store, req->site.id, r->now, st);
    if (!rc)
        rc = site_numbers(req, r->now, st, &num);
    if (!rc)
        rc = console_chart(st, r->cx->lang, &chart);
    for (size_t i = 0; !rc && i < page.n; i++)
        rc = invite_row(r, &page.items[i], &rows);
    if (!rc)
        rc = filter_options(q, r->cx->lang, &status_opts, &sort_opts);
    if (!rc)
        rc = notice(req, r->cx->lang, &extra);
    if (!rc)
        rc = next_link(r, q, &page, &extra);
    if (!rc) {
        const char *search = NULL;
        for (int i = 0; i < q->ncond; i++)
            if (q->conds[i].field == QF_EMAIL)
                search = q->conds[i].values[0];
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = r->cx->nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_SITE_ID] = req->site.id;
        v.v[CV_ACTION] = r->action;
        v.v[CV_CSRF] = r->cx->csrf;
        v.v[CV_SEATS_USED] = num.used;
        v.v[CV_SEATS_LIMIT] = num.limit;
        v.v[CV_PENDING] = num.pending;
        v.v[CV_ACCEPTED] = num.accepted;
        v.v[CV_EXPIRED] = num.expired;
        v.v[CV_ROWS] = rows.data;
        v.v[CV_OPTIONS] = status_opts.data;
        v.v[CV_SORT_OPTIONS] = sort_opts.data;
        v.v[CV_EXTRA] = extra.data;
        v.v[CV_VALUE] = search;
        v.v[CV_CHART] = chart.data;
        console_reply(req, 200, r->cx->lang, CP_SITE, &v);
    }
    invite_page_cleanup(&page);
    buf_cleanup(&rows);
    buf_cleanup(&status_opts);
    buf_cleanup(&sort_opts);
    buf_cleanup(&extra);
    buf_cleanup(&chart);
    free(st);
    return rc;
}

void console_site_page(struct request *req)
{
    struct console_ctx cx;
    struct invite_query q;
    memset(&q, 0, sizeof q);
    if (!console_session_load(req, &cx))
        return;
    if (!console_site_load(req, &cx))
        goto out;
    struct rows_ctx r = {.req = req, .cx = &cx, .now = clock_now(req->app->clock)};
    snprintf(r.action, sizeof r.action, "%s/console/sites/%s", page_base_path(req->app->base_url),
             req->site.id);
    if (!query_from_args(req, &q)) {
        /* A hand-edited or stale query string: start over at the first page. */
        console_redirect(req, r.action + strlen(page_base_path(req->app->base_url)));
        goto out;
    }
    enum si_err rc = store_roles_list(req->app->store, cx.account.id, &r.custom, &r.ncustom);
    if (!rc)
        rc = site_render(&r, &q);
    if (rc)
        console_fail(req, cx.lang, "site page", rc);
    free(r.custom);
out:
    invite_query_cleanup(&q);
    console_ctx_cleanup(&cx);
}

/* A resend or revoke on its way through the store; the answer is a redirect back. */
struct owner_change {
    struct change_call base; /* first: freed through it */
    struct resend_ctx resend;
    const char *done; /* the notice on success */
};

static void change_answer(struct request *req, struct change_call *call)
{
    struct owner_change *oc = (struct owner_change *)call;
    const char *done = oc->done;
    if (call->rc == SI_OK && oc->resend.lifetime_ms)
        app_mail_wake(req->app);
    if (call->rc == SI_ESTATE)
        done = "refused";
    else if (call->rc == SI_ELIMIT)
        done = "limited";
    else if (call->rc && call->rc != SI_ENOTFOUND) {
        console_fail(req, console_lang(req), "invite change", call->rc);
        return;
    }
    if (call->rc == SI_ENOTFOUND) {
        struct console_values v = {.v = {NULL}};
        console_reply(req, 404, console_lang(req), CP_NOT_FOUND, &v);
        return;
    }
    char to[CONSOLE_PATH_MAX];
    snprintf(to, sizeof to, "/console/sites/%s?done=%s", req->site.id, done);
    console_redirect(req, to);
}

/* The checks every change from the site page passes, then the store's change. */
static void owner_change(struct request *req, bool resend)
{
    struct console_ctx cx;
    char id_text[SI_ID_LEN + 8];
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx))
        goto out;
    struct owner_change *oc = xcalloc(1, sizeof *oc);
    if (!console_form_field(req, "invite", id_text, sizeof id_text) ||
        !id_normalize(id_text, oc->base.id)) {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        console_reply(req, 404, cx.lang, CP_NOT_FOUND, &v);
        free(oc);
        goto out;
    }
    /* The audit log's actor: the site owner, by account (docs/AUDIT.md). */
    oc->base.actor.type = AUDIT_ACTOR_OWNER;
    memcpy(oc->base.actor.id, cx.account.id, sizeof oc->base.actor.id);
    snprintf(oc->base.actor.name, sizeof oc->base.actor.name, "%s", cx.account.name);
    memcpy(oc->base.actor.request_id, req->request_id, sizeof oc->base.actor.request_id);
    oc->base.now = clock_now(req->app->clock);
    if (resend) {
        oc->resend.lifetime_ms =
            lifecycle_lifetime_ms(0, req->site.lifetime_days, req->app->lifetime_override_s);
        oc->done = "resent";
        change_execute_deferred(req, &oc->base, lifecycle_resend, &oc->resend, false,
                                change_answer);
    } else {
        oc->done = "revoked";
        change_execute_deferred(req, &oc->base, lifecycle_revoke, NULL, false, change_answer);
    }
out:
    console_ctx_cleanup(&cx);
}

void console_invite_resend(struct request *req)
{
    owner_change(req, true);
}

void console_invite_revoke(struct request *req)
{
    owner_change(req, false);
}

void console_invite_link(struct request *req)
{
    struct console_ctx cx;
    struct invite inv;
    char text[SI_ID_LEN + 8], id[SI_ID_LEN];
    memset(&inv, 0, sizeof inv);
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx))
        goto out;
    enum si_err rc = SI_ENOTFOUND;
    if (console_form_field(req, "invite", text, sizeof text) && id_normalize(text, id))
        rc = store_invite_get(req->app->store, req->site.id, id, &inv);
    if (rc == SI_ENOTFOUND) {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        console_reply(req, 404, cx.lang, CP_NOT_FOUND, &v);
    } else if (rc) {
        console_fail(req, cx.lang, "invite link", rc);
    } else if (invite_status_at(&inv, clock_now(req->app->clock)) != INVITE_PENDING) {
        /* Only a Pending invite's link opens anything: say it is no longer pending. */
        char to[CONSOLE_PATH_MAX];
        snprintf(to, sizeof to, "/console/sites/%s?done=refused", req->site.id);
        console_redirect(req, to);
    } else {
        char link[SI_BASE_URL_MAX + 16 + TOKEN_TEXT_CAP], site[CONSOLE_PATH_MAX];
        char expires[SI_TIME_TEXT_LEN];
        int n = snprintf(link, sizeof link, "%s/invite/", req->app->base_url);
        token_format_invite(req->app->secret, &inv, link + n);
        snprintf(site, sizeof site, "%s/console/sites/%s", page_base_path(req->app->base_url),
                 req->site.id);
        when_text(inv.expires, expires);
        log_info("request %s: console: account %s showed the link of invite %s", req->request_id,
                 cx.account.id, inv.id);
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx.nav;
        v.v[CV_EMAIL] = inv.email;
        v.v[CV_EXPIRES] = expires;
        v.v[CV_VALUE] = link;
        v.v[CV_HREF] = site;
        console_reply(req, 200, cx.lang, CP_INVITE_LINK_PAGE, &v);
        secure_wipe(link, sizeof link);
    }
out:
    invite_cleanup(&inv);
    console_ctx_cleanup(&cx);
}
