/* The SiteInvite object of the wire (docs/API.md §3.1) as JSON text: the one renderer of the
 * API's answers (api/invite_json.c) and of webhook payloads (store, in the change's
 * transaction), so both show an invite the same way. */
#include "invite_view.h"

#include "common/jsonw.h"
#include "common/secure.h"
#include "core/token.h"

#include <string.h>

/* base_url + "/invite/" + token: SI_BASE_URL_MAX covers the first part, the rest is fixed. */
#define ACCEPT_PATH     "/invite/"
#define ACCEPT_LINK_MAX (INVITE_VIEW_BASE_MAX + sizeof ACCEPT_PATH + TOKEN_TEXT_CAP)

/* Writes the accept link of inv as a JSON string member. The link is a credential: the stack
 * copy is wiped; the answer buffer itself is the caller's to wipe or send. */
static void write_accept_link(struct buf *b, const struct invite_link *app,
                              const struct invite *inv)
{
    char link[ACCEPT_LINK_MAX];
    size_t base = strnlen(app->base_url, INVITE_VIEW_BASE_MAX - 1);
    memcpy(link, app->base_url, base);
    memcpy(link + base, ACCEPT_PATH, sizeof ACCEPT_PATH - 1);
    char *tok = link + base + sizeof ACCEPT_PATH - 1;
    size_t tok_len = token_format_invite(app->secret, inv, tok);
    buf_xappend(b, ",", 1);
    jw_key(b, "acceptLink");
    jw_string(b, link, (size_t)(tok - link) + tok_len);
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

void invite_view_write(struct buf *b, const struct invite *inv, si_ms now,
                       const struct invite_link *link, bool with_id)
{
    enum invite_status st = invite_status_at(inv, now);
    buf_xappend(b, "{", 1);
    if (with_id)
        jw_member_str(b, "id", inv->id);
    jw_member_str(b, "siteId", inv->site_id);
    jw_member_str(b, "email", inv->email);
    write_ids(b, "policyIds", &inv->policies);
    /* inviterId is Wix's older name for inviterAccountId; clients read either. */
    jw_member_str(b, "inviterId", inv->inviter_account_id);
    jw_member_str(b, "status", invite_status_name(st));
    if (link)
        write_accept_link(b, link, inv);
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
