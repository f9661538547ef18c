/* The storage interface: one table of domain operations, with SQLite and PostgreSQL behind it.
 * Handlers speak this header only; SQL text lives in the backend files.
 *
 * Threads: a struct store is shared by all threads; each operation borrows a connection of its
 * own for its duration, so any thread may call any operation at any time.
 * Errors: SI_ENOTFOUND is a result ("no such row"), not a failure, and is not logged. Backend
 * failures are logged once in the backend with the library's message and returned as SI_ESTORE.
 * Time: every operation that depends on "now" takes it as an argument; the store never reads the
 * clock, so lazy expiry and tests agree. */
#ifndef SI_STORE_STORE_H
#define SI_STORE_STORE_H

#include "common/err.h"
#include "core/answer.h"
#include "core/audit.h"
#include "core/bulk_plan.h"
#include "core/change.h"
#include "core/console.h"
#include "core/idempotency.h"
#include "core/invite.h"
#include "core/token.h"

#include <stddef.h>
#include <stdint.h>

struct store;

/* ---- principals ------------------------------------------------------------------------- */

#define KEY_PREFIX_MAX 16 /* bytes of a key's shown prefix with its NUL (auth.h: 10 + 1 used) */

struct api_key_row {
    char id[SI_ID_LEN];
    char account_id[SI_ID_LEN];
    char name[SI_NAME_MAX];
    unsigned permissions; /* bit set of enum permission (auth/permissions.h) */
    si_ms created;
    si_ms revoked; /* 0 = active */
    /* The key's start, shown to tell keys apart (auth_key_prefix): "" for keys made before
     * schema version 14. Written by store_key_create, read by lookups and lists. */
    char prefix[KEY_PREFIX_MAX];
    si_ms last_used; /* 0 = never (or not since version 14); store_keys_used writes it */
    /* store_key_create only: who creates it, for the audit log (NULL: an admin command). */
    const struct audit_actor *actor;
};

/* ---- bulk invite -------------------------------------------------------------------------- */

struct bulk_request {
    const char *site_id;
    int contributor_limit; /* seats: unexpired Pending invites plus contributors */
    si_ms now;
    bool dry_run;                    /* decide every outcome, write nothing */
    const struct audit_actor *actor; /* who creates: one audit entry per created invite */
    struct bulk_item *items;
    size_t n;
};

/* ---- queries ------------------------------------------------------------------------------ */

enum query_field { QF_STATUS, QF_EMAIL, QF_ACCEPTED_BY, QF_POLICY_IDS, QF_DATE_CREATED };
enum query_op { QOP_EQ, QOP_NE, QOP_IN, QOP_GT, QOP_GTE, QOP_LT, QOP_LTE, QOP_HAS_SOME };
enum sort_field { SORT_DATE_CREATED, SORT_EMAIL, SORT_STATUS };

#define QUERY_CONDS_MAX     16
#define QUERY_VALUES_MAX    100
#define QUERY_LIMIT_MAX     100
#define QUERY_LIMIT_DEFAULT 50

/* One filter condition. Values are text (status names, emails, IDs) except for dateCreated,
 * whose values are in times[]. Emails are compared by their case-folded key. */
struct query_cond {
    enum query_field field;
    enum query_op op;
    int n;
    char *values[QUERY_VALUES_MAX]; /* owned by the query */
    si_ms times[QUERY_VALUES_MAX];
};

struct invite_query {
    struct query_cond conds[QUERY_CONDS_MAX];
    int ncond;
    enum sort_field sort;
    bool desc;
    int limit;  /* 1..QUERY_LIMIT_MAX */
    int offset; /* offset paging; 0 with cursors */
    /* Keyset position (cursor paging): rows strictly after (after_key, after_id) in sort order.
     * after_key is the sort column's value as text (dateCreated as decimal milliseconds). */
    bool has_after;
    char *after_key; /* owned by the query */
    char after_id[SI_ID_LEN];
};

struct invite_page {
    struct invite *items; /* owned; free with invite_page_cleanup */
    size_t n;
    bool has_next;
    int64_t total; /* rows matching the filter when cheap to know, else -1 */
};

/* Frees owned strings of a query; the struct may be reused after memset 0. */
void invite_query_cleanup(struct invite_query *q);
void invite_page_cleanup(struct invite_page *p);

/* ---- the outbox --------------------------------------------------------------------------- */

/* The kinds of email; the numbers are stored (outbox.kind). */
enum outbox_kind { OUTBOX_INVITE = 0, OUTBOX_RESEND = 1, OUTBOX_REMINDER = 2 };

/* A claimed email with everything needed to compose it. */
struct outbox_msg {
    int64_t id;
    enum outbox_kind kind;
    int attempts; /* tries made before this one */
    si_ms created;
    struct invite invite; /* owned purpose: freed by outbox_msg_cleanup */
    char site_name[SI_NAME_MAX];
    char site_language[SI_LANG_MAX];
    char inviter_name[SI_NAME_MAX];
    char inviter_email[SI_EMAIL_MAX + 1];
    char role_titles[SI_POLICIES_MAX][SI_NAME_MAX]; /* titles of invite.policies, same order */
};

/* Room for max messages, not zeroed: each is readied by outbox_msg_clear before it is filled.
 * (A message is ~8 KiB, mostly role_titles; zeroing them all cost ~13,000 instructions an email
 * inside the claim's write transaction: bench/mail_instr.py.) */
struct outbox_msg *outbox_msgs_alloc(size_t max);
/* Zeroes m but the role titles' bytes past their first: an empty title reads as unknown. */
void outbox_msg_clear(struct outbox_msg *m);
void outbox_msg_cleanup(struct outbox_msg *m);

struct outbox_counts {
    int64_t queued, sent, failed, cancelled;
    si_ms oldest_due; /* 0 when nothing is queued */
};

/* ---- idempotency keys (core/idempotency.h decides) ------------------------------------------ */

/* One request's claim on its Idempotency-Key. */
struct idem_claim {
    const char *account_id; /* keys are per account */
    const char *key;
    uint8_t fingerprint[IDEM_FP_LEN];
    char owner[SI_ID_LEN]; /* this attempt: only it may record or release the claim */
    si_ms now;
    si_ms lease_until; /* written with a new claim */
    si_ms expires;     /* written with a new claim */
};

/* The outcome of a claim or a look. */
struct idem_outcome {
    enum idem_verdict verdict;
    unsigned status; /* IDEM_REPLAY: the recorded status */
    char *body;      /* IDEM_REPLAY: the recorded (sealed) answer, heap, NUL-terminated */
    size_t len;
};

/* ---- the operations ----------------------------------------------------------------------- */

/* Opens the store named by url: "sqlite:PATH" (or a bare path) or "postgres://...".
 * Does not migrate. SI_ECONFIG for an unknown scheme, SI_ESTORE if it cannot be opened. */
enum si_err store_open(const char *url, struct store **out) SI_MUST_USE;
/* Closes every connection. NULL is accepted. No operation may be running. */
void store_close(struct store *s);

/* Brings the schema up to date, seeding predefined roles; idempotent, safe against a
 * concurrent migrate (one waits). Sets *applied to the number of steps run (may be NULL). */
enum si_err store_migrate(struct store *s, int *applied) SI_MUST_USE;

/* Writes a consistent copy of the database to the file path while the service may be serving:
 * SQLite's online backup from one read snapshot (writers are not stopped), integrity-checked,
 * mode 0600, written beside path and renamed into place (path is replaced only by a whole
 * copy). *pages (may be NULL) receives the pages copied. SI_ECONFIG when the backend has no
 * file of its own (PostgreSQL: use pg_dump; not logged), SI_EIO or SI_ESTORE otherwise
 * (logged). Does not migrate: run it before an upgrade. */
enum si_err store_backup(struct store *s, const char *path, int *pages) SI_MUST_USE;

/* The schema version recorded in the database (*found) and the newest this binary knows
 * (*known), without changing anything. SI_ESTORE (logged) when it cannot be read, e.g. a
 * database never migrated. */
enum si_err store_schema_version(struct store *s, int *found, int *known) SI_MUST_USE;
/* SI_OK when the database answers a trivial query. */
enum si_err store_ping(struct store *s) SI_MUST_USE;
/* True when the store holds no account yet (used by serve --dev). */
enum si_err store_is_empty(struct store *s, bool *empty) SI_MUST_USE;

enum si_err store_account_create(struct store *s, const struct account *a) SI_MUST_USE;
enum si_err store_account_get(struct store *s, const char *id, struct account *out) SI_MUST_USE;

/* SI_ENOTFOUND if the account does not exist. */
enum si_err store_site_create(struct store *s, const struct site *site) SI_MUST_USE;
/* *out must own nothing; it is zeroed first, so site_cleanup(out) is right on every outcome
 * (it owns its settings on SI_OK: core/invite.h). */
enum si_err store_site_get(struct store *s, const char *id, struct site *out) SI_MUST_USE;
/* The sites of an account, at most max, in no particular order (Query Sites orders them in
 * core/site_query.h). *out is malloc'ed, caller frees with sites_free(*out, *n); an account
 * without sites has none. */
enum si_err store_account_sites(struct store *s, const char *account_id, size_t max,
                                struct site **out, size_t *n) SI_MUST_USE;

/* Stores a key by the hash of its secret; the secret itself never reaches the store. Only the
 * admin command line creates sites and keys and revokes keys: these write their site.created,
 * key.created and key.revoked audit entries of the admin actor in the same transaction. */
enum si_err store_key_create(struct store *s, const struct api_key_row *k,
                             const uint8_t hash[32]) SI_MUST_USE;
/* Finds an active or revoked key by hash. SI_ENOTFOUND when unknown. */
enum si_err store_key_lookup(struct store *s, const uint8_t hash[32],
                             struct api_key_row *out) SI_MUST_USE;
/* store_key_lookup, and with it the site of ID site_id (NULL: no site) in the same read: every
 * site-scoped request needs both, and on PostgreSQL this is one round trip instead of two.
 * *site_found tells whether that site exists (whoever owns it); *site must own nothing, is
 * zeroed first and owns its settings only when found (site_cleanup is right on every outcome).
 * SI_ENOTFOUND when the key is unknown. */
enum si_err store_key_site_lookup(struct store *s, const uint8_t hash[32], const char *site_id,
                                  struct api_key_row *key, struct site *site,
                                  bool *site_found) SI_MUST_USE;
/* The generation of what store_key_site_lookup reads, for a cache of its answers
 * (auth/key_cache.h): an answer read after this returned e stays right while it still returns e.
 * It moves on at every change of a key or a site, by this process or any other (SQLite: a
 * counter in the file that triggers move, read at each call; PostgreSQL: its change feed); 0
 * when the store cannot tell (PostgreSQL while its change feed is not listening, SQLite if the
 * counter cannot be read), and then nothing may be cached. Two stores of one process never
 * return the same non-zero value. */
uint64_t store_auth_epoch(struct store *s);
/* Marks a key revoked at time now; SI_ENOTFOUND if unknown; revoking twice is SI_OK. */
enum si_err store_key_revoke(struct store *s, const char *id, si_ms now) SI_MUST_USE;
/* The same with who revokes it for the audit log (NULL: an admin command). */
enum si_err store_key_revoke_as(struct store *s, const char *id, si_ms now,
                                const struct audit_actor *actor) SI_MUST_USE;
/* The keys of an account, revoked ones too, oldest first, at most max. *out is malloc'ed,
 * caller frees (NULL when none). */
enum si_err store_account_keys(struct store *s, const char *account_id, size_t max,
                               struct api_key_row **out, size_t *n) SI_MUST_USE;

/* One recorded use of a key (auth/key_usage.c hands batches of them to store_keys_used). */
struct key_use {
    char key_id[SI_ID_LEN];
    si_ms at;
};

/* Moves each key's last use forward to its time, never back (a later use recorded first, or
 * by another server, stays): one short statement per key, all in one write transaction. An
 * unknown key ID is skipped. Called by the key-usage writer thread, never on a request. */
enum si_err store_keys_used(struct store *s, const struct key_use *uses, size_t n) SI_MUST_USE;

/* Whether the store keeps per-key rate buckets that every server on it shares (PostgreSQL).
 * false (SQLite: one process): the server keeps its own (request/ratelimit.h). */
bool store_has_key_buckets(const struct store *s);
/* Takes one token of key_id's shared bucket (core/ratelimit.h: rate per second, burst) at wall
 * time now, in one short transaction of its own. *allowed false: over the rate, and
 * *retry_after_s (>= 1) says when to try again. SI_ESTATE when !store_has_key_buckets. */
enum si_err store_key_take(struct store *s, const char *key_id, double rate, double burst,
                           si_ms now, bool *allowed, long *retry_after_s) SI_MUST_USE;

/* Lists predefined roles then the account's custom roles. *out is malloc'ed, caller frees. */
enum si_err store_roles_list(struct store *s, const char *account_id, struct role **out,
                             size_t *n) SI_MUST_USE;
/* Creates a custom role; SI_EEXIST when the account already has a role with that title
 * (compared case-insensitively, predefined titles included). Its role.created audit entry
 * (actor NULL: the system) is written in the same transaction at now. */
enum si_err store_role_create(struct store *s, const char *account_id, const struct role *r,
                              si_ms now, const struct audit_actor *actor) SI_MUST_USE;

/* Adds a contributor to a site (the accept flow and tests). SI_EEXIST when the account already
 * is a contributor of the site; SI_ENOTFOUND when the site or the account does not exist. */
enum si_err store_contributor_add(struct store *s, const struct contributor_row *c) SI_MUST_USE;

/* Decides and (unless dry_run) writes every item of a bulk call in one transaction, with one
 * outbox row per created invite. On any error nothing is written. */
enum si_err store_invites_bulk(struct store *s, struct bulk_request *req) SI_MUST_USE;

/* Receives the result of store_invites_bulk_async: rc is what store_invites_bulk would have
 * returned. It may run on a thread of the store's own, so it must not block: it hands the
 * result on and returns. */
typedef void (*store_done_fn)(void *ctx, enum si_err rc);
/* store_invites_bulk without waiting: returns once the call is queued (SQLite: for its group
 * commit thread), and done(ctx, rc) is called exactly once when the call has finished,
 * possibly before this function returns (backends without a queue run the call here). req and
 * its items must stay valid until done is called. */
void store_invites_bulk_async(struct store *s, struct bulk_request *req, store_done_fn done,
                              void *ctx);

/* Reads one invite of one site, with its latest delivery. SI_ENOTFOUND if absent or of another
 * site. out must be released with invite_cleanup. */
enum si_err store_invite_get(struct store *s, const char *site_id, const char *invite_id,
                             struct invite *out) SI_MUST_USE;

/* Finds the invite an accept link names (core/token.h: an old invite's salt, or an ID whose
 * invite has no salt). SI_ENOTFOUND when none. */
enum si_err store_invite_by_link(struct store *s, const struct token_ref *ref,
                                 struct invite *out) SI_MUST_USE;

/* Loads the invite in a write transaction, lets fn decide, then writes what fn chose and the
 * outbox effect, atomically, with an audit entry of actor (NULL: the system) when something was
 * written (core/audit.h decides it). out (may be NULL) receives the row as it is after the call,
 * with its latest delivery; release it with invite_cleanup. Returns fn's error, SI_ENOTFOUND, or a
 * store error. */
enum si_err store_invite_change(struct store *s, const char *site_id, const char *invite_id,
                                si_ms now, const struct audit_actor *actor, invite_change_fn fn,
                                void *ctx, struct invite *out) SI_MUST_USE;

/* store_invite_change without waiting (as store_invites_bulk_async): returns once the call is
 * queued; done(done_ctx, rc) is called exactly once when it has finished, with out filled as
 * store_invite_change fills it. fn runs on the store's thread (it must only decide); the
 * strings, ctx and out must stay valid until done. */
void store_invite_change_async(struct store *s, const char *site_id, const char *invite_id,
                               si_ms now, const struct audit_actor *actor, invite_change_fn fn,
                               void *ctx, struct invite *out, store_done_fn done, void *done_ctx);

/* Runs a query within one site; now decides lazy expiry in status filters. */
enum si_err store_invites_query(struct store *s, const char *site_id, const struct invite_query *q,
                                si_ms now, struct invite_page *out) SI_MUST_USE;

/* Seats in use: unexpired Pending invites plus contributors. */
enum si_err store_seats_used(struct store *s, const char *site_id, si_ms now,
                             int64_t *used) SI_MUST_USE;

/* Claims up to max due emails (queued, due <= now, lease free or expired) and leases them until
 * now + lease_ms. *out is malloc'ed (free each with outbox_msg_cleanup, then the array). */
enum si_err store_outbox_claim(struct store *s, si_ms now, si_ms lease_ms, int max,
                               struct outbox_msg **out, size_t *n) SI_MUST_USE;
/* Marks n claimed emails handed over to the transport, in one transaction (a batch costs one
 * commit, not n). SI_ENOTFOUND when any ID is unknown; the known ones are still marked. */
enum si_err store_outbox_sent(struct store *s, const int64_t *ids, size_t n, si_ms now) SI_MUST_USE;
/* Records a failed try: requeued for due (next try) or, when due is 0, failed for good (a row
 * cancelled meanwhile stays Cancelled). When the row is now Failed and gave_up is not NULL (the
 * invite as shown once given up: delivery Failed), invite.delivery_failed about it is written
 * at now in the same transaction. */
enum si_err store_outbox_failed(struct store *s, int64_t id, si_ms due, const char *error,
                                const struct invite *gave_up, si_ms now) SI_MUST_USE;
enum si_err store_outbox_counts(struct store *s, struct outbox_counts *out) SI_MUST_USE;
/* Requeues Failed emails (`outbox retry`): each Failed row that is the latest email of its invite,
 * whose invite is still Pending and not expired at now, becomes Queued, due now, with its tries
 * reset (its last error stays until the next try); *n gets how many. Rows of dead invites stay
 * Failed: their link could not be used. One write transaction. */
enum si_err store_outbox_retry(struct store *s, si_ms now, int64_t *n) SI_MUST_USE;

/* Claims c->key for c->account_id in one short write transaction: loads the key's record,
 * asks core (idem_decide) and, for IDEM_RUN, writes a running claim owned by c->owner (a new
 * row, or over an expired or abandoned one). The unique (account, key) row makes one claim win
 * across every server on the database. out->body is heap for IDEM_REPLAY (caller frees). */
enum si_err store_idem_claim(struct store *s, const struct idem_claim *c,
                             struct idem_outcome *out) SI_MUST_USE;
/* The same decision without writing anything (a waiting twin's look): IDEM_RUN then means the
 * key is free again. */
enum si_err store_idem_peek(struct store *s, const struct idem_claim *c,
                            struct idem_outcome *out) SI_MUST_USE;
/* Records the final answer (status, len bytes of sealed body) of the claim c->owner holds;
 * SI_ENOTFOUND when the claim is no longer its (taken over after its lease). */
enum si_err store_idem_done(struct store *s, const struct idem_claim *c, unsigned status,
                            const char *body, size_t len) SI_MUST_USE;
/* Deletes the claim c->owner holds (the answer was a 5xx: a retry may run). SI_OK when gone. */
enum si_err store_idem_release(struct store *s, const struct idem_claim *c) SI_MUST_USE;
/* Deletes up to max records with expires <= now; *n gets how many. */
enum si_err store_idem_sweep(struct store *s, si_ms now, int max, int64_t *n) SI_MUST_USE;

/* ---- the invitee's answer (core/answer.h decides it), contributors, expiry ---------------- */

/* Answers the invite ref names (store_invite_by_link), in one write transaction: a compare-and-set
 * turns a Pending invite with expires > now into Used (accept; sets accepted_by, adds the
 * contributor with the invite's roles, so the seat stays taken) or Declined (frees the seat);
 * queued emails of the invite are cancelled. SI_ENOTFOUND for an unknown link; SI_ESTATE when the
 * invite is not Pending or expired (a->invite holds it, for saying why); SI_EEXIST when the joining
 * account already is a contributor of the site. On any error nothing is written. Release a->invite
 * with invite_cleanup. Thread-safe: concurrent answers of one invite are decided one after another.
 */
enum si_err store_invite_answer(struct store *s, const struct token_ref *ref,
                                struct invitee_answer *a) SI_MUST_USE;

/* The three contributor changes below write their audit entry (core/audit.h, actor NULL: the
 * system) in the same transaction as the change, and so do set_roles and remove with their
 * webhook event (contributor.role_changed, contributor.removed) when view is not NULL. */

/* How the caller shows a contributor (the API's JSON object): render returns its malloc'ed JSON
 * text, NULL when out of memory. The store calls it inside the change's transaction, only when
 * an endpoint of the site wants the event, on the row after the change (removed: before). */
struct contributor_view {
    char *(*render)(void *ctx, const struct contributor_row *row);
    void *ctx;
};

/* Every contributor of a site, oldest first, at most max. *out is malloc'ed, caller frees. */
enum si_err store_contributors_list(struct store *s, const char *site_id, size_t max,
                                    struct contributor_row **out, size_t *n) SI_MUST_USE;
/* Replaces the roles of the site's contributor with that account. SI_ENOTFOUND if none; out (may
 * be NULL) receives the row as written. */
enum si_err store_contributor_set_roles(struct store *s, const char *site_id,
                                        const char *account_id, const struct policy_list *p,
                                        si_ms now, const struct audit_actor *actor,
                                        const struct contributor_view *view,
                                        struct contributor_row *out) SI_MUST_USE;
/* Replaces the business locations (lowercase GUIDs) of the site's contributor with that
 * account. SI_ENOTFOUND if none; out (may be NULL) receives the row as written. */
enum si_err store_contributor_set_locations(struct store *s, const char *site_id,
                                            const char *account_id, const struct policy_list *p,
                                            si_ms now, const struct audit_actor *actor,
                                            struct contributor_row *out) SI_MUST_USE;
/* Removes the site's contributor with that account, freeing its seat. SI_ENOTFOUND if none. */
enum si_err store_contributor_remove(struct store *s, const char *site_id, const char *account_id,
                                     si_ms now, const struct audit_actor *actor,
                                     const struct contributor_view *view) SI_MUST_USE;
/* Stores Expired on up to max Pending invites (of any site) whose expiry is <= now; *n gets how
 * many. Readers already see them as Expired (lazy expiry); this frees the seat counters. Each
 * gets an invite.expired audit entry of the system, in the same transaction. */
enum si_err store_invites_expire(struct store *s, si_ms now, int max, int64_t *n) SI_MUST_USE;

/* ---- site settings and reminders (issue 10) ---------------------------------------------- */

/* Writes the given settings of the site (struct site_settings_patch, core/site_settings.h) and,
 * when that changes a setting, its site.settings_changed audit entry by actor (NULL: the
 * system) at now, in one transaction with the site's row locked; a patch that changes nothing
 * writes nothing. SI_ENOTFOUND: no such site. */
enum si_err store_site_settings_set(struct store *s, const char *site_id,
                                    const struct site_settings_patch *p, si_ms now,
                                    const struct audit_actor *actor) SI_MUST_USE;

/* Queues the reminder of up to max invites (of any site) due at now by core's rule
 * (site_settings_reminder_due): each is marked reminded, counted as a send (send_count,
 * last_sent), gets an OUTBOX_REMINDER row and an invite.reminded audit entry of the system,
 * atomically; first cancels the queued reminders of invites no longer Pending or expired. On
 * PostgreSQL the due invites are claimed, queued and recorded in one statement (SKIP LOCKED,
 * re-checked), so two instances never queue one twice. *n gets how many were queued. */
enum si_err store_reminders_queue(struct store *s, si_ms now, int max, int64_t *n) SI_MUST_USE;

/* ---- the audit log (core/audit.h) -------------------------------------------------------- */

#define AUDIT_LIMIT_MAX     100
#define AUDIT_LIMIT_DEFAULT 50

/* One page of a site's audit log, oldest first by (time, id). Entries of the site, and the
 * account-level ones (keys, roles) of its account. Optional filters are NULL / false / 0. */
struct audit_query {
    const char *site_id;
    const char *account_id; /* the site's account */
    bool has_action;
    enum audit_action action;
    bool has_actor_type;
    enum audit_actor_type actor_type;
    const char *actor_id; /* the key's ID or the invitee's account */
    si_ms since, until;   /* since <= time < until; 0: open */
    bool has_after;       /* keyset: entries strictly after (after_time, after_id) */
    si_ms after_time;
    int64_t after_id;
    int limit; /* 1..AUDIT_LIMIT_MAX */
};

struct audit_page {
    struct audit_entry *items; /* owned; free with audit_page_cleanup */
    size_t n;
    bool has_next;
};

void audit_page_cleanup(struct audit_page *p);

/* Reads one page of q. SI_ESTORE (logged) on failure, with nothing handed over. */
enum si_err store_audit_list(struct store *s, const struct audit_query *q,
                             struct audit_page *out) SI_MUST_USE;

/* ---- reads from standbys (PostgreSQL --db-read, docs/SCALING.md) ------------------------- */

/* Routed reads (invite get, queries, seats, contributor lists, the audit log) by where they
 * were served, and why one that could have gone to a standby went to the primary. Counters of
 * this process since start. */
struct store_read_stats {
    int64_t standby, primary;
    int64_t behind;      /* the standby had not replayed the site's last write of this process */
    int64_t lagging;     /* the standby lagged more than the bound, or could not say how much */
    int64_t unavailable; /* no standby connection, or a standby failed the read */
};

/* Sends the routed reads to the standbys of url (libpq's URL, multi-host allowed; e.g.
 * target_session_attrs=standby) when a standby has replayed the site's last write made through
 * this store and lags at most max_lag_ms; otherwise, and whenever a standby fails, the read
 * runs on the primary. Call once, before serving. SI_ECONFIG for a backend without standbys
 * (SQLite). A standby that is down now is not an error: reads go to the primary until it
 * answers. */
enum si_err store_read_replicas(struct store *s, const char *url, int64_t max_lag_ms) SI_MUST_USE;
/* Fills out; false when the store routes no reads (SQLite, or no store_read_replicas). */
bool store_read_stats(struct store *s, struct store_read_stats *out);

/* ---- the site owner's console (issue 13, docs/CONSOLE.md): only hashes of its tokens ---- */

/* One console session as stored; the cookie's token itself is never stored. */
struct console_session {
    char account_id[SI_ID_LEN];
    si_ms created, last_seen;
    uint8_t csrf_salt[CONSOLE_CSRF_SALT_LEN]; /* keys the session's CSRF token (console/) */
};

/* Stores the hash of a new sign-in link for account_id, usable before expires. SI_ENOTFOUND
 * when the account does not exist; SI_EEXIST for a hash already stored. */
enum si_err store_console_link_create(struct store *s, const uint8_t hash[32],
                                      const char *account_id, si_ms created,
                                      si_ms expires) SI_MUST_USE;
/* What the link with this hash is at now (core/console.h's rule); a read, nothing changes. */
enum si_err store_console_link_state(struct store *s, const uint8_t hash[32], si_ms now,
                                     enum console_link_state *state) SI_MUST_USE;
/* Signs in with a link, in one write transaction: loads the link, asks core, and when it is
 * usable marks it used at now and stores the session under session_hash (sess->account_id is
 * set from the link; created and last_seen to now; csrf_salt is the caller's). *state says
 * what the link was; SI_OK whatever it was, the session written only for CONSOLE_LINK_OK. */
enum si_err store_console_signin(struct store *s, const uint8_t link_hash[32], si_ms now,
                                 const uint8_t session_hash[32], struct console_session *sess,
                                 enum console_link_state *state) SI_MUST_USE;
/* The session with this hash, alive or not (core/console.h decides). SI_ENOTFOUND if none. */
enum si_err store_console_session_get(struct store *s, const uint8_t hash[32],
                                      struct console_session *out) SI_MUST_USE;
/* Sets the session's last_seen to now (a session gone meanwhile is not an error). */
enum si_err store_console_session_touch(struct store *s, const uint8_t hash[32],
                                        si_ms now) SI_MUST_USE;
/* How many of a site's invites are in each status at now, as readers see it (a Pending invite
 * past its expiry counts as Expired: invite_status_at). counts is indexed by enum
 * invite_status. Index reads only: per stored status, then the site's overdue Pending rows. */
#define SITE_COUNTS_LEN (INVITE_EXPIRED + 1)
enum si_err store_site_counts(struct store *s, const char *site_id, si_ms now,
                              int64_t counts[SITE_COUNTS_LEN]) SI_MUST_USE;
/* The site page's numbers, all from one snapshot (one read transaction): the counts of
 * store_site_counts, the invites created on each of the last SITE_STATS_DAYS UTC days (today
 * the last) by the status readers see at now, and the median time from creation to acceptance
 * of the accepted ones among them. Statuses come from core's invite_status_at. */
#define SITE_STATS_DAYS 30
struct site_stats {
    int64_t counts[SITE_COUNTS_LEN];                /* every invite of the site */
    si_ms first_day;                                /* UTC midnight that starts days[0] */
    int64_t days[SITE_STATS_DAYS][SITE_COUNTS_LEN]; /* created that day, by status at now */
    int64_t accepted;                               /* Used invites created in the window */
    si_ms median_accept_ms; /* their median of updated - created (the answer's time); -1: none */
};
/* Fills *out for site_id at now. SI_ESTORE / SI_EBUSY as any read. */
enum si_err store_site_stats(struct store *s, const char *site_id, si_ms now,
                             struct site_stats *out) SI_MUST_USE;
/* Deletes up to max rows of dead sign-in links and sessions (core's console_sweep_bounds at
 * now) in one write; *n gets how many. For the expiry sweep. */
enum si_err store_console_sweep(struct store *s, si_ms now, int max, int64_t *n) SI_MUST_USE;
/* Folds the appended deltas of up to max (site, day, status) keys of PostgreSQL's per-day counts
 * (migration 17) into one row per key; *n gets how many keys. Every seat check sums its site's
 * rows, so the sweeper folds every second (docs/STORAGE.md, "Per-day counts"). SQLite keeps
 * no deltas: SI_OK and 0. */
enum si_err store_counts_fold(struct store *s, int max, int64_t *n) SI_MUST_USE;
/* Keeps the planner's statistics of invites current while the table is young: PostgreSQL
 * analyzes it once its file has at least doubled since the last analysis (from 512 KiB on),
 * which autovacuum, waking once a minute, leaves for a minute or more while an import fills a
 * new table; until then every bulk call's lookup of pending invites may walk the whole site
 * (docs/SCALING.md, "A young table's statistics").
 * *analyzed tells whether it did. SQLite: SI_OK and false. For the sweeper, every second. */
enum si_err store_stats_refresh(struct store *s, bool *analyzed) SI_MUST_USE;
/* ---- "Email me a link" (docs/CONSOLE.md): a queue of its own, apart from invites' outbox ---- */

/* A sealed link token: the 43 characters of its text and seal_close's 40 bytes (common/seal.h). */
#define CONSOLE_MAIL_SEALED_LEN 83

/* A sign-in link to mail: what the console queues and the mail worker claims. */
struct console_mail {
    int64_t id;                              /* set by the store */
    int attempts;                            /* tries made before this one (claim) */
    si_ms created, expires;                  /* the link's expiry */
    char account_id[SI_ID_LEN];              /* claim: the account the link signs in to */
    char account_name[SI_NAME_MAX];          /* claim */
    char email[SI_EMAIL_MAX + 1];            /* claim: the account's owner address as stored */
    char lang[SI_LANG_MAX];                  /* the mail's language */
    uint8_t sealed[CONSOLE_MAIL_SEALED_LEN]; /* the link's token sealed with the server secret */
};

/* In one write transaction: finds the oldest account whose owner address is email_key (ASCII
 * case-folded, like the invitee's accept), and when there is one stores the link's hash for it
 * (created now, expiring m->expires) and queues m (due now) addressed to the account's stored
 * address. *queued says whether an account was found; nothing is written when none was. */
enum si_err store_console_mail_queue(struct store *s, const char *email_key, const uint8_t hash[32],
                                     struct console_mail *m, si_ms now, bool *queued) SI_MUST_USE;
/* Claims the oldest due queued mail (lease free or over) until now + lease_ms: *out gets it
 * and *found true; *found false when none is due. */
enum si_err store_console_mail_claim(struct store *s, si_ms now, si_ms lease_ms,
                                     struct console_mail *out, bool *found) SI_MUST_USE;
/* Records a try: due < 0 sent at now, due 0 failed for good, else queued again for due with
 * error kept. Sent or failed rows lose their sealed token. */
enum si_err store_console_mail_done(struct store *s, int64_t id, si_ms now, si_ms due,
                                    const char *error) SI_MUST_USE;

/* Deletes the session (sign-out, or found dead): every browser holding its cookie is out.
 * A session already gone is not an error. */
enum si_err store_console_session_end(struct store *s, const uint8_t hash[32]) SI_MUST_USE;

#endif
