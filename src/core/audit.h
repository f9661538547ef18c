/* The audit log's rules: who did it (the actor), what an entry says (action, target, the fields
 * that changed, before and after) and its JSON shape, decided once for both stores. Pure: the
 * stores write what these functions build, inside the transaction of the change itself. */
#ifndef SI_CORE_AUDIT_H
#define SI_CORE_AUDIT_H

#include "common/buf.h"
#include "core/change.h"
#include "core/invite.h"
#include "core/site_settings.h"

#include <stdbool.h>

/* Every action an entry can record: enum name, the name clients see. */
#define AUDIT_ACTIONS(X)                                                                           \
    X(AUDIT_INVITE_CREATED, "invite.created")                                                      \
    X(AUDIT_INVITE_RESENT, "invite.resent")                                                        \
    X(AUDIT_INVITE_UPDATED, "invite.updated")                                                      \
    X(AUDIT_INVITE_REVOKED, "invite.revoked")                                                      \
    X(AUDIT_INVITE_ACCEPTED, "invite.accepted")                                                    \
    X(AUDIT_INVITE_DECLINED, "invite.declined")                                                    \
    X(AUDIT_INVITE_EXPIRED, "invite.expired")                                                      \
    X(AUDIT_CONTRIBUTOR_REMOVED, "contributor.removed")                                            \
    X(AUDIT_CONTRIBUTOR_ROLE_CHANGED, "contributor.role_changed")                                  \
    X(AUDIT_CONTRIBUTOR_LOCATIONS_CHANGED, "contributor.locations_changed")                        \
    X(AUDIT_INVITE_REMINDED, "invite.reminded")                                                    \
    X(AUDIT_SITE_CREATED, "site.created")                                                          \
    X(AUDIT_SITE_SETTINGS_CHANGED, "site.settings_changed")                                        \
    X(AUDIT_KEY_CREATED, "key.created")                                                            \
    X(AUDIT_KEY_REVOKED, "key.revoked")                                                            \
    X(AUDIT_ROLE_CREATED, "role.created")                                                          \
    X(AUDIT_WEBHOOK_CREATED, "webhook.created")                                                    \
    X(AUDIT_WEBHOOK_UPDATED, "webhook.updated")                                                    \
    X(AUDIT_WEBHOOK_DELETED, "webhook.deleted")                                                    \
    X(AUDIT_WEBHOOK_TESTED, "webhook.tested")

#define AUDIT_ACTION_ENUM(e, name) e,
enum audit_action { AUDIT_ACTIONS(AUDIT_ACTION_ENUM) AUDIT_ACTION_COUNT };
#undef AUDIT_ACTION_ENUM

/* Who acted. NONE never reaches the store: a change without an actor is the system's. */
enum audit_actor_type {
    AUDIT_ACTOR_NONE,
    AUDIT_ACTOR_API_KEY, /* "apiKey": id and name of the key, never the key */
    AUDIT_ACTOR_INVITEE, /* "invitee": the joining account (accept) and the invite's address */
    AUDIT_ACTOR_SYSTEM,  /* "system": expiry, the mail worker */
    AUDIT_ACTOR_ADMIN,   /* "admin": the command line's admin commands */
    AUDIT_ACTOR_OWNER,   /* "owner": the site owner in the console; id and name of the account */
    AUDIT_ACTOR_COUNT
};

enum audit_target_type {
    AUDIT_TARGET_INVITE,
    AUDIT_TARGET_CONTRIBUTOR, /* target id: the contributor's account */
    AUDIT_TARGET_SITE,
    AUDIT_TARGET_KEY,
    AUDIT_TARGET_ROLE,
    AUDIT_TARGET_WEBHOOK, /* target id: the endpoint's */
    AUDIT_TARGET_COUNT
};

#define AUDIT_TARGET_ID_MAX SI_POLICY_ID_MAX /* a role ID is the longest target (40 with NUL) */

/* The actor and the request it acted in, carried from the request down to the store. */
struct audit_actor {
    enum audit_actor_type type;
    char id[SI_ID_LEN];           /* apiKey: the key's ID; invitee: the account ("" unknown) */
    char name[SI_NAME_MAX];       /* apiKey: the key's name */
    char email[SI_EMAIL_MAX + 1]; /* invitee: the invite's address */
    char request_id[SI_ID_LEN];   /* X-Wix-Request-Id of the request; "" outside one */
};

/* One entry as stored and shown. */
struct audit_entry {
    int64_t id;                 /* assigned by the store, increasing; 0 before it is written */
    char site_id[SI_ID_LEN];    /* "" for account-level entries (keys, roles) */
    char account_id[SI_ID_LEN]; /* the account the entry belongs to; "" when unknown */
    enum audit_action action;
    struct audit_actor actor;
    enum audit_target_type target_type;
    char target_id[AUDIT_TARGET_ID_MAX];
    si_ms time;
    char *changes; /* heap JSON object: {"field": {"from": .., "to": ..}}; NULL reads as {} */
};

/* Releases what an entry owns; the struct may be reused. NULL is accepted. */
void audit_entry_cleanup(struct audit_entry *e);

const char *audit_action_name(enum audit_action a);
/* The action named name; false when there is none. */
bool audit_action_parse(const char *name, enum audit_action *out);
const char *audit_actor_type_name(enum audit_actor_type t);
bool audit_actor_type_parse(const char *name, enum audit_actor_type *out);
const char *audit_target_type_name(enum audit_target_type t);
bool audit_target_type_parse(const char *name, enum audit_target_type *out);

/* The actor for a change: actor itself, or {type: system} when actor is NULL or has no type
 * (a state change is never written without one). Copies into out. */
void audit_actor_or_system(const struct audit_actor *actor, struct audit_actor *out);

/* The entry of a change of one invite decided inside the store's transaction: before is the
 * row as loaded, ch->inv the row written, ch->outbox its email effect. Fills e (action: revoked
 * when the status became Deleted, resent when an email was queued, else updated; changes: the
 * fields that differ) and returns true, or false when the change wrote nothing. e->changes is
 * heap: release with audit_entry_cleanup. */
bool audit_invite_change(const struct invite *before, const struct invite_change *ch,
                         const struct audit_actor *actor, si_ms now, struct audit_entry *e);

/* The entry of a created invite: its address, roles, locations and expiry as "to" values. */
void audit_invite_created(const struct invite *v, const struct audit_actor *actor,
                          struct audit_entry *e);

/* The same entry without its changes (NULL): the fields every created invite of one call
 * shares but its target, for the stores' batch rows. */
void audit_invite_created_shared(const struct invite *v, const struct audit_actor *actor,
                                 struct audit_entry *e);

/* The changes text of a created invite alone (the bulk paths fill the rest of the row from the
 * invite and the call), appended to b. */
void audit_created_changes(const struct invite *v, struct buf *b);

/* The entry of an invitee's answer: accepted (joined_account: the contributor's account) or
 * declined, with the status change from Pending. actor->request_id is kept; the actor becomes
 * {type: invitee, id: joined_account or "", email: the invite's address}. */
void audit_invite_answered(const struct invite *v, bool accepted, const char *joined_account,
                           const struct audit_actor *actor, si_ms now, struct audit_entry *e);

/* The changes text of an expiry, the same for every invite: {"status": Pending -> Expired}. */
const char *audit_expired_changes(void);

/* The entry of a reminder the sweep queued for the site's invite: the system's, and the same
 * changes for every invite (audit_reminded_changes). e->changes is heap. */
void audit_invite_reminded(const char *site_id, const char *invite_id, si_ms now,
                           struct audit_entry *e);

/* The changes text of a reminder: {} (the action says an email was queued; the send counters
 * are left out as for a resend). */
const char *audit_reminded_changes(void);

/* The entry of a change of a site's settings (target: the site): each setting that differs
 * between before and after, as the API shows it (acceptRedirectUrl and
 * reminderDaysBeforeExpiry left out when unset, allowedEmailDomains a list). Returns false,
 * with e untouched, when nothing differs: a PATCH that changes nothing leaves no entry. */
bool audit_site_settings_changed(const char *site_id, const struct site_settings *before,
                                 const struct site_settings *after, const struct audit_actor *actor,
                                 si_ms now, struct audit_entry *e);

/* The entry of a change of a contributor: role_changed (roles differ), locations_changed or
 * removed (after NULL: the roles and locations it had, as "from"). */
void audit_contributor_change(enum audit_action action, const struct contributor_row *before,
                              const struct contributor_row *after, const struct audit_actor *actor,
                              si_ms now, struct audit_entry *e);

/* The entry of a custom role created by actor (an API key, or the admin: see
 * audit_admin_actor): account-level, with its title as the change. */
void audit_role_created(const char *account_id, const struct role *r,
                        const struct audit_actor *actor, si_ms now, struct audit_entry *e);

/* The fields of a webhook endpoint the audit log records: never its secret. */
struct audit_webhook {
    const char *site_id, *id, *url, *description;
    unsigned events; /* WEBHOOK_EVENT_BIT set */
    bool enabled;
};

/* The entry of a webhook endpoint's change (target: the endpoint): created (before NULL: url,
 * events, description when set and enabled as "to"), updated (the fields that differ, and
 * "secret": {"to": "rotated"} when rotated, never the secret), deleted (after NULL: its url and
 * events as "from") or tested (before NULL, after the endpoint: {}, a webhook.test event was
 * queued). Returns false, with e untouched, for an update that changes nothing. e->changes is heap.
 */
bool audit_webhook_change(enum audit_action action, const struct audit_webhook *before,
                          const struct audit_webhook *after, bool rotated,
                          const struct audit_actor *actor, si_ms now, struct audit_entry *e);

/* The actor of the admin command line. */
const struct audit_actor *audit_admin_actor(void);

/* An entry of an admin command on a site or key (no field changes). */
void audit_admin_entry(enum audit_action action, const char *site_id, const char *account_id,
                       enum audit_target_type type, const char *target_id, si_ms now,
                       struct audit_entry *e);

/* Appends the entry as the API and the export show it:
 * {id, siteId?, action, actor {type, id?, name?, accountId?, email?}, target {type, id},
 *  requestId?, time, changes}. changes is the stored JSON text, copied as is. */
void audit_entry_json(const struct audit_entry *e, struct buf *b);

#endif
