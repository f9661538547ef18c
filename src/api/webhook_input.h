/* Reading and checking the body of POST and PATCH /invites/webhooks: the URL (with the
 * server-side request forgery check: every address its host resolves to must be public), the
 * events and the description; and the JSON the endpoints are answered with. */
#ifndef SI_API_WEBHOOK_INPUT_H
#define SI_API_WEBHOOK_INPUT_H

#include "request/app.h"
#include "request/request.h"
#include "store/webhooks.h"

#include <jansson.h>

/* Reads the members of body present in it into w (url, events, description), refusing what is
 * wrong into vs; required: url and events must be present (create). The URL is resolved (DNS,
 * blocking) and refused unless every address is public, or loopback and private networks too
 * when allow_http. Returns false when vs got a violation. */
bool webhook_input_read(const json_t *body, bool required, bool allow_http, struct webhook_row *w,
                        struct violations *vs);

/* The endpoint as the API shows it (never its keys); secret (may be NULL) is added as
 * "secret": the answers of create and rotation, the only ones that carry it. */
json_t *webhook_json(const struct webhook_row *w, const char *secret);

/* Creates w (url, events, description already read) as a new enabled endpoint of site_id with a
 * new signing secret, whose text goes to secret (shown once; the caller wipes it). SI_ELIMIT
 * when the site has WEBHOOK_PER_SITE_MAX endpoints; store errors as store_webhook_create. The
 * API's create and the console's both call it. */
enum si_err webhook_create_for_site(const struct app *app, const char *site_id,
                                    struct webhook_row *w, char secret[WEBHOOK_SECRET_TEXT_MAX],
                                    const struct audit_actor *actor) SI_MUST_USE;
/* Queues a webhook.test event to w alone (POST .../test; the console's Send test). actor: who
 * acts, for the audit entries both write (docs/AUDIT.md). */
enum si_err webhook_send_test(const struct app *app, const struct webhook_row *w,
                              const struct audit_actor *actor) SI_MUST_USE;

#endif
