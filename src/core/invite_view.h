/* The SiteInvite object of the wire (docs/API.md §3.1) written as JSON text, pure. */
#ifndef SI_CORE_INVITE_VIEW_H
#define SI_CORE_INVITE_VIEW_H

#include "common/buf.h"
#include "core/invite.h"

#include <stdbool.h>
#include <stdint.h>

#define INVITE_VIEW_BASE_MAX 512 /* bytes of a base URL, plus NUL (app.h's SI_BASE_URL_MAX) */

/* What the acceptLink member is made of: the server secret that keys the token, and the base
 * URL ("https://host", no trailing slash). Both borrowed for the call. */
struct invite_link {
    const uint8_t *secret;
    const char *base_url;
};

/* Appends inv as the API shows it at time now to b (uncapped): the effective status
 * (invite_status_at), optional members omitted when unset. link NULL leaves out acceptLink,
 * which is a credential: webhook payloads are stored and so never carry it. with_id false
 * leaves out the id too (a dry run's preview has none). Thread-safe. */
void invite_view_write(struct buf *b, const struct invite *inv, si_ms now,
                       const struct invite_link *link, bool with_id);

#endif
