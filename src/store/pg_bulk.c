/* Bulk Invite on PostgreSQL: one transaction per call that locks the site row, reads every
 * pending invite and contributor for the call's addresses in two statements, decides each item in
 * memory in order, and writes all new invites and their emails in two multi-row statements. So a
 * 1,000-address call costs six round trips, not thousands. */
#include "pg_int.h"

#include "core/webhook.h"
#include "webhook_ops.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Serialises bulk calls of one site across every process: seat counting and the pending-email
 * check below are decided with no other bulk call of the site in between. The lock also makes
 * contributor inserts of the site wait (their foreign-key check takes FOR KEY SHARE). No row:
 * the site does not exist, and nothing is written (invites have no foreign key to sites since
 * schema 23: this lock is what guarantees the site, and sites are never deleted). */
static const struct pg_sql SQL_SITE_LOCK = {PG_SITE_LOCK,
                                            "SELECT 1 FROM sites WHERE id = $1 FOR UPDATE"};
/* The newest unexpired Pending invite of each of the call's addresses (normally at most one).
 * The site's rows of the addresses are found first, behind OFFSET 0, and only then tested for
 * Pending. With the status test beside the keys, a table without statistics (a new database, a
 * restored pg_dump until autovacuum's ANALYZE), or a plan cached while the table was empty, was
 * a walk of every Pending invite of the site through a Pending index, each tested against the
 * keys: at 200,000 pending 195-350 ms for 16 addresses, against ~2 ms through
 * invites_site_email, which the fence leaves as the index for the keys. Statistics taken while
 * the table was tiny still mislead both forms until the next ANALYZE (docs/SCALING.md, "The
 * pending lookup without statistics"). */
static const struct pg_sql SQL_PENDING = {
    PG_BULK_PENDING,
    "SELECT DISTINCT ON (i.email_key) " PG_INVITE_COLS " FROM (SELECT * FROM"
    " invites WHERE site_id = $1 AND email_key = ANY($2::text[]) OFFSET 0) i" PG_INVITE_OUTBOX
    " WHERE i.status = 'Pending' AND i.expires_ms > $3::bigint"
    " ORDER BY i.email_key, i.created_ms DESC"};
/* For the rest of the call's transaction, generic plans only. A custom plan sees the site's
 * value and the statistics' guess of its size: a site made or grown since the last ANALYZE
 * looks empty, so the lookup above walked every row of the site through a site-wide index
 * (26,215 rows and 6,409 buffers a group of 3 creates, in a site filled after the analysis). The
 * generic plan weighs an average site against the keys and probes invites_site_email
 * (docs/SCALING.md, "A young table's statistics"). The plan is chosen when the statement is
 * bound, so this goes first in the pipe. */
static const struct pg_sql SQL_GENERIC_PLANS = {
    PG_BULK_GENERIC_PLANS, "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"};
static const struct pg_sql SQL_CONTRIBUTORS = {
    PG_BULK_CONTRIBUTORS, "SELECT DISTINCT email_key FROM contributors"
                          " WHERE site_id = $1 AND email_key = ANY($2::text[])"};
/* Every new invite in one statement: one array per column, zipped by unnest. purpose keeps
 * NULL (no purpose) as NULL; salts travel as hex. */
static const struct pg_sql SQL_INSERT = {
    PG_BULK_INSERT,
    "INSERT INTO invites (id, site_id, email, email_key, policy_ids, inviter_account_id, status,"
    " accepted_by, token_salt, created_ms, updated_ms, expires_ms, last_sent_ms, staff_id,"
    " purpose, language, send_count, location_ids)"
    " SELECT u.id, $1, u.email, u.email_key, u.policy_ids, u.inviter, u.status, u.accepted_by,"
    " decode(u.salt, 'hex'), u.created, u.updated, u.expires, u.last_sent, u.staff_id,"
    " u.purpose, u.language, u.send_count, u.location_ids"
    " FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],"
    " $14::text[], $15::text[], $16::text[], $17::integer[], $18::text[])"
    " AS u(id, email, email_key, policy_ids, inviter, status, accepted_by, salt, created,"
    " updated, expires, last_sent, staff_id, purpose, language, send_count, location_ids)"};
/* One Queued email per new invite, due now, in item order (the outbox IDs follow it). */
static const struct pg_sql SQL_OUTBOX = {
    PG_BULK_OUTBOX, "INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
                    " SELECT u.id, 0, 'Queued', $2::bigint, $2::bigint"
                    " FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) ORDER BY u.n"};

#define INSERT_COLS 17 /* array parameters of SQL_INSERT */

/* ---- a small string map: email key -> int ------------------------------------------------- */

/* Open addressing over a power-of-two table; keys are borrowed, never copied. */
struct keymap {
    const char **keys;
    int *vals;
    size_t mask;
};

static void map_init(struct keymap *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    m->keys = xcalloc(cap, sizeof *m->keys);
    m->vals = xcalloc(cap, sizeof *m->vals);
    m->mask = cap - 1;
}

static void map_free(struct keymap *m)
{
    free(m->keys);
    free(m->vals);
}

/* FNV-1a: short keys, no adversary that could pick collisions worth worrying about. */
static size_t slot_of(const struct keymap *m, const char *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    size_t i = (size_t)h & m->mask;
    while (m->keys[i] && strcmp(m->keys[i], k) != 0)
        i = (i + 1) & m->mask;
    return i;
}

static bool map_get(const struct keymap *m, const char *k, int *val)
{
    size_t i = slot_of(m, k);
    if (!m->keys[i])
        return false;
    *val = m->vals[i];
    return true;
}

/* Adds k unless present (the first value wins). The table never fills: 2n slots, n keys. */
static void map_put(struct keymap *m, const char *k, int val)
{
    size_t i = slot_of(m, k);
    if (!m->keys[i]) {
        m->keys[i] = k;
        m->vals[i] = val;
    }
}

/* ---- the call ------------------------------------------------------------------------------ */

/* What was read for a call: pending rows and contributor keys, by email key. */
struct lookups {
    PGresult *pending, *contributors;
    struct keymap pend; /* >= 0: a new item of this call; < 0: -(row + 1) of pending */
    struct keymap contrib;
};

/* Sends the lookups of the call's addresses: their pending invites, then their contributors.
 * keys (the addresses as a text array) is the caller's, built by keys_array. */
static void look_up_send(struct pg_pipe *p, const struct bulk_request *req, const char *keys)
{
    struct pg_args a = {0};
    pg_arg(&a, req->site_id);
    pg_arg(&a, keys);
    pg_arg_i64(&a, req->now);
    pg_pipe_send(p, &SQL_PENDING, &a, "find pending invites");
    a.n = 2; /* same site and keys, no time */
    pg_pipe_send(p, &SQL_CONTRIBUTORS, &a, "find contributors");
}

/* Takes the lookups' results (the caller's pipe gives them up) into l, by email key. The
 * pending map also takes the call's own new invites as they are decided. */
static void look_up_read(struct lookups *l, const struct bulk_request *req, PGresult **pending,
                         PGresult **contributors)
{
    l->pending = *pending;
    l->contributors = *contributors;
    *pending = *contributors = NULL;
    map_init(&l->pend, req->n + (size_t)PQntuples(l->pending));
    map_init(&l->contrib, (size_t)PQntuples(l->contributors));
    for (int i = 0; i < PQntuples(l->pending); i++)
        map_put(&l->pend, PQgetvalue(l->pending, i, 3), -(i + 1));
    for (int i = 0; i < PQntuples(l->contributors); i++)
        map_put(&l->contrib, PQgetvalue(l->contributors, i, 0), 0);
}

/* Decides every item in order with core's rule (core/bulk_plan.h). The facts come from the
 * lookups; a new invite of this call counts as pending for a later item with its address. */
static void decide(struct bulk_request *req, struct lookups *l, int64_t used)
{
    struct bulk_seats seats = {.used = used, .limit = req->contributor_limit};
    for (size_t i = 0; i < req->n; i++) {
        struct bulk_item *it = &req->items[i];
        int hit = 0, unused;
        struct bulk_facts f = {.pending = map_get(&l->pend, it->invite.email_key, &hit)};
        f.contributor = !f.pending && map_get(&l->contrib, it->invite.email_key, &unused);
        switch (bulk_plan_item(it, &f, &seats, req->site_id)) {
        case BULK_EXISTING:
            invite_cleanup(&it->invite); /* the caller's new invite gives way to the existing */
            if (hit < 0)
                pg_read_invite(l->pending, -hit - 1, &it->invite);
            else
                invite_copy(&it->invite, &req->items[hit].invite);
            break;
        case BULK_CREATED:
            /* The key lives in the item, which is not touched again. */
            map_put(&l->pend, it->invite.email_key, (int)i);
            break;
        case BULK_ALREADY_CONTRIBUTOR:
        case BULK_LIMIT_REACHED:
            break;
        }
    }
}

/* Builds the column arrays of the created items of n calls, in call and item order; SI_EINVAL
 * for a policy ID the stored form cannot hold. */
static enum si_err build_columns(const struct bulk_request *const *reqs, size_t n,
                                 struct buf col[INSERT_COLS], size_t *created)
{
    char pol[POLICY_TEXT_MAX], loc[POLICY_TEXT_MAX];
    *created = 0;
    for (int k = 0; k < INSERT_COLS; k++)
        pg_array_init(&col[k]);
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < reqs[r]->n; i++) {
            const struct invite *v = &reqs[r]->items[i].invite;
            if (reqs[r]->items[i].outcome != BULK_CREATED)
                continue;
            if (policy_text_encode(&v->policies, pol) || policy_text_encode(&v->locations, loc))
                return SI_EINVAL;
            pg_array_add(&col[0], v->id);
            pg_array_add(&col[1], v->email);
            pg_array_add(&col[2], v->email_key);
            pg_array_add(&col[3], pol);
            pg_array_add(&col[4], v->inviter_account_id);
            pg_array_add(&col[5], invite_status_name(v->status));
            pg_array_add(&col[6], v->accepted_by_account_id);
            if (v->has_salt)
                pg_array_add_hex(&col[7], v->token_salt, SI_TOKEN_SALT_LEN);
            else
                pg_array_add(&col[7], NULL); /* no salt since schema 16: the link names the ID */
            pg_array_add_i64(&col[8], v->created);
            pg_array_add_i64(&col[9], v->updated);
            pg_array_add_i64(&col[10], v->expires);
            pg_array_add_i64(&col[11], v->last_sent);
            pg_array_add(&col[12], v->staff_id);
            pg_array_add(&col[13], v->purpose);
            pg_array_add(&col[14], v->language);
            pg_array_add_i64(&col[15], v->send_count);
            pg_array_add(&col[16], loc);
            (*created)++;
        }
    }
    for (int k = 0; k < INSERT_COLS; k++)
        pg_array_end(&col[k]);
    return SI_OK;
}

/* Sends the created items of n calls of one site and one email each into p (begun), and hands
 * them to the server at once: it inserts while the caller builds what follows in the pipe.
 * Nothing is sent when none was created or on failure (SI_EINVAL, as build_columns). */
static enum si_err send_created(struct pg_pipe *p, const struct bulk_request *const *reqs, size_t n)
{
    struct buf col[INSERT_COLS];
    size_t created = 0;
    enum si_err rc = build_columns(reqs, n, col, &created);
    if (!rc && created > 0) {
        struct pg_args a = {0};
        pg_arg(&a, reqs[0]->site_id);
        for (int k = 0; k < INSERT_COLS; k++)
            pg_arg(&a, col[k].data);
        pg_pipe_send(p, &SQL_INSERT, &a, "insert invites");
        a = (struct pg_args){0};
        pg_arg(&a, col[0].data); /* the IDs */
        pg_arg_i64(&a, reqs[0]->now);
        pg_pipe_send(p, &SQL_OUTBOX, &a, "queue emails");
        pg_pipe_flush(p);
    }
    for (int k = 0; k < INSERT_COLS; k++)
        buf_cleanup(&col[k]);
    return rc;
}

/* Writes the created items and one email each, both in one round trip (the server runs them
 * in order). */
static enum si_err write_created(struct pg_conn *c, const struct bulk_request *req)
{
    struct pg_pipe p;
    pg_pipe_begin(c, &p);
    enum si_err rc = send_created(&p, &req, 1);
    enum si_err sent = pg_pipe_end(&p); /* ends the pipe whatever was sent */
    pg_pipe_clear(&p);
    return rc ? rc : sent;
}

/* The call's addresses as one text array. */
static void keys_array(const struct bulk_request *req, struct buf *keys)
{
    pg_array_init(keys);
    for (size_t i = 0; i < req->n; i++)
        pg_array_add(keys, req->items[i].invite.email_key);
    pg_array_end(keys);
}

/* The deciding half of a call inside the caller's transaction (begun by the first round trip
 * when begin): lock the site, count seats, read the addresses' pending invites and
 * contributors (those in one round trip: the server runs them in order, so the reads see no
 * other write of the site), and decide every item. Writes nothing. */
enum si_err pg_bulk_decide(struct pg_conn *c, struct bulk_request *req, bool begin)
{
    struct lookups l = {0};
    struct buf keys;
    keys_array(req, &keys);
    struct pg_pipe p;
    pg_pipe_begin(c, &p);
    if (begin) {
        pg_pipe_send_begin(&p);
        pg_pipe_send(&p, &SQL_GENERIC_PLANS, NULL, "choose generic plans");
    }
    /* The results' places in the pipe: [BEGIN, generic plans,] lock, seats, pending,
     * contributors, hooks. */
    const int lock = begin ? 2 : 0, seats = lock + 1, pending = lock + 2, contributors = lock + 3,
              hooks = lock + 4;
    struct pg_args a = {0};
    pg_arg(&a, req->site_id);
    pg_pipe_send(&p, &SQL_SITE_LOCK, &a, "lock site");
    pg_seats_send(&p, req->site_id, req->now);
    look_up_send(&p, req, keys.data);
    /* Whether invite.created events are wanted, for the recording step (pg_bulk_record). */
    a.n = 1;
    pg_arg_i64(&a, WEBHOOK_EVENT_BIT(WH_INVITE_CREATED));
    pg_pipe_send(&p, &pg_sql_webhooks_wanted, &a, "find webhooks");
    enum si_err rc = pg_pipe_end(&p);
    buf_cleanup(&keys);
    if (!rc && PQntuples(p.res[lock]) != 1)
        rc = SI_ENOTFOUND; /* an unknown site locks nothing */
    if (!rc) {
        pg_hooks_known(c, req->site_id, WEBHOOK_EVENT_BIT(WH_INVITE_CREATED), p.res[hooks]);
        look_up_read(&l, req, &p.res[pending], &p.res[contributors]);
        decide(req, &l, pg_seats_of(p.res[seats]));
    }
    pg_pipe_clear(&p);
    PQclear(l.pending);
    PQclear(l.contributors);
    if (l.pend.keys)
        map_free(&l.pend);
    if (l.contrib.keys)
        map_free(&l.contrib);
    return rc;
}

enum si_err pg_bulk_decide_write(struct pg_conn *c, struct bulk_request *req, bool begin)
{
    enum si_err rc = pg_bulk_decide(c, req, begin);
    return rc ? rc : write_created(c, req);
}

/* The recording half, for n calls of one site: their webhook events and audit entries, each
 * with its own call's actor and time. */
enum si_err pg_bulk_record(struct pg_conn *c, const struct bulk_request *const *reqs, size_t n)
{
    enum si_err rc = webhook_emit_bulk_calls(&pg_webhook_steps, c, reqs, n);
    return rc ? rc : pg_audit_created_calls(c, reqs, n);
}

/* The webhook events go first: when the site has a hook for invite.created they take round
 * trips of their own (known from the first pipe: none without one). Then one pipe carries the
 * rows, the audit entries and COMMIT, and the audit row is built while the server inserts. */
enum si_err pg_bulk_write_commit(struct pg_conn *c, const struct bulk_request *const *reqs,
                                 size_t n, bool *committing)
{
    *committing = false;
    enum si_err rc = webhook_emit_bulk_calls(&pg_webhook_steps, c, reqs, n);
    if (rc) {
        pg_rollback(c);
        return rc;
    }
    struct pg_pipe p;
    pg_pipe_begin(c, &p);
    rc = send_created(&p, reqs, n);
    if (rc) {
        enum si_err ended = pg_pipe_end(&p); /* nothing was sent: only leaves pipeline mode */
        (void)ended;
        pg_pipe_clear(&p);
        pg_rollback(c);
        return rc;
    }
    pg_audit_created_send(&p, reqs, n);
    return pg_pipe_commit(&p, committing);
}

enum si_err pg_bulk_run(struct pg_conn *c, struct bulk_request *req)
{
    pg_conn_site(c, req->site_id);
    enum si_err rc = pg_bulk_decide(c, req, true);
    const struct bulk_request *one = req;
    if (!rc && !req->dry_run) {
        bool committing; /* a lone call is never run again, whatever failed */
        return pg_bulk_write_commit(c, &one, 1, &committing);
    }
    /* A dry run decides and writes exactly as a real call (so errors match), then rolls back. */
    if (!rc)
        rc = write_created(c, req);
    if (!rc)
        rc = pg_bulk_record(c, &one, 1);
    pg_rollback(c);
    return rc;
}

enum si_err pg_invites_bulk(void *be, struct bulk_request *req)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_bulk_run(c, req);
    pg_return(be, c);
    return rc;
}
