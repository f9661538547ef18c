/* Rendering of the SiteInvite object: one function every handler uses, so the shape is one. */
#include "invite_json.h"

#include "core/invite_view.h"

#include <string.h>

_Static_assert(SI_BASE_URL_MAX <= INVITE_VIEW_BASE_MAX, "a base URL must fit the renderer");

/* The object; a preview (dry run) leaves out the id and the acceptLink, which do not exist. */
static void write_invite(struct buf *b, const struct app *app, const struct invite *inv, si_ms now,
                         bool preview)
{
    /* A preview (dry run) has neither: core leaves out the id without with_id, the link
     * without a link. */
    struct invite_link link = {.secret = app->secret, .base_url = app->base_url};
    invite_view_write(b, inv, now, preview ? NULL : &link, !preview);
}

void invite_json_write(struct buf *b, const struct app *app, const struct invite *inv, si_ms now)
{
    write_invite(b, app, inv, now, false);
}

void invite_json_write_preview(struct buf *b, const struct app *app, const struct invite *inv,
                               si_ms now)
{
    write_invite(b, app, inv, now, true);
}

void invite_json_write_array(struct buf *b, const struct app *app, const struct invite *invs,
                             size_t n, si_ms now)
{
    buf_xappend(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_xappend(b, ",", 1);
        invite_json_write(b, app, &invs[i], now);
    }
    buf_xappend(b, "]", 1);
}

void invite_reply(struct request *req, const struct invite *inv, si_ms now, bool preview)
{
    struct buf b;
    buf_init(&b, 0);
    buf_xputs(&b, "{\"invite\":");
    write_invite(&b, req->app, inv, now, preview);
    buf_xappend(&b, "}", 1);
    size_t len = b.len;
    request_reply_json_text(req, 200, buf_take(&b), len);
}

json_t *invite_json(const struct app *app, const struct invite *inv, si_ms now)
{
    /* One writer for the shape; callers that need a jansson value parse its text. */
    struct buf b;
    buf_init(&b, 0);
    invite_json_write(&b, app, inv, now);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    secure_wipe(b.data, b.len);
    buf_cleanup(&b);
    return o;
}
