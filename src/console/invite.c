/* The console's "Invite people" (GET and POST /console/sites/{id}/invite): addresses pasted in
 * any mix of lines, commas and spaces, roles the site may grant, an email language and a
 * purpose; the post runs Bulk Invite's own path (api/bulk.h: the same checks, folding, domain
 * allow-list, seats and store call) with the owner as the audit actor, and answers with what
 * became of each address. */
#include "console/console_int.h"

#include "api/bulk.h"
#include "api/invitee_flow.h"
#include "api/role_view.h"
#include "common/csv.h"
#include "common/log.h"
#include "common/template.h"
#include "common/xalloc.h"
#include "core/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_TITLE_MAX (SI_NAME_MAX * 2)
#define EMAILS_SEP     " \t\r\n,;"
#define CELL_BLANKS    " \t"
#define ROW_NOTE_MAX   64

/* The email languages offered, by their own names (no translation needed). */
static const struct {
    const char *tag, *name;
} langs[] = {{"en", "English"},   {"es", "Español"}, {"fr", "Français"}, {"de", "Deutsch"},
             {"pt", "Português"}, {"he", "עברית"},   {"ja", "日本語"}};

/* The path of this site's page and of its invite form. */
static void site_paths(const struct request *req, char site[CONSOLE_PATH_MAX],
                       char form[CONSOLE_PATH_MAX])
{
    const char *bp = page_base_path(req->app->base_url);
    snprintf(site, CONSOLE_PATH_MAX, "%s/console/sites/%s", bp, req->site.id);
    snprintf(form, CONSOLE_PATH_MAX, "%s/console/sites/%s/invite", bp, req->site.id);
}

/* Whether id is one of p's. */
static bool holds(const struct policy_list *p, const char *id)
{
    for (int i = 0; p && i < p->n; i++)
        if (strcmp(p->ids[i], id) == 0)
            return true;
    return false;
}

enum si_err console_role_boxes(const struct role *roles, size_t n, const char *lang,
                               const struct policy_list *checked, struct buf *out)
{
    enum si_err rc = SI_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        if (roles_site_grant(roles[i].id) != ROLE_GRANT_OK)
            continue;
        struct policy_list one = {.n = 1};
        snprintf(one.ids[0], sizeof one.ids[0], "%s", roles[i].id);
        char title[ROLE_TITLE_MAX];
        role_view_titles(&one, roles, n, lang, title, sizeof title);
        rc = buf_printf(out,
                        "<label class=\"check\"><input type=\"checkbox\" name=\"role\" "
                        "value=\"%s\"%s> ",
                        roles[i].id, holds(checked, roles[i].id) ? " checked" : "");
        if (!rc)
            rc = template_escape(out, title, TEMPLATE_HTML);
        if (!rc)
            rc = buf_puts(out, "</label>\n");
    }
    return rc;
}

static enum si_err lang_options(const char *site_lang, struct buf *out)
{
    enum si_err rc = SI_OK;
    for (size_t i = 0; !rc && i < sizeof langs / sizeof langs[0]; i++)
        rc = buf_printf(out, "<option value=\"%s\"%s lang=\"%s\">%s</option>", langs[i].tag,
                        strcmp(site_lang, langs[i].tag) == 0 ? " selected" : "", langs[i].tag,
                        langs[i].name);
    return rc;
}

/* Shows the form, with a notice above it (CP_COUNT: none) and the given status. */
static void form_reply(struct request *req, const struct console_ctx *cx, unsigned status,
                       enum console_page notice)
{
    struct role *roles = NULL;
    size_t nroles = 0;
    char site_path[CONSOLE_PATH_MAX], form_path[CONSOLE_PATH_MAX];
    struct buf boxes, options, extra;
    buf_init(&boxes, 0);
    buf_init(&options, 0);
    buf_init(&extra, 0);
    site_paths(req, site_path, form_path);
    struct console_values none = {.v = {NULL}};
    enum si_err rc = store_roles_list(req->app->store, cx->account.id, &roles, &nroles);
    if (!rc)
        rc = console_role_boxes(roles, nroles, cx->lang, NULL, &boxes);
    if (!rc)
        rc = lang_options(req->site.language, &options);
    if (!rc && notice != CP_COUNT)
        rc = console_fragment(cx->lang, notice, &none, &extra);
    if (rc) {
        console_fail(req, cx->lang, "invite form", rc);
    } else {
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = cx->nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_SITE_URL] = site_path;
        v.v[CV_ACTION] = form_path;
        v.v[CV_CSRF] = cx->csrf;
        v.v[CV_OPTIONS] = boxes.data;
        v.v[CV_SORT_OPTIONS] = options.data;
        v.v[CV_EXTRA] = extra.data;
        console_reply(req, status, cx->lang, CP_INVITE_FORM, &v);
    }
    free(roles);
    buf_cleanup(&boxes);
    buf_cleanup(&options);
    buf_cleanup(&extra);
}

void console_invite_form(struct request *req)
{
    struct console_ctx cx;
    if (!console_session_load(req, &cx))
        return;
    if (console_site_load(req, &cx))
        form_reply(req, &cx, 200, CP_COUNT);
    console_ctx_cleanup(&cx);
}

/* The word for what became of input address i. */
static enum console_page outcome_of(const struct bulk_call *call, size_t i)
{
    const struct bulk_slot *s = &call->slots[i];
    if (s->fate == FATE_INVALID)
        return CP_OUTCOME_INVALID;
    if (s->fate == FATE_DOMAIN)
        return CP_OUTCOME_DOMAIN;
    if (s->fate == FATE_DUPLICATE)
        return CP_OUTCOME_DUPLICATE;
    switch (call->items[s->item].outcome) {
    case BULK_CREATED:
        return CP_OUTCOME_CREATED;
    case BULK_EXISTING:
        return CP_OUTCOME_EXISTING;
    case BULK_ALREADY_CONTRIBUTOR:
        return CP_OUTCOME_CONTRIBUTOR;
    case BULK_LIMIT_REACHED:
        break;
    }
    return CP_OUTCOME_LIMIT;
}

/* The owner's bulk call, with the header bar its answer shows. */
struct owner_bulk {
    struct bulk_call call; /* first: the request frees the whole struct through it */
    char nav[sizeof((struct console_ctx *)0)->nav];
};

static void invite_answer(struct request *req, const struct bulk_call *call)
{
    const struct owner_bulk *ob = (const struct owner_bulk *)call;
    const char *lang = console_lang(req);
    struct buf rows;
    buf_init(&rows, 0);
    enum si_err rc = call->rc;
    for (size_t i = 0; !rc && i < call->nslots; i++) {
        struct console_values none = {.v = {NULL}}, v = {.v = {NULL}};
        char word[128], *email = xstrndup(call->emails[i], call->lens[i]);
        console_fragment_text(lang, outcome_of(call, i), &none, word, sizeof word);
        v.v[CV_EMAIL] = email;
        v.v[CV_STATUS] = word;
        rc = console_fragment(lang, CP_OUTCOME_ROW, &v, &rows);
        free(email);
    }
    if (rc) {
        console_fail(req, lang, "invite people", rc);
    } else {
        char site_path[CONSOLE_PATH_MAX], form_path[CONSOLE_PATH_MAX];
        site_paths(req, site_path, form_path);
        struct console_values v = {.v = {NULL}};
        v.v[CV_NAV] = ob->nav;
        v.v[CV_SITE_NAME] = req->site.name;
        v.v[CV_SITE_URL] = site_path;
        v.v[CV_HREF] = form_path;
        v.v[CV_ROWS] = rows.data;
        console_reply(req, 200, lang, CP_INVITE_RESULT, &v);
    }
    buf_cleanup(&rows);
}

/* Appends the addresses of an uploaded CSV file (text[0..n)) to emails, read as `invite
 * import` reads a file (common/csv.h: the column headed `email`, else the first; blank rows
 * skipped). A row too long to read is listed as a note, which Bulk Invite then calls invalid.
 * Stops past SI_BULK_MAX addresses: the form refuses that many anyway. */
static void csv_emails(char *text, size_t n, json_t *emails)
{
    FILE *f = fmemopen(text, n, "r");
    if (!f)
        return; /* n == 0 */
    struct csv_reader r;
    csv_init(&r, f);
    long col = 0;
    bool first = true;
    enum csv_status st;
    while ((st = csv_next(&r)) == CSV_RECORD || st == CSV_TOO_BIG) {
        if (json_array_size(emails) > SI_BULK_MAX)
            break;
        if (st == CSV_TOO_BIG) {
            char note[ROW_NOTE_MAX];
            snprintf(note, sizeof note, "(row %lu: too long)", csv_record_no(&r));
            json_array_append_new(emails, json_string(note));
            continue;
        }
        if (csv_blank(&r))
            continue;
        bool header = first && csv_email_column(&r, &col);
        first = false;
        if (header)
            continue;
        const char *cell = csv_field(&r, (size_t)col);
        cell += strspn(cell, CELL_BLANKS);
        size_t len = strlen(cell);
        while (len && strchr(CELL_BLANKS, cell[len - 1]))
            len--;
        json_array_append_new(emails, json_stringn(cell, len));
    }
    csv_cleanup(&r);
    fclose(f);
}

/* The form as Bulk Invite's body: {emails, policyIds, defaultEmailLanguage?, invitePurpose?},
 * owned by the request (req->json) so the emails the call points into live as long as it.
 * The pasted addresses come first, then the CSV file's; *csv_too_big when the file is over
 * CONSOLE_CSV_MAX (its addresses are then not read). */
static json_t *form_body(struct request *req, char *text, size_t cap, bool *csv_too_big)
{
    json_t *body = json_object(), *emails = json_array(), *roles = json_array();
    json_object_set_new(body, "emails", emails);
    json_object_set_new(body, "policyIds", roles);
    if (console_form_field(req, "emails", text, cap))
        for (char *p = text + strspn(text, EMAILS_SEP); *p; p += strspn(p, EMAILS_SEP)) {
            size_t n = strcspn(p, EMAILS_SEP);
            json_array_append_new(emails, json_stringn(p, n));
            p += n;
        }
    *csv_too_big = false;
    if (console_form_field(req, "csv", text, cap)) {
        size_t n = strlen(text);
        *csv_too_big = n > CONSOLE_CSV_MAX;
        if (!*csv_too_big)
            csv_emails(text, n, emails);
    }
    for (size_t pos = 0; console_form_next(req, "role", &pos, text, cap);)
        json_array_append_new(roles, json_string(text));
    if (console_form_field(req, "language", text, cap) && *text)
        json_object_set_new(body, "defaultEmailLanguage", json_string(text));
    if (console_form_field(req, "purpose", text, cap) && *text)
        json_object_set_new(body, "invitePurpose", json_string(text));
    return body;
}

void console_invite_post(struct request *req)
{
    struct console_ctx cx;
    struct violations vs = {.n = 0};
    if (!console_session_load(req, &cx))
        return;
    if (!console_form_ok(req, &cx) || !console_site_load(req, &cx))
        goto out;
    size_t cap = req->body.len + 1;
    char *text = xmalloc(cap);
    bool csv_too_big = false;
    json_decref(req->json);
    req->json = form_body(req, text, cap, &csv_too_big);
    free(text);
    if (csv_too_big) {
        form_reply(req, &cx, 413, CP_NOTICE_CSV_TOO_BIG);
        goto out;
    }
    const json_t *emails = json_object_get(req->json, "emails");
    size_t n = json_array_size(emails);
    struct owner_bulk *ob = xcalloc(1, sizeof *ob); /* the request's from bulk_execute_deferred */
    struct bulk_call *call = &ob->call;
    memcpy(ob->nav, cx.nav, sizeof ob->nav);
    enum si_err rc = bulk_fields_read(req, req->json, false, call, &vs);
    if (rc || vs.n || n == 0 || n > SI_BULK_MAX ||
        json_array_size(json_object_get(req->json, "policyIds")) == 0) {
        bulk_call_cleanup(call);
        free(ob);
        if (rc)
            console_fail(req, cx.lang, "invite people", rc);
        else
            form_reply(req, &cx, 400, CP_NOTICE_INVITE_INVALID);
        goto out;
    }
    call->emails = xcalloc(n, sizeof *call->emails);
    call->lens = xcalloc(n, sizeof *call->lens);
    for (size_t i = 0; i < n; i++) {
        call->emails[i] = json_string_value(json_array_get(emails, i));
        call->lens[i] = json_string_length(json_array_get(emails, i));
    }
    call->now = clock_now(req->app->clock);
    bulk_prepare(req, call->emails, call->lens, n, call);
    /* The audit log's actor: the site owner, by account (docs/AUDIT.md). */
    call->actor.type = AUDIT_ACTOR_OWNER;
    memcpy(call->actor.id, cx.account.id, sizeof call->actor.id);
    snprintf(call->actor.name, sizeof call->actor.name, "%s", cx.account.name);
    memcpy(call->actor.request_id, req->request_id, sizeof call->actor.request_id);
    call->finish_errors = true;
    log_info("request %s: console: account %s invites %zu address(es) to site %s", req->request_id,
             cx.account.id, n, req->site.id);
    bulk_execute_deferred(req, call, invite_answer);
out:
    console_ctx_cleanup(&cx);
}
