/* Rendering of the SiteInvite object: one function every handler uses, so the shape is one. */
#include "invite_json.h"

#include "common/jsonw.h"
#include "core/token.h"

#include <string.h>

/* base_url + "/invite/" + token: SI_BASE_URL_MAX covers the first part, the rest is fixed. */
#define ACCEPT_PATH     "/invite/"
#define ACCEPT_LINK_MAX (SI_BASE_URL_MAX + sizeof ACCEPT_PATH + TOKEN_TEXT_LEN + 1)

/* Writes the accept link of inv as a JSON string member. The link is a credential: the stack
 * copy is wiped; the answer buffer itself is the caller's to wipe or send. */
static void write_accept_link(struct buf *b, const struct app *app, const struct invite *inv)
{
    char link[ACCEPT_LINK_MAX];
    size_t base = strnlen(app->base_url, SI_BASE_URL_MAX - 1);
    memcpy(link, app->base_url, base);
    memcpy(link + base, ACCEPT_PATH, sizeof ACCEPT_PATH - 1);
    char *tok = link + base + sizeof ACCEPT_PATH - 1;
    token_format(app->secret, inv->token_salt, tok);
    buf_xappend(b, ",", 1);
    jw_key(b, "acceptLink");
    jw_string(b, link, (size_t)(tok - link) + TOKEN_TEXT_LEN);
    secure_wipe(link, sizeof link);
}

/* Writes ,"key":[ids...]. */
static void write_ids(struct buf *b, const char *key, const struct policy_list *pl)
{
    buf_xappend(b, ",", 1);
    jw_key(b, key);
    buf_xappend(b, "[", 1);
    for (int i = 0; i < pl->n; i++) {
        if (i)
            buf_xappend(b, ",", 1);
        jw_string(b, pl->ids[i], strlen(pl->ids[i]));
    }
    buf_xappend(b, "]", 1);
}

static void write_delivery(struct buf *b, const struct delivery *d)
{
    buf_xappend(b, ",", 1);
    jw_key(b, "delivery");
    buf_xappend(b, "{", 1);
    jw_member_str(b, "status", delivery_status_name(d->status));
    jw_member_int(b, "attempts", d->attempts);
    if (d->last_error[0])
        jw_member_str(b, "lastError", d->last_error);
    buf_xappend(b, "}", 1);
}

/* The object; a preview (dry run) leaves out the id and the acceptLink, which do not exist. */
static void write_invite(struct buf *b, const struct app *app, const struct invite *inv, si_ms now,
                         bool preview)
{
    enum invite_status st = invite_status_at(inv, now);
    buf_xappend(b, "{", 1);
    if (!preview)
        jw_member_str(b, "id", inv->id);
    jw_member_str(b, "siteId", inv->site_id);
    jw_member_str(b, "email", inv->email);
    write_ids(b, "policyIds", &inv->policies);
    /* inviterId is Wix's older name for inviterAccountId; clients read either. */
    jw_member_str(b, "inviterId", inv->inviter_account_id);
    jw_member_str(b, "status", invite_status_name(st));
    if (!preview)
        write_accept_link(b, app, inv);
    jw_member_str(b, "inviterAccountId", inv->inviter_account_id);
    /* Optional members are omitted rather than null: Wix omits unset fields, and the SDK's
     * typings treat a present null as a value. acceptedByAccountId belongs to Used only. */
    if (st == INVITE_USED && inv->accepted_by_account_id[0])
        jw_member_str(b, "acceptedByAccountId", inv->accepted_by_account_id);
    jw_member_time(b, "dateCreated", inv->created);
    jw_member_time(b, "expirationDate", inv->expires);
    jw_member_time(b, "dateUpdated", inv->updated);
    if (inv->staff_id[0])
        jw_member_str(b, "staffId", inv->staff_id);
    /* Wix's newer SiteInvite docs: "Location ids included in the invite", read-only. */
    if (inv->locations.n)
        write_ids(b, "locationIds", &inv->locations);
    if (inv->purpose)
        jw_member_str(b, "invitePurpose", inv->purpose);
    if (inv->language[0])
        jw_member_str(b, "emailLanguage", inv->language);
    jw_member_int(b, "sendCount", inv->send_count);
    if (inv->last_sent)
        jw_member_time(b, "lastSentDate", inv->last_sent);
    /* An invite that never had an email (none yet in the outbox) has no delivery to show. */
    if (inv->delivery.status != DELIVERY_NONE)
        write_delivery(b, &inv->delivery);
    buf_xappend(b, "}", 1);
}

void invite_json_write(struct buf *b, const struct app *app, const struct invite *inv, si_ms now)
{
    write_invite(b, app, inv, now, false);
}

void invite_json_write_preview(struct buf *b, const struct app *app, const struct invite *inv,
                               si_ms now)
{
    write_invite(b, app, inv, now, true);
}

void invite_json_write_array(struct buf *b, const struct app *app, const struct invite *invs,
                             size_t n, si_ms now)
{
    buf_xappend(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_xappend(b, ",", 1);
        invite_json_write(b, app, &invs[i], now);
    }
    buf_xappend(b, "]", 1);
}

void invite_reply(struct request *req, const struct invite *inv, si_ms now, bool preview)
{
    struct buf b;
    buf_init(&b, 0);
    buf_xputs(&b, "{\"invite\":");
    write_invite(&b, req->app, inv, now, preview);
    buf_xappend(&b, "}", 1);
    size_t len = b.len;
    request_reply_json_text(req, 200, buf_take(&b), len);
}

json_t *invite_json(const struct app *app, const struct invite *inv, si_ms now)
{
    /* One writer for the shape; callers that need a jansson value parse its text. */
    struct buf b;
    buf_init(&b, 0);
    invite_json_write(&b, app, inv, now);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    secure_wipe(b.data, b.len);
    buf_cleanup(&b);
    return o;
}
