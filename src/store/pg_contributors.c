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
/* Walks the partial index of Pending rows by expiry; each expired row gets its audit entry
 * ($3: the action, $4: the system's actor type, $5: the target type, $6: the changes, all
 * core/audit.h's) in the same statement, which returns (invite, site) of each for the
 * invite.expired webhook events (pg_webhook_expired). */
static const struct pg_sql SQL_EXPIRE = {
    PG_INVITES_EXPIRE,
    "WITH ex AS (UPDATE invites SET status = 'Expired', updated_ms = $1::bigint WHERE id IN"
    " (SELECT id FROM invites WHERE status = 'Pending' AND expires_ms <= $1::bigint"
    " LIMIT $2::integer FOR UPDATE SKIP LOCKED) AND status = 'Pending' RETURNING id, site_id)"
    " INSERT INTO audit_log ("
    "site_id, action, actor_type, target_type, target_id, time_ms,"
    " changes) SELECT ex.site_id, $3, $4, $5, ex.id, $1::bigint, $6 FROM ex"
    " RETURNING target_id, site_id"};
/* The contributor before a change, locked until the transaction ends. */
static const struct pg_sql SQL_LOCK = {PG_CONTRIBUTOR_LOCK,
                                       "SELECT " CONTRIBUTOR_COLS " FROM contributors"
                                       " WHERE site_id = $1 AND account_id = $2 FOR UPDATE"};

/* The statement of a change: $1 site, $2 account, $3 the list in its stored form. */
static const struct pg_sql *statement_of(enum audit_action a)
{
    return a == AUDIT_CONTRIBUTOR_ROLE_CHANGED        ? &SQL_SET_ROLES
           : a == AUDIT_CONTRIBUTOR_LOCATIONS_CHANGED ? &SQL_SET_LOCATIONS
                                                      : &SQL_REMOVE;
}

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

/* Reads the contributor locked (SI_ENOTFOUND when none), runs k's statement ($3: the list in
 * its stored form), and writes the audit entry, inside the caller's transaction. */
static enum si_err keyed_body(struct pg_conn *c, const struct contributor_change *k,
                              const char *text)
{
    struct contributor_row before, after = {.joined = 0};
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg(&a, k->site_id);
    pg_arg(&a, k->account_id);
    enum si_err rc = pg_exec(c, &SQL_LOCK, &a, "read contributor", &r);
    if (!rc && PQntuples(r) == 0)
        rc = SI_ENOTFOUND;
    if (!rc)
        read_contributor(r, 0, &before);
    PQclear(r);
    r = NULL;
    if (k->list)
        pg_arg(&a, text);
    if (!rc)
        rc = pg_exec(c, statement_of(k->action), &a, "change contributor", k->list ? &r : NULL);
    if (!rc && k->list) /* RETURNING: the row as this statement wrote it */
        read_contributor(r, 0, &after);
    PQclear(r);
    if (!rc) {
        struct audit_entry e;
        audit_contributor_change(k->action, &before, k->list ? &after : NULL, k->actor, k->now, &e);
        rc = pg_audit_add(c, &e);
        audit_entry_cleanup(&e);
    }
    if (!rc)
        rc = webhook_emit_contributor(&pg_webhook_steps, c, k->action, k->list ? &after : &before,
                                      k->view, k->now);
    if (!rc && k->out)
        *k->out = after;
    return rc;
}

/* Runs k in a transaction of its own. */
enum si_err pg_contributor_change(void *be, const struct contributor_change *k)
{
    char text[POLICY_TEXT_MAX];
    struct pg_conn *c = NULL;
    enum si_err rc = k->list ? policy_text_encode(k->list, text) : SI_OK;
    if (!rc)
        rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (!rc) {
        pg_conn_site(c, k->site_id);
        rc = keyed_body(c, k, text);
        if (!rc)
            rc = pg_commit(c);
        else
            pg_rollback(c);
    }
    pg_return(be, c);
    return rc;
}

/* ---- expiry --------------------------------------------------------------------------------- */

enum si_err pg_invites_expire(void *be, si_ms now, int max, int64_t *n)
{
    struct pg_args a = {0};
    struct pg_conn *c = NULL;
    *n = 0;
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, max);
    pg_arg(&a, audit_action_name(AUDIT_INVITE_EXPIRED));
    pg_arg(&a, audit_actor_type_name(AUDIT_ACTOR_SYSTEM));
    pg_arg(&a, audit_target_type_name(AUDIT_TARGET_INVITE));
    pg_arg(&a, audit_expired_changes());
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
