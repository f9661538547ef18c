/* SQLite operations on invites: reading rows with their latest delivery, Bulk Invite in one
 * transaction, changing one invite through a decision function, and seat counting. */
#include "sqlite_int.h"

#include "common/buf.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <semaphore.h>
#include <string.h>

#define WINDOW_MS ((si_ms)24 * 60 * 60 * 1000) /* the resend window of invite_change */
#define SWEEP_MAX 1000 /* lazily expired invites stored as Expired per bulk call */
/* Calls with at least this many addresses ask once which ones the site knows (find_known);
 * smaller ones look each up, which costs less than building the list. */
#define BULK_KNOWN_MIN 8

/* Every read of an invite is scoped by site: another site's invite is "not found". */
static const struct sq_sql SQL_GET = {SQ_INVITE_GET, "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM
                                                     " WHERE i.id = ?1 AND i.site_id = ?2"};
static const struct sq_sql SQL_BY_SALT = {SQ_INVITE_BY_SALT, "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM
                                                             " WHERE i.token_salt = ?1"};
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
 * Pending invite or a contributor in the site: one statement, one index seek per address. */
static const struct sq_sql SQL_KNOWN_KEYS = {
    SQ_BULK_KNOWN_KEYS,
    "SELECT email_key FROM invites INDEXED BY invites_site_email WHERE site_id = ?1"
    " AND status = 'Pending' AND expires_ms > ?2 AND email_key IN (SELECT value FROM json_each(?3))"
    " UNION SELECT email_key FROM contributors WHERE site_id = ?1"
    " AND email_key IN (SELECT value FROM json_each(?3))"};
/* purpose may be NULL (no purpose) and is kept NULL, unlike the other optional texts. */
static const struct sq_sql SQL_INSERT = {
    SQ_INVITE_INSERT,
    "INSERT INTO invites (id, site_id, email, email_key, policy_ids, inviter_account_id, status,"
    " accepted_by, token_salt, created_ms, updated_ms, expires_ms, last_sent_ms, staff_id,"
    " purpose, language, send_count)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"};
/* The fields a decision function may change; id, site, email, salt and created never do. */
static const struct sq_sql SQL_UPDATE = {
    SQ_INVITE_UPDATE, "UPDATE invites SET status = ?2, policy_ids = ?3, staff_id = ?4,"
                      " expires_ms = ?5, updated_ms = ?6, send_count = ?7, last_sent_ms = ?8,"
                      " language = ?9, accepted_by = ?10 WHERE id = ?1"};
/* Seats: the trigger-kept counters minus stored-Pending rows already expired (see the schema). */
static const struct sq_sql SQL_SEATS = {
    SQ_SEATS_USED, "SELECT s.seats_pending + s.seats_contributors, (SELECT count(*) FROM invites"
                   " WHERE site_id = ?1 AND status = 'Pending' AND expires_ms <= ?2) FROM sites s "
                   "WHERE s.id = ?1"};
/* Stores Expired on up to ?3 Pending invites past their expiry: readers already see them as
 * Expired, this only keeps the seat count's correction term small. */
static const struct sq_sql SQL_SWEEP = {
    SQ_INVITES_SWEEP,
    "UPDATE invites SET status = 'Expired' WHERE rowid IN (SELECT rowid FROM invites"
    " WHERE site_id = ?1 AND status = 'Pending' AND expires_ms <= ?2 LIMIT ?3)"};
static const struct sq_sql SQL_SEATS_ADD = {
    SQ_SEATS_ADD, "UPDATE sites SET seats_pending = seats_pending + ?2 WHERE id = ?1"};
/* A new email is due at once; created_ms also anchors the mailer's backoff schedule. */
static const struct sq_sql SQL_OUTBOX_INSERT = {
    SQ_OUTBOX_INSERT, "INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
                      " VALUES (?1, ?2, 'Queued', ?3, ?3)"};
/* Emails queued for an invite after now - 24 h: the resend limit's input. No upper bound: a
 * concurrent call whose clock read a later now may have queued one before this call got the
 * write lock, and it counts (else two racing resends could both take the last one). */
static const struct sq_sql SQL_OUTBOX_WINDOW = {
    SQ_OUTBOX_WINDOW, "SELECT count(*), coalesce(min(created_ms), 0) FROM outbox"
                      " WHERE invite_id = ?1 AND created_ms > ?2"};
/* Only Queued rows: a row already Sent or Failed is history and stays as it was. */
const struct sq_sql sq_sql_outbox_cancel = {
    SQ_OUTBOX_CANCEL, "UPDATE outbox SET status = 'Cancelled', lease_until_ms = 0"
                      " WHERE invite_id = ?1 AND status = 'Queued'"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

enum delivery_status sq_delivery_parse(const char *name)
{
    static const char *const names[] = {
        [DELIVERY_QUEUED] = "Queued",
        [DELIVERY_SENT] = "Sent",
        [DELIVERY_FAILED] = "Failed",
        [DELIVERY_CANCELLED] = "Cancelled",
    };
    for (size_t i = DELIVERY_QUEUED; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return (enum delivery_status)i;
    return DELIVERY_NONE;
}

void sq_read_invite(sqlite3_stmt *s, struct invite *out)
{
    memset(out, 0, sizeof *out);
    sq_col_text(s, 0, out->id, sizeof out->id);
    sq_col_text(s, 1, out->site_id, sizeof out->site_id);
    sq_col_text(s, 2, out->email, sizeof out->email);
    sq_col_text(s, 3, out->email_key, sizeof out->email_key);
    policy_text_decode((const char *)sqlite3_column_text(s, 4), &out->policies);
    sq_col_text(s, 5, out->inviter_account_id, sizeof out->inviter_account_id);
    const char *status = (const char *)sqlite3_column_text(s, 6);
    if (!status || !invite_status_parse(status, &out->status))
        out->status = INVITE_DELETED; /* unreadable: show it as unusable, never as Pending */
    sq_col_text(s, 7, out->accepted_by_account_id, sizeof out->accepted_by_account_id);
    if (sqlite3_column_bytes(s, 8) == SI_TOKEN_SALT_LEN)
        memcpy(out->token_salt, sqlite3_column_blob(s, 8), SI_TOKEN_SALT_LEN);
    out->created = sqlite3_column_int64(s, 9);
    out->updated = sqlite3_column_int64(s, 10);
    out->expires = sqlite3_column_int64(s, 11);
    out->last_sent = sqlite3_column_int64(s, 12);
    sq_col_text(s, 13, out->staff_id, sizeof out->staff_id);
    if (sqlite3_column_type(s, 14) != SQLITE_NULL)
        out->purpose = xstrdup((const char *)sqlite3_column_text(s, 14));
    sq_col_text(s, 15, out->language, sizeof out->language);
    out->send_count = sqlite3_column_int(s, 16);
    out->delivery.status = sq_delivery_parse((const char *)sqlite3_column_text(s, 17));
    out->delivery.attempts = sqlite3_column_int(s, 18);
    sq_col_text(s, 19, out->delivery.last_error, sizeof out->delivery.last_error);
}

/* Reads one invite of a site on c (inside or outside a transaction). */
static enum si_err load(struct sq_conn *c, const char *site_id, const char *id, struct invite *out)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_step_row(c, &SQL_GET, id, site_id, "read invite", &s);
    if (!rc)
        sq_read_invite(s, out);
    sq_done(s);
    return rc;
}

enum si_err sq_invite_get(void *be, const char *site_id, const char *invite_id, struct invite *out)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = load(c, site_id, invite_id, out);
    sq_return(be, c);
    return rc;
}

enum si_err sq_invite_by_salt(void *be, const uint8_t salt[SI_TOKEN_SALT_LEN], struct invite *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_BY_SALT, &s);
    if (!rc && sqlite3_bind_blob(s, 1, salt, SI_TOKEN_SALT_LEN, SQLITE_STATIC) != SQLITE_OK)
        rc = sq_fail(c, "bind");
    if (!rc) {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            sq_read_invite(s, out);
        else
            rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "read invite by salt");
    }
    sq_done(s);
    sq_return(be, c);
    return rc;
}

/* Reads the site's seat counters (stored-Pending invites plus contributors) and how many of
 * those Pending rows are already past expiry (lazy expiry: they hold no seat). */
static enum si_err seat_counts(struct sq_conn *c, const char *site_id, si_ms now, int64_t *counted,
                               int64_t *expired)
{
    sqlite3_stmt *s;
    *counted = *expired = 0; /* an unknown site has no seats in use */
    enum si_err rc = sq_prep(c, &SQL_SEATS, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, site_id) | sqlite3_bind_int64(s, 2, now))
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            *counted = sqlite3_column_int64(s, 0);
            *expired = sqlite3_column_int64(s, 1);
        } else if (step != SQLITE_DONE)
            rc = sq_fail(c, "count seats");
    }
    sq_done(s);
    return rc;
}

static enum si_err seats(struct sq_conn *c, const char *site_id, si_ms now, int64_t *used)
{
    int64_t counted, expired;
    enum si_err rc = seat_counts(c, site_id, now, &counted, &expired);
    *used = counted - expired;
    return rc;
}

/* Inside a write transaction: stores Expired on some lazily expired invites of the site. */
static enum si_err sweep(struct sq_conn *c, const char *site_id, si_ms now)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_SWEEP, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, site_id) | sqlite3_bind_int64(s, 2, now) | sqlite3_bind_int(s, 3, SWEEP_MAX))
        return sq_fail(c, "bind");
    return sq_exec_stmt(c, s, "sweep expired invites");
}

enum si_err sq_seats_used(void *be, const char *site_id, si_ms now, int64_t *used)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = seats(c, site_id, now, used);
    sq_return(be, c);
    return rc;
}

/* Queues one email of kind for the invite, inside the caller's transaction. */
static enum si_err outbox_insert(struct sq_conn *c, const char *invite_id, enum outbox_kind kind,
                                 si_ms now)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_OUTBOX_INSERT, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, invite_id) | sqlite3_bind_int(s, 2, (int)kind) | sqlite3_bind_int64(s, 3, now))
        return sq_fail(c, "bind");
    return sq_exec_stmt(c, s, "queue email");
}

/* ---- bulk ---------------------------------------------------------------------------------- */

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

/* Writes a new invite row exactly as prepared by the caller. */
static enum si_err insert_invite(struct sq_conn *c, const struct invite *v)
{
    char policies[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(&v->policies, policies);
    if (rc)
        return rc;
    sqlite3_stmt *s;
    rc = sq_prep(c, &SQL_INSERT, &s);
    if (rc)
        return rc;
    int b = TEXT(s, 1, v->id) | TEXT(s, 2, v->site_id) | TEXT(s, 3, v->email);
    b |= TEXT(s, 4, v->email_key) | TEXT(s, 5, policies) | TEXT(s, 6, v->inviter_account_id);
    b |= TEXT(s, 7, invite_status_name(v->status)) | TEXT(s, 8, v->accepted_by_account_id);
    b |= sqlite3_bind_blob(s, 9, v->token_salt, SI_TOKEN_SALT_LEN, SQLITE_STATIC);
    b |= sqlite3_bind_int64(s, 10, v->created) | sqlite3_bind_int64(s, 11, v->updated);
    b |= sqlite3_bind_int64(s, 12, v->expires) | sqlite3_bind_int64(s, 13, v->last_sent);
    b |= TEXT(s, 14, v->staff_id) | TEXT(s, 15, v->purpose) | TEXT(s, 16, v->language);
    b |= sqlite3_bind_int(s, 17, v->send_count);
    if (b)
        return sq_fail(c, "bind invite");
    return sq_exec_stmt(c, s, "insert invite");
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

/* Decides one item and, for a new invite, writes it and its email. known (NULL: not asked)
 * lets an address the site does not know skip the two lookups. */
static enum si_err bulk_one(struct sq_conn *c, const struct bulk_request *req, struct bulk_item *it,
                            int64_t *used, const struct known_keys *known)
{
    bool hit = false;
    enum si_err rc = SI_OK;
    if (known && !is_known(known, it->invite.email_key))
        goto insert;
    rc = find_pending(c, req, it, &hit);
    if (rc || hit) {
        it->outcome = BULK_EXISTING;
        return rc;
    }
    rc = is_contributor(c, req->site_id, it->invite.email_key, &hit);
    if (rc || hit) {
        it->outcome = BULK_ALREADY_CONTRIBUTOR;
        return rc;
    }
insert:
    if (*used >= req->contributor_limit) {
        it->outcome = BULK_LIMIT_REACHED;
        return SI_OK;
    }
    struct invite *v = &it->invite;
    snprintf(v->site_id, sizeof v->site_id, "%s", req->site_id);
    rc = insert_invite(c, v);
    if (!rc)
        rc = outbox_insert(c, v->id, OUTBOX_INVITE, req->now);
    if (rc)
        return rc;
    v->delivery = (struct delivery){.status = DELIVERY_QUEUED};
    it->outcome = BULK_CREATED;
    (*used)++;
    return SI_OK;
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

/* The seats of one site while a run of calls for it is decided. The transaction holds the write
 * lock, so nobody else can take a seat meanwhile: seats are counted once per run, then tracked
 * in memory, and the counter is written once at the end of the run. */
struct site_run {
    const char *site_id; /* NULL before the first call */
    int64_t used, before;
};

/* Starts a run for the site of req: counts seats, storing Expired on lazily expired invites. */
static enum si_err site_run_begin(struct sq_conn *c, struct site_run *run,
                                  const struct bulk_request *req)
{
    run->site_id = req->site_id;
    run->used = run->before = 0;
    int64_t counted, expired;
    enum si_err rc = seat_counts(c, req->site_id, req->now, &counted, &expired);
    /* The sweep is an UPDATE that costs as much as a small call even when it finds nothing:
     * run it only when the count says there is something to store. */
    if (!rc && expired > 0) {
        rc = sweep(c, req->site_id, req->now);
        if (!rc)
            rc = seat_counts(c, req->site_id, req->now, &counted, &expired);
    }
    run->used = run->before = counted - expired;
    return rc;
}

static enum si_err site_run_end(struct sq_conn *c, const struct site_run *run)
{
    if (!run->site_id || run->used <= run->before)
        return SI_OK;
    return add_pending(c, run->site_id, run->used - run->before);
}

/* The arguments of a queued invite change (store_invite_change_async). */
struct sq_change_args {
    const char *site_id, *invite_id;
    si_ms now;
    invite_change_fn fn;
    void *ctx;
    struct invite *out; /* may be NULL */
};

/* One queued call of a group commit: a bulk call, or a change of one invite. */
enum sq_job_kind { SQ_JOB_BULK, SQ_JOB_CHANGE };

struct sq_job {
    enum sq_job_kind kind;
    struct sq_change_args change; /* SQ_JOB_CHANGE */
    struct bulk_request *req;     /* SQ_JOB_BULK */
    enum si_err rc;
    store_done_fn done; /* called once, on the group thread, with rc */
    void *ctx;
    bool owned; /* allocated by sq_invites_bulk_async: freed after done */
    struct sq_job *next;
};

static enum si_err change_body(struct sq_conn *c, const struct sq_change_args *a);

/* A change's own outcomes (not found, a state the rule refuses, the resend limit) leave
 * nothing written and end only that change; these end the whole group. */
static bool fails_group(enum si_err rc)
{
    return rc == SI_ESTORE || rc == SI_ENOMEM || rc == SI_EIO;
}

/* Decides and writes the calls of a group, in order, inside the caller's write transaction.
 * Consecutive bulk calls for one site share a site run (one sweep, one seat count, one counter
 * update): a later call sees the seats the earlier ones took, exactly as if it ran after them.
 * The sweep and the seat count use the first call's now; a row expiring between two calls'
 * "now" (a millisecond or so) is then still counted as a taken seat: never a seat too many.
 * A change ends the site run first (it may free a seat) and runs on the rows as the earlier
 * calls left them. Stops at the first failure that fails the group and returns it; the caller
 * rolls the transaction back. */
static enum si_err run_jobs(struct sq_conn *c, struct sq_job *group)
{
    struct site_run run = {.site_id = NULL};
    enum si_err rc = SI_OK;
    for (struct sq_job *j = group; j && !rc; j = j->next) {
        if (j->kind == SQ_JOB_CHANGE) {
            rc = site_run_end(c, &run);
            run.site_id = NULL;
            if (!rc)
                j->rc = change_body(c, &j->change);
            if (!rc && fails_group(j->rc))
                rc = j->rc;
            continue;
        }
        struct bulk_request *req = j->req;
        if (!run.site_id || strcmp(run.site_id, req->site_id) != 0) {
            rc = site_run_end(c, &run);
            if (!rc)
                rc = site_run_begin(c, &run, req);
        }
        struct known_keys known = {.keys = NULL, .n = 0};
        bool ask = req->n >= BULK_KNOWN_MIN && !has_repeats(req);
        if (!rc && ask)
            rc = find_known(c, req, &known);
        for (size_t i = 0; !rc && i < req->n; i++)
            rc = bulk_one(c, req, &req->items[i], &run.used, ask ? &known : NULL);
        known_keys_cleanup(&known);
        j->rc = rc;
    }
    if (!rc)
        rc = site_run_end(c, &run);
    return rc;
}

/* A change that read its row back must not describe it once its transaction is undone. */
static void undo_outs(struct sq_job *group)
{
    for (struct sq_job *j = group; j; j = j->next) {
        if (j->kind == SQ_JOB_CHANGE && j->change.out && j->rc == SI_OK)
            invite_cleanup(j->change.out);
    }
}

/* Runs the calls of group in one write transaction; commits only if all succeed. */
static enum si_err run_transaction(struct sq_conn *c, struct sq_job *group)
{
    enum si_err rc = sq_begin(c);
    if (!rc)
        rc = run_jobs(c, group);
    if (!rc)
        return sq_commit(c);
    sq_rollback(c);
    return rc;
}

/* Runs a group of calls in one transaction, without savepoints (each costs as much as a small
 * call). Calls almost never fail the group; when one does (a store error), the whole group is
 * rolled back and every call runs again alone, so a failure stays with the call that caused it.
 * A rerun is safe: the rolled-back writes are gone, and items decided as existing find the same
 * stored row again. On success each call keeps its own result (a change may have been refused
 * by its rule). */
static void run_group(struct sq_store *st, struct sq_job *group)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (!rc)
        rc = run_transaction(c, group);
    if (rc)
        undo_outs(group);
    if (rc && c && group->next) {
        for (struct sq_job *j = group; j; j = j->next) {
            struct sq_job *next = j->next;
            j->next = NULL;
            enum si_err alone = run_transaction(c, j);
            if (alone) {
                undo_outs(j);
                j->rc = alone;
            }
            j->next = next;
        }
    } else if (rc) {
        for (struct sq_job *j = group; j; j = j->next)
            j->rc = rc;
    }
    sq_return(st, c);
}

/* Dry runs: every decision made for real (so repeats within the call and seats count the same
 * way), then the writes thrown away; never grouped with real calls. */
static enum si_err bulk_dry_run(struct sq_store *st, struct bulk_request *req)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc)
        return rc;
    struct sq_job job = {.kind = SQ_JOB_BULK, .req = req, .rc = SI_OK, .next = NULL};
    rc = sq_begin(c);
    if (!rc)
        rc = run_jobs(c, &job);
    sq_rollback(c);
    sq_return(st, c);
    return rc;
}

/* The group thread: takes every queued call as one group, runs it in one transaction, hands
 * each call its result, and sleeps while nothing is queued. Under steady concurrent creates,
 * calls queue while a group runs, so one commit (the dominant cost: WAL writes) serves many.
 * A call's done must not block: it only hands the result on. Exits once stop is asked and the
 * queue is empty. */
static void *group_main(void *arg)
{
    struct sq_store *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->jobs && !st->group_stop)
            pthread_cond_wait(&st->group_cv, &st->mu);
        struct sq_job *group = st->jobs;
        if (!group)
            break;
        st->jobs = NULL;
        st->jobs_tail = &st->jobs;
        pthread_mutex_unlock(&st->mu);
        run_group(st, group);
        for (struct sq_job *j = group, *next; j; j = next) {
            next = j->next; /* a caller's own job may vanish as soon as done returns */
            bool owned = j->owned;
            j->done(j->ctx, j->rc);
            if (owned)
                free(j);
        }
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Queues a job for the group thread, starting the thread on first use (a CLI process that
 * never invites never starts it). If it cannot start, the job runs here, alone. */
static void enqueue(struct sq_store *st, struct sq_job *job)
{
    pthread_mutex_lock(&st->mu);
    if (!st->group_started && pthread_create(&st->group_thread, NULL, group_main, st) == 0)
        st->group_started = true;
    if (st->group_started) {
        *st->jobs_tail = job;
        st->jobs_tail = &job->next;
        pthread_cond_signal(&st->group_cv);
    }
    bool inline_run = !st->group_started;
    pthread_mutex_unlock(&st->mu);
    if (inline_run) {
        log_error("store: cannot start the group commit thread; running the call alone");
        bool owned = job->owned;
        run_group(st, job);
        job->done(job->ctx, job->rc);
        if (owned)
            free(job);
    }
}

void sq_invite_change_async(void *be, const char *site_id, const char *invite_id, si_ms now,
                            invite_change_fn fn, void *ctx, struct invite *out, store_done_fn done,
                            void *done_ctx)
{
    struct sq_job *job = xmalloc(sizeof *job);
    *job = (struct sq_job){
        .kind = SQ_JOB_CHANGE,
        .change = {.site_id = site_id,
                   .invite_id = invite_id,
                   .now = now,
                   .fn = fn,
                   .ctx = ctx,
                   .out = out},
        .done = done,
        .ctx = done_ctx,
        .owned = true,
    };
    enqueue(be, job);
}

void sq_invites_bulk_async(void *be, struct bulk_request *req, store_done_fn done, void *ctx)
{
    struct sq_store *st = be;
    if (req->dry_run) {
        done(ctx, bulk_dry_run(st, req));
        return;
    }
    struct sq_job *job = xmalloc(sizeof *job);
    *job =
        (struct sq_job){.kind = SQ_JOB_BULK, .req = req, .done = done, .ctx = ctx, .owned = true};
    enqueue(st, job);
}

static void post_done(void *ctx, enum si_err rc)
{
    (void)rc; /* the caller reads it from its job */
    sem_post(ctx);
}

enum si_err sq_invites_bulk(void *be, struct bulk_request *req)
{
    struct sq_store *st = be;
    if (req->dry_run)
        return bulk_dry_run(st, req);
    sem_t finished;
    sem_init(&finished, 0, 0);
    struct sq_job job = {
        .kind = SQ_JOB_BULK, .req = req, .done = post_done, .ctx = &finished, .owned = false};
    enqueue(st, &job);
    while (sem_wait(&finished) != 0) /* EINTR only */
        ;
    sem_destroy(&finished);
    return job.rc;
}

void sq_group_stop(struct sq_store *st)
{
    pthread_mutex_lock(&st->mu);
    bool started = st->group_started;
    st->group_stop = true;
    pthread_cond_broadcast(&st->group_cv);
    pthread_mutex_unlock(&st->mu);
    if (started)
        pthread_join(st->group_thread, NULL);
}

/* ---- change -------------------------------------------------------------------------------- */

/* Fills the resend-window inputs of a change from the invite's outbox rows. */
static enum si_err send_window(struct sq_conn *c, struct invite_change *ch, si_ms now)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_OUTBOX_WINDOW, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, ch->inv.id) | sqlite3_bind_int64(s, 2, now - WINDOW_MS))
        rc = sq_fail(c, "bind");
    else if (sqlite3_step(s) == SQLITE_ROW) {
        ch->sends_in_window = sqlite3_column_int(s, 0);
        ch->oldest_send_in_window = sqlite3_column_int64(s, 1);
    } else
        rc = sq_fail(c, "count recent emails");
    sq_done(s);
    return rc;
}

/* Stores what the decision function chose, then applies its outbox effect. */
static enum si_err write_back(struct sq_conn *c, const struct invite_change *ch, si_ms now)
{
    const struct invite *v = &ch->inv;
    char policies[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(&v->policies, policies);
    sqlite3_stmt *s;
    if (!rc)
        rc = sq_prep(c, &SQL_UPDATE, &s);
    if (rc)
        return rc;
    int b = TEXT(s, 1, v->id) | TEXT(s, 2, invite_status_name(v->status)) | TEXT(s, 3, policies);
    b |= TEXT(s, 4, v->staff_id) | sqlite3_bind_int64(s, 5, v->expires);
    b |= sqlite3_bind_int64(s, 6, v->updated) | sqlite3_bind_int(s, 7, v->send_count);
    b |= sqlite3_bind_int64(s, 8, v->last_sent) | TEXT(s, 9, v->language);
    b |= TEXT(s, 10, v->accepted_by_account_id);
    rc = b ? sq_fail(c, "bind") : sq_exec_stmt(c, s, "update invite");
    if (rc || ch->outbox == OUTBOX_KEEP)
        return rc;
    if (ch->outbox == OUTBOX_ENQUEUE)
        return outbox_insert(c, v->id, OUTBOX_RESEND, now);
    rc = sq_prep(c, &sq_sql_outbox_cancel, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, v->id))
        return sq_fail(c, "bind");
    return sq_exec_stmt(c, s, "cancel emails");
}

/* Loads the invite, lets fn decide, writes what it chose and reads the row back into a->out,
 * inside the caller's write transaction. Returns fn's error, SI_ENOTFOUND, or a store error. */
static enum si_err change_body(struct sq_conn *c, const struct sq_change_args *a)
{
    struct invite_change ch = {.outbox = OUTBOX_KEEP};
    enum si_err rc = load(c, a->site_id, a->invite_id, &ch.inv);
    if (!rc)
        rc = send_window(c, &ch, a->now);
    if (!rc)
        rc = a->fn(&ch, a->ctx, a->now);
    if (!rc && ch.write)
        rc = write_back(c, &ch, a->now);
    /* Read back inside the transaction so out is exactly what was committed. */
    if (!rc && a->out)
        rc = load(c, a->site_id, a->invite_id, a->out);
    invite_cleanup(&ch.inv);
    return rc;
}

enum si_err sq_invite_change(void *be, const char *site_id, const char *invite_id, si_ms now,
                             invite_change_fn fn, void *ctx, struct invite *out)
{
    struct sq_conn *c = NULL;
    const struct sq_change_args a = {
        .site_id = site_id, .invite_id = invite_id, .now = now, .fn = fn, .ctx = ctx, .out = out};
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    /* Read and write in one IMMEDIATE transaction: two concurrent changes of an invite (two
     * accepts, a resend racing a revoke) are decided one after the other on fresh rows. */
    rc = sq_begin(c);
    if (!rc)
        rc = change_body(c, &a);
    bool filled = !rc && out;
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    if (rc && filled)
        invite_cleanup(out); /* the commit failed: out must not describe an unwritten row */
    sq_return(be, c);
    return rc;
}
