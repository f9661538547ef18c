/* PostgreSQL operations on the contributors of a site (list, change roles, remove) and the
 * periodic sweep that stores Expired. The invitee's answer is pg_changes.c. */
#include "pg_int.h"
#include "webhook_ops.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTRIBUTOR_COLS                                                                           \
    "id, site_id, account_id, email, email_key, policy_ids, joined_ms, invite_id, location_ids,"   \
    " invited_email"
static const struct pg_sql SQL_LIST = {PG_CONTRIBUTORS_LIST,
                                       "SELECT " CONTRIBUTOR_COLS " FROM contributors"
                                       " WHERE site_id = $1 ORDER BY joined_ms, id LIMIT $2"};
static const struct pg_sql SQL_SET_ROLES = {
    PG_CONTRIBUTOR_SET_ROLES,
    "UPDATE contributors SET policy_ids = $3"
    " WHERE site_id = $1 AND account_id = $2 RETURNING " CONTRIBUTOR_COLS};
static const struct pg_sql SQL_SET_LOCATIONS = {
    PG_CONTRIBUTOR_SET_LOCATIONS,
    "UPDATE contributors SET location_ids = $3"
    " WHERE site_id = $1 AND account_id = $2 RETURNING " CONTRIBUTOR_COLS};
static const struct pg_sql SQL_REMOVE = {
    PG_CONTRIBUTOR_REMOVE, "DELETE FROM contributors WHERE site_id = $1 AND account_id = $2"};
/* Walks the partial index of Pending rows by expiry. */
static const struct pg_sql SQL_EXPIRE = {
    PG_INVITES_EXPIRE,
    "UPDATE invites SET status = 'Expired', updated_ms = $1::bigint WHERE id IN (SELECT id FROM"
    " invites WHERE status = 'Pending' AND expires_ms <= $1::bigint LIMIT $2::integer"
    " FOR UPDATE SKIP LOCKED) AND status = 'Pending' RETURNING id, site_id"};

/* ---- contributors ------------------------------------------------------------------------ */

static void read_contributor(const PGresult *r, int row, struct contributor_row *out)
{
    memset(out, 0, sizeof *out);
    pg_col_text(r, row, 0, out->id, sizeof out->id);
    pg_col_text(r, row, 1, out->site_id, sizeof out->site_id);
    pg_col_text(r, row, 2, out->account_id, sizeof out->account_id);
    pg_col_text(r, row, 3, out->email, sizeof out->email);
    pg_col_text(r, row, 4, out->email_key, sizeof out->email_key);
    policy_text_decode(PQgetvalue(r, row, 5), &out->policies);
    out->joined = pg_col_i64(r, row, 6);
    pg_col_text(r, row, 7, out->invite_id, sizeof out->invite_id);
    policy_text_decode(PQgetvalue(r, row, 8), &out->locations);
    pg_col_text(r, row, 9, out->invited_email, sizeof out->invited_email);
}

/* Runs q on a borrowed connection; *r holds the result on SI_OK. */
static enum si_err run(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                       const char *what, PGresult **r)
{
    struct pg_conn *c = NULL;
    *r = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = pg_exec(c, q, a, what, r);
    pg_return(st, c);
    return rc;
}

enum si_err pg_contributors_list(void *be, const char *site_id, size_t max,
                                 struct contributor_row **out, size_t *n)
{
    struct pg_args a = {0};
    PGresult *r;
    *out = NULL;
    *n = 0;
    pg_arg(&a, site_id);
    pg_arg_i64(&a, (int64_t)max);
    enum si_err rc = run(be, &SQL_LIST, &a, "list contributors", &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    *out = xcalloc(rows ? (size_t)rows : 1, sizeof **out);
    for (int i = 0; i < rows; i++)
        read_contributor(r, i, &(*out)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return SI_OK;
}

/* Stores list (roles or locations, as q says) on the site's contributor with that account. */
static enum si_err set_list(struct pg_store *st, const struct pg_sql *q, const char *site_id,
                            const char *account_id, const struct policy_list *p,
                            struct contributor_row *out)
{
    char text[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(p, text);
    if (rc)
        return rc;
    struct pg_args a = {0};
    PGresult *r;
    pg_arg(&a, site_id);
    pg_arg(&a, account_id);
    pg_arg(&a, text);
    /* RETURNING gives the row as written by this very statement (one implicit transaction). */
    rc = run(st, q, &a, "change contributor", &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 0)
        rc = SI_ENOTFOUND;
    else if (out)
        read_contributor(r, 0, out);
    PQclear(r);
    return rc;
}

enum si_err pg_contributor_set_roles(void *be, const char *site_id, const char *account_id,
                                     const struct policy_list *p, struct contributor_row *out)
{
    return set_list(be, &SQL_SET_ROLES, site_id, account_id, p, out);
}

enum si_err pg_contributor_set_locations(void *be, const char *site_id, const char *account_id,
                                         const struct policy_list *p, struct contributor_row *out)
{
    return set_list(be, &SQL_SET_LOCATIONS, site_id, account_id, p, out);
}

enum si_err pg_contributor_remove(void *be, const char *site_id, const char *account_id)
{
    struct pg_args a = {0};
    struct pg_conn *c = NULL;
    int64_t changed = 0;
    pg_arg(&a, site_id);
    pg_arg(&a, account_id);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec_count(c, &SQL_REMOVE, &a, "remove contributor", &changed);
    pg_return(be, c);
    return !rc && changed == 0 ? SI_ENOTFOUND : rc;
}

/* ---- expiry --------------------------------------------------------------------------------- */

enum si_err pg_invites_expire(void *be, si_ms now, int max, int64_t *n)
{
    struct pg_args a = {0};
    struct pg_conn *c = NULL;
    *n = 0;
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, max);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    /* SKIP LOCKED: a row being answered or changed right now is left for the next sweep (its
     * reader already sees it as Expired, or the other transaction settles it). One transaction
     * with the invite.expired events of the rows it stored. */
    PGresult *r = NULL;
    rc = pg_begin(c);
    if (!rc)
        rc = pg_exec(c, &SQL_EXPIRE, &a, "expire invites", &r);
    if (!rc)
        rc = pg_webhook_expired(c, (const struct pg_result *)r, now);
    if (!rc)
        *n = PQntuples(r);
    if (!rc)
        rc = pg_commit(c);
    else
        pg_rollback(c);
    if (rc)
        *n = 0;
    PQclear(r);
    pg_return(be, c);
    return rc;
}
