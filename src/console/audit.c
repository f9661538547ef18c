/* The console's audit-log page of a site (GET /console/sites/{siteId}/audit): the API's own
 * query (api_audit_query_parse: action, actor type and ID, since, until, cursor) and store call
 * (store_audit_list), a page at a time, oldest first, with a filter form and a next-page link. */
#include "console/console_int.h"

#include "api/audit.h"
#include "api/invitee_flow.h"
#include "common/template.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ACTOR_TEXT_MAX  (SI_NAME_MAX + SI_EMAIL_MAX + SI_ID_LEN + 32)
#define TARGET_TEXT_MAX (AUDIT_TARGET_ID_MAX + 32)
#define CURSOR_MAX      48
#define QUERY_MAX       (CONSOLE_PATH_MAX + 1024)

/* Appends one <option> per name, the one equal to chosen selected, after an "any" one. */
static enum si_err options(const char *lang, const char *const *names, size_t n, const char *chosen,
                           struct buf *out)
{
    char any[128];
    struct console_values none = {.v = {NULL}};
    console_fragment_text(lang, CP_AUDIT_ANY, &none, any, sizeof any);
    enum si_err rc = buf_puts(out, "<option value=\"\">");
    if (!rc)
        rc = template_escape(out, any, TEMPLATE_HTML);
    if (!rc)
        rc = buf_puts(out, "</option>");
    for (size_t i = 0; i < n && !rc; i++)
        rc = buf_printf(out, "<option value=\"%s\"%s>%s</option>", names[i],
                        chosen && strcmp(chosen, names[i]) == 0 ? " selected" : "", names[i]);
    return rc;
}

/* Who acted, as one line: the type, then the name or address and the ID when there are. */
static void actor_text(const struct audit_actor *a, char out[ACTOR_TEXT_MAX])
{
    const char *who = a->name[0] ? a->name : a->email;
    snprintf(out, ACTOR_TEXT_MAX, "%s%s%s%s%s%s", audit_actor_type_name(a->type),
             who[0] ? ": " : "", who, a->id[0] ? " (" : "", a->id, a->id[0] ? ")" : "");
}

static enum si_err entry_row(const char *lang, const struct audit_entry *e, struct buf *rows)
{
    char when[SI_TIME_TEXT_LEN], actor[ACTOR_TEXT_MAX], target[TARGET_TEXT_MAX];
    time_format(e->time, when);
    actor_text(&e->actor, actor);
    snprintf(target, sizeof target, "%s %s", audit_target_type_name(e->target_type), e->target_id);
    struct console_values v = {.v = {NULL}};
    v.v[CV_CREATED] = when;
    v.v[CV_STATUS] = audit_action_name(e->action);
    v.v[CV_EMAIL] = actor;
    v.v[CV_ID] = target;
    v.v[CV_ROLES] = e->changes ? e->changes : "{}";
    return console_fragment(lang, CP_AUDIT_ROW, &v, rows);
}

/* The link to the next page: this page's query with the cursor after its last entry. */
static enum si_err next_link(const struct request *req, const char *lang, const char *page,
                             const struct audit_entry *last, struct buf *extra)
{
    static const char *const keep[] = {"action", "actorType", "actorId", "since", "until"};
    struct buf href;
    buf_init(&href, QUERY_MAX);
    enum si_err rc =
        buf_printf(&href, "%s?cursor=%" PRId64 ".%" PRId64, page, last->time, last->id);
    for (size_t i = 0; i < sizeof keep / sizeof keep[0] && !rc; i++) {
        const char *v = request_arg(req, keep[i]);
        if (!v || !*v)
            continue;
        rc = buf_printf(&href, "&%s=", keep[i]);
        /* Percent-encoded but for plain characters: the value is the user's own filter. */
        for (const unsigned char *p = (const unsigned char *)v; !rc && *p; p++)
            rc = strchr("&=#%+? ", *p) || *p < 0x20 || *p >= 0x7F ? buf_printf(&href, "%%%02X", *p)
                                                                  : buf_append(&href, p, 1);
    }
    if (!rc) {
        struct console_values v = {.v = {NULL}};
        v.v[CV_HREF] = href.data;
        rc = console_fragment(lang, CP_NEXT_PAGE, &v, extra);
    }
    buf_cleanup(&href);
    return rc;
}

/* Renders the page around rows (page may be NULL: the filter was refused, 400). */
static void reply(struct request *req, const struct console_ctx *cx, const char *path,
                  const struct audit_page *page, struct buf *extra)
{
    static const char *const actions[] = {
#define ACTION_NAME(e, name) name,
        AUDIT_ACTIONS(ACTION_NAME)
#undef ACTION_NAME
    };
    static const char *const actor_types[] = {"apiKey", "invitee", "system", "admin", "owner"};
    char site_path[CONSOLE_PATH_MAX];
    struct buf rows, acts, types;
    buf_init(&rows, 0);
    buf_init(&acts, 0);
    buf_init(&types, 0);
    snprintf(site_path, sizeof site_path, "%s/console/sites/%s", page_base_path(req->app->base_url),
             req->site.id);
    enum si_err rc = buf_puts(&rows, "");
    for (size_t i = 0; page && i < page->n && !rc; i++)
        rc = entry_row(cx->lang, &page->items[i], &rows);
    if (!rc && page && page->has_next && page->n)
        rc = next_link(req, cx->lang, path, &page->items[page->n - 1], extra);
    if (!rc)
        rc = options(cx->lang, actions, AUDIT_ACTION_COUNT, request_arg(req, "action"), &acts);
    if (!rc)
        rc = options(cx->lang, actor_types, sizeof actor_types / sizeof actor_types[0],
                     request_arg(req, "actorType"), &types);
    if (rc) {
        console_fail(req, cx->lang, "audit page", rc);
    } else {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx->nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_SITE_URL] = site_path;
        v.v[CV_ACTION] = path;
        v.v[CV_ROWS] = rows.data;
        v.v[CV_OPTIONS] = acts.data;
        v.v[CV_SORT_OPTIONS] = types.data;
        v.v[CV_VALUE] = request_arg(req, "actorId");
        v.v[CV_CREATED] = request_arg(req, "since");
        v.v[CV_EXPIRES] = request_arg(req, "until");
        v.v[CV_EXTRA] = extra->data;
        console_reply(req, page ? 200 : 400, cx->lang, CP_AUDIT, &v);
    }
    buf_cleanup(&rows);
    buf_cleanup(&acts);
    buf_cleanup(&types);
}

void console_audit_page(struct request *req)
{
    struct console_ctx cx;
    if (!console_session_load(req, &cx))
        return;
    if (!console_site_load(req, &cx))
        goto out;
    char path[CONSOLE_PATH_MAX];
    snprintf(path, sizeof path, "%s/console/sites/%s/audit", page_base_path(req->app->base_url),
             req->site.id);
    struct violations vs = {.n = 0};
    struct audit_query q = {.site_id = req->site.id, .account_id = req->site.account_id};
    /* Empty fields of the filter form mean "any": the API would call them malformed. */
    for (int i = 0; i < req->nargs; i++)
        if (req->args[i].value && !req->args[i].value[0])
            req->args[i].name[0] = '\0';
    api_audit_query_parse(req, &q, &vs);
    struct buf extra;
    buf_init(&extra, 0);
    struct console_values none = {.v = {NULL}};
    if (vs.n) {
        enum si_err rc = console_fragment(cx.lang, CP_NOTICE_AUDIT_INVALID, &none, &extra);
        if (rc)
            console_fail(req, cx.lang, "audit page", rc);
        else
            reply(req, &cx, path, NULL, &extra);
    } else {
        struct audit_page page;
        enum si_err rc = store_audit_list(req->app->store, &q, &page);
        if (rc) {
            console_fail(req, cx.lang, "audit page", rc);
        } else {
            reply(req, &cx, path, &page, &extra);
            audit_page_cleanup(&page);
        }
    }
    buf_cleanup(&extra);
out:
    console_ctx_cleanup(&cx);
}
