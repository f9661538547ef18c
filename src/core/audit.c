/* The audit log's pure parts: names, the actor, which fields of a change differ, and the JSON
 * shape of an entry. */
#include "core/audit.h"

#include "common/jsonw.h"
#include "core/webhook.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_ACTION_NAME(e, name) name,
static const char *const action_names[AUDIT_ACTION_COUNT] = {AUDIT_ACTIONS(AUDIT_ACTION_NAME)};
#undef AUDIT_ACTION_NAME
static const char *const actor_names[AUDIT_ACTOR_COUNT] = {"",       "apiKey", "invitee",
                                                           "system", "admin",  "owner"};
static const char *const target_names[AUDIT_TARGET_COUNT] = {"invite", "contributor", "site",
                                                             "key",    "role",        "webhook"};

/* The expiry's changes: every expired invite went from Pending to Expired. */
static const char EXPIRED_CHANGES[] = "{\"status\":{\"from\":\"Pending\",\"to\":\"Expired\"}}";
/* A reminder changes no field a client sees: the action is the news. */
static const char REMINDED_CHANGES[] = "{}";

void audit_entry_cleanup(struct audit_entry *e)
{
    if (!e)
        return;
    free(e->changes);
    e->changes = NULL;
}

const char *audit_action_name(enum audit_action a)
{
    return (unsigned)a < AUDIT_ACTION_COUNT ? action_names[a] : "";
}

/* Index of name in names[0..n), or -1. */
static int find_name(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++) {
        if (names[i][0] && strcmp(names[i], name) == 0)
            return i;
    }
    return -1;
}

bool audit_action_parse(const char *name, enum audit_action *out)
{
    int i = find_name(action_names, AUDIT_ACTION_COUNT, name);
    if (i >= 0)
        *out = (enum audit_action)i;
    return i >= 0;
}

const char *audit_actor_type_name(enum audit_actor_type t)
{
    return (unsigned)t < AUDIT_ACTOR_COUNT ? actor_names[t] : "";
}

bool audit_actor_type_parse(const char *name, enum audit_actor_type *out)
{
    int i = find_name(actor_names, AUDIT_ACTOR_COUNT, name);
    if (i >= 0)
        *out = (enum audit_actor_type)i;
    return i >= 0;
}

const char *audit_target_type_name(enum audit_target_type t)
{
    return (unsigned)t < AUDIT_TARGET_COUNT ? target_names[t] : "";
}

bool audit_target_type_parse(const char *name, enum audit_target_type *out)
{
    int i = find_name(target_names, AUDIT_TARGET_COUNT, name);
    if (i >= 0)
        *out = (enum audit_target_type)i;
    return i >= 0;
}

void audit_actor_or_system(const struct audit_actor *actor, struct audit_actor *out)
{
    if (actor && actor->type != AUDIT_ACTOR_NONE) {
        *out = *actor;
        return;
    }
    memset(out, 0, sizeof *out);
    out->type = AUDIT_ACTOR_SYSTEM;
    if (actor) /* a request without a principal still names its request */
        memcpy(out->request_id, actor->request_id, sizeof out->request_id);
}

/* Copies a NUL-terminated text into a fixed array, truncating. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* Starts an entry of the site's target at now, with the actor (or the system). */
static void entry_init(struct audit_entry *e, enum audit_action action, const char *site_id,
                       enum audit_target_type type, const char *target_id,
                       const struct audit_actor *actor, si_ms now)
{
    memset(e, 0, sizeof *e);
    e->action = action;
    copy_text(e->site_id, sizeof e->site_id, site_id);
    e->target_type = type;
    copy_text(e->target_id, sizeof e->target_id, target_id);
    audit_actor_or_system(actor, &e->actor);
    e->time = now;
}

/* ---- changes: {"field": {"from": x, "to": y}} ------------------------------------------- */

/* A comma before every member but the first, as jsonw does. */
static void separate(struct buf *b)
{
    char last = b->len ? b->data[b->len - 1] : '{';
    if (last != '{' && last != '[')
        buf_xappend(b, ",", 1);
}

static void put_list(struct buf *b, const struct policy_list *p)
{
    buf_xappend(b, "[", 1);
    for (int i = 0; i < p->n; i++) {
        if (i)
            buf_xappend(b, ",", 1);
        jw_string(b, p->ids[i], strlen(p->ids[i]));
    }
    buf_xappend(b, "]", 1);
}

static bool same_list(const struct policy_list *a, const struct policy_list *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->ids[i], b->ids[i]) != 0)
            return false;
    }
    return true;
}

/* "key": {"from": [...], "to": [...]}; either side may be NULL (left out). */
static void change_list(struct buf *b, const char *key, const struct policy_list *from,
                        const struct policy_list *to)
{
    separate(b);
    jw_key(b, key);
    buf_xappend(b, "{", 1);
    if (from) {
        jw_key(b, "from");
        put_list(b, from);
    }
    if (to) {
        separate(b);
        jw_key(b, "to");
        put_list(b, to);
    }
    buf_xappend(b, "}", 1);
}

static void change_str(struct buf *b, const char *key, const char *from, const char *to)
{
    separate(b);
    jw_key(b, key);
    buf_xappend(b, "{", 1);
    if (from)
        jw_member_str(b, "from", from);
    if (to)
        jw_member_str(b, "to", to);
    buf_xappend(b, "}", 1);
}

static void change_time(struct buf *b, const char *key, si_ms from, si_ms to)
{
    separate(b);
    jw_key(b, key);
    buf_xappend(b, "{", 1);
    if (from)
        jw_member_time(b, "from", from);
    if (to)
        jw_member_time(b, "to", to);
    buf_xappend(b, "}", 1);
}

/* The fields of an invite a change may alter, those that differ between a and b. The email
 * counters (send count, last sent) are left out: the action says an email was queued. */
static void invite_diff(struct buf *b, const struct invite *a, const struct invite *v)
{
    if (a->status != v->status)
        change_str(b, "status", invite_status_name(a->status), invite_status_name(v->status));
    if (!same_list(&a->policies, &v->policies))
        change_list(b, "policyIds", &a->policies, &v->policies);
    if (!same_list(&a->locations, &v->locations))
        change_list(b, "locationIds", &a->locations, &v->locations);
    if (strcmp(a->staff_id, v->staff_id) != 0)
        change_str(b, "staffId", a->staff_id, v->staff_id);
    if (a->expires != v->expires)
        change_time(b, "expirationDate", a->expires, v->expires);
    if (strcmp(a->language, v->language) != 0)
        change_str(b, "language", a->language, v->language);
}

bool audit_invite_change(const struct invite *before, const struct invite_change *ch,
                         const struct audit_actor *actor, si_ms now, struct audit_entry *e)
{
    if (!ch->write)
        return false;
    const struct invite *v = &ch->inv;
    enum audit_action action = AUDIT_INVITE_UPDATED;
    if (v->status == INVITE_DELETED && before->status != INVITE_DELETED)
        action = AUDIT_INVITE_REVOKED;
    else if (ch->outbox == OUTBOX_ENQUEUE)
        action = AUDIT_INVITE_RESENT;
    entry_init(e, action, v->site_id, AUDIT_TARGET_INVITE, v->id, actor, now);
    /* A Pending row past its expiry already reads as Expired: say what the caller saw. */
    struct invite seen = *before; /* shallow: only compared, never freed */
    seen.status = invite_status_at(before, now);
    struct buf b;
    buf_init(&b, 0);
    buf_xappend(&b, "{", 1);
    invite_diff(&b, &seen, v);
    buf_xappend(&b, "}", 1);
    e->changes = buf_take(&b);
    return true;
}

void audit_created_changes(const struct invite *v, struct buf *b)
{
    buf_xappend(b, "{", 1);
    change_str(b, "email", NULL, v->email);
    change_str(b, "status", NULL, invite_status_name(v->status));
    change_list(b, "policyIds", NULL, &v->policies);
    if (v->locations.n > 0)
        change_list(b, "locationIds", NULL, &v->locations);
    if (v->staff_id[0])
        change_str(b, "staffId", NULL, v->staff_id);
    change_time(b, "expirationDate", 0, v->expires);
    buf_xappend(b, "}", 1);
}

void audit_invite_created_shared(const struct invite *v, const struct audit_actor *actor,
                                 struct audit_entry *e)
{
    entry_init(e, AUDIT_INVITE_CREATED, v->site_id, AUDIT_TARGET_INVITE, v->id, actor, v->created);
}

void audit_invite_created(const struct invite *v, const struct audit_actor *actor,
                          struct audit_entry *e)
{
    audit_invite_created_shared(v, actor, e);
    struct buf b;
    buf_init(&b, 0);
    audit_created_changes(v, &b);
    e->changes = buf_take(&b);
}

void audit_invite_answered(const struct invite *v, bool accepted, const char *joined_account,
                           const struct audit_actor *actor, si_ms now, struct audit_entry *e)
{
    struct audit_actor who = {.type = AUDIT_ACTOR_INVITEE};
    if (actor)
        memcpy(who.request_id, actor->request_id, sizeof who.request_id);
    copy_text(who.id, sizeof who.id, accepted ? joined_account : NULL);
    copy_text(who.email, sizeof who.email, v->email);
    entry_init(e, accepted ? AUDIT_INVITE_ACCEPTED : AUDIT_INVITE_DECLINED, v->site_id,
               AUDIT_TARGET_INVITE, v->id, &who, now);
    struct buf b;
    buf_init(&b, 0);
    buf_xappend(&b, "{", 1);
    change_str(&b, "status", invite_status_name(INVITE_PENDING),
               invite_status_name(accepted ? INVITE_USED : INVITE_DECLINED));
    if (accepted)
        change_str(&b, "acceptedBy", NULL, joined_account);
    buf_xappend(&b, "}", 1);
    e->changes = buf_take(&b);
}

const char *audit_expired_changes(void)
{
    return EXPIRED_CHANGES;
}

void audit_invite_reminded(const char *site_id, const char *invite_id, si_ms now,
                           struct audit_entry *e)
{
    entry_init(e, AUDIT_INVITE_REMINDED, site_id, AUDIT_TARGET_INVITE, invite_id, NULL, now);
    e->changes = xstrdup(REMINDED_CHANGES);
}

const char *audit_reminded_changes(void)
{
    return REMINDED_CHANGES;
}

/* "key": {"from": n, "to": n}, a side left out when it is 0 (the setting is off). */
static void change_days(struct buf *b, const char *key, int from, int to)
{
    separate(b);
    jw_key(b, key);
    buf_xappend(b, "{", 1);
    if (from)
        jw_member_int(b, "from", from);
    if (to)
        jw_member_int(b, "to", to);
    buf_xappend(b, "}", 1);
}

/* The stored domain list "a.com,*.b.com" as a JSON array. */
static void put_domains(struct buf *b, const char *list)
{
    buf_xappend(b, "[", 1);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (p != list)
            buf_xappend(b, ",", 1);
        jw_string(b, p, n);
        p += n + (comma ? 1 : 0);
    }
    buf_xappend(b, "]", 1);
}

bool audit_site_settings_changed(const char *site_id, const struct site_settings *before,
                                 const struct site_settings *after, const struct audit_actor *actor,
                                 si_ms now, struct audit_entry *e)
{
    const char *url0 = before->accept_redirect_url, *url1 = after->accept_redirect_url;
    bool url = strcmp(url0, url1) != 0;
    bool days = before->reminder_days != after->reminder_days;
    bool domains = strcmp(before->allowed_domains, after->allowed_domains) != 0;
    if (!url && !days && !domains)
        return false;
    entry_init(e, AUDIT_SITE_SETTINGS_CHANGED, site_id, AUDIT_TARGET_SITE, site_id, actor, now);
    struct buf b;
    buf_init(&b, 0);
    buf_xappend(&b, "{", 1);
    if (url) /* "" is unset: its side is left out, as GET leaves the member out */
        change_str(&b, "acceptRedirectUrl", url0[0] ? url0 : NULL, url1[0] ? url1 : NULL);
    if (days)
        change_days(&b, "reminderDaysBeforeExpiry", before->reminder_days, after->reminder_days);
    if (domains) {
        separate(&b);
        jw_key(&b, "allowedEmailDomains");
        buf_xputs(&b, "{\"from\":");
        put_domains(&b, before->allowed_domains);
        buf_xputs(&b, ",\"to\":");
        put_domains(&b, after->allowed_domains);
        buf_xappend(&b, "}", 1);
    }
    buf_xappend(&b, "}", 1);
    e->changes = buf_take(&b);
    return true;
}

void audit_contributor_change(enum audit_action action, const struct contributor_row *before,
                              const struct contributor_row *after, const struct audit_actor *actor,
                              si_ms now, struct audit_entry *e)
{
    entry_init(e, action, before->site_id, AUDIT_TARGET_CONTRIBUTOR, before->account_id, actor,
               now);
    struct buf b;
    buf_init(&b, 0);
    buf_xappend(&b, "{", 1);
    if (!after) {
        change_list(&b, "policyIds", &before->policies, NULL);
        if (before->locations.n > 0)
            change_list(&b, "locationIds", &before->locations, NULL);
    } else {
        if (!same_list(&before->policies, &after->policies))
            change_list(&b, "policyIds", &before->policies, &after->policies);
        if (!same_list(&before->locations, &after->locations))
            change_list(&b, "locationIds", &before->locations, &after->locations);
    }
    buf_xappend(&b, "}", 1);
    e->changes = buf_take(&b);
}

void audit_role_created(const char *account_id, const struct role *r,
                        const struct audit_actor *actor, si_ms now, struct audit_entry *e)
{
    entry_init(e, AUDIT_ROLE_CREATED, "", AUDIT_TARGET_ROLE, r->id, actor, now);
    copy_text(e->account_id, sizeof e->account_id, account_id);
    struct buf b;
    buf_init(&b, 0);
    buf_xappend(&b, "{", 1);
    change_str(&b, "title", NULL, r->title);
    buf_xappend(&b, "}", 1);
    e->changes = buf_take(&b);
}

/* ---- webhook endpoints -------------------------------------------------------------------- */

static void put_events(struct buf *b, unsigned events)
{
    buf_xappend(b, "[", 1);
    for (int k = 0; k < WH_EVENT_COUNT; k++) {
        if (!(events & WEBHOOK_EVENT_BIT(k)))
            continue;
        separate(b);
        const char *name = webhook_event_name((enum webhook_event)k);
        jw_string(b, name, strlen(name));
    }
    buf_xappend(b, "]", 1);
}

/* "events": {"from": [..], "to": [..]}, a side left out when its hook is NULL. */
static void change_events(struct buf *b, const struct audit_webhook *from,
                          const struct audit_webhook *to)
{
    separate(b);
    jw_key(b, "events");
    buf_xappend(b, "{", 1);
    if (from) {
        jw_key(b, "from");
        put_events(b, from->events);
    }
    if (to) {
        separate(b);
        jw_key(b, "to");
        put_events(b, to->events);
    }
    buf_xappend(b, "}", 1);
}

static void change_bool(struct buf *b, const char *key, const bool *from, const bool *to)
{
    separate(b);
    jw_key(b, key);
    buf_xappend(b, "{", 1);
    if (from)
        buf_xputs(b, *from ? "\"from\":true" : "\"from\":false");
    if (to) {
        separate(b);
        buf_xputs(b, *to ? "\"to\":true" : "\"to\":false");
    }
    buf_xappend(b, "}", 1);
}

/* A description's side: "" (none) is left out. */
static const char *described(const struct audit_webhook *w)
{
    return w && w->description && w->description[0] ? w->description : NULL;
}

bool audit_webhook_change(enum audit_action action, const struct audit_webhook *before,
                          const struct audit_webhook *after, bool rotated,
                          const struct audit_actor *actor, si_ms now, struct audit_entry *e)
{
    const struct audit_webhook *a = before, *z = after, *any = after ? after : before;
    bool url = a && z && strcmp(a->url, z->url) != 0;
    bool events = a && z && a->events != z->events;
    bool desc = a && z && strcmp(a->description, z->description) != 0;
    bool enabled = a && z && a->enabled != z->enabled;
    if (action == AUDIT_WEBHOOK_UPDATED && !url && !events && !desc && !enabled && !rotated)
        return false;
    struct buf b;
    buf_init(&b, 0);
    buf_xappend(&b, "{", 1);
    if (action == AUDIT_WEBHOOK_CREATED || action == AUDIT_WEBHOOK_DELETED) {
        bool created = action == AUDIT_WEBHOOK_CREATED;
        change_str(&b, "url", created ? NULL : any->url, created ? any->url : NULL);
        change_events(&b, created ? NULL : any, created ? any : NULL);
        if (described(any))
            change_str(&b, "description", created ? NULL : any->description,
                       created ? any->description : NULL);
        if (created)
            change_bool(&b, "enabled", NULL, &any->enabled);
    } else if (action == AUDIT_WEBHOOK_UPDATED) {
        if (url)
            change_str(&b, "url", a->url, z->url);
        if (events)
            change_events(&b, a, z);
        if (desc)
            change_str(&b, "description", described(a), described(z));
        if (enabled)
            change_bool(&b, "enabled", &a->enabled, &z->enabled);
        if (rotated)
            change_str(&b, "secret", NULL, "rotated");
    }
    buf_xappend(&b, "}", 1);
    entry_init(e, action, any ? any->site_id : "", AUDIT_TARGET_WEBHOOK, any ? any->id : "", actor,
               now);
    e->changes = buf_take(&b);
    return true;
}

const struct audit_actor *audit_admin_actor(void)
{
    static const struct audit_actor admin = {.type = AUDIT_ACTOR_ADMIN};
    return &admin;
}

void audit_admin_entry(enum audit_action action, const char *site_id, const char *account_id,
                       enum audit_target_type type, const char *target_id, si_ms now,
                       struct audit_entry *e)
{
    entry_init(e, action, site_id, type, target_id, audit_admin_actor(), now);
    copy_text(e->account_id, sizeof e->account_id, account_id);
    e->changes = xstrdup("{}");
}

/* ---- the shape clients see ------------------------------------------------------------- */

static void put_actor(struct buf *b, const struct audit_actor *a)
{
    jw_key(b, "actor");
    buf_xappend(b, "{", 1);
    jw_member_str(b, "type", audit_actor_type_name(a->type));
    if (a->type == AUDIT_ACTOR_API_KEY) {
        jw_member_str(b, "id", a->id);
        jw_member_str(b, "name", a->name);
    } else if (a->type == AUDIT_ACTOR_INVITEE) {
        if (a->id[0])
            jw_member_str(b, "accountId", a->id);
        if (a->email[0])
            jw_member_str(b, "email", a->email);
    } else if (a->type == AUDIT_ACTOR_OWNER) { /* the console's signed-in account */
        jw_member_str(b, "accountId", a->id);
        jw_member_str(b, "name", a->name);
    }
    buf_xappend(b, "}", 1);
}

void audit_entry_json(const struct audit_entry *e, struct buf *b)
{
    char id[24];
    int n = snprintf(id, sizeof id, "%lld", (long long)e->id);
    buf_xappend(b, "{", 1);
    separate(b);
    jw_key(b, "id");
    jw_string(b, id, (size_t)n);
    if (e->site_id[0])
        jw_member_str(b, "siteId", e->site_id);
    jw_member_str(b, "action", audit_action_name(e->action));
    separate(b);
    put_actor(b, &e->actor);
    separate(b);
    jw_key(b, "target");
    buf_xappend(b, "{", 1);
    jw_member_str(b, "type", audit_target_type_name(e->target_type));
    jw_member_str(b, "id", e->target_id);
    buf_xappend(b, "}", 1);
    if (e->actor.request_id[0])
        jw_member_str(b, "requestId", e->actor.request_id);
    jw_member_time(b, "time", e->time);
    separate(b);
    jw_key(b, "changes");
    buf_xputs(b, e->changes && e->changes[0] ? e->changes : "{}");
    buf_xappend(b, "}", 1);
}
