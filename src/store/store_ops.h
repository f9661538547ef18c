struct webhook_ops;

/* The table of operations every storage backend fills in; store.c dispatches through it.
 * Internal to src/store: handlers include store.h only. */
#ifndef SI_STORE_STORE_OPS_H
#define SI_STORE_STORE_OPS_H

#include "store/store.h"
#include "store/txn.h"

/* One change of a site's contributor, its audit entry and its webhook event, in one
 * transaction. */
struct contributor_change {
    enum audit_action action; /* ROLE_CHANGED, LOCATIONS_CHANGED or REMOVED */
    const char *site_id, *account_id;
    const struct policy_list *list; /* the new roles or locations; NULL for REMOVED */
    si_ms now;
    const struct audit_actor *actor;     /* NULL: the system */
    const struct contributor_view *view; /* NULL: no webhook event */
    struct contributor_row *out;         /* may be NULL: the row after the change */
};

/* One backend. Every operation receives the backend's own state (be) first and has the contract
 * of the store.h function of the same name. All members are required unless marked optional. */
struct store_ops {
    const char *name; /* "sqlite", "postgres": for log lines */
    void (*close)(void *be);

    enum si_err (*migrate)(void *be, int *applied);
    /* Optional (NULL: the database is a server's, backed up with its own tools). */
    enum si_err (*backup)(void *be, const char *path, int *pages);
    enum si_err (*schema_version)(void *be, int *found, int *known);
    enum si_err (*ping)(void *be);
    enum si_err (*is_empty)(void *be, bool *empty);

    enum si_err (*account_create)(void *be, const struct account *a);
    enum si_err (*account_get)(void *be, const char *id, struct account *out);
    enum si_err (*site_create)(void *be, const struct site *site);
    enum si_err (*site_get)(void *be, const char *id, struct site *out);
    enum si_err (*account_sites)(void *be, const char *account_id, size_t max, struct site **out,
                                 size_t *n);
    enum si_err (*key_create)(void *be, const struct api_key_row *k, const uint8_t hash[32]);
    enum si_err (*key_lookup)(void *be, const uint8_t hash[32], struct api_key_row *out);
    /* Optional (NULL: key_lookup, then site_get): the key and the site in one read. */
    enum si_err (*key_site_lookup)(void *be, const uint8_t hash[32], const char *site_id,
                                   struct api_key_row *key, struct site *site, bool *site_found);
    enum si_err (*key_revoke)(void *be, const char *id, si_ms now, const struct audit_actor *actor);
    enum si_err (*account_keys)(void *be, const char *account_id, size_t max,
                                struct api_key_row **out, size_t *n);
    enum si_err (*keys_used)(void *be, const struct key_use *uses, size_t n);
    /* Optional (NULL: no shared buckets; the server keeps its own, request/ratelimit.h). */
    enum si_err (*key_take)(void *be, const char *key_id, double rate, double burst, si_ms now,
                            bool *allowed, long *retry_after_s);
    enum si_err (*roles_list)(void *be, const char *account_id, struct role **out, size_t *n);
    enum si_err (*role_create)(void *be, const char *account_id, const struct role *r, si_ms now,
                               const struct audit_actor *actor);
    enum si_err (*contributor_add)(void *be, const struct contributor_row *c);

    enum si_err (*invites_bulk)(void *be, struct bulk_request *req);
    /* Optional (NULL: store.c runs invites_bulk and calls done itself). */
    void (*invites_bulk_async)(void *be, struct bulk_request *req, store_done_fn done, void *ctx);
    enum si_err (*invite_get)(void *be, const char *site_id, const char *invite_id,
                              struct invite *out);
    enum si_err (*invite_by_link)(void *be, const struct token_ref *ref, struct invite *out);
    /* Optional (NULL: store.c runs the change transaction and calls done itself). */
    void (*invite_change_async)(void *be, const char *site_id, const char *invite_id, si_ms now,
                                const struct audit_actor *actor, invite_change_fn fn, void *ctx,
                                struct invite *out, store_done_fn done, void *done_ctx);
    enum si_err (*invites_query)(void *be, const char *site_id, const struct invite_query *q,
                                 si_ms now, struct invite_page *out);
    enum si_err (*seats_used)(void *be, const char *site_id, si_ms now, int64_t *used);

    enum si_err (*outbox_claim)(void *be, si_ms now, si_ms lease_ms, int max,
                                struct outbox_msg **out, size_t *n);
    enum si_err (*outbox_sent)(void *be, const int64_t *ids, size_t n, si_ms now);
    enum si_err (*outbox_failed)(void *be, int64_t id, si_ms due, const char *error,
                                 const struct invite *gave_up, si_ms now);
    enum si_err (*outbox_counts)(void *be, struct outbox_counts *out);
    enum si_err (*outbox_retry)(void *be, si_ms now, int64_t *n);

    /* the invitee's answer, contributors, expiry */
    enum si_err (*contributors_list)(void *be, const char *site_id, size_t max,
                                     struct contributor_row **out, size_t *n);
    /* store_contributor_set_roles, _set_locations and _remove in one: ch->action says which. */
    enum si_err (*contributor_change)(void *be, const struct contributor_change *ch);
    enum si_err (*invites_expire)(void *be, si_ms now, int max, int64_t *n);
    /* reminders (issue 10; the settings' write is a txn_steps transaction) */
    enum si_err (*reminders_queue)(void *be, si_ms now, int max, int64_t *n);

    /* idempotency keys (sqlite_idem.c, pg_idem.c) */
    enum si_err (*idem_claim)(void *be, const struct idem_claim *c, bool write,
                              struct idem_outcome *out);
    enum si_err (*idem_done)(void *be, const struct idem_claim *c, unsigned status,
                             const char *body, size_t len);
    enum si_err (*idem_release)(void *be, const struct idem_claim *c);
    enum si_err (*idem_sweep)(void *be, si_ms now, int max, int64_t *n);
    enum si_err (*audit_list)(void *be, const struct audit_query *q, struct audit_page *out);

    /* the console's sign-in links and sessions (sqlite_console.c, pg_console.c) */
    enum si_err (*console_link_create)(void *be, const uint8_t hash[32], const char *account_id,
                                       si_ms created, si_ms expires);
    enum si_err (*console_link_get)(void *be, const uint8_t hash[32], si_ms *used_ms,
                                    si_ms *expires_ms);
    enum si_err (*console_signin)(void *be, const uint8_t link_hash[32], si_ms now,
                                  const uint8_t session_hash[32], struct console_session *sess,
                                  enum console_link_state *state);
    enum si_err (*console_session_get)(void *be, const uint8_t hash[32],
                                       struct console_session *out);
    enum si_err (*console_session_touch)(void *be, const uint8_t hash[32], si_ms now);
    enum si_err (*console_session_end)(void *be, const uint8_t hash[32]);
    enum si_err (*console_sweep)(void *be, const struct console_sweep_bounds *b, int max,
                                 int64_t *n);
    /* Optional (NULL: the store keeps no per-day deltas, store_counts_fold does nothing). */
    enum si_err (*counts_fold)(void *be, int max, int64_t *n);
    /* Optional (NULL: the store plans without statistics to keep, store_stats_refresh does
     * nothing). */
    enum si_err (*stats_refresh)(void *be, bool *analyzed);
    /* "Email me a link" (sqlite_console_mail.c, pg_console_mail.c) */
    enum si_err (*console_mail_queue)(void *be, const char *email_key, const uint8_t hash[32],
                                      struct console_mail *m, si_ms now, bool *queued);
    enum si_err (*console_mail_claim)(void *be, si_ms now, si_ms lease_ms, struct console_mail *out,
                                      bool *found);
    enum si_err (*console_mail_done)(void *be, int64_t id, si_ms now, si_ms due, const char *error);
    /* rows of (stored status, expired at now, count); store.c folds them with core's rule */
    enum si_err (*site_counts)(void *be, const char *site_id, si_ms now,
                               int64_t counts[SITE_COUNTS_LEN]);
    /* out zeroed, first_day set, median_accept_ms -1: the backend adds its rows (one read
     * transaction) with store_stats_add and sets accepted and the median */
    enum si_err (*site_stats)(void *be, const char *site_id, si_ms now, struct site_stats *out);

    /* Optional (NULL: no standbys): store_read_replicas and store_read_stats. */
    enum si_err (*read_open)(void *be, const char *url, int64_t max_lag_ms);
    bool (*read_stats)(void *be, struct store_read_stats *out);
    /* Optional (NULL: no change feed, store_auth_epoch is 0): store_auth_epoch, and
     * auth_changed, called after this process committed a change of a key or a site. */
    uint64_t (*auth_epoch)(void *be);
    void (*auth_changed)(void *be);

    /* The SQL steps that store.c runs the change and answer transactions with (store/txn.c). */
    const struct txn_steps *txn;
    const struct webhook_ops *webhooks; /* store/webhook_ops.h */
};

/* The kind of a stored outbox.kind number; an unknown number reads as an invite email. */
enum outbox_kind store_outbox_kind(int64_t stored);

/* The end of a backend's outbox claim: on success with got > 0 hands msgs (malloc'ed, got
 * filled) to *out and *n; otherwise frees them and leaves *out and *n as they were. Returns rc. */
enum si_err store_claim_hand_over(enum si_err rc, struct outbox_msg *msgs, size_t got,
                                  struct outbox_msg **out, size_t *n) SI_MUST_USE;

/* Adds n invites stored with status (a wire name) to counts under the status readers see:
 * core's invite_status_at, told whether the rows are past their expiry. For site_counts. */
void store_counts_add(int64_t counts[SITE_COUNTS_LEN], const char *status, bool past_expiry,
                      int64_t n);
/* Adds n invites created on day (0..SITE_STATS_DAYS-1, else ignored) and stored with status
 * to out->days as store_counts_add does. For site_stats. */
void store_stats_add(struct site_stats *out, int64_t day, const char *status, bool past_expiry,
                     int64_t n);
/* The median of a sorted window of durations: the middle one, or the floor of the mean of the
 * two middle ones (mid[0..n), n = 1 or 2, as read at offset (count - 1) / 2). */
si_ms store_stats_median(const si_ms *mid, int n);
/* Moves n invites counted as stored Pending to the status readers see once they are past
 * their expiry (core's invite_status_at: Expired). */
void store_counts_overdue(int64_t counts[SITE_COUNTS_LEN], int64_t n);

/* The one rule of a schema version found in a database: a version newer than the binary knows
 * (found > known) is refused, SI_ECONFIG, logged with what to do: a rolled-back binary must not
 * write to tables it does not understand. SI_OK otherwise. For the backends' migrate. */
enum si_err store_schema_check(int found, int known) SI_MUST_USE;

/* Opens the SQLite backend on the database file path (created if absent), setting *ops to its
 * table and *be to its state. SI_ESTORE (logged) if the file cannot be opened. */
enum si_err store_sqlite_open(const char *path, const struct store_ops **ops,
                              void **be) SI_MUST_USE;

/* Opens the PostgreSQL backend on a libpq URL ("postgres://user:pass@host:port/db?..."), with
 * one connection made now so a bad URL or a down server fails at start-up. SI_ESTORE (logged,
 * with the password stripped from the URL) if it cannot connect. */
enum si_err store_pg_open(const char *url, const struct store_ops **ops, void **be) SI_MUST_USE;

#endif
