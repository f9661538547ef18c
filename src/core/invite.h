/* The domain types of the service (invites, sites, roles, principals) and their limits. */
#ifndef SI_CORE_INVITE_H
#define SI_CORE_INVITE_H

#include "common/clock.h"
#include "common/ids.h"
#include "core/site_settings.h"

#include <stdbool.h>
#include <stdint.h>

#define SI_EMAIL_MAX                 254  /* RFC 5321 path limit minus the angle brackets */
#define SI_POLICIES_MAX              20   /* policy IDs per invite */
#define SI_POLICY_ID_MAX             40   /* a role ID: 19-digit numeral or a GUID, plus NUL */
#define SI_PURPOSE_MAX_CHARS         1000 /* code points of invitePurpose */
#define SI_STAFF_ID_MAX              128  /* bytes of staffId, plus NUL */
#define SI_LANG_MAX                  36   /* a language tag such as "pt-BR", plus NUL */
#define SI_NAME_MAX                  256  /* account, site, key and role names, plus NUL */
#define SI_ROLE_DESC_MAX             1024 /* role description, plus NUL */
#define SI_ERROR_TEXT_MAX            512  /* a delivery's last error, plus NUL */
#define SI_TOKEN_SALT_LEN            16   /* random bytes behind an accept link (128 bits) */
#define SI_BULK_MAX                  1000 /* emails per Bulk Invite call */
#define SI_LIFETIME_DAYS_DEFAULT     30
#define SI_LIFETIME_DAYS_MIN         1
#define SI_LIFETIME_DAYS_MAX         90
#define SI_RESENDS_PER_DAY           5 /* resends of one invite in any 24 hours */
#define SI_CONTRIBUTOR_LIMIT_DEFAULT 100

#define SI_LOCATIONS_MAX SI_POLICIES_MAX /* location GUIDs per invite (Wix: maxItems 20) */

/* X(enum, wire name) in the order of the wire enum. */
#define INVITE_STATUSES(X)                                                                         \
    X(INVITE_PENDING, "Pending")                                                                   \
    X(INVITE_USED, "Used")                                                                         \
    X(INVITE_DELETED, "Deleted")                                                                   \
    X(INVITE_DECLINED, "Declined")                                                                 \
    X(INVITE_EXPIRED, "Expired")

enum invite_status {
#define INVITE_STATUS_ENUM(e, name) e,
    INVITE_STATUSES(INVITE_STATUS_ENUM)
#undef INVITE_STATUS_ENUM
};

/* State of the latest email of an invite. */
enum delivery_status {
    DELIVERY_NONE,
    DELIVERY_QUEUED,
    DELIVERY_SENT,
    DELIVERY_FAILED,
    DELIVERY_CANCELLED
};

/* A list of up to 20 IDs: the roles of an invite or contributor, and (holding GUIDs) their
 * business locations, which share the limit and the stored form. */
struct policy_list {
    int n;
    char ids[SI_POLICIES_MAX][SI_POLICY_ID_MAX];
};

struct delivery {
    enum delivery_status status;
    int attempts;
    char last_error[SI_ERROR_TEXT_MAX];
};

struct invite {
    char id[SI_ID_LEN];
    char site_id[SI_ID_LEN];
    char email[SI_EMAIL_MAX + 1];     /* local part as given, domain lowercased */
    char email_key[SI_EMAIL_MAX + 1]; /* case-folded form used for comparisons */
    struct policy_list policies;
    struct policy_list locations; /* location GUIDs, lowercase, no repeats; n = 0: none */
    char inviter_account_id[SI_ID_LEN];
    enum invite_status status;              /* as stored; see invite_status_at for the truth */
    char accepted_by_account_id[SI_ID_LEN]; /* "" until Used */
    /* Accept links of invites made before schema 16 name their salt; newer ones name the ID
     * (core/token.h) and store no salt: has_salt false, token_salt zero. */
    bool has_salt;
    uint8_t token_salt[SI_TOKEN_SALT_LEN];
    si_ms created, updated, expires, last_sent; /* last_sent 0 = never */
    char staff_id[SI_STAFF_ID_MAX];             /* "" = none */
    char *purpose;                              /* heap, NULL = none; freed by invite_cleanup */
    char language[SI_LANG_MAX];                 /* "" = not chosen (site language applies) */
    int send_count;
    struct delivery delivery;
};

struct site {
    char id[SI_ID_LEN];
    char account_id[SI_ID_LEN];
    char name[SI_NAME_MAX];
    int contributor_limit;
    char language[SI_LANG_MAX];
    int lifetime_days;
    si_ms created;
    /* Issue 10's settings: NULL while none is set (nearly every site), else heap and owned,
     * freed by site_cleanup. A pointer keeps struct site small (3.4 KB with the 3 KB of
     * settings inline): Query Sites loads up to 10,000 of them. Read through site_settings_of. */
    struct site_settings *settings;
};

struct account {
    char id[SI_ID_LEN];
    char name[SI_NAME_MAX];
    char email[SI_EMAIL_MAX + 1];
    si_ms created;
};

/* Wix's RoleLevelRestriction: the kind of resource a role may not be held on. */
enum role_restriction { ROLE_NO_RESTRICTION, ROLE_RESTRICT_SITE, ROLE_RESTRICT_ACCOUNT };

struct role {
    char id[SI_POLICY_ID_MAX];
    char title[SI_NAME_MAX];
    char description[SI_ROLE_DESC_MAX];
    bool predefined;
    enum role_restriction restrict_from; /* core/roles.c's for predefined roles, else none */
};

/* A contributor: an account holding roles on a site, usually through an accepted invite. */
struct contributor_row {
    char id[SI_ID_LEN];
    char site_id[SI_ID_LEN];
    char account_id[SI_ID_LEN];
    char email[SI_EMAIL_MAX + 1];
    char email_key[SI_EMAIL_MAX + 1]; /* case-folded, as struct invite's */
    struct policy_list policies;
    struct policy_list locations; /* the invite's locations, then Change Locations' */
    si_ms joined;
    char invite_id[SI_ID_LEN];            /* "" when added without an invite */
    char invited_email[SI_EMAIL_MAX + 1]; /* the address the invite went to; "" without one */
};

/* Releases what a site owns (its settings); the struct may be reused afterwards. */
void site_cleanup(struct site *s);
/* site_cleanup on each of n sites, then free(sites). NULL is accepted. */
void sites_free(struct site *sites, size_t n);
/* The site's settings, or all-unset ones when it has none; borrowed until s is cleaned up. */
const struct site_settings *site_settings_of(const struct site *s);
/* Stores set on s (replacing what it held): as a heap copy, or NULL when nothing is set. */
void site_settings_put(struct site *s, const struct site_settings *set);

/* Releases what an invite owns (its purpose); the struct may be reused afterwards. */
void invite_cleanup(struct invite *inv);

/* Copies src into dst, duplicating owned strings; dst must not own anything. */
void invite_copy(struct invite *dst, const struct invite *src);
/* Copies the n IDs of src, not the whole 804-byte list: a bulk call of 1,000 fills two lists
 * per invite, 1.6 MB of writes as whole copies, ~90 KB for one role each. dst's entries past n
 * are left as they were (readers stop at n). */
void policy_list_copy(struct policy_list *dst, const struct policy_list *src);

/* The status a reader must see at time now: a Pending invite past its expiry is Expired. */
enum invite_status invite_status_at(const struct invite *inv, si_ms now);

/* Wire name ("Pending", ...) of a status. */
const char *invite_status_name(enum invite_status s);

/* Parses a wire name, case-sensitively; false when unknown. */
bool invite_status_parse(const char *name, enum invite_status *out);

/* Wire name ("Queued", "Sent", "Failed", "Cancelled") of a delivery state; NULL for NONE. */
const char *delivery_status_name(enum delivery_status s);

/* Parses a wire name (as stored in the outbox) into a delivery state; NULL or an unknown name
 * gives DELIVERY_NONE. */
enum delivery_status delivery_status_parse(const char *name);

#endif
