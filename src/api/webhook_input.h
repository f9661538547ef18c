/* Reading and checking the body of POST and PATCH /invites/webhooks: the URL (with the
 * server-side request forgery check: every address its host resolves to must be public), the
 * events and the description; and the JSON the endpoints are answered with. */
#ifndef SI_API_WEBHOOK_INPUT_H
#define SI_API_WEBHOOK_INPUT_H

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

#endif
