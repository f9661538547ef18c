/* PostgreSQL reads of single invites: one row with its latest delivery, by ID or by accept link,
 * and seat counting. Changes are pg_changes.c, bulk is pg_bulk.c. */
#include "pg_int.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Every read of an invite is scoped by site: another site's invite is "not found". */
static const struct pg_sql SQL_GET = {PG_INVITE_GET, "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                                     " WHERE i.id = $1 AND i.site_id = $2"};
static const struct pg_sql SQL_BY_SALT = {PG_INVITE_BY_SALT, "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                                             " WHERE i.token_salt = $1"};
/* A version 2 link names the ID; an invite with a salt is opened only by its version 1 link. */
static const struct pg_sql SQL_BY_LINK_ID = {PG_INVITE_BY_LINK_ID,
                                             "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                             " WHERE i.id = $1 AND i.token_salt IS NULL"};
/* Seats: unexpired stored-Pending invites plus contributors, in one statement so the counts come
 * from one snapshot. The stored-Pending ones are the sum of migration 17's per-day counts (a few
 * rows a site, not one a pending invite), less those past their expiry (a range of the partial
 * index, kept short by the expiry sweep). An unknown site has none. */
static const struct pg_sql SQL_SEATS = {
    PG_SEATS_USED,
    "SELECT (SELECT coalesce(sum(n), 0) FROM invite_day_counts WHERE site_id = $1"
    " AND status = 'Pending')::bigint - (SELECT count(*) FROM invites WHERE site_id = $1"
    " AND status = 'Pending' AND expires_ms <= $2::bigint) + (SELECT count(*) FROM contributors"
    " WHERE site_id = $1)"};

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
    out->has_salt = pg_col_bytes(r, row, 8, out->token_salt, SI_TOKEN_SALT_LEN); /* NULL since 16 */
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
        PQgetisnull(r, row, 17) ? DELIVERY_NONE : delivery_status_parse(PQgetvalue(r, row, 17));
    out->delivery.attempts = (int)pg_col_i64(r, row, 18);
    pg_col_text(r, row, 19, out->delivery.last_error, sizeof out->delivery.last_error);
    policy_text_decode(PQgetvalue(r, row, 20), &out->locations);
}

enum si_err pg_invite_read(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
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

enum si_err pg_invite_load(struct pg_conn *c, const char *site_id, const char *id,
                           struct invite *out)
{
    struct pg_args a = {0};
    pg_arg(&a, id);
    pg_arg(&a, site_id);
    return pg_invite_read(c, &SQL_GET, &a, out);
}

enum si_err pg_invite_get(void *be, const char *site_id, const char *invite_id, struct invite *out)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_invite_load(c, site_id, invite_id, out);
    pg_return(be, c);
    return rc;
}

_Static_assert(SI_ID_LEN <= PG_ARG_BUF, "an ID's text fits an argument buffer");

void pg_args_link(struct pg_args *a, const struct token_ref *ref)
{
    if (ref->kind == TOKEN_BY_ID) {
        /* Written into the argument's own buffer: pg_arg keeps a pointer, not a copy. */
        pg_arg_i64(a, 0);
        char *id = a->buf[a->n - 1];
        id_from_bytes(ref->key, id);
    } else {
        pg_arg_bytes(a, ref->key, TOKEN_KEY_LEN);
    }
}

enum si_err pg_invite_by_link(void *be, const struct token_ref *ref, struct invite *out)
{
    struct pg_conn *c = NULL;
    struct pg_args a = {0};
    pg_args_link(&a, ref);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_invite_read(c, ref->kind == TOKEN_BY_ID ? &SQL_BY_LINK_ID : &SQL_BY_SALT, &a, out);
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
    *used = pg_seats_of(r);
    PQclear(r);
    return SI_OK;
}

void pg_seats_send(struct pg_pipe *p, const char *site_id, si_ms now)
{
    struct pg_args a = {0};
    pg_arg(&a, site_id);
    pg_arg_i64(&a, now);
    pg_pipe_send(p, &SQL_SEATS, &a, "count seats");
}

int64_t pg_seats_of(const PGresult *r)
{
    return PQntuples(r) == 1 ? pg_col_i64(r, 0, 0) : 0;
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
