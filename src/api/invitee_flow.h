/* What the invitee's API methods and pages share: finding an invite by its accept-link token,
 * accepting or declining it, the stateless per-form token, and the contributor's JSON. */
#ifndef SI_API_INVITEE_FLOW_H
#define SI_API_INVITEE_FLOW_H

#include "request/request.h"
#include "core/token.h"
#include "store/store.h"

#include <jansson.h>

#define FORM_TOKEN_BYTES 16 /* bytes of the keyed hash kept in a form token */
#define FORM_TOKEN_LEN   22 /* base64url of FORM_TOKEN_BYTES, unpadded */
#define FORM_TOKEN_FIELD "form_token"

/* Finds the invite of an accept-link token. Malformed, forged and unknown tokens all give
 * SI_ENOTFOUND (nothing tells them apart); ref (may be NULL) receives what the link names (an
 * old invite's salt or the ID), which the caller wipes. Release out with invite_cleanup.
 * Thread-safe. */
enum si_err invitee_find(const struct app *app, const char *token, struct invite *out,
                         struct token_ref *ref) SI_MUST_USE;

/* Accepts or declines the invite of token at the app's now (store_invite_answer's contract and
 * errors, plus SI_ENOTFOUND for a malformed token), audited as the invitee's within req's
 * request ID. email and email_key name the joining account's address when the platform passed
 * a verified one; NULL means the invited address. Release a->invite with invite_cleanup.
 * Thread-safe. */
enum si_err invitee_answer(const struct request *req, const char *token, enum invitee_choice choice,
                           const char *email, const char *email_key,
                           struct invitee_answer *a) SI_MUST_USE;

/* The form token of an accept link: base64url of a hash keyed with the server secret over a
 * purpose label and what the link names (ref). Stateless: the page and its post compute the
 * same. */
void invitee_form_token(const struct app *app, const struct token_ref *ref,
                        char out[FORM_TOKEN_LEN + 1]);

/* True when a posted form body (len bytes, not NUL-terminated; NULL when empty) carries the field
 * form_token=<the form token of ref>, compared in constant time. The token is base64url, which
 * a browser sends unencoded, so the raw field is compared. Pure; thread-safe. */
bool invitee_form_token_check(const struct app *app, const struct token_ref *ref, const char *body,
                              size_t len);

/* {id, accountId, email, policyIds, joinedAt, inviteId} (inviteId left out when ""). */
json_t *contributor_json(const struct contributor_row *c);

/* What a contributor change's webhook event carries: the contributor as Query Site Contributors
 * shows it. Fill a contributor_view_ctx (borrowed for the store call) and pass
 * {contributor_view_render, &ctx} as the change's contributor_view. (contributors.c) */
struct contributor_view_ctx {
    const struct request *req;
    const struct role *roles; /* every role's title, custom ones included */
    size_t nroles;
};
char *contributor_view_render(void *ctx, const struct contributor_row *row);

/* The path part of the base URL ("" for "http://host:port"), so form actions and redirects work
 * behind a proxy that serves us under a prefix. Borrowed from base_url. */
const char *page_base_path(const char *base_url);

/* A post from our own pages (the invitee's and the console's): a browser says so with
 * Sec-Fetch-Site (modern) or Origin (older ones). A client that sends neither is not a browser
 * being tricked; the form's token still has to match. */
bool page_same_origin(const struct request *req);

#endif
