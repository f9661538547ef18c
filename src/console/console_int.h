/* What the console's files share: the page family and its placeholders, rendering and
 * answering, and the signed-in context every page after sign-in works in. Only src/console/. */
#ifndef SI_CONSOLE_CONSOLE_INT_H
#define SI_CONSOLE_CONSOLE_INT_H

#include "console/console.h"

#include "common/buf.h"
#include "store/store.h"

#include <stdbool.h>

#define CONSOLE_CSRF_BYTES 16 /* bytes of the keyed hash kept in a CSRF token */
#define CONSOLE_CSRF_LEN   22 /* base64url of CONSOLE_CSRF_BYTES, unpadded */
#define CONSOLE_TOKEN_TEXT 43 /* base64url of CONSOLE_TOKEN_BYTES, unpadded */
#define CONSOLE_PATH_MAX   (SI_BASE_URL_MAX + 160) /* a form action or a redirect */
#define CONSOLE_CSV_MAX    (512 * 1024) /* bytes of a CSV file uploaded to Invite people */

/* X(enum, file name without .html); B = bare fragments, rendered without the layout. */
#define CONSOLE_PAGES(X)                                                                           \
    X(CP_SIGNIN, "signin")                 /* no session: how to get a link */                     \
    X(CP_SIGNIN_CONFIRM, "signin_confirm") /* GET on a link: the button that signs in */           \
    X(CP_SIGNIN_USED, "signin_used")       /* 410 */                                               \
    X(CP_SIGNIN_EXPIRED, "signin_expired") /* 410 */                                               \
    X(CP_SIGNIN_INVALID, "signin_invalid") /* 404 */                                               \
    X(CP_SIGNED_OUT, "signed_out")                                                                 \
    X(CP_FORBIDDEN, "forbidden")           /* 403: cross-site, or without its CSRF token */        \
    X(CP_NOT_FOUND, "not_found")           /* 404 */                                               \
    X(CP_ERROR, "error")                   /* 5xx */                                               \
    X(CP_SITES, "sites")                   /* the account's sites */                               \
    X(CP_SITE, "site")                     /* one site's invites */                                \
    X(CP_NAV, "nav")                       /* B: the header bar with Sign out */                   \
    X(CP_SITE_ROW, "site_row")             /* B: one row of the sites table */                     \
    X(CP_INVITE_ROW, "invite_row")         /* B: one row of the invites table */                   \
    X(CP_INVITE_RESEND, "invite_resend")   /* B: the Resend form of a row */                       \
    X(CP_INVITE_REVOKE, "invite_revoke")   /* B: the Revoke form of a row */                       \
    X(CP_NEXT_PAGE, "next_page")           /* B: the link to the next page */                      \
    X(CP_NOTICE_RESENT, "notice_resent")   /* B: after a resend */                                 \
    X(CP_NOTICE_REVOKED, "notice_revoked") /* B: after a revoke */                                 \
    X(CP_NOTICE_REFUSED, "notice_refused") /* B: a change the invite's state forbids */            \
    X(CP_NOTICE_LIMITED, "notice_limited") /* B: resent too often today */                         \
    X(CP_STATUS_PENDING, "status_pending") /* B: status words, in invite_status order */           \
    X(CP_STATUS_USED, "status_used")                                                               \
    X(CP_STATUS_DELETED, "status_deleted")                                                         \
    X(CP_STATUS_DECLINED, "status_declined")                                                       \
    X(CP_STATUS_EXPIRED, "status_expired")                                                         \
    X(CP_DELIVERY_NONE, "delivery_none") /* B: delivery words, in delivery_status order */         \
    X(CP_DELIVERY_QUEUED, "delivery_queued")                                                       \
    X(CP_DELIVERY_SENT, "delivery_sent")                                                           \
    X(CP_DELIVERY_FAILED, "delivery_failed")                                                       \
    X(CP_DELIVERY_CANCELLED, "delivery_cancelled")                                                 \
    X(CP_ALL_STATUSES, "all_statuses") /* B: the filter's "any status" */                          \
    X(CP_SORT_CREATED, "sort_created") /* B: sort choices, in sort_field order */                  \
    X(CP_SORT_EMAIL, "sort_email")                                                                 \
    X(CP_SORT_STATUS, "sort_status")                                                               \
    X(CP_ORDER_DESC, "order_desc") /* B: newest / Z to A first */                                  \
    X(CP_ORDER_ASC, "order_asc")                                                                   \
    X(CP_INVITE_FORM, "invite")          /* Invite people: addresses, roles, language */           \
    X(CP_INVITE_RESULT, "invite_result") /* what became of each address */                         \
    X(CP_OUTCOME_ROW, "outcome_row")     /* B: one address and its outcome */                      \
    X(CP_NOTICE_INVITE_INVALID, "notice_invite_invalid") /* B: no role or no address */            \
    X(CP_OUTCOME_CREATED, "outcome_created")             /* B: outcome words */                    \
    X(CP_OUTCOME_EXISTING, "outcome_existing")                                                     \
    X(CP_OUTCOME_CONTRIBUTOR, "outcome_contributor")                                               \
    X(CP_OUTCOME_LIMIT, "outcome_limit")                                                           \
    X(CP_OUTCOME_INVALID, "outcome_invalid")                                                       \
    X(CP_OUTCOME_DUPLICATE, "outcome_duplicate")                                                   \
    X(CP_OUTCOME_DOMAIN, "outcome_domain")                                                         \
    X(CP_KEYS, "keys")               /* the account's API keys and the create form */              \
    X(CP_KEY_CREATED, "key_created") /* the new key, shown once */                                 \
    X(CP_KEY_ROW, "key_row")         /* B: one key */                                              \
    X(CP_KEY_REVOKE, "key_revoke")   /* B: its Revoke form */                                      \
    X(CP_KEY_ACTIVE, "key_active")   /* B: status word */                                          \
    X(CP_KEY_REVOKED, "key_revoked") /* B: status word */                                          \
    X(CP_KEY_NEVER, "key_never")     /* B: an unknown prefix or last use */                        \
    X(CP_NOTICE_KEY_REVOKED, "notice_key_revoked")     /* B: after a revoke */                     \
    X(CP_NOTICE_KEY_INVALID, "notice_key_invalid")     /* B: no name or no permission */           \
    X(CP_CONTRIBUTORS, "contributors")                 /* a site's contributors */                 \
    X(CP_CONTRIBUTOR_EDIT, "contributor")              /* one contributor's roles */               \
    X(CP_CONTRIBUTOR_ROW, "contributor_row")           /* B: one contributor */                    \
    X(CP_CONTRIBUTOR_REMOVE, "contributor_remove")     /* B: its Remove form */                    \
    X(CP_NOTICE_ROLES_CHANGED, "notice_roles_changed") /* B */                                     \
    X(CP_NOTICE_CONTRIBUTOR_REMOVED, "notice_contributor_removed") /* B */                         \
    X(CP_NOTICE_ROLES_INVALID, "notice_roles_invalid") /* B: no role, or one not allowed */        \
    X(CP_INVITE_LINK_PAGE, "invite_link")      /* a pending invite's accept link, on demand */     \
    X(CP_INVITE_SHOW_LINK, "invite_show_link") /* B: the Show link form of a row */                \
    X(CP_SIGNIN_SENT, "signin_sent")           /* after "Email me a link", known or not */         \
    X(CP_NOTICE_SIGNIN_LIMITED, "notice_signin_limited") /* B: 429 */                              \
    X(CP_NOTICE_SIGNIN_INVALID, "notice_signin_invalid") /* B: not an address */                   \
    X(CP_NOTICE_CSV_TOO_BIG, "notice_csv_too_big")       /* B: 413 on Invite people */             \
    X(CP_AUDIT, "audit")                                 /* a site's audit log */                  \
    X(CP_AUDIT_ROW, "audit_row")                         /* B: one entry */                        \
    X(CP_AUDIT_ANY, "audit_any")                         /* B: a filter's "any" choice */          \
    X(CP_NOTICE_AUDIT_INVALID, "notice_audit_invalid")   /* B: a filter the API refuses */         \
    X(CP_WEBHOOKS, "webhooks")                           /* a site's endpoints and the add form */ \
    X(CP_WEBHOOK_ROW, "webhook_row")                     /* B: one endpoint */                     \
    X(CP_WEBHOOK_ENABLE, "webhook_enable")               /* B: its Enable form */                  \
    X(CP_WEBHOOK_DISABLE, "webhook_disable")             /* B: its Disable form */                 \
    X(CP_WEBHOOK_TEST, "webhook_test")                   /* B: its Send test form */               \
    X(CP_WEBHOOK_DELETE, "webhook_delete")               /* B: its Delete form */                  \
    X(CP_WEBHOOK_ENABLED, "webhook_enabled")             /* B: state word */                       \
    X(CP_WEBHOOK_DISABLED, "webhook_disabled")           /* B: state word */                       \
    X(CP_WEBHOOK_CREATED, "webhook_created")       /* the new endpoint's secret, shown once */     \
    X(CP_WEBHOOK_DELIVERIES, "webhook_deliveries") /* an endpoint's recent deliveries */           \
    X(CP_DELIVERY_ROW, "delivery_row")             /* B: one delivery */                           \
    X(CP_NOTICE_WEBHOOK_ENABLED, "notice_webhook_enabled")   /* B */                               \
    X(CP_NOTICE_WEBHOOK_DISABLED, "notice_webhook_disabled") /* B */                               \
    X(CP_NOTICE_WEBHOOK_DELETED, "notice_webhook_deleted")   /* B */                               \
    X(CP_NOTICE_WEBHOOK_TESTED, "notice_webhook_tested")     /* B */                               \
    X(CP_NOTICE_WEBHOOK_INVALID, "notice_webhook_invalid")   /* B: the API's refusal, in value */  \
    X(CP_CHART, "chart")                 /* B: the site page's chart, legend, table */             \
    X(CP_CHART_TITLE, "chart_title")     /* B: the drawing's name */                               \
    X(CP_CHART_MINUTES, "chart_minutes") /* B: the median in minutes */                            \
    X(CP_CHART_HOURS, "chart_hours")                                                               \
    X(CP_CHART_DAYS, "chart_days")                                                                 \
    X(CP_CHART_NONE, "chart_none")               /* B: no accepted invite in the window */         \
    X(CP_INVITE_ROLES, "invite_roles")           /* a pending invite's roles */                    \
    X(CP_INVITE_ROLES_LINK, "invite_roles_link") /* B: the Change roles link of a row */

enum console_page {
#define CP_ENUM(e, name) e,
    CONSOLE_PAGES(CP_ENUM)
#undef CP_ENUM
        CP_COUNT
};

/* X(enum, placeholder name). Values are text, HTML-escaped where they land, except the ones in
 * CONSOLE_RAW_VARS: HTML the console built from escaped parts. At most TEMPLATE_VARS_MAX. */
#define CONSOLE_VARS(X)                                                                            \
    X(CV_LANG, "lang")                                                                             \
    X(CV_DIR, "dir")                                                                               \
    X(CV_TITLE, "title")                                                                           \
    X(CV_CONTENT, "content")                                                                       \
    X(CV_NAV, "nav")       /* raw: the header bar */                                               \
    X(CV_ACTION, "action") /* a form's action path */                                              \
    X(CV_CSRF, "csrf")     /* the session's CSRF token */                                          \
    X(CV_ACCOUNT_NAME, "account_name")                                                             \
    X(CV_ACCOUNT_EMAIL, "account_email")                                                           \
    X(CV_ROWS, "rows") /* raw: table rows */                                                       \
    X(CV_SITE_NAME, "site_name")                                                                   \
    X(CV_SITE_URL, "site_url") /* the site page's path */                                          \
    X(CV_SITE_ID, "site_id")                                                                       \
    X(CV_SEATS_USED, "seats_used")                                                                 \
    X(CV_SEATS_LIMIT, "seats_limit")                                                               \
    X(CV_PENDING, "pending")                                                                       \
    X(CV_ACCEPTED, "accepted")                                                                     \
    X(CV_EXPIRED, "expired")                                                                       \
    X(CV_EMAIL, "email")                                                                           \
    X(CV_ROLES, "roles")                                                                           \
    X(CV_STATUS, "status")                                                                         \
    X(CV_DELIVERY, "delivery")                                                                     \
    X(CV_SENT, "sent")                                                                             \
    X(CV_CREATED, "created")                                                                       \
    X(CV_EXPIRES, "expires")                                                                       \
    X(CV_ID, "id")                     /* an invite's or a key's ID */                             \
    X(CV_OPTIONS, "options")           /* raw: <option>s of the status filter */                   \
    X(CV_SORT_OPTIONS, "sort_options") /* raw: <option>s of the sort */                            \
    X(CV_EXTRA, "extra")               /* raw: row actions, a notice, the next-page link */        \
    X(CV_CHART, "chart")         /* raw: the site's chart (console_chart); in it, the drawing */   \
    X(CV_HREF, "href")           /* a link's path */                                               \
    X(CV_VALUE, "value")         /* the address searched for; a key's name; the new key */         \
    X(CV_PREFIX, "prefix")       /* a key's shown start (auth_key_issue) */                        \
    X(CV_LAST_USED, "last_used") /* when a key was last used, minutes in UTC */

enum console_var {
#define CV_ENUM(e, name) e,
    CONSOLE_VARS(CV_ENUM)
#undef CV_ENUM
        CV_COUNT
};

/* The values of one page; NULL reads as "". Borrowed. */
struct console_values {
    const char *v[CV_COUNT];
};

/* The signed-in owner: session, account, the CSRF token of its forms, the page language. */
struct console_ctx {
    uint8_t hash[32]; /* the session cookie's hash: the session's key in the store */
    struct console_session sess;
    struct account account;
    char csrf[CONSOLE_CSRF_LEN + 1];
    const char *lang; /* a folder of the console's pages */
    char nav[2048];   /* the rendered header bar */
};

/* The page language for req (Accept-Language), "en" when the pages are not loaded. */
const char *console_lang(const struct request *req);

/* Answers with page id in lang: the whole document, with no-store and the strict CSP. A
 * template failure answers a plain 500. */
void console_reply(struct request *req, unsigned status, const char *lang, enum console_page id,
                   const struct console_values *v);
/* Appends a bare fragment (a row, a word) to out. SI_ETOOBIG, or SI_ENOTFOUND when the pages
 * are not loaded. */
enum si_err console_fragment(const char *lang, enum console_page id, const struct console_values *v,
                             struct buf *out) SI_MUST_USE;
/* A fragment into a fixed array (words, short forms); "" when it does not fit. */
void console_fragment_text(const char *lang, enum console_page id, const struct console_values *v,
                           char *out, size_t cap);

/* Answers 303 See Other to base path + path (a page of ours). */
void console_redirect(struct request *req, const char *path);

/* Answers for an internal error: logged, then the error page (500). */
void console_fail(struct request *req, const char *lang, const char *what, enum si_err rc);

/* Loads the signed-in context: the cookie's session, alive by core's rule (touched at most once
 * a minute), its account and CSRF token. false when there is none: it has answered with a
 * redirect to the sign-in page (and ended a dead session). */
bool console_session_load(struct request *req, struct console_ctx *cx);
/* Whether a form post may act for cx: same-origin (page_same_origin) and its csrf field equal
 * to the session's token (constant time). false: it answered 403 and logged a warning. */
bool console_form_ok(struct request *req, const struct console_ctx *cx);
/* The value of form field name in an x-www-form-urlencoded body, percent-decoded, into out
 * (cap bytes). false when absent, too long, or holding a NUL. */
bool console_form_field(const struct request *req, const char *name, char *out, size_t cap);
/* The next value of a repeated field (checkboxes) from body offset *pos on (start at 0); *pos
 * moves past it. false when there is none left (or it does not decode into cap bytes). */
bool console_form_next(const struct request *req, const char *name, size_t *pos, char *out,
                       size_t cap);

/* Loads the site of the path into req->site when it is the signed-in account's; otherwise it
 * answered 404 (a foreign site and a missing one look the same) or 500, and returns false. */
bool console_site_load(struct request *req, const struct console_ctx *cx);

/* One checkbox (name "role") per role the site may grant (Owner and account-level roles are
 * left out), titled in lang, checked when in checked (may be NULL). (invite.c) */
enum si_err console_role_boxes(const struct role *roles, size_t n, const char *lang,
                               const struct policy_list *checked, struct buf *out) SI_MUST_USE;

/* The audit actor of the signed-in owner (docs/AUDIT.md: type owner). (contributors.c) */
void console_owner_actor(const struct request *req, const struct console_ctx *cx,
                         struct audit_actor *a);
/* The form's checked "role" fields through the API's role rules (validate_policy_ids, as
 * newRoles): false when none is checked or one is refused. (contributors.c) */
bool console_form_roles(struct request *req, const struct role *roles, size_t nroles,
                        struct policy_list *out);

/* Appends the site page's chart of st in lang (chart.c): the stacked bars of the last 30 days
 * as inline SVG (mirrored for a right-to-left language), the legend, the median time to accept
 * and the numbers as a table. SI_ETOOBIG or SI_ENOTFOUND as console_fragment. */
enum si_err console_chart(const struct site_stats *st, const char *lang,
                          struct buf *out) SI_MUST_USE;

/* Wipes the context's secrets (the CSRF token). */
void console_ctx_cleanup(struct console_ctx *cx);

/* A new random token: its text (for a URL or a cookie) and its hash (for the store). */
void console_token_new(const struct random_source *rng, char text[CONSOLE_TOKEN_TEXT + 1],
                       uint8_t hash[32]);

#endif
