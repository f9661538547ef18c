/* A site's optional settings (issue 10): where the invitee goes after accepting, reminders
 * before expiry and the email domains invites may go to, with their validation and the rules
 * that use them. Pure: no I/O, no clock; every time is passed in. */
#ifndef SI_CORE_SITE_SETTINGS_H
#define SI_CORE_SITE_SETTINGS_H

#include "common/clock.h"

#include <stdbool.h>
#include <stddef.h>

#define SITE_REDIRECT_URL_MAX  2000 /* bytes of acceptRedirectUrl (what browsers keep safely) */
#define SITE_DOMAINS_MAX       32   /* patterns in allowedEmailDomains */
#define SITE_DOMAIN_MAX        253  /* bytes of one domain (RFC 1035), without the "*." */
#define SITE_DOMAINS_TEXT_MAX  1024 /* bytes of the stored list "a.com,*.b.com" */
#define SITE_REMINDER_DAYS_MAX 89   /* below the longest invite lifetime (90 days) */
/* The composed redirect: the URL, "?inviteId=..&siteId=.." (two IDs of at most 40 bytes, each
 * byte percent-encoded at worst) and a NUL. */
#define SITE_REDIRECT_COMPOSED_MAX (SITE_REDIRECT_URL_MAX + 256)

/* Every member's zero value is "not set": a site without settings behaves as before issue 10. */
struct site_settings {
    char accept_redirect_url[SITE_REDIRECT_URL_MAX + 1]; /* "" = none */
    int reminder_days;                                   /* 0 = off, else 1..89 */
    char allowed_domains[SITE_DOMAINS_TEXT_MAX + 1];     /* "" = every domain; "a.com,*.b.com" */
};

/* The settings a PATCH changes; a member left NULL (or -1) keeps the stored value, so two
 * PATCHes of different settings never undo each other. Values must be checked already (the
 * functions below); "" and 0 clear a setting. */
struct site_settings_patch {
    const char *accept_redirect_url;
    int reminder_days;
    const char *allowed_domains;
};

/* Applies p to the settings s in place: the members p sets replace the stored ones. */
void site_settings_apply(struct site_settings *s, const struct site_settings_patch *p);

/* Checks an acceptRedirectUrl: https:// (any case) with a host, at most SITE_REDIRECT_URL_MAX
 * bytes, printable ASCII only (a URL is sent already encoded), no spaces. On failure *why is a
 * short English reason, safe to show. "" is valid (it clears the setting). */
bool site_settings_url_ok(const char *url, const char **why);

/* Checks one domain pattern: "example.com" or "*.example.com", labels of letters, digits and
 * hyphens (bytes of 0x80 and above are accepted as they are: an IDN is compared as written),
 * 1..63 bytes each, no leading or trailing hyphen, at least two labels. On success writes its
 * stored form (ASCII lowercased) to out (SITE_DOMAIN_MAX + 3 bytes). */
bool site_settings_domain_ok(const char *pattern, size_t len, char *out, const char **why);

/* Adds one checked pattern (site_settings_domain_ok's out) to the stored list text, skipping a
 * repeat. false when the list would exceed SITE_DOMAINS_MAX patterns or SITE_DOMAINS_TEXT_MAX
 * bytes (the list is then unchanged). */
bool site_settings_domains_add(char list[SITE_DOMAINS_TEXT_MAX + 1], const char *pattern);

/* True when an address (as email_check stored it: the domain follows the last '@') may be
 * invited under the site's list: an empty list allows every address; "a.com" matches a.com
 * only; "*.a.com" matches every subdomain of a.com but not a.com itself; ASCII case ignored. */
bool site_settings_email_allowed(const struct site_settings *s, const char *email);

/* What the reminder rule needs to know of one invite. */
struct reminder_facts {
    bool pending;    /* stored status is Pending */
    si_ms expires;   /* expiresAt */
    si_ms last_sent; /* the latest email (invite or resend); 0 = never */
    si_ms reminded;  /* when its reminder was queued; 0 = never */
    int days;        /* the site's reminderDaysBeforeExpiry; 0 = off */
};

/* When the reminder of an invite expiring at expires falls due: days before it. */
si_ms site_settings_reminder_at(si_ms expires, int days);

/* The reminder rule: one reminder per invite, due at expiresAt - days, only while it is Pending
 * and unexpired, and only when no email went out since the due time began (an invite created or
 * resent inside the window was just mailed: a reminder would repeat it). The stores' reminder
 * queries (store_reminders_queue) select exactly these invites. */
bool site_settings_reminder_due(const struct reminder_facts *f, si_ms now);

/* Writes url with inviteId and siteId appended as query parameters (percent-encoded), after an
 * existing query and before a fragment, into out (SITE_REDIRECT_COMPOSED_MAX bytes). false,
 * with out = "", when url is empty or too long, or an ID is over 40 bytes. */
bool site_settings_redirect_compose(const char *url, const char *invite_id, const char *site_id,
                                    char out[SITE_REDIRECT_COMPOSED_MAX]);

#endif
