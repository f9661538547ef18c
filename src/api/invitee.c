/* The invitee's page at <base>/invite/{token}, minimal form: says what the link is for, or why it
 * no longer works. Accept and Decline buttons arrive with the invitee-flow issue. */
#include "api/api.h"

#include "common/buf.h"
#include "core/roles.h"
#include "core/token.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_HEAD                                                                                  \
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"                      \
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"                   \
    "<title>%s</title>\n<style>body{font-family:system-ui,sans-serif;max-width:36rem;"             \
    "margin:2rem auto;padding:0 1rem;line-height:1.5}</style>\n</head>\n<body>\n<h1>%s</h1>\n"
#define PAGE_TAIL "</body>\n</html>\n"

/* Appends to an uncapped page buffer: such appends cannot fail (out of memory aborts). */
static void put(struct buf *b, const char *s)
{
    if (buf_puts(b, s) != SI_OK)
        return;
}

static void put_head(struct buf *b, const char *title)
{
    if (buf_printf(b, PAGE_HEAD, title, title) != SI_OK)
        return;
}

/* Appends s with the five HTML-significant characters escaped. */
static void put_escaped(struct buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        size_t run = strcspn(p, "&<>\"'");
        if (run && buf_append(b, p, run) != SI_OK)
            return;
        p += run;
        switch (*p) {
        case '&':
            put(b, "&amp;");
            break;
        case '<':
            put(b, "&lt;");
            break;
        case '>':
            put(b, "&gt;");
            break;
        case '"':
            put(b, "&quot;");
            break;
        case '\'':
            put(b, "&#39;");
            break;
        default: /* the end of the string */
            return;
        }
    }
}

/* A page with a fixed (trusted, already-HTML) title and one paragraph. */
static void reply_message(struct request *req, unsigned status, const char *title, const char *text)
{
    struct buf b;
    buf_init(&b, 0);
    put_head(&b, title);
    put(&b, "<p>");
    put(&b, text);
    put(&b, "</p>\n" PAGE_TAIL);
    request_reply_html(req, status, buf_take(&b));
}

/* Role titles of the invite joined with ", ", custom ones looked up in the site's account. */
static void put_roles(struct buf *b, const struct invite *inv, const char *account_id,
                      struct store *store)
{
    struct role *custom = NULL;
    size_t ncustom = 0;
    for (int i = 0; i < inv->policies.n && !custom; i++)
        if (!roles_find_predefined(inv->policies.ids[i]) &&
            store_roles_list(store, account_id, &custom, &ncustom) != SI_OK)
            break; /* a title we cannot read shows as its ID; the page still helps */
    for (int i = 0; i < inv->policies.n; i++) {
        const char *id = inv->policies.ids[i], *title = id;
        const struct role *r = roles_find_predefined(id);
        for (size_t j = 0; !r && j < ncustom; j++)
            if (strcmp(custom[j].id, id) == 0)
                r = &custom[j];
        if (r)
            title = r->title;
        if (i > 0)
            put(b, ", ");
        put_escaped(b, title);
    }
    free(custom);
}

static void reply_pending(struct request *req, const struct invite *inv)
{
    struct site site;
    memset(&site, 0, sizeof site);
    enum si_err rc = store_site_get(req->app->store, inv->site_id, &site);
    if (rc) { /* an invite without its site is a broken invariant, not a missing page */
        request_fail_err(req, rc == SI_ENOTFOUND ? SI_ESTORE : rc);
        return;
    }
    /* "2026-12-26T06:23:17.086Z" reads as "2026-12-26 06:23 UTC" on the page. */
    char stamp[SI_TIME_TEXT_LEN], expires[SI_TIME_TEXT_LEN];
    time_format(inv->expires, stamp);
    memcpy(expires, stamp, 10);
    expires[10] = ' ';
    memcpy(expires + 11, stamp + 11, 5);
    memcpy(expires + 16, " UTC", 5);
    struct buf b;
    buf_init(&b, 0);
    put_head(&b, "Your invitation");
    put(&b, "<p>You have been invited to <strong>");
    put_escaped(&b, site.name);
    put(&b, "</strong> as <strong>");
    put_roles(&b, inv, site.account_id, req->app->store);
    put(&b, "</strong>.</p>\n<p>This invitation expires on ");
    put(&b, expires);
    put(&b, ".</p>\n" PAGE_TAIL);
    request_reply_html(req, 200, buf_take(&b));
}

void api_invitee_page(struct request *req)
{
    uint8_t salt[SI_TOKEN_SALT_LEN];
    struct invite inv = {.purpose = NULL};
    req->no_store = true;
    if (!req->param || token_parse(req->app->secret, req->param, salt) != SI_OK) {
        reply_message(req, 404, "This link is not valid",
                      "Check that you copied the whole link from your invitation email.");
        return;
    }
    enum si_err rc = store_invite_by_salt(req->app->store, salt, &inv);
    secure_wipe(salt, sizeof salt);
    if (rc == SI_ENOTFOUND) {
        reply_message(req, 404, "This link is not valid",
                      "Check that you copied the whole link from your invitation email.");
        return;
    }
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    switch (invite_status_at(&inv, clock_now(req->app->clock))) {
    case INVITE_PENDING:
        reply_pending(req, &inv);
        break;
    case INVITE_USED:
        reply_message(req, 410, "Invitation already used", "This invitation was already used.");
        break;
    case INVITE_DECLINED:
        reply_message(req, 410, "Invitation declined", "This invitation was declined.");
        break;
    case INVITE_DELETED:
        reply_message(req, 410, "Invitation revoked",
                      "This invitation was revoked by the person who sent it.");
        break;
    case INVITE_EXPIRED:
        reply_message(req, 410, "Invitation expired",
                      "This invitation has expired. Ask the person who sent it to send it again.");
        break;
    }
    invite_cleanup(&inv);
}
