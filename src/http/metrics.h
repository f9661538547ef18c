/* Process metrics behind GET /metrics (Prometheus text format): HTTP requests by route and
 * status, a latency histogram per route, outbox gauges from the store and mail counters.
 * Recording is lock-free (relaxed atomics), so it is cheap on the request path. */
#ifndef SI_HTTP_METRICS_H
#define SI_HTTP_METRICS_H

#include "common/buf.h"
#include "request/request.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define METRICS_ROUTES_MAX 48 /* distinct route labels; more are counted as "other" */

/* Records one answered request. route is a static label (struct request.route_name; NULL is
 * "other"); labels are told apart by text. Thread-safe. */
void metrics_observe(const char *route, unsigned status, int64_t duration_us);

/* Counts one email handed to the transport (sent) or failed for good (!sent) by this
 * process's mail worker. Thread-safe; for the mail room to call. */
void metrics_count_email(bool sent);

/* Appends the metrics text to out; outbox (may be NULL) adds the outbox gauges. */
enum si_err metrics_render(struct buf *out, const struct outbox_counts *outbox) SI_MUST_USE;

/* Appends the webhook gauges of store (metrics_webhooks.c); nothing when the store fails. */
enum si_err metrics_render_webhooks(struct buf *out, struct store *store) SI_MUST_USE;

/* The GET /metrics handler: reads outbox counts from req->app->store (skipped if the store
 * fails) and answers text/plain. */
void metrics_handle(struct request *req);

#endif
