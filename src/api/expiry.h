/* The expiry sweep: a thread that periodically stores Expired on Pending invites past their
 * expiry. Readers already see such invites as Expired (lazy expiry); storing it frees the seat
 * counters and makes the status visible to anything reading the database directly. The same
 * thread queues reminders before expiry (issue 10, core/site_settings.h). */
#ifndef SI_API_EXPIRY_H
#define SI_API_EXPIRY_H

#include "common/clock.h"
#include "common/err.h"
#include "store/store.h"

#define EXPIRY_INTERVAL_MS      (60 * 1000) /* between sweeps in production */
#define EXPIRY_TEST_INTERVAL_MS 500         /* with a test lifetime of seconds */
#define EXPIRY_BATCH            1000        /* invites per write transaction */
/* Between folds of PostgreSQL's per-day count deltas (a seat check sums its site's deltas, so
 * they are kept to about a second of writes; docs/STORAGE.md, "Per-day counts") and checks of
 * a young invites table's statistics (store_stats_refresh). */
#define EXPIRY_FOLD_INTERVAL_MS 1000

struct expiry_sweeper;

/* Starts the sweeping thread: one sweep at once, then every interval_ms; each sweep also
 * deletes webhook history older than webhook_retention_ms (expiry_webhooks). The thread also
 * folds the per-day counts (expiry_fold_counts) and refreshes the invites table's statistics
 * while it is young (store_stats_refresh) every EXPIRY_FOLD_INTERVAL_MS. store and clock
 * are borrowed and must outlive expiry_stop. SI_EINVAL for a value <= 0. */
enum si_err expiry_start(struct store *store, const struct clock *clock, si_ms interval_ms,
                         si_ms webhook_retention_ms, struct expiry_sweeper **out) SI_MUST_USE;

/* Stops the thread (waiting for a sweep in progress) and frees it. NULL is accepted. */
void expiry_stop(struct expiry_sweeper *s);

/* One sweep: stores Expired in batches until none is left; *n (may be NULL) gets the count.
 * Then deletes expired Idempotency-Key records (store_idem_sweep), also in batches. Store
 * errors are returned (the thread logs them and tries again next time). */
enum si_err expiry_sweep(struct store *store, si_ms now, int64_t *n) SI_MUST_USE;

/* Queues every reminder due at now (store_reminders_queue, in batches); *n (may be NULL) gets
 * the count. The sweep thread runs it after each sweep. Store errors are returned. */
enum si_err expiry_reminders(struct store *store, si_ms now, int64_t *n) SI_MUST_USE;

/* Folds every delta of the per-day counts (store_counts_fold, in batches of EXPIRY_BATCH keys);
 * *n (may be NULL) gets how many keys. Store errors are returned. */
enum si_err expiry_fold_counts(struct store *store, int64_t *n) SI_MUST_USE;

/* Deletes finished webhook deliveries whose last try was before `before` and the events left
 * with no delivery (store_webhook_sweep), EXPIRY_BATCH rows per short write so a large backlog
 * never holds the write lock long; *n (may be NULL) gets the count. Store errors are returned. */
enum si_err expiry_webhooks(struct store *store, si_ms before, int64_t *n) SI_MUST_USE;

#endif
