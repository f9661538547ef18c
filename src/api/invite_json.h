/* The SiteInvite object of the wire (docs/API.md §3.1), built from a stored invite. */
#ifndef SI_API_INVITE_JSON_H
#define SI_API_INVITE_JSON_H

#include "core/invite.h"
#include "request/app.h"

#include "common/buf.h"
#include "request/request.h"

#include <jansson.h>

/* Builds the SiteInvite JSON of inv as seen at time now: the status is the effective one
 * (invite_status_at), the acceptLink is app->base_url + "/invite/" + the token derived from
 * app->secret and the invite's salt. Optional members (acceptedByAccountId, staffId,
 * locationIds, invitePurpose, emailLanguage, lastSentDate, delivery) are omitted when unset.
 * Returns a new reference the caller owns. Only app->secret and app->base_url are read;
 * thread-safe. */
json_t *invite_json(const struct app *app, const struct invite *inv, si_ms now);

/* Appends the same object as JSON text to b (uncapped): the form hot paths answer with. */
void invite_json_write(struct buf *b, const struct app *app, const struct invite *inv, si_ms now);

/* The same object for a dry run's answer: without id and acceptLink (nothing was stored). */
void invite_json_write_preview(struct buf *b, const struct app *app, const struct invite *inv,
                               si_ms now);

/* Appends a JSON array of n invites (input order) to b. */
void invite_json_write_array(struct buf *b, const struct app *app, const struct invite *invs,
                             size_t n, si_ms now);

/* Answers 200 {"invite": <inv>} on req, written as text; preview: as a dry run's answer. */
void invite_reply(struct request *req, const struct invite *inv, si_ms now, bool preview);

#endif
