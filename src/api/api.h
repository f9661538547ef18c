/* The API handlers, one resource per file. The http router has already checked the method,
 * parsed the JSON body (req->json, NULL if empty), authenticated the key (req->principal),
 * checked the site and the route's permission (req->site) before calling a handler. A handler
 * validates its input, speaks core and store, and answers exactly once through request.h. */
#ifndef SI_API_API_H
#define SI_API_API_H

#include "request/request.h"

/* invites.c: the Wix-compatible methods */
void api_invites_bulk(struct request *req);  /* POST .../site-invite/bulk */
void api_invite_resend(struct request *req); /* POST .../site-invite/{id}/resend */
void api_invite_revoke(struct request *req); /* POST .../site-invite/{id}/revoke */
/* invites_read.c */
void api_invite_get(struct request *req);        /* GET .../site-invite/{id} */
void api_invites_query(struct request *req);     /* POST .../site-invite/query */
void api_invites_list(struct request *req);      /* GET .../site-invites */
void api_contributor_limit(struct request *req); /* GET .../site-invite/contributor-limit */
/* invites_write.c */
void api_invite_create(struct request *req); /* POST .../site-invite */
void api_invite_update(struct request *req); /* PATCH .../site-invite/{id} */
/* site_settings.c (issue 10) */
void api_site_settings_get(struct request *req);    /* GET .../site-settings */
void api_site_settings_update(struct request *req); /* PATCH .../site-settings */
/* roles.c */
void api_roles_list(struct request *req);   /* GET /roles-management/roles */
void api_roles_create(struct request *req); /* POST /roles-management/roles */
/* invitee.c: the invitee's pages at <base>/invite/{token}, in the invite's language */
void api_invitee_page(struct request *req);         /* GET /invite/{token} */
void api_invitee_page_accept(struct request *req);  /* POST /invite/{token}/accept (a form) */
void api_invitee_page_decline(struct request *req); /* POST /invite/{token}/decline (a form) */
/* Loads the page templates from <templates_dir>/pages/ and the role titles from .../roles/
 * (serve calls it once at start-up, before the server; without it the first page loads them
 * from the default folder). SI_ECONFIG or
 * SI_EINVAL (logged) when they are missing or broken. Not thread-safe against page requests. */
enum si_err api_pages_load(const char *templates_dir) SI_MUST_USE;
/* Frees the loaded page templates and role titles (serve, after the server stopped). */
void api_pages_unload(void);
/* accept.c: no API key, the token is the credential */
void api_invitee_parse_token(struct request *req); /* POST .../site-invite/parse-token */
void api_invitee_accept(struct request *req);      /* POST .../site-invite/accept */
void api_invitee_decline(struct request *req);     /* POST .../site-invite/decline */
/* contributors.c */
void api_contributors_query(struct request *req); /* GET /roles-management/v2/contributors/query */
void api_contributor_change_role(struct request *req);      /* PUT .../contributor/change/role */
void api_contributor_change_locations(struct request *req); /* PUT .../change/locations */
void api_contributor_remove(struct request *req); /* POST or DELETE .../contributor/remove */
/* webhooks.c: a site's webhook endpoints (docs/WEBHOOKS.md) */
void api_webhook_create(struct request *req);     /* POST /invites/webhooks */
void api_webhooks_list(struct request *req);      /* GET /invites/webhooks */
void api_webhook_get(struct request *req);        /* GET /invites/webhooks/{id} */
void api_webhook_update(struct request *req);     /* PATCH /invites/webhooks/{id} */
void api_webhook_delete(struct request *req);     /* DELETE /invites/webhooks/{id} */
void api_webhook_test(struct request *req);       /* POST /invites/webhooks/{id}/test */
void api_webhook_deliveries(struct request *req); /* GET /invites/webhooks/{id}/deliveries */
/* sites.c */
void api_sites_query(struct request *req); /* POST /site-list/v2/sites/query */

#endif
