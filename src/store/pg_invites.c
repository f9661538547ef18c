/* PostgreSQL operations on single invites: reading rows with their latest delivery, changing one
 * invite through a decision function under a row lock, and seat counting. Bulk is pg_bulk.c. */
#include "pg_int.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define WINDOW_MS ((si_ms)24 * 60 * 60 * 1000) /* the resend window of invite_change */

/* Every read of an invite is scoped by site: another site's invite is "not found". */
static const struct pg_sql SQL_GET = {PG_INVITE_GET, "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                                     " WHERE i.id = $1 AND i.site_id = $2"};
/* The same row, locked until the transaction ends: concurrent changes of one invite (in any
 * process) are decided one after the other, each on the row the previous one wrote. */
static const struct pg_sql SQL_LOCK = {PG_INVITE_LOCK,
                                       "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                       " WHERE i.id = $1 AND i.site_id = $2 FOR UPDATE OF i"};
static const struct pg_sql SQL_BY_SALT = {PG_INVITE_BY_SALT, "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                                             " WHERE i.token_salt = $1"};
/* Seats: unexpired stored-Pending invites (a range of the partial index) plus contributors, in
 * one statement so both counts come from one snapshot. An unknown site has none. */
static const struct pg_sql SQL_SEATS = {
    PG_SEATS_USED, "SELECT (SELECT count(*) FROM invites WHERE site_id = $1 AND status = 'Pending'"
                   " AND expires_ms > $2::bigint) + (SELECT count(*) FROM contributors"
                   " WHERE site_id = $1)"};
/* The fields a decision function may change; id, site, email, salt and created never do. */
static const struct pg_sql SQL_UPDATE = {
    PG_INVITE_UPDATE, "UPDATE invites SET status = $2, policy_ids = $3, staff_id = $4,"
                      " expires_ms = $5, updated_ms = $6, send_count = $7, last_sent_ms = $8,"
                      " language = $9, accepted_by = $10 WHERE id = $1"};
/* A new email is due at once; created_ms also anchors the mailer's backoff schedule. */
static const struct pg_sql SQL_OUTBOX_INSERT = {
    PG_OUTBOX_INSERT, "INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
                      " VALUES ($1, $2, 'Queued', $3, $3)"};
/* Emails queued for an invite after now - 24 h: the resend limit's input. No upper bound: a
 * concurrent change whose clock read a later now may have queued one while this one waited for
 * the row lock, and it counts (else two racing resends could both take the last one). */
static const struct pg_sql SQL_OUTBOX_WINDOW = {
    PG_OUTBOX_WINDOW, "SELECT count(*), coalesce(min(created_ms), 0) FROM outbox"
                      " WHERE invite_id = $1 AND created_ms > $2::bigint"};
/* Only Queued rows: a row already Sent or Failed is history and stays as it was. */
const struct pg_sql pg_sql_outbox_cancel = {
    PG_OUTBOX_CANCEL, "UPDATE outbox SET status = 'Cancelled', lease_until_ms = 0"
                      " WHERE invite_id = $1 AND status = 'Queued'"};

enum delivery_status pg_delivery_parse(const char *name)
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

void pg_read_invite(const PGresult *r, int row, struct invite *out)
{
    memset(out, 0, sizeof *out);
    pg_col_text(r, row, 0, out->id, sizeof out->id);
    pg_col_text(r, row, 1, out->site_id, sizeof out->site_id);
    pg_col_text(r, row, 2, out->email, sizeof out->email);
    pg_col_text(r, row, 3, out->email_key, sizeof out->email_key);
    policy_text_decode(PQgetvalue(r, row, 4), &out->policies);
    pg_col_text(r, row, 5, out->inviter_account_id, sizeof out->inviter_account_id);
    if (PQgetisnull(r, row, 6) || !invite_status_parse(PQgetvalue(r, row, 6), &out->status))
        out->status = INVITE_DELETED; /* unreadable: show it as unusable, never as Pending */
    pg_col_text(r, row, 7, out->accepted_by_account_id, sizeof out->accepted_by_account_id);
    pg_col_bytes(r, row, 8, out->token_salt, SI_TOKEN_SALT_LEN);
    out->created = pg_col_i64(r, row, 9);
    out->updated = pg_col_i64(r, row, 10);
    out->expires = pg_col_i64(r, row, 11);
    out->last_sent = pg_col_i64(r, row, 12);
    pg_col_text(r, row, 13, out->staff_id, sizeof out->staff_id);
    if (!PQgetisnull(r, row, 14))
        out->purpose = xstrdup(PQgetvalue(r, row, 14));
    pg_col_text(r, row, 15, out->language, sizeof out->language);
    out->send_count = (int)pg_col_i64(r, row, 16);
    out->delivery.status =
        PQgetisnull(r, row, 17) ? DELIVERY_NONE : pg_delivery_parse(PQgetvalue(r, row, 17));
    out->delivery.attempts = (int)pg_col_i64(r, row, 18);
    pg_col_text(r, row, 19, out->delivery.last_error, sizeof out->delivery.last_error);
}

/* Runs a one-invite read on c: SI_OK with out filled, or SI_ENOTFOUND. */
static enum si_err read_one(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
                            struct invite *out)
{
    PGresult *r;
    enum si_err rc = pg_exec(c, q, a, "read invite", &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 0)
        rc = SI_ENOTFOUND;
    else
        pg_read_invite(r, 0, out);
    PQclear(r);
    return rc;
}

/* One invite of a site on c; lock = also lock its row (inside a transaction). */
static enum si_err load(struct pg_conn *c, const char *site_id, const char *id, bool lock,
                        struct invite *out)
{
    struct pg_args a = {0};
    pg_arg(&a, id);
    pg_arg(&a, site_id);
    return read_one(c, lock ? &SQL_LOCK : &SQL_GET, &a, out);
}

enum si_err pg_invite_get(void *be, const char *site_id, const char *invite_id, struct invite *out)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = load(c, site_id, invite_id, false, out);
    pg_return(be, c);
    return rc;
}

enum si_err pg_invite_by_salt(void *be, const uint8_t salt[SI_TOKEN_SALT_LEN], struct invite *out)
{
    struct pg_conn *c = NULL;
    struct pg_args a = {0};
    pg_arg_bytes(&a, salt, SI_TOKEN_SALT_LEN);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = read_one(c, &SQL_BY_SALT, &a, out);
    pg_return(be, c);
    return rc;
}

enum si_err pg_seats(struct pg_conn *c, const char *site_id, si_ms now, int64_t *used)
{
    struct pg_args a = {0};
    PGresult *r;
    *used = 0;
    pg_arg(&a, site_id);
    pg_arg_i64(&a, now);
    enum si_err rc = pg_exec(c, &SQL_SEATS, &a, "count seats", &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 1)
        *used = pg_col_i64(r, 0, 0);
    PQclear(r);
    return SI_OK;
}

enum si_err pg_seats_used(void *be, const char *site_id, si_ms now, int64_t *used)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_seats(c, site_id, now, used);
    pg_return(be, c);
    return rc;
}

/* ---- change -------------------------------------------------------------------------------- */

/* Fills the resend-window inputs of a change from the invite's outbox rows. */
static enum si_err send_window(struct pg_conn *c, struct invite_change *ch, si_ms now)
{
    struct pg_args a = {0};
    PGresult *r;
    pg_arg(&a, ch->inv.id);
    pg_arg_i64(&a, now - WINDOW_MS);
    enum si_err rc = pg_exec(c, &SQL_OUTBOX_WINDOW, &a, "count recent emails", &r);
    if (rc)
        return rc;
    ch->sends_in_window = (int)pg_col_i64(r, 0, 0);
    ch->oldest_send_in_window = pg_col_i64(r, 0, 1);
    PQclear(r);
    return SI_OK;
}

/* Stores what the decision function chose, then applies its outbox effect. */
static enum si_err write_back(struct pg_conn *c, const struct invite_change *ch, si_ms now)
{
    const struct invite *v = &ch->inv;
    char policies[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(&v->policies, policies);
    if (rc)
        return rc;
    struct pg_args a = {0};
    pg_arg(&a, v->id);
    pg_arg(&a, invite_status_name(v->status));
    pg_arg(&a, policies);
    pg_arg(&a, v->staff_id);
    pg_arg_i64(&a, v->expires);
    pg_arg_i64(&a, v->updated);
    pg_arg_i64(&a, v->send_count);
    pg_arg_i64(&a, v->last_sent);
    pg_arg(&a, v->language);
    pg_arg(&a, v->accepted_by_account_id);
    rc = pg_exec(c, &SQL_UPDATE, &a, "update invite", NULL);
    if (rc || ch->outbox == OUTBOX_KEEP)
        return rc;
    a = (struct pg_args){0};
    pg_arg(&a, v->id);
    if (ch->outbox == OUTBOX_CANCEL)
        return pg_exec(c, &pg_sql_outbox_cancel, &a, "cancel emails", NULL);
    pg_arg_i64(&a, OUTBOX_RESEND);
    pg_arg_i64(&a, now);
    return pg_exec(c, &SQL_OUTBOX_INSERT, &a, "queue email", NULL);
}

enum si_err pg_invite_change(void *be, const char *site_id, const char *invite_id, si_ms now,
                             invite_change_fn fn, void *ctx, struct invite *out)
{
    struct pg_conn *c = NULL;
    struct invite_change ch = {.outbox = OUTBOX_KEEP};
    bool filled = false;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (rc)
        goto out;
    /* FOR UPDATE: a concurrent change, answer or revoke of this invite waits for our commit and
     * then re-reads the row (READ COMMITTED re-checks a locked row's newest version). */
    rc = load(c, site_id, invite_id, true, &ch.inv);
    if (!rc)
        rc = send_window(c, &ch, now);
    if (!rc)
        rc = fn(&ch, ctx, now);
    if (!rc && ch.write)
        rc = write_back(c, &ch, now);
    /* Read back inside the transaction so out is exactly what was committed. */
    if (!rc && out) {
        rc = load(c, site_id, invite_id, false, out);
        filled = !rc;
    }
    if (!rc)
        rc = pg_commit(c);
    else
        pg_rollback(c);
    if (rc && filled)
        invite_cleanup(out); /* the commit failed: out must not describe an unwritten row */
out:
    invite_cleanup(&ch.inv);
    pg_return(be, c);
    return rc;
}
