/* The webhook part of /metrics: deliveries by event and outcome, the queue depth and the
 * disabled endpoints, all the database's view (shared by every server on it). */
#include "http/metrics.h"

#include "store/webhooks.h"

static const char *const outcome_names[WH_OUT_COUNT] = {"queued", "delivered", "failed"};

enum si_err metrics_render_webhooks(struct buf *out, struct store *store)
{
    struct webhook_counts c;
    /* A failing store leaves the section out; the store logged why. */
    if (store_webhook_counts(store, &c))
        return SI_OK;
    enum si_err rc = buf_printf(out,
                                "# HELP siteinvites_webhook_queue_depth Webhook deliveries not "
                                "yet made.\n"
                                "# TYPE siteinvites_webhook_queue_depth gauge\n"
                                "siteinvites_webhook_queue_depth %lld\n"
                                "# HELP siteinvites_webhook_endpoints_disabled Webhook endpoints "
                                "disabled.\n"
                                "# TYPE siteinvites_webhook_endpoints_disabled gauge\n"
                                "siteinvites_webhook_endpoints_disabled %lld\n"
                                "# HELP siteinvites_webhook_deliveries Webhook deliveries by event "
                                "and outcome.\n"
                                "# TYPE siteinvites_webhook_deliveries gauge\n",
                                (long long)c.queued, (long long)c.disabled);
    for (unsigned e = 0; !rc && e < WH_EVENT_COUNT; e++)
        for (unsigned o = 0; !rc && o < WH_OUT_COUNT; o++)
            rc = buf_printf(out,
                            "siteinvites_webhook_deliveries{event=\"%s\",outcome=\"%s\"} %lld\n",
                            webhook_event_name((enum webhook_event)e), outcome_names[o],
                            (long long)c.by_event[e][o]);
    return rc;
}
