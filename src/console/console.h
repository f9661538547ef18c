/* The site owner's console (docs/CONSOLE.md): server-rendered pages under <base>/console for
 * an account's owner, signed in by a one-time link, with a server-side session. The handlers
 * speak the same core rules and store calls as the API; http routes to them. */
#ifndef SI_CONSOLE_CONSOLE_H
#define SI_CONSOLE_CONSOLE_H

#include "common/err.h"
#include "request/request.h"

#include <stddef.h>
#include <stdint.h>

#define CONSOLE_URL_MAX (SI_BASE_URL_MAX + 128) /* a sign-in link, NUL included */
/* "Email me a link": per address 3 at once then one per 5 minutes; per client 20 then one per
 * 30 seconds (serve makes the buckets; request/ratelimit.h). Every answer takes at least
 * CONSOLE_MAIL_FLOOR_MS, so a known address cannot be told from an unknown one by time. */
#define CONSOLE_MAIL_ADDR_BURST   3
#define CONSOLE_MAIL_ADDR_RATE    (1.0 / 300)
#define CONSOLE_MAIL_CLIENT_BURST 20
#define CONSOLE_MAIL_CLIENT_RATE  (1.0 / 30)
#define CONSOLE_MAIL_FLOOR_MS     250

/* Loads <templates_dir>/console/ (layout and every language's pages); start-up only, before
 * requests. Errors as page_family_load, logged with the file. */
enum si_err console_pages_load(const char *templates_dir) SI_MUST_USE;
/* Frees the pages; the console answers with a plain error page afterwards. */
void console_pages_unload(void);

/* Makes a one-time sign-in link for account_id valid ttl_s seconds from now: 32 random bytes,
 * only their hash stored. url (cap bytes) receives "<base_url>/console/signin/<token>".
 * SI_ENOTFOUND when the account does not exist; store errors as store_console_link_create. */
enum si_err console_link_new(struct store *s, const struct random_source *rng,
                             const char *account_id, si_ms now, int64_t ttl_s, const char *base_url,
                             char *url, size_t cap) SI_MUST_USE;

/* The routes (http/routes.c). Each answers with a page or a redirect; none takes an API key. */
void console_signin_page(struct request *req);        /* GET /console/signin */
void console_signin_email(struct request *req);       /* POST /console/signin (form: email) */
void console_signin_confirm(struct request *req);     /* GET /console/signin/{token} */
void console_signin_post(struct request *req);        /* POST /console/signin/{token} (form) */
void console_signout(struct request *req);            /* POST /console/signout (form) */
void console_sites_page(struct request *req);         /* GET /console */
void console_site_page(struct request *req);          /* GET /console/sites/{siteId} */
void console_invite_resend(struct request *req);      /* POST /console/sites/{siteId}/resend */
void console_invite_revoke(struct request *req);      /* POST /console/sites/{siteId}/revoke */
void console_invite_link(struct request *req);        /* POST /console/sites/{siteId}/link */
void console_invite_form(struct request *req);        /* GET /console/sites/{siteId}/invite */
void console_invite_post(struct request *req);        /* POST /console/sites/{siteId}/invite */
void console_keys_page(struct request *req);          /* GET /console/keys */
void console_contributors_page(struct request *req);  /* GET /console/sites/{id}/contributors */
void console_contributor_page(struct request *req);   /* GET /console/sites/{id}/contributor */
void console_contributor_roles(struct request *req);  /* POST /console/sites/{id}/contributor */
void console_contributor_remove(struct request *req); /* POST .../contributor/remove */
void console_key_create(struct request *req);         /* POST /console/keys */
void console_key_revoke(struct request *req);         /* POST /console/keys/revoke */
void console_audit_page(struct request *req);         /* GET /console/sites/{id}/audit */
void console_webhooks_page(struct request *req);      /* GET /console/sites/{id}/webhooks */
void console_webhook_create(struct request *req);     /* POST /console/sites/{id}/webhooks */
void console_webhook_enable(struct request *req);     /* POST .../webhooks/enable */
void console_webhook_delete(struct request *req);     /* POST .../webhooks/delete */
void console_webhook_test(struct request *req);       /* POST .../webhooks/test */
void console_webhook_deliveries(struct request *req); /* GET .../webhooks/deliveries */
void console_invite_roles_page(struct request *req);  /* GET /console/sites/{id}/roles */
void console_invite_roles(struct request *req);       /* POST /console/sites/{id}/roles */

/* The bytes of a path to log: a sign-in link's token is cut ("/console/signin/[redacted]").
 * Returns the length of path to keep before the redaction, or strlen(path) when none. */
size_t console_log_path_keep(const char *path, bool *redact);

#endif
