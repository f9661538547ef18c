/* SQLite Bulk Invite: the facts of each address (pending invite, contributor) loaded with as few
 * statements as possible, core's rule (core/bulk_plan.h) asked per address, the new rows written,
 * and the seat count of a site kept in memory across the calls of one group commit. */
#include "sqlite_int.h"
#include "webhook_ops.h"

#include "common/buf.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define SWEEP_MAX 1000 /* lazily expired invites stored as Expired per bulk call */
/* Calls with at least this many addresses ask once which ones the site knows (find_known);
 * smaller ones look each up, which costs less than building the list. */
#define BULK_KNOWN_MIN 8

/* The newest unexpired Pending invite for an address (normally there is at most one). Pinned to
 * the email index: without statistics the planner prefers walking invites_site_created to skip
 * the sort, which reads every invite of the site. */
static const struct sq_sql SQL_PENDING_BY_EMAIL = {
    SQ_INVITE_PENDING_BY_EMAIL,
    "SELECT " SQ_INVITE_COLS " FROM invites i INDEXED BY invites_site_email"
    " LEFT JOIN outbox o ON o.id = (SELECT max(x.id) FROM outbox x WHERE x.invite_id = i.id)"
    " WHERE i.site_id = ?1 AND i.email_key = ?2 AND i.status = 'Pending' AND i.expires_ms > ?3"
    " ORDER BY i.created_ms DESC LIMIT 1"};
static const struct sq_sql SQL_CONTRIBUTOR_BY_EMAIL = {
    SQ_CONTRIBUTOR_BY_EMAIL,
    "SELECT 1 FROM contributors WHERE site_id = ?1 AND email_key = ?2 LIMIT 1"};
/* Which addresses of a bulk call (?3, a JSON array of email keys) already have an unexpired
 * Pending invite or a contributor in the site: one statement, the array read once as the outer
 * loop and one or two index seeks per address. (An IN list per table built a temporary B-tree
 * of the array twice and a third to merge the two: bench/README.md, "the known addresses".) */
static const struct sq_sql SQL_KNOWN_KEYS = {
    SQ_BULK_KNOWN_KEYS,
    "SELECT j.value FROM json_each(?3) j WHERE EXISTS (SELECT 1 FROM invites"
    " INDEXED BY invites_site_email WHERE site_id = ?1 AND email_key = j.value"
    " AND status = 'Pending' AND expires_ms > ?2) OR EXISTS (SELECT 1 FROM contributors"
    " WHERE site_id = ?1 AND email_key = j.value)"};
/* purpose may be NULL (no purpose) and is kept NULL, unlike the other optional texts. */
#define INSERT_HEAD                                                                                \
    "INSERT INTO invites (id, site_id, email, email_key, policy_ids, inviter_account_id, status,"  \
    " accepted_by, token_salt, created_ms, updated_ms, expires_ms, last_sent_ms, staff_id,"        \
    " purpose, language, send_count, location_ids) VALUES "
#define INSERT_COLS 18 /* parameters of one row, in the order bind_invite binds them */
#define ROW1        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define ROW2        ROW1 "," ROW1
#define ROW4        ROW2 "," ROW2
#define ROW8        ROW4 "," ROW4
#define ROW16       ROW8 "," ROW8
#define ROW32       ROW16 "," ROW16
#define ROW64       ROW32 "," ROW32
#define ROW128      ROW64 "," ROW64
/* A call's new invites are written up to CHUNK rows per statement: a statement's own work (its
 * statement journal, opening and closing a cursor per index) is then paid once per chunk instead
 * of once per invite (bench/README.md, "a bulk's rows in multi-row statements"). The sizes
 * below CHUNK take the rest of a call in few statements. */
#define CHUNK 128
static const struct sq_sql SQL_INSERT_ROWS[] = {
    {SQ_INVITE_INSERT_128, INSERT_HEAD ROW128},
    {SQ_INVITE_INSERT_32, INSERT_HEAD ROW32},
    {SQ_INVITE_INSERT_8, INSERT_HEAD ROW8},
    {SQ_INVITE_INSERT, INSERT_HEAD ROW1},
};
static const int INSERT_ROWS[] = {128, 32, 8, 1};

/* Stores Expired on up to ?3 Pending invites past their expiry: readers already see them as
 * Expired, this only keeps the seat count's correction term small. */
static const struct sq_sql SQL_SWEEP = {
    SQ_INVITES_SWEEP,
    "UPDATE invites SET status = 'Expired' WHERE rowid IN (SELECT rowid FROM invites"
    " INDEXED BY invites_status_expires_site"
    " WHERE site_id = ?1 AND status = 'Pending' AND expires_ms <= ?2 LIMIT ?3)"
    " RETURNING id, site_id"};
static const struct sq_sql SQL_SEATS_ADD = {
    SQ_SEATS_ADD, "UPDATE sites SET seats_pending = seats_pending + ?2 WHERE id = ?1"};
/* One Queued email per new invite of the call, due now, in item order (the outbox IDs follow
 * it): the call's invites are the rows ?1..?2 of invites, which nothing else writes between
 * them. One statement instead of one per invite saves its per-statement work (bench/README.md,
 * "a bulk's rows in multi-row statements"). */
static const struct sq_sql SQL_BULK_OUTBOX = {
    SQ_BULK_OUTBOX, "INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
                    " SELECT id, 0, 'Queued', ?3, ?3 FROM invites WHERE rowid BETWEEN ?1 AND ?2"
                    " ORDER BY rowid"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

/* Inside a write transaction: stores Expired on some lazily expired invites of the site. */
static enum si_err sweep(struct sq_conn *c, const char *site_id, si_ms now)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_webhook_expiring(c, site_id, now, SWEEP_MAX);
    if (!rc)
        rc = sq_prep(c, &SQL_SWEEP, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, site_id) | sqlite3_bind_int64(s, 2, now) | sqlite3_bind_int(s, 3, SWEEP_MAX))
        return sq_fail(c, "bind");
    int64_t n; /* each gets its invite.expired entry, as the expiry sweep's do */
    return sq_audit_expired(c, s, now, &n);
}

/* The existing Pending invite for the item's address, if any: *found tells. */
static enum si_err find_pending(struct sq_conn *c, const struct bulk_request *req,
                                struct bulk_item *it, bool *found)
{
    sqlite3_stmt *s;
    *found = false;
    enum si_err rc = sq_prep(c, &SQL_PENDING_BY_EMAIL, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, req->site_id) | TEXT(s, 2, it->invite.email_key) |
        sqlite3_bind_int64(s, 3, req->now))
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            invite_cleanup(&it->invite); /* the caller's new invite gives way to the stored one */
            sq_read_invite(s, &it->invite);
            *found = true;
        } else if (step != SQLITE_DONE)
            rc = sq_fail(c, "find pending invite");
    }
    sq_done(s);
    return rc;
}

/* Whether the address already belongs to a contributor of the site (by email key). */
static enum si_err is_contributor(struct sq_conn *c, const char *site_id, const char *key,
                                  bool *yes)
{
    sqlite3_stmt *s;
    *yes = false;
    enum si_err rc = sq_prep(c, &SQL_CONTRIBUTOR_BY_EMAIL, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, site_id) | TEXT(s, 2, key))
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        *yes = step == SQLITE_ROW;
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = sq_fail(c, "find contributor");
    }
    sq_done(s);
    return rc;
}

/* Binds v as the row starting at parameter base + 1 of s, in INSERT_HEAD's column order. The
 * two lists are copied (TRANSIENT): their text lives only here. */
static enum si_err bind_invite(struct sq_conn *c, sqlite3_stmt *s, int base, const struct invite *v)
{
    char policies[POLICY_TEXT_MAX], locations[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(&v->policies, policies);
    if (!rc)
        rc = policy_text_encode(&v->locations, locations);
    if (rc)
        return rc;
    int b = TEXT(s, base + 1, v->id) | TEXT(s, base + 2, v->site_id) | TEXT(s, base + 3, v->email);
    b |= TEXT(s, base + 4, v->email_key) | TEXT(s, base + 6, v->inviter_account_id);
    b |= sqlite3_bind_text(s, base + 5, policies, -1, SQLITE_TRANSIENT);
    b |= TEXT(s, base + 7, invite_status_name(v->status));
    b |= TEXT(s, base + 8, v->accepted_by_account_id);
    /* No salt since schema 16 (the link names the ID): NULL, in no index. */
    b |= v->has_salt
             ? sqlite3_bind_blob(s, base + 9, v->token_salt, SI_TOKEN_SALT_LEN, SQLITE_STATIC)
             : sqlite3_bind_null(s, base + 9);
    b |= sqlite3_bind_int64(s, base + 10, v->created);
    b |= sqlite3_bind_int64(s, base + 11, v->updated);
    b |= sqlite3_bind_int64(s, base + 12, v->expires);
    b |= sqlite3_bind_int64(s, base + 13, v->last_sent);
    b |= TEXT(s, base + 14, v->staff_id) | TEXT(s, base + 15, v->purpose);
    b |= TEXT(s, base + 16, v->language) | sqlite3_bind_int(s, base + 17, v->send_count);
    b |= sqlite3_bind_text(s, base + 18, locations, -1, SQLITE_TRANSIENT);
    return b ? sq_fail(c, "bind invite") : SI_OK;
}

/* The rows of invites a call wrote (first..last, n of them; n 0: none yet; last_invite, the
 * newest) and the new invites not written yet, in item order. */
struct written {
    int64_t first, last, n;
    const struct invite *last_invite;
    const struct invite *waiting[CHUNK];
    int n_waiting;
};

/* Writes rows[0..INSERT_ROWS[size]) with one statement. */
static enum si_err insert_rows(struct sq_conn *c, const struct invite *const *rows, int size,
                               struct written *w)
{
    sqlite3_stmt *s;
    int n = INSERT_ROWS[size];
    enum si_err rc = sq_prep(c, &SQL_INSERT_ROWS[size], &s);
    for (int i = 0; !rc && i < n; i++)
        rc = bind_invite(c, s, i * INSERT_COLS, rows[i]);
    if (rc) {
        sq_done(s);
        return rc;
    }
    /* A constraint says which: an unknown site (the foreign key) is "not found", a repeated
     * ID or salt "exists", as on PostgreSQL. */
    int step = sqlite3_step(s);
    rc = step == SQLITE_DONE ? SI_OK
                             : sq_constraint(c, sqlite3_extended_errcode(c->db), "insert invite");
    sq_done(s);
    if (!rc) {
        w->last = sqlite3_last_insert_rowid(c->db);
        w->first = w->n ? w->first : w->last - n + 1;
        w->n += n;
        w->last_invite = rows[n - 1];
    }
    return rc;
}

/* Writes the waiting invites in order, each statement the largest size that is left. */
static enum si_err flush_waiting(struct sq_conn *c, struct written *w)
{
    enum si_err rc = SI_OK;
    int done = 0, size = 0;
    while (!rc && done < w->n_waiting) {
        while (INSERT_ROWS[size] > w->n_waiting - done)
            size++;
        rc = insert_rows(c, &w->waiting[done], size, w);
        done += INSERT_ROWS[size];
    }
    w->n_waiting = 0;
    return rc;
}

/* Queues v to be written, in order; a full chunk is written at once. */
static enum si_err insert_invite(struct sq_conn *c, const struct invite *v, struct written *w)
{
    w->waiting[w->n_waiting++] = v;
    return w->n_waiting == CHUNK ? flush_waiting(c, w) : SI_OK;
}

/* The addresses of a bulk call already known to the site (SQL_KNOWN_KEYS), sorted. */
struct known_keys {
    char **keys;
    size_t n;
};

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_known(const struct known_keys *known, const char *key)
{
    return known->n > 0 &&
           bsearch(&key, known->keys, known->n, sizeof known->keys[0], compare_keys) != NULL;
}

static void known_keys_cleanup(struct known_keys *known)
{
    for (size_t i = 0; i < known->n; i++)
        free(known->keys[i]);
    free(known->keys);
    known->keys = NULL;
    known->n = 0;
}

/* Whether two items of the call share an address. The API folds repeats before the store,
 * but the store's contract decides them too (the second finds the first's invite), and that
 * needs the per-address lookups. */
static bool has_repeats(const struct bulk_request *req)
{
    const char **keys = xmalloc(req->n * sizeof keys[0]);
    for (size_t i = 0; i < req->n; i++)
        keys[i] = req->items[i].invite.email_key;
    qsort(keys, req->n, sizeof keys[0], compare_keys);
    bool repeats = false;
    for (size_t i = 1; i < req->n && !repeats; i++)
        repeats = strcmp(keys[i - 1], keys[i]) == 0;
    free(keys);
    return repeats;
}

/* Asks once which of the call's addresses the site already knows, so that the per-address
 * lookups (two statements each, a quarter of a bulk call's time) run only for those. */
static enum si_err find_known(struct sq_conn *c, const struct bulk_request *req,
                              struct known_keys *known)
{
    struct buf list;
    buf_init(&list, 0);
    buf_xputs(&list, "[");
    for (size_t i = 0; i < req->n; i++) {
        if (i)
            buf_xputs(&list, ",");
        const char *key = req->items[i].invite.email_key;
        jw_string(&list, key, strlen(key));
    }
    buf_xputs(&list, "]");
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_prep(c, &SQL_KNOWN_KEYS, &s);
    if (!rc && (TEXT(s, 1, req->site_id) | sqlite3_bind_int64(s, 2, req->now) |
                sqlite3_bind_text(s, 3, list.data, (int)list.len, SQLITE_STATIC)))
        rc = sq_fail(c, "bind");
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        known->keys = xrealloc(known->keys, (known->n + 1) * sizeof known->keys[0]);
        known->keys[known->n++] = xstrdup((const char *)sqlite3_column_text(s, 0));
    }
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(c, "find known addresses");
    if (s)
        sq_done(s);
    buf_cleanup(&list);
    if (known->n > 1)
        qsort(known->keys, known->n, sizeof known->keys[0], compare_keys);
    return rc;
}

/* Loads the facts of one item lazily, in the order of core's rule (a pending invite found needs
 * no contributor lookup; known, when asked, lets an address the site does not know skip both),
 * asks core, and for a new invite writes it (its email: with the call's others, queue_emails). */
static enum si_err bulk_one(struct sq_conn *c, const struct bulk_request *req, struct bulk_item *it,
                            struct bulk_seats *seats, const struct known_keys *known,
                            struct written *w)
{
    struct bulk_facts f = {.pending = false, .contributor = false};
    enum si_err rc = SI_OK;
    if (!known || is_known(known, it->invite.email_key)) {
        rc = flush_waiting(c, w); /* the lookup must see the call's earlier invites */
        if (!rc)
            rc = find_pending(c, req, it, &f.pending);
        if (!rc && !f.pending)
            rc = is_contributor(c, req->site_id, it->invite.email_key, &f.contributor);
    }
    if (rc || bulk_plan_item(it, &f, seats, req->site_id) != BULK_CREATED)
        return rc;
    /* Its audit entry: with the call's others, after the last item. */
    return insert_invite(c, &it->invite, w);
}

/* Queues the first email of every invite the call wrote. One invite (Create One) takes the
 * one-row INSERT, which costs less than reading the row back; more take SQL_BULK_OUTBOX, whose
 * row count is checked: rows that were not consecutive would mean an email missing or one too
 * many, so the call fails whole. */
static enum si_err queue_emails(struct sq_conn *c, const struct bulk_request *req,
                                const struct written *w)
{
    sqlite3_stmt *s;
    if (!w->n)
        return SI_OK;
    if (w->n == 1)
        return sq_outbox_add(c, w->last_invite->id, OUTBOX_INVITE, req->now);
    enum si_err rc = sq_prep(c, &SQL_BULK_OUTBOX, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_int64(s, 1, w->first) | sqlite3_bind_int64(s, 2, w->last) |
        sqlite3_bind_int64(s, 3, req->now)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    rc = sq_exec_stmt(c, s, "queue emails");
    if (!rc && (w->last - w->first + 1 != w->n || sqlite3_changes64(c->db) != w->n)) {
        log_error("store: a bulk call's invites were not consecutive rows");
        rc = SI_ESTORE;
    }
    return rc;
}

/* Counts n new Pending invites into the site's seat counter (see the schema). */
static enum si_err add_pending(struct sq_conn *c, const char *site_id, int64_t n)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_SEATS_ADD, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, site_id) | sqlite3_bind_int64(s, 2, n))
        return sq_fail(c, "bind");
    return sq_exec_stmt(c, s, "count seats");
}

enum si_err sq_site_run_begin(struct sq_conn *c, struct sq_site_run *run,
                              const struct bulk_request *req)
{
    run->site_id = req->site_id;
    run->used = run->before = 0;
    int64_t counted, expired;
    enum si_err rc = sq_seat_counts(c, req->site_id, req->now, &counted, &expired);
    /* The sweep is an UPDATE that costs as much as a small call even when it finds nothing:
     * run it only when the count says there is something to store. */
    if (!rc && expired > 0) {
        rc = sweep(c, req->site_id, req->now);
        if (!rc)
            rc = sq_seat_counts(c, req->site_id, req->now, &counted, &expired);
    }
    run->used = run->before = counted - expired;
    return rc;
}

enum si_err sq_site_run_end(struct sq_conn *c, const struct sq_site_run *run)
{
    if (!run->site_id || run->used <= run->before)
        return SI_OK;
    return add_pending(c, run->site_id, run->used - run->before);
}

enum si_err sq_bulk_call(struct sq_conn *c, struct bulk_request *req, struct sq_site_run *run)
{
    struct known_keys known = {.keys = NULL, .n = 0};
    struct bulk_seats seats = {.used = run->used, .limit = req->contributor_limit};
    struct written w = {.first = 0, .last = 0, .n = 0, .last_invite = NULL, .n_waiting = 0};
    bool ask = req->n >= BULK_KNOWN_MIN && !has_repeats(req);
    enum si_err rc = ask ? find_known(c, req, &known) : SI_OK;
    for (size_t i = 0; !rc && i < req->n; i++)
        rc = bulk_one(c, req, &req->items[i], &seats, ask ? &known : NULL, &w);
    if (!rc)
        rc = flush_waiting(c, &w);
    if (!rc)
        rc = queue_emails(c, req, &w);
    if (!rc)
        rc = sq_audit_created(c, req);
    if (!rc)
        rc = webhook_emit_bulk(&sq_webhook_steps, c, req);
    known_keys_cleanup(&known);
    run->used = seats.used;
    return rc;
}
