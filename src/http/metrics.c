/* Request counters and latency histograms kept in fixed atomic arrays, rendered as Prometheus
 * text on demand. */
#include "http/metrics.h"

#include "common/log.h"

#include <stdatomic.h>
#include <string.h>

#define STATUS_MIN   100
#define STATUS_SPAN  500 /* statuses 100..599 */
#define OTHER_SLOT   (METRICS_ROUTES_MAX - 1)
#define OTHER_NAME   "other"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Upper bounds of the latency buckets, in microseconds and as Prometheus "le" labels. */
static const int64_t bucket_us[] = {250,   500,    1000,   2500,   5000,    10000,  25000,
                                    50000, 100000, 250000, 500000, 1000000, 2500000};
static const char *const bucket_le[] = {"0.00025", "0.0005", "0.001", "0.0025", "0.005",
                                        "0.01",    "0.025",  "0.05",  "0.1",    "0.25",
                                        "0.5",     "1",      "2.5"};
#define BUCKETS (sizeof bucket_us / sizeof bucket_us[0])

/* Counters are indexed directly (route slot x status - 100): no hashing and no lock on the
 * request path. Relaxed atomics suffice, since a scrape needs no ordering between counters;
 * 48 x 500 x 8 bytes is the price, paid once. */

/* Slot i holds one route label, claimed by the first request that carries it. */
static _Atomic(const char *) slot_names[METRICS_ROUTES_MAX];
static _Atomic uint64_t status_counts[METRICS_ROUTES_MAX][STATUS_SPAN];
static _Atomic uint64_t bucket_counts[METRICS_ROUTES_MAX][BUCKETS + 1]; /* last: +Inf */
static _Atomic uint64_t duration_sum_us[METRICS_ROUTES_MAX];
static _Atomic uint64_t emails_sent, emails_failed;

/* The slot of a label: a scan of at most METRICS_ROUTES_MAX short labels, lock-free. */
static int slot_of(const char *route)
{
    if (!route)
        return OTHER_SLOT;
    for (int i = 0; i < OTHER_SLOT; i++) {
        const char *name = atomic_load_explicit(&slot_names[i], memory_order_acquire);
        if (!name) {
            const char *expected = NULL;
            if (atomic_compare_exchange_strong(&slot_names[i], &expected, route))
                return i;
            name = expected; /* another thread claimed it first; maybe for this label */
        }
        if (name == route || strcmp(name, route) == 0)
            return i;
    }
    return OTHER_SLOT;
}

void metrics_observe(const char *route, unsigned status, int64_t duration_us)
{
    int slot = slot_of(route);
    if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_SPAN)
        atomic_fetch_add_explicit(&status_counts[slot][status - STATUS_MIN], 1,
                                  memory_order_relaxed);
    if (duration_us < 0)
        duration_us = 0;
    /* Buckets are stored per range and summed at render time, so one add per request. */
    size_t b = 0;
    while (b < BUCKETS && duration_us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&bucket_counts[slot][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&duration_sum_us[slot], (uint64_t)duration_us, memory_order_relaxed);
}

void metrics_count_email(bool sent)
{
    atomic_fetch_add_explicit(sent ? &emails_sent : &emails_failed, 1, memory_order_relaxed);
}

static const char *slot_name(int slot)
{
    const char *name = atomic_load_explicit(&slot_names[slot], memory_order_acquire);
    return slot == OTHER_SLOT ? OTHER_NAME : name;
}

/* Only series that have counted something are written, which keeps a scrape small. */
static enum si_err render_requests(struct buf *out)
{
    enum si_err rc = buf_puts(out, "# HELP siteinvites_http_requests_total HTTP requests "
                                   "answered, by route and status.\n"
                                   "# TYPE siteinvites_http_requests_total counter\n");
    for (int s = 0; s < METRICS_ROUTES_MAX && !rc; s++) {
        const char *name = slot_name(s);
        for (int i = 0; name && i < STATUS_SPAN && !rc; i++) {
            uint64_t n = atomic_load_explicit(&status_counts[s][i], memory_order_relaxed);
            if (n)
                rc = buf_printf(out,
                                "siteinvites_http_requests_total{route=\"%s\",status=\"%d\"} "
                                "%llu\n",
                                name, i + STATUS_MIN, (unsigned long long)n);
        }
    }
    return rc;
}

/* One route's histogram; the count is the sum of the buckets read, so the series agree. */
static enum si_err render_histogram(struct buf *out, int s, const char *name)
{
    static const char metric[] = "siteinvites_http_request_duration_seconds";
    uint64_t total = 0;
    enum si_err rc = SI_OK;
    for (size_t b = 0; b <= BUCKETS && !rc; b++) {
        total += atomic_load_explicit(&bucket_counts[s][b], memory_order_relaxed);
        rc = buf_printf(out, "%s_bucket{route=\"%s\",le=\"%s\"} %llu\n", metric, name,
                        b < BUCKETS ? bucket_le[b] : "+Inf", (unsigned long long)total);
    }
    uint64_t sum = atomic_load_explicit(&duration_sum_us[s], memory_order_relaxed);
    if (!rc)
        rc = buf_printf(out, "%s_sum{route=\"%s\"} %llu.%06llu\n%s_count{route=\"%s\"} %llu\n",
                        metric, name, (unsigned long long)(sum / 1000000),
                        (unsigned long long)(sum % 1000000), metric, name,
                        (unsigned long long)total);
    return rc;
}

static enum si_err render_latency(struct buf *out)
{
    enum si_err rc = buf_puts(out, "# HELP siteinvites_http_request_duration_seconds Time from "
                                   "the request line to the answer sent, by route.\n"
                                   "# TYPE siteinvites_http_request_duration_seconds histogram\n");
    for (int s = 0; s < METRICS_ROUTES_MAX && !rc; s++) {
        const char *name = slot_name(s);
        uint64_t seen = 0;
        for (size_t b = 0; name && b <= BUCKETS; b++)
            seen += atomic_load_explicit(&bucket_counts[s][b], memory_order_relaxed);
        if (seen)
            rc = render_histogram(out, s, name);
    }
    return rc;
}

static enum si_err render_mail(struct buf *out, const struct outbox_counts *ob)
{
    enum si_err rc = buf_printf(
        out,
        "# HELP siteinvites_emails_sent_total Emails this process handed to the transport.\n"
        "# TYPE siteinvites_emails_sent_total counter\n"
        "siteinvites_emails_sent_total %llu\n"
        "# HELP siteinvites_emails_failed_total Emails this process gave up on.\n"
        "# TYPE siteinvites_emails_failed_total counter\n"
        "siteinvites_emails_failed_total %llu\n",
        (unsigned long long)atomic_load(&emails_sent),
        (unsigned long long)atomic_load(&emails_failed));
    if (rc || !ob)
        return rc;
    /* Outbox gauges are the database's view, shared by every process on that database. */
    return buf_printf(out,
                      "# HELP siteinvites_outbox_depth Emails queued and not yet sent.\n"
                      "# TYPE siteinvites_outbox_depth gauge\n"
                      "siteinvites_outbox_depth %lld\n"
                      "# HELP siteinvites_outbox_messages Outbox rows by state.\n"
                      "# TYPE siteinvites_outbox_messages gauge\n"
                      "siteinvites_outbox_messages{state=\"queued\"} %lld\n"
                      "siteinvites_outbox_messages{state=\"sent\"} %lld\n"
                      "siteinvites_outbox_messages{state=\"failed\"} %lld\n"
                      "siteinvites_outbox_messages{state=\"cancelled\"} %lld\n",
                      (long long)ob->queued, (long long)ob->queued, (long long)ob->sent,
                      (long long)ob->failed, (long long)ob->cancelled);
}

enum si_err metrics_render(struct buf *out, const struct outbox_counts *outbox)
{
    enum si_err rc = render_requests(out);
    if (!rc)
        rc = render_latency(out);
    if (!rc)
        rc = render_mail(out, outbox);
    return rc;
}

/* Where this process's routed reads went (PostgreSQL with --db-read); nothing otherwise. */
static enum si_err render_reads(struct buf *out, struct store *store)
{
    struct store_read_stats r;
    if (!store_read_stats(store, &r))
        return SI_OK;
    return buf_printf(out,
                      "# HELP siteinvites_db_reads_total Site reads by the server that served "
                      "them (--db-read).\n"
                      "# TYPE siteinvites_db_reads_total counter\n"
                      "siteinvites_db_reads_total{pool=\"standby\"} %lld\n"
                      "siteinvites_db_reads_total{pool=\"primary\"} %lld\n"
                      "# HELP siteinvites_db_read_fallbacks_total Site reads a standby did not "
                      "serve, by reason.\n"
                      "# TYPE siteinvites_db_read_fallbacks_total counter\n"
                      "siteinvites_db_read_fallbacks_total{reason=\"behind\"} %lld\n"
                      "siteinvites_db_read_fallbacks_total{reason=\"lagging\"} %lld\n"
                      "siteinvites_db_read_fallbacks_total{reason=\"unavailable\"} %lld\n",
                      (long long)r.standby, (long long)r.primary, (long long)r.behind,
                      (long long)r.lagging, (long long)r.unavailable);
}

void metrics_handle(struct request *req)
{
    struct outbox_counts counts;
    /* A failing store must not hide the HTTP metrics; it is logged by the store. */
    bool have_outbox = store_outbox_counts(req->app->store, &counts) == SI_OK;
    struct buf text;
    buf_init(&text, 0);
    enum si_err rc = metrics_render(&text, have_outbox ? &counts : NULL);
    if (!rc)
        rc = metrics_render_webhooks(&text, req->app->store);
    if (!rc)
        rc = render_reads(&text, req->app->store);
    if (rc) {
        buf_cleanup(&text);
        request_fail_err(req, rc);
        return;
    }
    /* Not JSON, so the answer is set directly; the buffer moves to the request. */
    size_t len = text.len;
    req->status = 200;
    req->answer = buf_take(&text);
    req->answer_len = len;
    req->answer_type = METRICS_TYPE;
}
