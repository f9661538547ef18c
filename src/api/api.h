/* The API handlers, one resource per file. The http router has already checked the method,
 * parsed the JSON body (req->json, NULL if empty), authenticated the key (req->principal),
 * checked the site and the route's permission (req->site) before calling a handler. A handler
 * validates its input, speaks core and store, and answers exactly once through request.h. */
#ifndef SI_API_API_H
#define SI_API_API_H

#include "http/request.h"

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
/* roles.c */
void api_roles_list(struct request *req);   /* GET /roles-management/roles */
void api_roles_create(struct request *req); /* POST /roles-management/roles */
/* invitee.c: GET <base>/invite/{token}, the minimal page until the invitee issue lands */
void api_invitee_page(struct request *req);

#endif
