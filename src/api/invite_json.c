/* Rendering of the SiteInvite object: one function every handler uses, so the shape is one. */
#include "invite_json.h"

#include "core/token.h"

#include <string.h>

/* base_url + "/invite/" + token: SI_BASE_URL_MAX covers the first part, the rest is fixed. */
#define ACCEPT_PATH     "/invite/"
#define ACCEPT_LINK_MAX (SI_BASE_URL_MAX + sizeof ACCEPT_PATH + TOKEN_TEXT_LEN + 1)

/* Keys are our literals, so their UTF-8 check is skipped (this runs 15 times per invite on
 * every read). Values that came from a client (email, purpose, staffId...) keep jansson's
 * check; set_ascii is for the ones we produced (IDs, names of our enums). */
static void set_str(json_t *o, const char *key, const char *value)
{
    json_object_set_new_nocheck(o, key, json_string(value));
}

static void set_ascii(json_t *o, const char *key, const char *value)
{
    json_object_set_new_nocheck(o, key, json_string_nocheck(value));
}

static void set_time(json_t *o, const char *key, si_ms t)
{
    char text[SI_TIME_TEXT_LEN];
    time_format(t, text);
    json_object_set_new_nocheck(o, key, json_stringn_nocheck(text, SI_TIME_TEXT_LEN - 1));
}

static json_t *policies_json(const struct policy_list *pl)
{
    json_t *a = json_array();
    for (int i = 0; i < pl->n; i++)
        json_array_append_new(a, json_string(pl->ids[i])); /* stored IDs: checked */
    return a;
}

static json_t *delivery_json(const struct delivery *d)
{
    json_t *o = json_object();
    set_ascii(o, "status", delivery_status_name(d->status));
    json_object_set_new_nocheck(o, "attempts", json_integer(d->attempts));
    if (d->last_error[0])
        set_str(o, "lastError", d->last_error);
    return o;
}

static json_t *accept_link(const struct app *app, const struct invite *inv)
{
    char link[ACCEPT_LINK_MAX];
    size_t base = strnlen(app->base_url, SI_BASE_URL_MAX - 1);
    /* Built with memcpy, not printf: this runs once per invite on every read. */
    memcpy(link, app->base_url, base);
    memcpy(link + base, ACCEPT_PATH, sizeof ACCEPT_PATH - 1);
    char *tok = link + base + sizeof ACCEPT_PATH - 1;
    token_format(app->secret, inv->token_salt, tok);
    size_t len = (size_t)(tok - link) + TOKEN_TEXT_LEN;
    json_t *s = json_stringn(link, len);
    secure_wipe(link, sizeof link); /* the link is a credential; leave no copy on the stack */
    return s;
}

json_t *invite_json(const struct app *app, const struct invite *inv, si_ms now)
{
    enum invite_status st = invite_status_at(inv, now);
    json_t *o = json_object();
    set_ascii(o, "id", inv->id);
    set_ascii(o, "siteId", inv->site_id);
    set_str(o, "email", inv->email);
    json_object_set_new_nocheck(o, "policyIds", policies_json(&inv->policies));
    /* inviterId is Wix's older name for inviterAccountId; clients read either. */
    set_ascii(o, "inviterId", inv->inviter_account_id);
    set_ascii(o, "status", invite_status_name(st));
    json_object_set_new_nocheck(o, "acceptLink", accept_link(app, inv));
    set_ascii(o, "inviterAccountId", inv->inviter_account_id);
    /* Optional members are omitted rather than null: Wix omits unset fields, and the SDK's
     * typings treat a present null as a value. acceptedByAccountId belongs to Used only. */
    if (st == INVITE_USED && inv->accepted_by_account_id[0])
        set_ascii(o, "acceptedByAccountId", inv->accepted_by_account_id);
    set_time(o, "dateCreated", inv->created);
    set_time(o, "expirationDate", inv->expires);
    set_time(o, "dateUpdated", inv->updated);
    if (inv->staff_id[0])
        set_str(o, "staffId", inv->staff_id);
    if (inv->purpose)
        set_str(o, "invitePurpose", inv->purpose);
    if (inv->language[0])
        set_str(o, "emailLanguage", inv->language);
    json_object_set_new_nocheck(o, "sendCount", json_integer(inv->send_count));
    if (inv->last_sent)
        set_time(o, "lastSentDate", inv->last_sent);
    /* An invite that never had an email (none yet in the outbox) has no delivery to show. */
    if (inv->delivery.status != DELIVERY_NONE)
        json_object_set_new_nocheck(o, "delivery", delivery_json(&inv->delivery));
    return o;
}

json_t *invite_json_array(const struct app *app, const struct invite *invs, size_t n, si_ms now)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, invite_json(app, &invs[i], now));
    return a;
}
