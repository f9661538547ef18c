/* The store dispatcher: picks a backend by URL scheme and forwards each operation to its table;
 * also owns the cleanup helpers of the result types declared in store.h. */
#include "store.h"

#include "common/log.h"
#include "common/xalloc.h"
#include "store_ops.h"
#include "txn.h"
#include "webhook_ops.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A handle: the backend's operations and its state. */
struct store {
    const struct store_ops *ops;
    void *be;
};

static bool has_prefix(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

enum si_err store_open(const char *url, struct store **out)
{
    const struct store_ops *ops = NULL;
    void *be = NULL;
    enum si_err rc;

    *out = NULL;
    if (!url || !*url) {
        log_error("store: no database URL given");
        return SI_ECONFIG;
    }
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://")) {
        rc = store_pg_open(url, &ops, &be);
        if (rc)
            return rc;
        goto done;
    }
    const char *path = url;
    if (has_prefix(url, "sqlite:"))
        path = url + strlen("sqlite:");
    else if (strstr(url, "://")) {
        /* Any other scheme is a typo or a backend we do not have, never a file name. */
        log_error("store: unknown database URL scheme in '%.*s'", (int)strcspn(url, ":"), url);
        return SI_ECONFIG;
    }
    if (!*path || strcmp(path, ":memory:") == 0) {
        /* Each pooled connection would get its own empty in-memory database. */
        log_error("store: SQLite needs a file path");
        return SI_ECONFIG;
    }
    rc = store_sqlite_open(path, &ops, &be);
    if (rc)
        return rc;
done:;
    struct store *s = xcalloc(1, sizeof *s);
    s->ops = ops;
    s->be = be;
    *out = s;
    return SI_OK;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    s->ops->close(s->be);
    free(s);
}

enum si_err store_schema_check(int found, int known)
{
    if (found <= known)
        return SI_OK;
    log_error("store: the database schema is version %d, newer than this siteinvites knows (%d): "
              "refusing to use it; run the newer siteinvites, or restore the backup taken "
              "before the upgrade (docs/operations.md)",
              found, known);
    return SI_ECONFIG;
}

enum si_err store_backup(struct store *s, const char *path, int *pages)
{
    int dummy;
    if (!s->ops->backup)
        return SI_ECONFIG;
    return s->ops->backup(s->be, path, pages ? pages : &dummy);
}

enum si_err store_schema_version(struct store *s, int *found, int *known)
{
    return s->ops->schema_version(s->be, found, known);
}

enum si_err store_migrate(struct store *s, int *applied)
{
    int dummy;
    return s->ops->migrate(s->be, applied ? applied : &dummy);
}

enum si_err store_read_replicas(struct store *s, const char *url, int64_t max_lag_ms)
{
    if (!s->ops->read_open) {
        log_error("store: --db-read needs a postgres:// database (this one is %s)", s->ops->name);
        return SI_ECONFIG;
    }
    return s->ops->read_open(s->be, url, max_lag_ms);
}

bool store_read_stats(struct store *s, struct store_read_stats *out)
{
    return s->ops->read_stats && s->ops->read_stats(s->be, out);
}

enum si_err store_ping(struct store *s)
{
    return s->ops->ping(s->be);
}

enum si_err store_is_empty(struct store *s, bool *empty)
{
    return s->ops->is_empty(s->be, empty);
}

enum si_err store_account_create(struct store *s, const struct account *a)
{
    return s->ops->account_create(s->be, a);
}

enum si_err store_account_get(struct store *s, const char *id, struct account *out)
{
    return s->ops->account_get(s->be, id, out);
}

enum si_err store_site_create(struct store *s, const struct site *site)
{
    return s->ops->site_create(s->be, site);
}

enum si_err store_site_get(struct store *s, const char *id, struct site *out)
{
    memset(out, 0, sizeof *out); /* owns nothing on failure: site_cleanup is always safe */
    return s->ops->site_get(s->be, id, out);
}

enum si_err store_account_sites(struct store *s, const char *account_id, size_t max,
                                struct site **out, size_t *n)
{
    return s->ops->account_sites(s->be, account_id, max, out, n);
}

enum si_err store_key_create(struct store *s, const struct api_key_row *k, const uint8_t hash[32])
{
    return s->ops->key_create(s->be, k, hash);
}

enum si_err store_key_lookup(struct store *s, const uint8_t hash[32], struct api_key_row *out)
{
    return s->ops->key_lookup(s->be, hash, out);
}

uint64_t store_auth_epoch(struct store *s)
{
    return s->ops->auth_epoch ? s->ops->auth_epoch(s->be) : 0;
}

/* Every write of this file that changes a key or a site (what store_key_site_lookup reads)
 * calls this after its transaction. */
static void auth_changed(struct store *s)
{
    if (s->ops->auth_changed)
        s->ops->auth_changed(s->be);
}

enum si_err store_key_site_lookup(struct store *s, const uint8_t hash[32], const char *site_id,
                                  struct api_key_row *key, struct site *site, bool *site_found)
{
    memset(site, 0, sizeof *site); /* owns nothing unless found: site_cleanup is always safe */
    *site_found = false;
    if (!site_id)
        return s->ops->key_lookup(s->be, hash, key);
    if (s->ops->key_site_lookup)
        return s->ops->key_site_lookup(s->be, hash, site_id, key, site, site_found);
    enum si_err rc = s->ops->key_lookup(s->be, hash, key);
    if (rc)
        return rc;
    rc = s->ops->site_get(s->be, site_id, site);
    *site_found = rc == SI_OK;
    if (rc == SI_ENOTFOUND) {
        memset(site, 0, sizeof *site);
        rc = SI_OK;
    }
    return rc;
}

enum si_err store_keys_used(struct store *s, const struct key_use *uses, size_t n)
{
    return n ? s->ops->keys_used(s->be, uses, n) : SI_OK;
}

enum si_err store_key_revoke(struct store *s, const char *id, si_ms now)
{
    return store_key_revoke_as(s, id, now, NULL);
}

enum si_err store_key_revoke_as(struct store *s, const char *id, si_ms now,
                                const struct audit_actor *actor)
{
    enum si_err rc = s->ops->key_revoke(s->be, id, now, actor);
    auth_changed(s); /* whatever rc: a failed commit may still have been applied */
    return rc;
}

enum si_err store_account_keys(struct store *s, const char *account_id, size_t max,
                               struct api_key_row **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return s->ops->account_keys(s->be, account_id, max, out, n);
}

bool store_has_key_buckets(const struct store *s)
{
    return s->ops->key_take != NULL;
}

enum si_err store_key_take(struct store *s, const char *key_id, double rate, double burst,
                           si_ms now, bool *allowed, long *retry_after_s)
{
    if (!s->ops->key_take)
        return SI_ESTATE;
    return s->ops->key_take(s->be, key_id, rate, burst, now, allowed, retry_after_s);
}

enum si_err store_roles_list(struct store *s, const char *account_id, struct role **out, size_t *n)
{
    return s->ops->roles_list(s->be, account_id, out, n);
}

enum si_err store_role_create(struct store *s, const char *account_id, const struct role *r,
                              si_ms now, const struct audit_actor *actor)
{
    return s->ops->role_create(s->be, account_id, r, now, actor);
}

enum si_err store_contributor_add(struct store *s, const struct contributor_row *c)
{
    return s->ops->contributor_add(s->be, c);
}

enum si_err store_invites_bulk(struct store *s, struct bulk_request *req)
{
    return s->ops->invites_bulk(s->be, req);
}

void store_invites_bulk_async(struct store *s, struct bulk_request *req, store_done_fn done,
                              void *ctx)
{
    if (s->ops->invites_bulk_async)
        s->ops->invites_bulk_async(s->be, req, done, ctx);
    else
        done(ctx, s->ops->invites_bulk(s->be, req));
}

enum si_err store_invite_get(struct store *s, const char *site_id, const char *invite_id,
                             struct invite *out)
{
    return s->ops->invite_get(s->be, site_id, invite_id, out);
}

enum si_err store_invite_by_link(struct store *s, const struct token_ref *ref, struct invite *out)
{
    return s->ops->invite_by_link(s->be, ref, out);
}

enum si_err store_invite_change(struct store *s, const char *site_id, const char *invite_id,
                                si_ms now, const struct audit_actor *actor, invite_change_fn fn,
                                void *ctx, struct invite *out)
{
    const struct txn_change a = {.site_id = site_id,
                                 .invite_id = invite_id,
                                 .now = now,
                                 .actor = actor,
                                 .fn = fn,
                                 .ctx = ctx,
                                 .out = out};
    void *conn = NULL;
    enum si_err rc = s->ops->txn->borrow(s->be, &conn);
    if (rc)
        return rc;
    rc = txn_change_run(s->ops->txn, conn, &a);
    s->ops->txn->give_back(s->be, conn);
    return rc;
}

enum si_err store_invites_query(struct store *s, const char *site_id, const struct invite_query *q,
                                si_ms now, struct invite_page *out)
{
    return s->ops->invites_query(s->be, site_id, q, now, out);
}

enum si_err store_seats_used(struct store *s, const char *site_id, si_ms now, int64_t *used)
{
    return s->ops->seats_used(s->be, site_id, now, used);
}

enum si_err store_outbox_claim(struct store *s, si_ms now, si_ms lease_ms, int max,
                               struct outbox_msg **out, size_t *n)
{
    return s->ops->outbox_claim(s->be, now, lease_ms, max, out, n);
}

enum si_err store_outbox_sent(struct store *s, const int64_t *ids, size_t n, si_ms now)
{
    return s->ops->outbox_sent(s->be, ids, n, now);
}

enum si_err store_outbox_failed(struct store *s, int64_t id, si_ms due, const char *error,
                                const struct invite *gave_up, si_ms now)
{
    return s->ops->outbox_failed(s->be, id, due, error, gave_up, now);
}

enum si_err store_outbox_counts(struct store *s, struct outbox_counts *out)
{
    return s->ops->outbox_counts(s->be, out);
}

enum si_err store_outbox_retry(struct store *s, si_ms now, int64_t *n)
{
    return s->ops->outbox_retry(s->be, now, n);
}

enum si_err store_invite_answer(struct store *s, const struct token_ref *ref,
                                struct invitee_answer *a)
{
    void *conn = NULL;
    enum si_err rc = s->ops->txn->borrow(s->be, &conn);
    if (rc)
        return rc;
    rc = txn_answer_run(s->ops->txn, conn, ref, a);
    s->ops->txn->give_back(s->be, conn);
    return rc;
}

enum si_err store_contributors_list(struct store *s, const char *site_id, size_t max,
                                    struct contributor_row **out, size_t *n)
{
    return s->ops->contributors_list(s->be, site_id, max, out, n);
}

enum si_err store_contributor_set_roles(struct store *s, const char *site_id,
                                        const char *account_id, const struct policy_list *p,
                                        si_ms now, const struct audit_actor *actor,
                                        const struct contributor_view *view,
                                        struct contributor_row *out)
{
    const struct contributor_change ch = {
        AUDIT_CONTRIBUTOR_ROLE_CHANGED, site_id, account_id, p, now, actor, view, out};
    return s->ops->contributor_change(s->be, &ch);
}

enum si_err store_contributor_set_locations(struct store *s, const char *site_id,
                                            const char *account_id, const struct policy_list *p,
                                            si_ms now, const struct audit_actor *actor,
                                            struct contributor_row *out)
{
    const struct contributor_change ch = {
        AUDIT_CONTRIBUTOR_LOCATIONS_CHANGED, site_id, account_id, p, now, actor, NULL, out};
    return s->ops->contributor_change(s->be, &ch);
}

enum si_err store_contributor_remove(struct store *s, const char *site_id, const char *account_id,
                                     si_ms now, const struct audit_actor *actor,
                                     const struct contributor_view *view)
{
    const struct contributor_change ch = {
        AUDIT_CONTRIBUTOR_REMOVED, site_id, account_id, NULL, now, actor, view, NULL};
    return s->ops->contributor_change(s->be, &ch);
}

enum si_err store_audit_list(struct store *s, const struct audit_query *q, struct audit_page *out)
{
    return s->ops->audit_list(s->be, q, out);
}

void audit_page_cleanup(struct audit_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        audit_entry_cleanup(&p->items[i]);
    free(p->items);
    p->items = NULL;
    p->n = 0;
}

enum si_err store_invites_expire(struct store *s, si_ms now, int max, int64_t *n)
{
    return s->ops->invites_expire(s->be, now, max, n);
}

enum si_err store_idem_claim(struct store *s, const struct idem_claim *c, struct idem_outcome *out)
{
    return s->ops->idem_claim(s->be, c, true, out);
}

enum si_err store_idem_peek(struct store *s, const struct idem_claim *c, struct idem_outcome *out)
{
    return s->ops->idem_claim(s->be, c, false, out);
}

enum si_err store_idem_done(struct store *s, const struct idem_claim *c, unsigned status,
                            const char *body, size_t len)
{
    return s->ops->idem_done(s->be, c, status, body, len);
}

enum si_err store_idem_release(struct store *s, const struct idem_claim *c)
{
    return s->ops->idem_release(s->be, c);
}

enum si_err store_idem_sweep(struct store *s, si_ms now, int max, int64_t *n)
{
    return s->ops->idem_sweep(s->be, now, max, n);
}

enum outbox_kind store_outbox_kind(int64_t stored)
{
    return stored == OUTBOX_RESEND || stored == OUTBOX_REMINDER ? (enum outbox_kind)stored
                                                                : OUTBOX_INVITE;
}

enum si_err store_site_settings_set(struct store *s, const char *site_id,
                                    const struct site_settings_patch *p, si_ms now,
                                    const struct audit_actor *actor)
{
    const struct txn_settings a = {.site_id = site_id, .patch = p, .now = now, .actor = actor};
    void *conn = NULL;
    enum si_err rc = s->ops->txn->borrow(s->be, &conn);
    if (rc)
        return rc;
    rc = txn_settings_run(s->ops->txn, conn, &a);
    s->ops->txn->give_back(s->be, conn);
    auth_changed(s); /* the site read with keys carries its settings */
    return rc;
}

enum si_err store_reminders_queue(struct store *s, si_ms now, int max, int64_t *n)
{
    return s->ops->reminders_queue(s->be, now, max, n);
}

/* ---- cleanup of result types ---------------------------------------------------------------- */

void invite_query_cleanup(struct invite_query *q)
{
    if (!q)
        return;
    /* Every slot, not just [0, ncond) x [0, n): a parser that failed half-way may have filled a
     * value before counting it, and the struct starts zeroed, so the rest are NULL. */
    for (int i = 0; i < QUERY_CONDS_MAX; i++) {
        struct query_cond *c = &q->conds[i];
        for (int j = 0; j < QUERY_VALUES_MAX; j++) {
            free(c->values[j]);
            c->values[j] = NULL;
        }
    }
    free(q->after_key);
    q->after_key = NULL;
}

void invite_page_cleanup(struct invite_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        invite_cleanup(&p->items[i]);
    free(p->items);
    p->items = NULL;
    p->n = 0;
}

struct outbox_msg *outbox_msgs_alloc(size_t max)
{
    return xmalloc(max * sizeof(struct outbox_msg));
}

void outbox_msg_clear(struct outbox_msg *m)
{
    memset(m, 0, offsetof(struct outbox_msg, role_titles));
    for (size_t i = 0; i < SI_POLICIES_MAX; i++)
        m->role_titles[i][0] = '\0';
}

void outbox_msg_cleanup(struct outbox_msg *m)
{
    if (m)
        invite_cleanup(&m->invite);
}

enum si_err store_claim_hand_over(enum si_err rc, struct outbox_msg *msgs, size_t got,
                                  struct outbox_msg **out, size_t *n)
{
    if (rc || got == 0) {
        for (size_t i = 0; i < got; i++)
            outbox_msg_cleanup(&msgs[i]);
        free(msgs);
        return rc;
    }
    *out = msgs;
    *n = got;
    return SI_OK;
}

void store_invite_change_async(struct store *s, const char *site_id, const char *invite_id,
                               si_ms now, const struct audit_actor *actor, invite_change_fn fn,
                               void *ctx, struct invite *out, store_done_fn done, void *done_ctx)
{
    if (s->ops->invite_change_async)
        s->ops->invite_change_async(s->be, site_id, invite_id, now, actor, fn, ctx, out, done,
                                    done_ctx);
    else
        done(done_ctx, store_invite_change(s, site_id, invite_id, now, actor, fn, ctx, out));
}

const struct store_ops *store_backend(const struct store *s, void **be)
{
    *be = s->be;
    return s->ops;
}

enum si_err store_console_link_create(struct store *s, const uint8_t hash[32],
                                      const char *account_id, si_ms created, si_ms expires)
{
    return s->ops->console_link_create(s->be, hash, account_id, created, expires);
}

enum si_err store_console_link_state(struct store *s, const uint8_t hash[32], si_ms now,
                                     enum console_link_state *state)
{
    si_ms used = 0, expires = 0;
    enum si_err rc = s->ops->console_link_get(s->be, hash, &used, &expires);
    *state = rc == SI_ENOTFOUND ? CONSOLE_LINK_UNKNOWN : console_link_state(used, expires, now);
    return rc == SI_ENOTFOUND ? SI_OK : rc;
}

enum si_err store_console_signin(struct store *s, const uint8_t link_hash[32], si_ms now,
                                 const uint8_t session_hash[32], struct console_session *sess,
                                 enum console_link_state *state)
{
    return s->ops->console_signin(s->be, link_hash, now, session_hash, sess, state);
}

enum si_err store_console_session_get(struct store *s, const uint8_t hash[32],
                                      struct console_session *out)
{
    return s->ops->console_session_get(s->be, hash, out);
}

enum si_err store_console_session_touch(struct store *s, const uint8_t hash[32], si_ms now)
{
    return s->ops->console_session_touch(s->be, hash, now);
}

enum si_err store_console_session_end(struct store *s, const uint8_t hash[32])
{
    return s->ops->console_session_end(s->be, hash);
}

enum si_err store_site_counts(struct store *s, const char *site_id, si_ms now,
                              int64_t counts[SITE_COUNTS_LEN])
{
    memset(counts, 0, SITE_COUNTS_LEN * sizeof *counts);
    return s->ops->site_counts(s->be, site_id, now, counts);
}

enum si_err store_site_stats(struct store *s, const char *site_id, si_ms now,
                             struct site_stats *out)
{
    memset(out, 0, sizeof *out);
    /* Whole UTC days, today the last of them. */
    out->first_day = (now / SI_MS_PER_DAY - (SITE_STATS_DAYS - 1)) * SI_MS_PER_DAY;
    out->median_accept_ms = -1;
    return s->ops->site_stats(s->be, site_id, now, out);
}

void store_stats_add(struct site_stats *out, int64_t day, const char *status, bool past_expiry,
                     int64_t n)
{
    if (day >= 0 && day < SITE_STATS_DAYS)
        store_counts_add(out->days[day], status, past_expiry, n);
}

si_ms store_stats_median(const si_ms *mid, int n)
{
    if (n <= 0)
        return -1;
    return n == 1 ? mid[0] : mid[0] + (mid[1] - mid[0]) / 2;
}

void store_counts_add(int64_t counts[SITE_COUNTS_LEN], const char *status, bool past_expiry,
                      int64_t n)
{
    struct invite inv = {.status = INVITE_DELETED, .expires = past_expiry ? 0 : 2}; /* now = 1 */
    if (status && !invite_status_parse(status, &inv.status))
        inv.status = INVITE_DELETED; /* unreadable: never counted as Pending */
    enum invite_status st = invite_status_at(&inv, 1);
    if ((unsigned)st < SITE_COUNTS_LEN)
        counts[st] += n;
}

void store_counts_overdue(int64_t counts[SITE_COUNTS_LEN], int64_t n)
{
    counts[INVITE_PENDING] -= n;
    store_counts_add(counts, invite_status_name(INVITE_PENDING), true, n);
}

enum si_err store_console_sweep(struct store *s, si_ms now, int max, int64_t *n)
{
    struct console_sweep_bounds b;
    console_sweep_bounds(now, &b);
    *n = 0;
    return s->ops->console_sweep(s->be, &b, max, n);
}

enum si_err store_counts_fold(struct store *s, int max, int64_t *n)
{
    *n = 0;
    return s->ops->counts_fold ? s->ops->counts_fold(s->be, max, n) : SI_OK;
}

enum si_err store_stats_refresh(struct store *s, bool *analyzed)
{
    *analyzed = false;
    return s->ops->stats_refresh ? s->ops->stats_refresh(s->be, analyzed) : SI_OK;
}

enum si_err store_console_mail_queue(struct store *s, const char *email_key, const uint8_t hash[32],
                                     struct console_mail *m, si_ms now, bool *queued)
{
    *queued = false;
    return s->ops->console_mail_queue(s->be, email_key, hash, m, now, queued);
}

enum si_err store_console_mail_claim(struct store *s, si_ms now, si_ms lease_ms,
                                     struct console_mail *out, bool *found)
{
    *found = false;
    return s->ops->console_mail_claim(s->be, now, lease_ms, out, found);
}

enum si_err store_console_mail_done(struct store *s, int64_t id, si_ms now, si_ms due,
                                    const char *error)
{
    return s->ops->console_mail_done(s->be, id, now, due, error ? error : "");
}
