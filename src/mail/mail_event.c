/* invite.delivery_failed (see mail_event.h). */
#include "mail_event.h"

#include "common/buf.h"
#include "common/log.h"
#include "core/invite_view.h"
#include "store/webhooks.h"

void mail_failed_event(struct store *store, const struct outbox_msg *msg, si_ms now)
{
    struct buf data;
    struct invite inv = msg->invite;
    /* The claimed copy predates the give-up: show the delivery as it now stands. */
    inv.delivery.status = DELIVERY_FAILED;
    inv.delivery.attempts = msg->attempts + 1;
    buf_init(&data, 0);
    invite_view_write(&data, &inv, now, NULL, true);
    if (store_webhook_event(store, inv.site_id, WH_INVITE_DELIVERY_FAILED, inv.id, data.data, now))
        log_warn("webhooks: the invite.delivery_failed event of invite %s was not written", inv.id);
    buf_cleanup(&data);
}
